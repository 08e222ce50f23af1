package io.migrationverifier.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.audit.Audit;
import io.migrationverifier.audit.AuditCheckpoint;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.check.KeyCheck;
import io.migrationverifier.config.Identifiers;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.ops.Coverage;
import io.migrationverifier.ops.HttpEndpoint;
import io.migrationverifier.ops.Metrics;
import io.migrationverifier.ops.OpsEndpoint;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.RepairEngine;
import io.migrationverifier.repair.RepairHandler;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code audit}: the batch audit of whole tables (DESIGN section 6). */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = "Compares whole tables between the source and the target database: count and checksum per"
        + " segment on both sides, the differing segments bisected down to rows, every difference re-checked after"
        + " the table's window (a write in flight is not a discrepancy). Confirmed differences go to"
        + " <name>.discrepancies with detector \"audit\"; a summary per table is printed.",
    footer = {"", "Example: audit --config config/verifier.yaml --table orders [--segments time:created_at]"
        + " [--repair] [--resume] [--json]",
        "", "Segments: key (default): audit.segment-rows rows each, in key order sampled from the source;"
        + " time:<column>: windows of audit.time-window over a timestamp column (from its smallest to its largest"
        + " value on the source; rows with NULL there form one more segment), rows compared by key within a"
        + " differing window.",
        "", "Progress is checkpointed after each segment under verify.state-dir/audit/<table>.json; --resume"
        + " continues an interrupted audit from there (without --resume an earlier checkpoint is ignored).",
        "", "--repair: the confirmed differences go through the repair path of the stream (the table's policy;"
        + " detect-only tables are not repaired); the repair log entries / review records go to <name>.repairs.log"
        + " / <name>.review. With kafka.bootstrap-servers: embedded nothing goes to Kafka: the events and"
        + " records are printed instead.",
        "", "Coverage: once a table's audit completed and its findings were delivered, a record on <name>.coverage"
        + " says so, and `gate` counts the table as compared in full (with an embedded broker nothing is recorded).",
        "", "Resolution: a discrepancy open on <name>.discrepancies for an audited row that this audit found"
        + " consistent (detected before the audit began; not after --resume) is closed with a RESOLVED event"
        + " (detector audit, resolution audit); a difference its --repair repaired, with resolution repaired.",
        "", "Exit codes: 0 no difference (or all repaired by --repair); 3 differences found; 1 runtime failure"
        + " (a database or Kafka unreachable; --resume continues); 2 invalid config or command line."})
public final class AuditCommand implements Callable<Integer> {
  private record Args(VerifierConfig config, Canonicalizer canonicalizer, List<String> tables) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration KAFKA_PROBE = Duration.ofSeconds(10);
  /** RESOLVED by an audit that found the row consistent (or a repair that found it so). */
  static final String RESOLUTION_AUDIT = "audit";
  /** RESOLVED by the audit's own --repair. */
  static final String RESOLUTION_REPAIRED = "repaired";

  /** Tests: observes (and may stop) the audit. */
  static volatile Audit.Listener testListener;

  @Mixin
  ConfigOption config;

  @Option(names = {"-t", "--table"}, paramLabel = "TABLE", description = "Logical table name (default: every table).")
  String table;

  @Option(names = "--segments", paramLabel = "key|time:COLUMN", defaultValue = "key",
      description = "How tables are cut: key (default) or time:<column> (windows of a timestamp column).")
  String segments;

  @Option(names = "--hashing", paramLabel = "auto|jvm|sql", defaultValue = "auto",
      description = "Where segment checksums are computed: auto (default: in SQL where both databases can produce"
          + " the same canonical text for the table's column types, else rows streamed and hashed in the JVM), jvm,"
          + " or sql (fails for a table that cannot). Time segments are hashed in the JVM.")
  String hashing;

  @Option(names = "--repair", description = "Repair the confirmed differences per the tables' repair policies.")
  boolean repair;

  @Option(names = "--resume", description = "Continue an interrupted audit from its checkpoint.")
  boolean resume;

  @Option(names = "--json", description = "Print the summary (and, with an embedded broker, the events) as JSON.")
  boolean json;

  @Option(names = "--metrics-port", paramLabel = "PORT",
      description = "Serve GET /metrics (Prometheus: verifier_audit_* progress gauges, JVM) on http.bind:PORT while"
          + " the audit runs; 0 = any free port (printed).")
  Integer metricsPort;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    VerifierConfig c;
    Canonicalizer canonicalizer;
    List<String> tables;
    Args a = config.prepare(err, cfg -> {
      List<String> names = table != null ? List.of(ConfigOption.table(cfg, table).name())
          : cfg.tables().stream().map(TableConfig::name).toList();
      if (!segments.equals("key") && !(segments.startsWith("time:") && segments.length() > 5)) {
        throw new IllegalArgumentException("--segments: \"" + segments + "\" must be key or time:<column>");
      }
      if (segments.startsWith("time:") && !Identifiers.isValidPart(segments.substring(5))) {
        throw new IllegalArgumentException("--segments: \"" + segments.substring(5) + "\" is not a valid column name ("
            + Identifiers.describeRule() + ")");
      }
      if (!List.of("auto", "jvm", "sql").contains(hashing)) {
        throw new IllegalArgumentException("--hashing: \"" + hashing + "\" must be auto, jvm or sql");
      }
      return new Args(cfg, Canonicalizer.forConfig(cfg), names);
    });
    if (a == null) {
      return ExitCodes.INVALID;
    }
    c = a.config();
    canonicalizer = a.canonicalizer();
    tables = a.tables();

    boolean toKafka = !c.kafka().embedded();
    KafkaProducer<byte[], byte[]> producer = null;
    RepairEngine engine = null;
    Audit.Listener hook = testListener;
    Metrics metrics = metricsPort == null ? null : new Metrics(c);
    HttpEndpoint metricsEndpoint = null;
    if (metrics != null) {
      try {
        metricsEndpoint = new HttpEndpoint().route("GET", "/metrics", req -> new HttpEndpoint.Response(200,
            OpsEndpoint.PROMETHEUS_TEXT, metrics.scrape().getBytes(StandardCharsets.UTF_8)))
            .start(c.http().bind(), metricsPort, 1);
      } catch (IOException | RuntimeException e) {
        metrics.close();
        err.println("--metrics-port: cannot listen on " + c.http().bind() + ":" + metricsPort + " (" + e.getMessage()
            + "): choose a free port (0 = any)");
        err.flush();
        return ExitCodes.FAILURE;
      }
      err.printf("metrics: http://%s:%d/metrics%n", metricsEndpoint.address().getHostString(),
          metricsEndpoint.address().getPort());
      err.flush();
    }
    Audit.Listener listener = new Audit.Listener() {
      @Override
      public void segmentDone(String t, int done, io.migrationverifier.audit.KeyRange range) {
        if (metrics != null) {
          metrics.segmentDone(t, done, range);
        }
        if (hook != null) {
          hook.segmentDone(t, done, range);
        }
      }

      @Override
      public void auditProgress(String t, long segmentsDone, long segmentsEstimated, long rows,
          int differingSegments) {
        if (metrics != null) {
          metrics.auditProgress(t, segmentsDone, segmentsEstimated, rows, differingSegments);
        }
      }

      @Override
      public void note(String message) {
        err.println(message);
        err.flush();
      }
    };
    List<Audit.TableReport> reports = new ArrayList<>();
    List<ProducerRecord<byte[], byte[]>> unsent = new ArrayList<>();
    List<String> repairLines = new ArrayList<>();
    List<String> resolvedLines = new ArrayList<>();
    int unrepaired = 0;
    try {
      if (toKafka) {
        String bootstrap = c.kafka().bootstrapServers();
        try (Admin admin = OpsKafka.admin(c, bootstrap, KAFKA_PROBE)) {
          // before the scan: an audit whose findings cannot be written would be wasted
          OpsKafka.ensureTopics(admin, c, bootstrap, KAFKA_PROBE);
        }
        producer = OpsKafka.producer(c, bootstrap, "audit");
      }
      try (Audit audit = new Audit(c, canonicalizer, new Audit.Options(segments, resume, hashing), listener, err)) {
        for (String t : tables) {
          Path delivered = deliveredMarker(c, t);
          if (resume && Files.exists(delivered)) {
            // audited and delivered before the interruption: auditing it again would send its findings twice
            err.println("table " + t + ": audited and delivered by the interrupted run; not audited again");
            err.flush();
            continue;
          }
          Files.deleteIfExists(delivered);
          long started = System.currentTimeMillis();
          Audit.TableReport r = audit.run(t);
          reports.add(r);
          List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
          Set<ByteBuffer> confirmed = new HashSet<>();
          for (Discrepancy d : r.discrepancies()) {
            byte[] key = CanonicalKey.of(d.table(), d.key()).toBytes();
            confirmed.add(ByteBuffer.wrap(key));
            records.add(new ProducerRecord<>(c.topics().discrepancies(), key, EventCodec.encode(d)));
          }
          // Candidates to close: open on the topic (read now, after the audit: what the stream
          // reported meanwhile is seen too), detected before the audit began, not found different by
          // it. The audit's finding alone is not enough to close one (a row outside a time window
          // was never read; the stream may report again meanwhile): each is compared again right
          // before it is closed. A resumed audit read part of the table in an earlier run: it
          // closes nothing.
          List<Map.Entry<ByteBuffer, Discrepancy>> candidates = new ArrayList<>();
          if (producer != null && r.segmentsResumed() == 0) {
            for (Map.Entry<ByteBuffer, Discrepancy> e : openOf(c, t).entrySet()) {
              if (!confirmed.contains(e.getKey()) && e.getValue().detectedAt() < started) {
                candidates.add(e);
              }
            }
          }
          int left = r.differenceCount();
          if (repair && !r.discrepancies().isEmpty()) {
            if (engine == null) {
              engine = RepairEngine.open(c, canonicalizer);
            }
            List<RepairEngine.Request> requests = r.discrepancies().stream()
                .map(d -> new RepairEngine.Request(d.table(), d.key(), d, "audit")).toList();
            List<RepairEngine.Result> results = engine.repairBatch(requests);
            long now = System.currentTimeMillis();
            for (int i = 0; i < results.size(); i++) {
              Discrepancy d = r.discrepancies().get(i);
              RepairEngine.Result res = results.get(i);
              if (res.failure() != null) {
                repairLines.add(d.table() + " " + d.key() + ": repair FAILED: " + res.failure().getMessage());
                continue;
              }
              RepairEngine.Outcome o = res.outcome();
              if (o.status() == RepairEngine.Status.APPLIED || o.status() == RepairEngine.Status.CONSISTENT) {
                left--;
              }
              repairLines.add(d.table() + " " + d.key() + ": repair " + o.status() + " (" + o.policy() + ")"
                  + (o.reason() == null ? "" : ": " + o.reason()));
              byte[] key = CanonicalKey.of(d.table(), d.key()).toBytes();
              records.addAll(RepairHandler.outputs(c, key, d, o, now));
              if (o.status() == RepairEngine.Status.APPLIED || o.status() == RepairEngine.Status.CONSISTENT) {
                // after the finding it closes (same key, same partition, sent in order); the stream
                // resolves it too when it had seen the difference, which is harmless
                records.add(resolved(c, key, d, o.status() == RepairEngine.Status.APPLIED ? RESOLUTION_REPAIRED
                    : RESOLUTION_AUDIT, now));
              }
            }
          }
          unrepaired += left;
          if (!candidates.isEmpty()) {
            long now = System.currentTimeMillis();
            int closed = 0;
            for (Map.Entry<ByteBuffer, Discrepancy> e : candidates) {
              Discrepancy open = e.getValue();
              if (audit.verdictNow(open.table(), open.key()) == KeyCheck.Verdict.CONSISTENT) {
                records.add(resolved(c, e.getKey().array(), open, RESOLUTION_AUDIT, now));
                closed++;
              }
            }
            if (closed > 0) {
              resolvedLines.add("table " + t + ": " + closed + (closed == 1 ? " open discrepancy" : " open discrepancies")
                  + " found consistent by this audit: RESOLVED (audit)");
            }
          }
          if (producer != null) {
            List<Future<RecordMetadata>> sends = new ArrayList<>();
            for (ProducerRecord<byte[], byte[]> rec : records) {
              sends.add(producer.send(rec));
            }
            OpsKafka.awaitSends(producer, sends, "the audit's findings of table " + t);
            // only once its findings are delivered: `gate` takes this record as "compared in full"
            OpsKafka.sendAll(producer, List.of(Coverage.record(c, Coverage.Entry.audit(t, started,
                System.currentTimeMillis(), r.sourceRows(), r.targetRows(), r.differenceCount(), r.segmentation()))),
                "the coverage record of table " + t + " for `gate` (its findings were delivered)");
          } else {
            unsent.addAll(records);
          }
          if (producer != null && tables.size() > 1) { // printed findings are only printed at the very end
            Files.createDirectories(delivered.getParent());
            Files.writeString(delivered, Long.toString(System.currentTimeMillis()));
          }
        }
      }
      for (String t : tables) {
        Files.deleteIfExists(deliveredMarker(c, t)); // the whole audit is done: a later --resume starts afresh
      }
    } catch (IllegalArgumentException e) {
      err.println("audit: " + e.getMessage());
      err.flush();
      return ExitCodes.INVALID;
    } catch (OpsKafka.KafkaUnavailableException e) {
      err.println("audit: " + e.getMessage());
      err.flush();
      return ExitCodes.FAILURE;
    } catch (SQLException | IOException | RuntimeException e) {
      err.println("audit failed: " + (e.getMessage() != null ? e.getMessage() : e.toString())
          + "; the progress so far is checkpointed: `audit --resume` continues");
      err.flush();
      return ExitCodes.FAILURE;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("audit interrupted; `audit --resume` continues");
      return ExitCodes.FAILURE;
    } finally {
      if (producer != null) {
        producer.close(Duration.ofSeconds(10));
      }
      if (engine != null) {
        engine.close();
      }
      if (metricsEndpoint != null) {
        metricsEndpoint.close();
      }
      if (metrics != null) {
        metrics.close();
      }
    }
    if (json) {
      out.println(json(c, reports, unsent, repairLines, resolvedLines, toKafka));
    } else {
      print(c, reports, unsent, repairLines, toKafka, out);
      resolvedLines.forEach(out::println);
    }
    out.flush();
    return unrepaired > 0 ? ExitCodes.DIFFERENT : ExitCodes.OK;
  }

  private static void print(VerifierConfig c, List<Audit.TableReport> reports,
      List<ProducerRecord<byte[], byte[]>> unsent, List<String> repairs, boolean toKafka, PrintWriter out) {
    out.printf("%-20s %-5s %12s %12s %9s %9s %8s %8s %8s %10s %9s%n", "table", "hash", "source rows",
        "target rows", "segments", "differing", "missing", "unexp.", "mismatch", "rows/s", "time");
    for (Audit.TableReport r : reports) {
      out.printf("%-20s %-5s %12d %12d %9d %9d %8d %8d %8d %10d %8.1fs%n", r.table(), r.hashing(), r.sourceRows(),
          r.targetRows(), r.segments(), r.differingSegments(), kind(r, DiscrepancyKind.MISSING_IN_TARGET),
          kind(r, DiscrepancyKind.UNEXPECTED_IN_TARGET), kind(r, DiscrepancyKind.VALUE_MISMATCH), r.rowsPerSecond(),
          r.elapsedMs() / 1000.0);
      if (r.segmentsResumed() > 0) {
        out.printf("  (resumed: %d segments done by the interrupted run; suspect rows seen: %d)%n",
            r.segmentsResumed(), r.suspects());
      }
    }
    for (Audit.TableReport r : reports) {
      for (Discrepancy d : r.discrepancies()) {
        out.printf("%s %s %s%s%n", d.kind(), d.table(), d.key(), d.fields().isEmpty() ? ""
            : " columns " + d.fields().stream().map(f -> f.name()).toList());
      }
    }
    repairs.forEach(out::println);
    int total = reports.stream().mapToInt(Audit.TableReport::differenceCount).sum();
    if (toKafka) {
      if (total > 0) {
        out.println(total + " differences written to " + c.topics().discrepancies());
      }
    } else if (!unsent.isEmpty()) {
      out.println("kafka.bootstrap-servers is embedded: nothing was written to Kafka; the records are:");
      for (ProducerRecord<byte[], byte[]> r : unsent) {
        out.println(r.topic() + ": " + new String(r.value(), StandardCharsets.UTF_8));
      }
    }
  }

  private static int kind(Audit.TableReport r, DiscrepancyKind k) {
    return r.differences().getOrDefault(k, 0);
  }

  private static String json(VerifierConfig c, List<Audit.TableReport> reports,
      List<ProducerRecord<byte[], byte[]>> unsent, List<String> repairs, List<String> resolved, boolean toKafka) {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode ts = root.putArray("tables");
    for (Audit.TableReport r : reports) {
      ObjectNode o = ts.addObject();
      o.put("table", r.table());
      o.put("hashing", r.hashing());
      o.put("segmentation", r.segmentation());
      o.put("sourceRows", r.sourceRows());
      o.put("targetRows", r.targetRows());
      o.put("segments", r.segments());
      o.put("differingSegments", r.differingSegments());
      o.put("suspects", r.suspects());
      ObjectNode k = o.putObject("differences");
      for (DiscrepancyKind kind : List.of(DiscrepancyKind.MISSING_IN_TARGET, DiscrepancyKind.UNEXPECTED_IN_TARGET,
          DiscrepancyKind.VALUE_MISMATCH)) {
        k.put(kind.name(), kind(r, kind));
      }
      o.put("rowsPerSecond", r.rowsPerSecond());
      o.put("elapsedMs", r.elapsedMs());
      o.put("segmentsResumed", r.segmentsResumed());
      ArrayNode ds = o.putArray("discrepancies");
      for (Discrepancy d : r.discrepancies()) {
        try {
          ds.add(JSON.readTree(EventCodec.encode(d)));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    root.put("differences", reports.stream().mapToInt(Audit.TableReport::differenceCount).sum());
    root.put("kafka", toKafka ? "written to " + c.topics().discrepancies() : "embedded: nothing written");
    ArrayNode rep = root.putArray("repairs");
    repairs.forEach(rep::add);
    ArrayNode res = root.putArray("resolved");
    resolved.forEach(res::add);
    if (!toKafka) {
      ArrayNode u = root.putArray("unsent");
      for (ProducerRecord<byte[], byte[]> r : unsent) {
        ObjectNode o = u.addObject();
        o.put("topic", r.topic());
        o.put("value", new String(r.value(), StandardCharsets.UTF_8));
      }
    }
    return root.toString();
  }

  /**
   * The discrepancies open now on {@code <name>.discrepancies} for {@code table}, by record key (the
   * latest record of a key decides, as for {@code gate}; unreadable records are left to {@code gate},
   * which reports them).
   */
  private static Map<ByteBuffer, Discrepancy> openOf(VerifierConfig c, String table) {
    Map<ByteBuffer, Discrepancy> open = new HashMap<>();
    Coverage.readTopic(c, c.kafka().bootstrapServers(), c.topics().discrepancies(), "audit-open", rec -> {
      if (rec.key() == null) {
        return; // every writer keys a discrepancy by its row
      }
      ByteBuffer k = ByteBuffer.wrap(rec.key());
      Discrepancy d;
      try {
        d = rec.value() == null ? null : RepairEvents.decodeDiscrepancy(rec.value());
      } catch (RuntimeException e) {
        return;
      }
      if (d == null || d.kind() == DiscrepancyKind.RESOLVED || !d.table().equals(table)) {
        open.remove(k);
      } else {
        open.put(k, d);
      }
    });
    return open;
  }

  /** A RESOLVED event closing {@code open} (detector audit), under the same record key. */
  private static ProducerRecord<byte[], byte[]> resolved(VerifierConfig c, byte[] key, Discrepancy open,
      String resolution, long now) {
    String id = UUID.nameUUIDFromBytes((open.id() + ":resolved:" + resolution + ":" + now)
        .getBytes(StandardCharsets.UTF_8)).toString();
    Discrepancy d = new Discrepancy(id, DiscrepancyKind.RESOLVED, open.table(), open.key(), Discrepancy.DETECTOR_AUDIT,
        open.divergedSince(), open.detectedAt(), null, null, List.of(), open.id(), now, resolution,
        Math.max(0, now - open.divergedSince()), now);
    return new ProducerRecord<>(c.topics().discrepancies(), key, EventCodec.encode(d));
  }

  /**
   * Marks a table whose findings were delivered while other tables of the same command are still to
   * come, so that `--resume` after a later table failed does not audit (and report) it again.
   */
  private static Path deliveredMarker(VerifierConfig c, String table) {
    return AuditCheckpoint.file(c.verify().stateDir(), table).resolveSibling(table + ".delivered");
  }
}
