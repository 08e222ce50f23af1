package io.migrationverifier.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.CaptureSettings;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.ops.CaptureCurrency;
import io.migrationverifier.ops.CaptureCurrency.SideWatermark;
import io.migrationverifier.ops.Coverage;
import io.migrationverifier.ops.OpenDiscrepancies;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.OpsTime;
import io.migrationverifier.verify.VerifyTopology;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
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
        + " table, started after the newest of its change events on <name>.changes.dlq (never compared); (b) no"
        + " discrepancy is open beyond --max-open / --max-age, no more than --max-pending disagreements are still"
        + " within their window, and every record of <name>.discrepancies can be read; (c) both captures are"
        + " current: in every partition of both change topics the newest watermark is within --max-lag of now, and"
        + " the verify role has processed them up to within --max-lag (else \"nothing open\" proves nothing)."
        + " Otherwise it prints every reason with its fix and exits 4. Reads <name>.coverage, <name>.discrepancies,"
        + " <name>.changes.dlq, the verify role's deadline-store changelog and committed offsets, and the tails of"
        + " <name>.changes.source|target; changes nothing.",
    footer = {"", "Example: gate --config config/verifier.yaml --max-open 0 --max-pending 0 --max-lag 2m [--max-age 10m]"
        + " [--json]",
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

  @Option(names = "--max-pending", paramLabel = "N", defaultValue = "0",
      description = "Disagreements still within their window (not reported yet) allowed in all (default 0): more"
          + " than N close the gate.")
  int maxPending;

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
  record Limits(int maxOpen, Long maxAgeMs, long maxLagMs, int maxPending) {}

  private record Args(VerifierConfig config, String bootstrap, Limits limits) {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Args a = config.prepare(err, cfg -> {
      if (maxOpen < 0) {
        throw new IllegalArgumentException("--max-open: " + maxOpen + " must be 0 or more");
      }
      if (maxPending < 0) {
        throw new IllegalArgumentException("--max-pending: " + maxPending + " must be 0 or more");
      }
      Long age = maxAge == null ? null : duration("--max-age", maxAge).toMillis();
      long lag = duration("--max-lag", maxLag).toMillis();
      return new Args(cfg, OpsKafka.bootstrap(cfg), new Limits(maxOpen, age, lag, maxPending));
    });
    if (a == null) {
      return ExitCodes.INVALID;
    }
    VerifierConfig c = a.config();
    Verdict v;
    try {
      Set<String> topics = topics(c, a.bootstrap());
      Coverage coverage = Coverage.readAll(c, a.bootstrap());
      List<SideWatermark> watermarks;
      try (CaptureCurrency currency = CaptureCurrency.open(c, a.bootstrap())) {
        watermarks = currency.read();
      }
      long now = System.currentTimeMillis();
      // The verify role's progress first, what it produced after: it commits its offsets, its stores'
      // changelogs and its output in one transaction, so everything it processed up to the offsets
      // read here is in what is read next. And the pending disagreements before the discrepancies: one
      // that is reported in between is then seen (twice at worst), never missed.
      List<VerifyProgress> progress = verifyProgress(c, a.bootstrap(), watermarks, now);
      Pending pending = readPending(c, a.bootstrap());
      Coverage.ChangeDeadLetters deadLetters = Coverage.readDeadLetters(c, a.bootstrap());
      Board board = readBoard(c, a.bootstrap());
      v = Verdict.evaluate(c, config.path, a.limits(), topics, coverage, deadLetters, board, pending, watermarks,
          progress, now);
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
      consumer.assign(tps); // offsets of unassigned partitions make a read_committed consumer log a WARN each
      consumer.pause(tps);
      Map<TopicPartition, Long> ends = consumer.endOffsets(tps, PROBE);
      for (int i = 0; i < tps.size(); i++) {
        TopicPartition tp = tps.get(i);
        SideWatermark w = partitions.get(i);
        OffsetAndMetadata at = committed.get(tp);
        long end = ends.get(tp);
        long lag = 0;
        if (at != null && at.offset() < end) {
          consumer.pause(tps); // readToEnd resumes the one it reads
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

  /**
   * Disagreements the verify role holds back until their window has passed: the live keys of its
   * {@code verify-deadlines} store, per table. They are on no topic but the store's changelog, yet a
   * row that exists only in the target is one of them for a whole window.
   *
   * @param byTable    live keys per table (a key whose table cannot be read counts under "?")
   * @param changelog  the changelog topic read
   * @param exists     false when the changelog does not exist (the verify role never started)
   */
  record Pending(Map<String, Integer> byTable, String changelog, boolean exists) {
    int total() {
      return byTable.values().stream().mapToInt(Integer::intValue).sum();
    }
  }

  /** The changelog topic of the verify role's deadline store (Kafka Streams: application id, store, "changelog"). */
  static String deadlineChangelog(VerifierConfig c) {
    return c.topics().verifyApplicationId() + "-" + VerifyTopology.DEADLINE_STORE + "-changelog";
  }

  /**
   * Reads the deadline store's changelog (compacted; read_committed, as the verify role writes it in
   * its exactly-once transactions): key = 8-byte deadline + the row's record key, an empty value
   * while the disagreement waits, a tombstone once it was reported or the row agreed again.
   */
  static Pending readPending(VerifierConfig c, String bootstrap) {
    String topic = deadlineChangelog(c);
    Set<ByteBuffer> live = new HashSet<>();
    boolean exists = Coverage.readTopic(c, bootstrap, topic, "gate-pending", r -> {
      if (r.key() != null) {
        if (r.value() == null) {
          live.remove(ByteBuffer.wrap(r.key()));
        } else {
          live.add(ByteBuffer.wrap(r.key()));
        }
      }
    });
    Map<String, Integer> byTable = new TreeMap<>();
    for (ByteBuffer k : live) {
      byte[] b = k.array();
      String table;
      try {
        table = CanonicalKey.parse(Arrays.copyOfRange(b, Math.min(8, b.length), b.length)).table();
      } catch (RuntimeException e) {
        table = "?"; // still a disagreement held back: it counts
      }
      byTable.merge(table, 1, Integer::sum);
    }
    return new Pending(byTable, topic, exists);
  }

  /** Where a record is. */
  record At(int partition, long offset) {}

  /**
   * The open discrepancies, and the records of {@code <name>.discrepancies} that cannot be read and
   * were not superseded by a later record of the same key: any of them may be an open discrepancy.
   */
  record Board(OpenDiscrepancies open, List<At> unreadable) {}

  static Board readBoard(VerifierConfig c, String bootstrap) {
    OpenDiscrepancies board = new OpenDiscrepancies();
    Map<ByteBuffer, At> unreadable = new HashMap<>();
    List<At> keyless = new ArrayList<>();
    Coverage.readTopic(c, bootstrap, c.topics().discrepancies(), "gate-discrepancies", r -> {
      int before = board.malformed();
      board.apply(r.key(), r.value());
      ByteBuffer k = r.key() == null ? null : ByteBuffer.wrap(r.key());
      if (k != null) {
        unreadable.remove(k); // the latest record of a key decides, and a compacted topic drops the older ones
      }
      if (board.malformed() > before) {
        At at = new At(r.partition(), r.offset());
        if (k == null) {
          keyless.add(at);
        } else {
          unreadable.put(k, at);
        }
      }
    });
    List<At> all = new ArrayList<>(keyless);
    all.addAll(unreadable.values());
    all.sort(Comparator.comparingInt(At::partition).thenComparingLong(At::offset));
    return new Board(board, all);
  }

  /** One reason the gate is closed: which check, about what (a table, or a side), and what to do. */
  record Reason(String check, String table, Side side, List<Integer> partitions, String message) {}

  /**
   * Per table: how it was compared in full, whether changes that went to the dead-letter topic since
   * void that, its open discrepancies and its disagreements still within their window.
   *
   * @param comparedSince start of its latest coverage ({@link Coverage#comparedSince}); null: never compared in full
   * @param deadLettered  its change events on {@code <name>.changes.dlq} written since then (all of them without coverage)
   * @param newestDeadLetter the newest of them, or null
   */
  record TableVerdict(String table, Optional<Coverage.Entry> snapshotSource, Optional<Coverage.Entry> snapshotTarget,
      Optional<Coverage.Entry> audit, Long comparedSince, int deadLettered, Long newestDeadLetter, int open,
      Long oldestOpenAgeMs, int pending) {
    boolean compared() {
      return comparedSince != null && deadLettered == 0;
    }
  }

  /** A watermark with its lag, judged against --max-lag. */
  record CaptureVerdict(Side side, int partition, Long watermark, Long lagMs, boolean current) {}

  /** The outcome, computed without Kafka from what was read (so it is testable on plain values). */
  record Verdict(String name, long now, Limits limits, List<TableVerdict> tables, int openTotal, List<At> unreadable,
      int pendingTotal, int unattributedDeadLetters, List<CaptureVerdict> captures, List<VerifyProgress> verify,
      List<Reason> reasons) {

    boolean open() {
      return reasons.isEmpty();
    }

    static Verdict evaluate(VerifierConfig c, Path configPath, Limits limits, Set<String> topics, Coverage coverage,
        Coverage.ChangeDeadLetters deadLetters, Board board, Pending pending, List<SideWatermark> watermarks,
        List<VerifyProgress> verify, long now) {
      String cfg = configPath == null ? "<file>" : configPath.toString();
      List<Reason> reasons = new ArrayList<>();
      String discrepancyTopic = c.topics().discrepancies();
      String dlq = c.topics().changesDlq();
      if (!topics.contains(discrepancyTopic)) {
        reasons.add(new Reason("verify", null, null, List.of(), discrepancyTopic + " does not exist: the verify role"
            + " has never run against this cluster, so nothing was compared; start `run --config " + cfg + "`"));
      } else if (!pending.exists()) {
        reasons.add(new Reason("pending", null, null, List.of(), pending.changelog() + " does not exist: the verify"
            + " role (" + c.topics().verifyApplicationId() + ") has never started, so no change was compared and"
            + " disagreements within their window cannot be seen; start `run --config " + cfg
            + "` (or with --roles verify)"));
      }
      if (!board.unreadable().isEmpty()) {
        List<At> at = board.unreadable();
        Map<Integer, List<Long>> byPartition = at.stream().collect(Collectors.groupingBy(At::partition, TreeMap::new,
            Collectors.mapping(At::offset, Collectors.toList())));
        String where = byPartition.entrySet().stream().map(e -> "partition " + e.getKey() + " "
            + (e.getValue().size() == 1 ? "offset " : "offsets ") + e.getValue().stream().limit(5)
                .map(String::valueOf).collect(Collectors.joining(", ")) + (e.getValue().size() > 5 ? ", …" : ""))
            .collect(Collectors.joining("; "));
        At first = at.get(0);
        reasons.add(new Reason("unreadable", null, null, byPartition.keySet().stream().toList(),
            plural(at.size(), "record", "records") + " of " + discrepancyTopic + " cannot be read (" + where
                + "): a discrepancy in " + (at.size() == 1 ? "it" : "them") + " would be invisible. Inspect "
                + (at.size() == 1 ? "it" : "the first") + " (`kafka-console-consumer --topic " + discrepancyTopic
                + " --partition " + first.partition() + " --offset " + first.offset() + " --max-messages 1"
                + " --property print.key=true`), fix its writer; a later record with the same key (e.g. a"
                + " tombstone) supersedes it"));
      }

      Map<String, OpenDiscrepancies.TableSummary> open = board.open().summary();
      int openTotal = board.open().openCount();
      List<TableVerdict> tables = new ArrayList<>();
      Long coveredSinceAll = Long.MAX_VALUE; // the earliest coverage start of all tables; null: one has none
      for (TableConfig t : c.tables()) {
        OpenDiscrepancies.TableSummary mine = open.get(t.name());
        Long since = coverage.comparedSince(t.name());
        coveredSinceAll = since == null || coveredSinceAll == null ? null : Math.min(coveredSinceAll, since);
        // strictly after: coverage that started when the change was dead-lettered may have missed it
        int dead = since == null ? deadLetters.of(t.name(), null) : deadLetters.of(t.name(), since);
        TableVerdict tv = new TableVerdict(t.name(), coverage.snapshot(t.name(), Side.SOURCE),
            coverage.snapshot(t.name(), Side.TARGET), coverage.audit(t.name()), since, dead,
            deadLetters.newest(t.name()), mine == null ? 0 : mine.open(),
            mine == null || mine.oldestDetectedAt() == null ? null : now - mine.oldestDetectedAt(),
            pending.byTable().getOrDefault(t.name(), 0));
        tables.add(tv);
        if (since == null) {
          reasons.add(new Reason("coverage", t.name(), null, List.of(), notCompared(c, cfg, tv)));
        } else if (dead > 0) {
          reasons.add(new Reason("coverage", t.name(), null, List.of(), plural(dead, "change event", "change events")
              + " of " + t.name() + " went to " + dlq + " (newest " + OpsTime.format(tv.newestDeadLetter())
              + ") since its latest comparison in full started (" + OpsTime.format(since) + "): the verifier never"
              + " compared " + (dead == 1 ? "it" : "them") + ". Fix the cause (the records' __streams.errors.*"
              + " headers say what it is), then run `audit --config " + cfg + " --table " + t.name() + "`: an audit"
              + " started after them compares the table in full again"));
        }
      }
      int unattributed = deadLetters.unattributed(coveredSinceAll == null ? null : coveredSinceAll);
      if (unattributed > 0) {
        reasons.add(new Reason("dlq", null, null, List.of(), plural(unattributed, "change event", "change events")
            + " on " + dlq + " (newest " + OpsTime.format(deadLetters.newestUnattributed()) + ") could not be"
            + " attributed to a configured table, and not every table was compared in full after them: inspect them"
            + " (their __streams.errors.* headers say what failed and where they came from), fix the cause, then"
            + " audit the tables they may belong to, or all of them (`audit --config " + cfg + "`)"));
      }

      boolean tooMany = openTotal > limits.maxOpen();
      for (OpenDiscrepancies.TableSummary ds : open.values()) {
        long oldestAge = ds.oldestDetectedAt() == null ? 0 : now - ds.oldestDetectedAt();
        boolean tooOld = limits.maxAgeMs() != null && oldestAge > limits.maxAgeMs();
        if (!tooMany && !tooOld) {
          continue;
        }
        String kinds = new TreeMap<>(ds.byKind()).entrySet().stream().map(k -> k.getValue() + " " + k.getKey().name())
            .collect(Collectors.joining(", "));
        String limit = tooMany ? openTotal + " open in all, more than --max-open " + limits.maxOpen() : "";
        if (tooOld) {
          limit += (limit.isEmpty() ? "" : "; ") + "older than --max-age " + age(limits.maxAgeMs());
        }
        reasons.add(new Reason("open", ds.table(), null, List.of(), plural(ds.open(), "open discrepancy",
            "open discrepancies") + " in " + ds.table() + " (" + kinds + "), oldest " + age(oldestAge) + " (" + limit
            + "): see `tail --config " + cfg + " --from-beginning --table " + ds.table() + "`"));
      }

      if (pending.total() > limits.maxPending()) {
        for (Map.Entry<String, Integer> e : pending.byTable().entrySet()) {
          String window = c.tables().stream().filter(t -> t.name().equals(e.getKey())).findFirst()
              .map(t -> age(t.effectiveWindow(c.verify()).toMillis()) + " for " + e.getKey()).orElse("");
          reasons.add(new Reason("pending", e.getKey(), null, List.of(), plural(e.getValue(), "key", "keys") + " of "
              + e.getKey() + (e.getValue() == 1 ? " disagrees and is" : " disagree and are") + " still within"
              + " their window (" + pending.total() + " in all, more than --max-pending " + limits.maxPending()
              + "): wait one window (verify.window" + (window.isEmpty() ? "" : ": " + window) + ") for them to"
              + " converge or be reported"));
        }
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
      return new Verdict(c.name(), now, limits, tables, openTotal, board.unreadable(), pending.total(), unattributed,
          captures, verify, reasons);
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
        out.printf("  %-24s %s; open: %d%s; pending: %d%n", t.table(), t.compared() ? "compared in full by " + by(t)
            : "NOT compared in full" + (t.comparedSince() == null ? "" : " (" + plural(t.deadLettered(),
                "change", "changes") + " dead-lettered since " + by(t) + ")"), t.open(),
            t.oldestOpenAgeMs() == null ? "" : ", oldest " + age(t.oldestOpenAgeMs()), t.pending());
      }
      out.printf("open discrepancies: %d (--max-open %d%s)%n", openTotal, limits.maxOpen(),
          limits.maxAgeMs() == null ? "" : ", --max-age " + age(limits.maxAgeMs()));
      out.printf("disagreements within their window: %d (--max-pending %d)%n", pendingTotal, limits.maxPending());
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
      l.put("maxPending", limits.maxPending());
      ArrayNode ts = o.putArray("tables");
      for (TableVerdict t : tables) {
        ObjectNode x = ts.addObject();
        x.put("table", t.table());
        x.put("compared", t.compared());
        ObjectNode s = x.putObject("snapshot");
        s.set("source", t.snapshotSource().map(Coverage::toJson).orElse(null));
        s.set("target", t.snapshotTarget().map(Coverage::toJson).orElse(null));
        x.set("audit", t.audit().map(Coverage::toJson).orElse(null));
        x.put("comparedSince", t.comparedSince());
        x.put("deadLettered", t.deadLettered());
        x.put("newestDeadLetter", t.newestDeadLetter());
        x.put("open", t.open());
        x.put("oldestOpenAgeMs", t.oldestOpenAgeMs());
        x.put("pending", t.pending());
      }
      o.put("openTotal", openTotal);
      o.put("pendingTotal", pendingTotal);
      o.put("unattributedDeadLetters", unattributedDeadLetters);
      o.put("malformedDiscrepancyRecords", unreadable.size());
      ArrayNode un = o.putArray("unreadableDiscrepancyRecords");
      for (At at : unreadable) {
        un.addObject().put("partition", at.partition()).put("offset", at.offset());
      }
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
