package io.migrationverifier.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.config.CaptureSettings;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.ops.CaptureCurrency;
import io.migrationverifier.ops.CaptureCurrency.SideWatermark;
import io.migrationverifier.ops.Coverage;
import io.migrationverifier.ops.OpenDiscrepancies;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.OpsTime;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gate}: may the cutover happen now? Read-only: it reads the deployment's topics and changes nothing. */
@Command(name = "gate", mixinStandardHelpOptions = true,
    description = "The cutover gate. Exits 0 only when (a) every configured table has been compared in full: by a"
        + " completed initial snapshot on BOTH sides (captured by this deployment) or by a completed `audit` of the"
        + " table; (b) no discrepancy is open beyond --max-open / --max-age; (c) both captures are current: in"
        + " every partition of both change topics the newest watermark is within --max-lag of now, and the verify"
        + " role has processed them up to within --max-lag (else \"nothing open\" proves nothing). Otherwise it"
        + " prints every reason with its fix and exits 4. Reads <name>.coverage, <name>.discrepancies, the tails"
        + " of <name>.changes.source|target and the verify role's committed offsets; changes nothing.",
    footer = {"", "Example: gate --config config/verifier.yaml --max-open 0 --max-lag 2m [--max-age 10m] [--json]",
        "", "Durations: 500ms, 30s, 10m, 2h, 1d or ISO-8601 (PT10M).",
        "", "Exit codes: 0 gate open (cut over); 4 gate closed (the reasons are printed); 1 runtime failure (Kafka"
            + " unreachable); 2 invalid config or command line."})
final class GateCommand implements Callable<Integer> {
  /** Exit code: the gate is closed, and why was printed. */
  static final int CLOSED = ExitCodes.GATE_CLOSED;
  static final String DEFAULT_MAX_LAG = "2m";
  /** How long the gate waits for the broker before it gives up (exit 1). */
  private static final Duration PROBE = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  @Mixin
  ConfigOption config;

  @Option(names = "--max-open", paramLabel = "N", defaultValue = "0",
      description = "Open discrepancies allowed in all (default 0): more than N close the gate.")
  int maxOpen;

  @Option(names = "--max-age", paramLabel = "DURATION",
      description = "Close the gate when any open discrepancy was detected longer ago than this (e.g. 10m), whatever"
          + " --max-open allows. Without it only the count matters.")
  String maxAge;

  @Option(names = "--max-lag", paramLabel = "DURATION", defaultValue = DEFAULT_MAX_LAG,
      description = "How far behind now the newest watermark of each capture may be, in every partition of both"
          + " change topics (default " + DEFAULT_MAX_LAG + "; watermarks move with changes and with the heartbeat,"
          + " every capture.heartbeat-interval); also how long ago the oldest change the verify role has not"
          + " processed yet may have been written.")
  String maxLag;

  @Option(names = "--json", description = "Print the verdict as one JSON object.")
  boolean json;

  @Spec
  CommandSpec spec;

  /** The limits of one run. */
  record Limits(int maxOpen, Long maxAgeMs, long maxLagMs) {}

  private record Args(VerifierConfig config, String bootstrap, Limits limits) {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Args a = config.prepare(err, cfg -> {
      if (maxOpen < 0) {
        throw new IllegalArgumentException("--max-open: " + maxOpen + " must be 0 or more");
      }
      Long age = maxAge == null ? null : duration("--max-age", maxAge).toMillis();
      long lag = duration("--max-lag", maxLag).toMillis();
      return new Args(cfg, OpsKafka.bootstrap(cfg), new Limits(maxOpen, age, lag));
    });
    if (a == null) {
      return ExitCodes.INVALID;
    }
    VerifierConfig c = a.config();
    Verdict v;
    try {
      Set<String> topics = topics(c, a.bootstrap());
      Coverage coverage = Coverage.readAll(c, a.bootstrap());
      OpenDiscrepancies board = OpenDiscrepancies.readAll(c, a.bootstrap());
      List<SideWatermark> watermarks;
      try (CaptureCurrency currency = CaptureCurrency.open(c, a.bootstrap())) {
        watermarks = currency.read();
      }
      long now = System.currentTimeMillis();
      List<VerifyProgress> progress = verifyProgress(c, a.bootstrap(), watermarks, now);
      v = Verdict.evaluate(c, config.path, a.limits(), topics, coverage, board, watermarks, progress, now);
    } catch (RuntimeException e) {
      err.println("gate: " + (e.getMessage() != null ? e.getMessage() : e.toString())
          + (e instanceof OpsKafka.KafkaUnavailableException ? "" : " (Kafka at " + a.bootstrap() + ")"));
      err.flush();
      return ExitCodes.FAILURE;
    }
    if (json) {
      out.println(v.json());
    } else {
      v.print(out);
    }
    out.flush();
    return v.open() ? ExitCodes.OK : CLOSED;
  }

  private static Duration duration(String option, String text) {
    Duration d = text.isBlank() ? null : ConfigLoader.parseDuration(text);
    if (d == null || d.isNegative()) {
      throw new IllegalArgumentException(option + ": \"" + text + "\" is not a duration; write e.g. 30s, 10m, 2h"
          + " or PT10M");
    }
    return d;
  }

  /** The topics that exist; fails fast (exit 1) when the broker does not answer. */
  private static Set<String> topics(VerifierConfig c, String bootstrap) {
    try (Admin admin = OpsKafka.admin(c, bootstrap, PROBE)) {
      return admin.listTopics().names().get(PROBE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new OpsKafka.KafkaUnavailableException("cannot reach Kafka at " + bootstrap + " (kafka.bootstrap-servers"
          + (c.kafka().embedded() ? ": embedded, i.e. the broker of a running `run` of this config" : "")
          + "): " + (e instanceof TimeoutException
              || e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException
              ? "no answer within " + PROBE.toSeconds() + " s" : String.valueOf(e.getCause()))
          + "; start it or fix the address", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OpsKafka.KafkaUnavailableException("interrupted while listing the topics", e);
    }
  }

  /**
   * How far the verify role trails one change-topic partition: its committed offset there (null: it
   * never committed one), and how long ago the oldest record it has not processed was written (0 when
   * it processed everything). Without this, a verify role that is down would report nothing and the
   * gate would read "no discrepancy open" as agreement.
   */
  record VerifyProgress(Side side, int partition, Long committed, long end, long lagMs) {}

  /** Reads the verify application's committed offsets and the age of the first record after each. */
  static List<VerifyProgress> verifyProgress(VerifierConfig c, String bootstrap, List<SideWatermark> partitions,
      long now) {
    String group = c.topics().verifyApplicationId();
    Map<TopicPartition, OffsetAndMetadata> committed;
    List<VerifyProgress> out = new ArrayList<>();
    try (Admin admin = OpsKafka.admin(c, bootstrap, PROBE);
        KafkaConsumer<byte[], byte[]> consumer = OpsKafka.consumer(c, bootstrap, null, "gate-verify")) {
      committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
          .get(PROBE.toMillis(), TimeUnit.MILLISECONDS);
      List<TopicPartition> tps = partitions.stream()
          .map(w -> new TopicPartition(c.topics().changes(w.side()), w.partition())).toList();
      if (tps.isEmpty()) {
        return out;
      }
      Map<TopicPartition, Long> ends = consumer.endOffsets(tps, PROBE);
      for (int i = 0; i < tps.size(); i++) {
        TopicPartition tp = tps.get(i);
        SideWatermark w = partitions.get(i);
        OffsetAndMetadata at = committed.get(tp);
        long end = ends.get(tp);
        long lag = 0;
        if (at != null && at.offset() < end) {
          consumer.assign(List.of(tp));
          consumer.seek(tp, at.offset());
          List<ConsumerRecord<byte[], byte[]>> first = new ArrayList<>();
          OpsKafka.readToEnd(consumer, List.of(tp), Map.of(tp, end), r -> !first.add(r));
          lag = first.isEmpty() ? 0 : Math.max(0, now - first.get(0).timestamp());
        }
        out.add(new VerifyProgress(w.side(), w.partition(), at == null ? null : at.offset(), end, lag));
      }
      return out;
    } catch (ExecutionException | TimeoutException e) {
      throw new OpsKafka.KafkaUnavailableException("cannot read the committed offsets of " + group + " on "
          + bootstrap + ": " + (e instanceof TimeoutException ? "no answer within " + PROBE.toSeconds() + " s"
              : String.valueOf(e.getCause())), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OpsKafka.KafkaUnavailableException("interrupted while reading the verify role's progress", e);
    }
  }

  /** One reason the gate is closed: which check, about what (a table, or a side), and what to do. */
  record Reason(String check, String table, Side side, List<Integer> partitions, String message) {}

  /** Per table: how it was compared in full, and its open discrepancies. */
  record TableVerdict(String table, Optional<Coverage.Entry> snapshotSource, Optional<Coverage.Entry> snapshotTarget,
      Optional<Coverage.Entry> audit, int open, Long oldestOpenAgeMs) {
    boolean compared() {
      return snapshotSource.isPresent() && snapshotTarget.isPresent() || audit.isPresent();
    }
  }

  /** A watermark with its lag, judged against --max-lag. */
  record CaptureVerdict(Side side, int partition, Long watermark, Long lagMs, boolean current) {}

  /** The outcome, computed without Kafka from what was read (so it is testable on plain values). */
  record Verdict(String name, long now, Limits limits, List<TableVerdict> tables, int openTotal, int malformed,
      List<CaptureVerdict> captures, List<VerifyProgress> verify, List<Reason> reasons) {

    boolean open() {
      return reasons.isEmpty();
    }

    static Verdict evaluate(VerifierConfig c, Path configPath, Limits limits, Set<String> topics, Coverage coverage,
        OpenDiscrepancies board, List<SideWatermark> watermarks, List<VerifyProgress> verify, long now) {
      String cfg = configPath == null ? "<file>" : configPath.toString();
      List<Reason> reasons = new ArrayList<>();
      String discrepancyTopic = c.topics().discrepancies();
      if (!topics.contains(discrepancyTopic)) {
        reasons.add(new Reason("verify", null, null, List.of(), discrepancyTopic + " does not exist: the verify role"
            + " has never run against this cluster, so nothing was compared; start `run --config " + cfg + "`"));
      }

      List<Discrepancy> open = board.open();
      Map<String, List<Discrepancy>> openByTable = open.stream()
          .collect(Collectors.groupingBy(Discrepancy::table, TreeMap::new, Collectors.toList()));
      List<TableVerdict> tables = new ArrayList<>();
      for (TableConfig t : c.tables()) {
        List<Discrepancy> mine = openByTable.getOrDefault(t.name(), List.of());
        TableVerdict tv = new TableVerdict(t.name(), coverage.snapshot(t.name(), Side.SOURCE),
            coverage.snapshot(t.name(), Side.TARGET), coverage.audit(t.name()), mine.size(),
            mine.isEmpty() ? null : now - oldest(mine));
        tables.add(tv);
        if (!tv.compared()) {
          reasons.add(new Reason("coverage", t.name(), null, List.of(), notCompared(c, cfg, tv)));
        }
      }

      boolean tooMany = open.size() > limits.maxOpen();
      for (Map.Entry<String, List<Discrepancy>> e : openByTable.entrySet()) {
        List<Discrepancy> ds = e.getValue();
        long oldestAge = now - oldest(ds);
        boolean tooOld = limits.maxAgeMs() != null && oldestAge > limits.maxAgeMs();
        if (!tooMany && !tooOld) {
          continue;
        }
        String kinds = ds.stream().collect(Collectors.groupingBy(d -> d.kind().name(), TreeMap::new,
            Collectors.counting())).entrySet().stream().map(k -> k.getValue() + " " + k.getKey())
            .collect(Collectors.joining(", "));
        String limit = tooMany ? open.size() + " open in all, more than --max-open " + limits.maxOpen() : "";
        if (tooOld) {
          limit += (limit.isEmpty() ? "" : "; ") + "older than --max-age " + age(limits.maxAgeMs());
        }
        reasons.add(new Reason("open", e.getKey(), null, List.of(), plural(ds.size(), "open discrepancy",
            "open discrepancies") + " in " + e.getKey() + " (" + kinds + "), oldest " + age(oldestAge) + " (" + limit
            + "): see `tail --config " + cfg + " --from-beginning --table " + e.getKey() + "`"));
      }

      List<CaptureVerdict> captures = new ArrayList<>();
      for (Side side : Side.values()) {
        String topic = c.topics().changes(side);
        String role = "capture-" + side.id();
        List<SideWatermark> mine = watermarks.stream().filter(w -> w.side() == side).toList();
        if (mine.isEmpty()) {
          reasons.add(new Reason("capture", null, side, List.of(), topic + " does not exist: " + role
              + " has never run against this cluster; start it (`run --config " + cfg + "`, or with --roles " + role
              + ")"));
          continue;
        }
        List<Integer> none = new ArrayList<>();
        List<Integer> behind = new ArrayList<>();
        long worst = Long.MIN_VALUE;
        Long oldestWatermark = null;
        for (SideWatermark w : mine) {
          Long lag = w.watermark() == null ? null : now - w.watermark();
          boolean current = lag != null && lag <= limits.maxLagMs();
          captures.add(new CaptureVerdict(side, w.partition(), w.watermark(), lag, current));
          if (lag == null) {
            none.add(w.partition());
          } else if (!current) {
            behind.add(w.partition());
            if (lag > worst) {
              worst = lag;
              oldestWatermark = w.watermark();
            }
          }
        }
        if (!none.isEmpty()) {
          reasons.add(new Reason("capture", null, side, none, role + " has written no watermark to "
              + partitions(none) + " of " + topic + " (among its last " + CaptureCurrency.MAX_SCAN / 1000
              + "k records): is its capture running? Start `run --config " + cfg + "` (or with --roles " + role
              + ")"));
        }
        if (!behind.isEmpty()) {
          reasons.add(new Reason("capture", null, side, behind, role + " is " + age(worst) + " behind in "
              + partitions(behind) + " of " + topic + " (newest watermark " + OpsTime.format(oldestWatermark)
              + ", --max-lag " + age(limits.maxLagMs()) + "): is its capture running? (During its initial snapshot"
              + " a capture's watermark stays at the snapshot's start until it completes.)"));
        }
      }
      if (topics.contains(discrepancyTopic)) {
        verifyReasons(c, cfg, limits, verify, reasons);
      }
      return new Verdict(c.name(), now, limits, tables, open.size(), board.malformed(), captures, verify, reasons);
    }

    /** The verify role must have processed the change topics up to about now: else "nothing open" proves nothing. */
    private static void verifyReasons(VerifierConfig c, String cfg, Limits limits, List<VerifyProgress> verify,
        List<Reason> reasons) {
      String app = c.topics().verifyApplicationId();
      for (Side side : Side.values()) {
        List<VerifyProgress> mine = verify.stream().filter(p -> p.side() == side).toList();
        List<Integer> never = mine.stream().filter(p -> p.committed() == null && p.end() > 0)
            .map(VerifyProgress::partition).toList();
        List<VerifyProgress> behind = mine.stream().filter(p -> p.committed() != null && p.lagMs() > limits.maxLagMs())
            .toList();
        String topic = c.topics().changes(side);
        if (!never.isEmpty()) {
          reasons.add(new Reason("verify", null, side, never, "the verify role (" + app + ") has not processed any"
              + " of " + partitions(never) + " of " + topic + ": is it running? Start `run --config " + cfg
              + "` (or with --roles verify)"));
        }
        if (!behind.isEmpty()) {
          long worst = behind.stream().mapToLong(VerifyProgress::lagMs).max().orElseThrow();
          reasons.add(new Reason("verify", null, side, behind.stream().map(VerifyProgress::partition).toList(),
              "the verify role (" + app + ") is " + age(worst) + " behind in " + partitions(behind.stream()
                  .map(VerifyProgress::partition).toList()) + " of " + topic + " (--max-lag " + age(limits.maxLagMs())
              + "): until it catches up, discrepancies may be unreported; is it running?"));
        }
      }
    }

    private static String notCompared(VerifierConfig c, String cfg, TableVerdict tv) {
      String why;
      if (tv.snapshotSource().isEmpty() && tv.snapshotTarget().isEmpty()) {
        why = c.capture().snapshot().equals(CaptureSettings.SNAPSHOT_INITIAL)
            ? "no initial snapshot of it was recorded on either side (captures started before coverage was"
                + " recorded, or still snapshotting)"
            : "capture.snapshot is " + c.capture().snapshot() + ", so no initial snapshot compares its existing rows";
      } else {
        Side missing = tv.snapshotSource().isEmpty() ? Side.SOURCE : Side.TARGET;
        Coverage.Entry done = tv.snapshotSource().orElseGet(() -> tv.snapshotTarget().orElseThrow());
        why = "the initial snapshot of the " + missing.id() + " was not recorded (the " + missing.other().id()
            + "'s completed " + OpsTime.format(done.completedAt()) + "; is capture-" + missing.id()
            + " still snapshotting?)";
      }
      return tv.table() + " was never compared in full: " + why + ", and no audit of it completed: run `audit"
          + " --config " + cfg + " --table " + tv.table() + "`" + (c.kafka().embedded()
              ? " against the broker (with kafka.bootstrap-servers: embedded the audit records nothing in Kafka)"
              : "");
    }

    void print(PrintWriter out) {
      out.printf("gate %s: %s at %s%n", name, open() ? "OPEN" : "CLOSED (" + plural(reasons.size(), "reason",
          "reasons") + ")", OpsTime.format(now));
      for (Reason r : reasons) {
        out.println("  - " + r.message());
      }
      out.println("tables:");
      for (TableVerdict t : tables) {
        out.printf("  %-24s %s; open: %d%s%n", t.table(), t.compared() ? "compared in full by " + by(t)
            : "NOT compared in full", t.open(), t.oldestOpenAgeMs() == null ? "" : ", oldest " + age(t.oldestOpenAgeMs()));
      }
      out.printf("open discrepancies: %d (--max-open %d%s)%n", openTotal, limits.maxOpen(),
          limits.maxAgeMs() == null ? "" : ", --max-age " + age(limits.maxAgeMs()));
      if (malformed > 0) {
        out.printf("warning: %d records of the discrepancy topic could not be read and were skipped%n", malformed);
      }
      out.printf("captures and verify (--max-lag %s):%n", age(limits.maxLagMs()));
      for (CaptureVerdict w : captures) {
        out.printf("  capture %-6s partition %-3d %s%n", w.side().id(), w.partition(), w.watermark() == null ? "no watermark"
            : "watermark " + OpsTime.format(w.watermark()) + ", " + age(w.lagMs()) + " ago" + (w.current() ? ""
                : ": BEHIND"));
      }
      for (VerifyProgress p : verify) {
        out.printf("  verify  %-6s partition %-3d %s%n", p.side().id(), p.partition(), p.committed() == null
            ? "nothing processed" : p.committed() >= p.end() ? "processed everything"
                : (p.end() - p.committed()) + " records to process, the oldest written " + age(p.lagMs()) + " ago");
      }
    }

    private static String by(TableVerdict t) {
      List<String> ways = new ArrayList<>();
      if (t.snapshotSource().isPresent() && t.snapshotTarget().isPresent()) {
        ways.add("initial snapshots (completed " + OpsTime.format(Math.max(t.snapshotSource().get().completedAt(),
            t.snapshotTarget().get().completedAt())) + ")");
      }
      t.audit().ifPresent(a -> ways.add("audit (completed " + OpsTime.format(a.completedAt()) + ")"));
      return String.join(" and ", ways);
    }

    String json() {
      ObjectNode o = JSON.createObjectNode();
      o.put("name", name);
      o.put("gate", open() ? "open" : "closed");
      o.put("exitCode", open() ? ExitCodes.OK : CLOSED);
      o.put("now", now);
      ObjectNode l = o.putObject("limits");
      l.put("maxOpen", limits.maxOpen());
      l.put("maxAgeMs", limits.maxAgeMs());
      l.put("maxLagMs", limits.maxLagMs());
      ArrayNode ts = o.putArray("tables");
      for (TableVerdict t : tables) {
        ObjectNode x = ts.addObject();
        x.put("table", t.table());
        x.put("compared", t.compared());
        ObjectNode s = x.putObject("snapshot");
        s.set("source", t.snapshotSource().map(Coverage::toJson).orElse(null));
        s.set("target", t.snapshotTarget().map(Coverage::toJson).orElse(null));
        x.set("audit", t.audit().map(Coverage::toJson).orElse(null));
        x.put("open", t.open());
        x.put("oldestOpenAgeMs", t.oldestOpenAgeMs());
      }
      o.put("openTotal", openTotal);
      o.put("malformedDiscrepancyRecords", malformed);
      ArrayNode cs = o.putArray("captures");
      for (CaptureVerdict w : captures) {
        ObjectNode x = partition(cs, w.side(), w.partition());
        x.put("watermark", w.watermark());
        x.put("lagMs", w.lagMs());
        x.put("current", w.current());
      }
      ArrayNode vs = o.putArray("verify");
      for (VerifyProgress p : verify) {
        ObjectNode x = partition(vs, p.side(), p.partition());
        x.put("committed", p.committed());
        x.put("end", p.end());
        x.put("lagMs", p.lagMs());
      }
      ArrayNode rs = o.putArray("reasons");
      for (Reason r : reasons) {
        ObjectNode x = rs.addObject();
        x.put("check", r.check());
        x.put("table", r.table());
        x.put("side", r.side() == null ? null : r.side().id());
        ArrayNode ps = x.putArray("partitions");
        r.partitions().forEach(ps::add);
        x.put("message", r.message());
      }
      return o.toString();
    }
  }

  private static ObjectNode partition(ArrayNode into, Side side, int partition) {
    ObjectNode x = into.addObject();
    x.put("side", side.id());
    x.put("partition", partition);
    return x;
  }

  private static long oldest(List<Discrepancy> ds) {
    return ds.stream().mapToLong(Discrepancy::detectedAt).min().orElseThrow();
  }

  private static String partitions(List<Integer> ps) {
    return (ps.size() == 1 ? "partition " : "partitions ") + ps.stream().map(String::valueOf)
        .collect(Collectors.joining(", "));
  }

  private static String plural(int n, String one, String many) {
    return n + " " + (n == 1 ? one : many);
  }

  /** A readable length of time: 800 ms, 12 s, 15 min, 2.5 h, 3 d. */
  static String age(long ms) {
    if (ms < 1_000) {
      return ms + " ms";
    }
    if (ms < 60_000) {
      return ms / 1_000 + " s";
    }
    if (ms < 3_600_000) {
      return ms / 60_000 + " min";
    }
    if (ms < 172_800_000) {
      double h = ms / 3_600_000.0;
      return (h == Math.floor(h) ? String.valueOf((long) h) : String.format(java.util.Locale.ROOT, "%.1f", h)) + " h";
    }
    return ms / 86_400_000 + " d";
  }
}
