package io.migrationverifier.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.cli.Main;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.Watermark;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.testutil.Configs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.StreamsGroupDescription;
import org.apache.kafka.clients.admin.StreamsGroupMemberDescription;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Shared pieces of the reliability tests: a seeded change history with a known fault plan and its
 * oracle, a feeder that writes both change topics as two captures would (each side in commit
 * order, watermarks to every partition, the target trailing the source by a varying lag), the
 * verify role in its own JVM, and the Kafka-side measurements (committed offsets of the verify
 * application, end offsets, the discrepancy topic read with read_committed).
 */
public final class ReliabilitySupport {
  public static final long BASE = 1_700_000_000_000L;
  public static final String TABLE = "orders";
  private static final ObjectMapper JSON = new ObjectMapper();

  private ReliabilitySupport() {}

  // ---- the history and its oracle -------------------------------------------------------------

  /** One committed change of one side. {@code value} is null for a delete. */
  public record Change(Side side, String id, Op op, String value, long ts) {}

  /** A report the oracle expects: a kind (RESOLVED included) for a key. */
  public record Expected(String kind, String id) {}

  /** Sizes of a generated history. */
  public record Shape(int keys, long spanMs, long windowMs, int bursts, int burstKeys, double faultRate) {}

  /**
   * Both sides' changes (each in commit order), the reports the verifier must emit and, for the
   * figures, how many of each injected fault there are.
   */
  public record Plan(List<Change> source, List<Change> target, Set<Expected> expected, long endTs,
      Map<String, Integer> faults, long windowMs) {
    public int changeEvents() {
      return source.size() + target.size();
    }

    /** Ids of the keys whose reports come in bursts (many deadlines within a few ms of event time). */
    public boolean inBurst(String id) {
      return id.startsWith("b");
    }
  }

  enum Fault { CORRUPTED, DROPPED, DELAYED_BEYOND_WINDOW, LATE_WITHIN_WINDOW, MISSED_DELETE }

  /**
   * A seeded history of {@code shape.keys()} mirrored keys. Each key's source changes are spaced
   * more than two windows apart, and each correct copy lags by 1 ms .. window - 100 ms, so a
   * correct copy ends its disagreement long before the deadline. Faults, on a few keys each:
   * a corrupted copy (VALUE_MISMATCH), a dropped copy (the kind of the key's state at the
   * deadline), a copy later than the window (reported, then RESOLVED), a copy just inside the
   * window (nothing), a delete never copied (UNEXPECTED_IN_TARGET); plus rows only the source
   * has (MISSING_IN_TARGET), rows only the target has (UNEXPECTED_IN_TARGET), and bursts of many
   * such keys whose deadlines fall within 150 ms of event time. No event falls within 50 ms of a
   * deadline, so the oracle never depends on how ties are ordered.
   */
  public static Plan plan(long seed, Shape shape) {
    Random r = new Random(seed);
    long w = shape.windowMs();
    List<Change> source = new ArrayList<>();
    List<Change> target = new ArrayList<>();
    Map<String, Integer> faults = new TreeMap<>();
    long keySpan = 40_000;
    long last = BASE + shape.spanMs();
    for (int k = 0; k < shape.keys(); k++) {
      String id = "k" + k;
      long t = BASE + 1 + (long) (r.nextDouble() * (shape.spanMs() - keySpan));
      int n = 4 + r.nextInt(7);
      boolean present = false;
      List<Change> own = new ArrayList<>();
      for (int j = 0; j < n; j++) {
        Op op = !present ? Op.CREATE : r.nextInt(8) == 0 ? Op.DELETE : Op.UPDATE;
        own.add(new Change(Side.SOURCE, id, op, op == Op.DELETE ? null : "v" + j + "." + r.nextInt(100_000), t));
        present = op != Op.DELETE;
        t += 2 * w + 1_500 + r.nextInt(1_500);
      }
      Fault fault = r.nextDouble() < shape.faultRate() ? Fault.values()[r.nextInt(Fault.values().length)] : null;
      if (fault == Fault.MISSED_DELETE) {
        if (!present) {
          fault = Fault.DROPPED;
        } else {
          own.add(new Change(Side.SOURCE, id, Op.DELETE, null, t));
        }
      }
      // the faulty change: the last (the difference stays) or one in the middle (a later copy fixes it)
      int at = fault == Fault.MISSED_DELETE || r.nextBoolean() ? own.size() - 1 : r.nextInt(own.size());
      if (fault == Fault.CORRUPTED && own.get(at).op() == Op.DELETE) {
        fault = Fault.DROPPED;
      }
      if (fault != null) {
        faults.merge(fault.name() + (at == own.size() - 1 ? " (last change)" : " (mid-history)"), 1, Integer::sum);
      }
      for (int j = 0; j < own.size(); j++) {
        Change c = own.get(j);
        source.add(c);
        long lag = 1 + r.nextInt((int) (w - 100));
        if (j == at && fault != null) {
          switch (fault) {
            case CORRUPTED -> target.add(new Change(Side.TARGET, id, c.op(), c.value() + "-corrupt", c.ts() + lag));
            case DROPPED, MISSED_DELETE -> { }
            case DELAYED_BEYOND_WINDOW -> target.add(new Change(Side.TARGET, id, c.op(), c.value(),
                c.ts() + w + 100 + r.nextInt(1_500)));
            case LATE_WITHIN_WINDOW -> target.add(new Change(Side.TARGET, id, c.op(), c.value(),
                c.ts() + w - 100 + r.nextInt(50)));
            default -> throw new IllegalStateException();
          }
        } else {
          target.add(new Change(Side.TARGET, id, c.op(), c.value(), c.ts() + lag));
        }
      }
    }
    for (int k = 0; k < Math.max(1, shape.keys() / 400); k++) {
      long ts = BASE + 1 + (long) (r.nextDouble() * (shape.spanMs() - w));
      if (k % 2 == 0) {
        source.add(new Change(Side.SOURCE, "m" + k, Op.CREATE, "only-source", ts));
        faults.merge("ROW_ONLY_IN_SOURCE", 1, Integer::sum);
      } else {
        target.add(new Change(Side.TARGET, "x" + k, Op.CREATE, "only-target", ts));
        faults.merge("ROW_ONLY_IN_TARGET", 1, Integer::sum);
      }
    }
    for (int b = 0; b < shape.bursts(); b++) {
      long at = BASE + (b + 1) * shape.spanMs() / (shape.bursts() + 1);
      for (int k = 0; k < shape.burstKeys(); k++) {
        String id = "b" + b + "-" + k;
        long ts = at + r.nextInt(150);
        source.add(new Change(Side.SOURCE, id, Op.CREATE, "burst", ts));
        // a third is copied beyond the window: its RESOLVED comes in a burst of its own
        if (k % 3 == 0) {
          target.add(new Change(Side.TARGET, id, Op.CREATE, "burst", ts + w + 300 + r.nextInt(150)));
        }
      }
      faults.merge("BURST_KEYS", shape.burstKeys(), Integer::sum);
    }
    Comparator<Change> commitOrder = Comparator.comparingLong(Change::ts).thenComparing(Change::id);
    source.sort(commitOrder);
    target.sort(commitOrder);
    long end = Math.max(source.get(source.size() - 1).ts(), target.get(target.size() - 1).ts());
    end = Math.max(end, last) + 5 * w;
    return new Plan(List.copyOf(source), List.copyOf(target), oracle(source, target, w), end, faults, w);
  }

  /**
   * The sequential model of DESIGN section 4, per key over the merged history in event time: a
   * disagreement starts at the change that broke agreement, is reported with the state at
   * {@code t0 + window} if it still holds then, and a reported one that agrees again is RESOLVED.
   * It refuses a history with an event within 50 ms of a deadline (ordering ties would matter).
   */
  static Set<Expected> oracle(List<Change> source, List<Change> target, long w) {
    Map<String, List<Change>> byKey = new HashMap<>();
    for (Change c : source) {
      byKey.computeIfAbsent(c.id(), k -> new ArrayList<>()).add(c);
    }
    for (Change c : target) {
      byKey.computeIfAbsent(c.id(), k -> new ArrayList<>()).add(c);
    }
    Set<Expected> out = new HashSet<>();
    for (var e : byKey.entrySet()) {
      List<Change> h = e.getValue();
      h.sort(Comparator.comparingLong(Change::ts));
      String src = null;
      String tgt = null;
      Long t0 = null;
      boolean reported = false;
      int reports = 0;
      for (Change c : h) {
        if (t0 != null && !reported) {
          if (Math.abs(c.ts() - (t0 + w)) < 50) {
            throw new IllegalStateException("history too close to a deadline at key " + e.getKey());
          }
          if (c.ts() > t0 + w) {
            out.add(new Expected(kind(src, tgt), e.getKey()));
            reported = true;
            reports++;
          }
        }
        if (c.side() == Side.SOURCE) {
          src = c.value();
        } else {
          tgt = c.value();
        }
        boolean agree = Objects.equals(src, tgt);
        if (!agree && t0 == null) {
          t0 = c.ts();
        } else if (agree && t0 != null) {
          if (reported) {
            out.add(new Expected("RESOLVED", e.getKey()));
          }
          t0 = null;
          reported = false;
        }
      }
      if (t0 != null && !reported) {
        out.add(new Expected(kind(src, tgt), e.getKey()));
        reports++;
      }
      if (reports > 1) {
        throw new IllegalStateException("the plan reports key " + e.getKey() + " twice: the assertions assume once");
      }
    }
    return out;
  }

  private static String kind(String src, String tgt) {
    return src == null ? "UNEXPECTED_IN_TARGET" : tgt == null ? "MISSING_IN_TARGET" : "VALUE_MISMATCH";
  }

  // ---- writing the change topics as two captures would -----------------------------------------

  /**
   * Writes a plan's two histories, each side in commit order with increasing positions, with a
   * watermark to every partition after each step. The target trails the source by a lag that
   * wanders between 0 and 3 s of event time. A small share of events is written twice, as an
   * at-least-once capture does after a restart. Every send is checked.
   */
  public static final class Feeder implements AutoCloseable {
    private final Plan plan;
    private final KafkaProducer<byte[], byte[]> producer;
    private final String[] topics = new String[2];
    private final int partitions;
    private final Random random;
    private final int[] next = new int[2];
    private final long[] position = new long[2];
    private final long[] frontier = {BASE, BASE};
    private final List<Future<RecordMetadata>> unchecked = new ArrayList<>();
    private long records;
    private long duplicates;
    private long lag;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private Thread thread;

    public Feeder(VerifierConfig config, String bootstrap, Plan plan, long seed) {
      this.plan = plan;
      Map<String, Object> p = new HashMap<>();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
      this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
      this.topics[0] = config.topics().changes(Side.SOURCE);
      this.topics[1] = config.topics().changes(Side.TARGET);
      this.partitions = config.kafka().partitions();
      this.random = new Random(seed);
      // both captures' first watermark: their streams begin just before the history
      watermark(0, BASE);
      watermark(1, BASE);
    }

    /** Writes both sides up to source event time {@code until} (the target trails), then watermarks. */
    public synchronized void advanceTo(long until) {
      lag = Math.max(0, Math.min(3_000, lag + random.nextInt(401) - 200));
      writeSide(0, plan.source(), until);
      writeSide(1, plan.target(), Math.max(frontier[1], until - lag));
      check();
    }

    /** Everything, then both watermarks past every deadline. */
    public synchronized void finish() {
      writeSide(0, plan.source(), plan.endTs());
      writeSide(1, plan.target(), plan.endTs());
      check();
    }

    /**
     * Writes {@code fraction} of the history's event time at once (a backlog), then the rest in a
     * background thread at an even pace, so that it takes about {@code wall}.
     */
    public void startPaced(double fraction, Duration wall) {
      long span = plan.endTs() - BASE;
      long firstStop = BASE + (long) (fraction * span);
      advanceTo(firstStop);
      int steps = (int) Math.max(1, wall.toMillis() / 100);
      thread = new Thread(() -> {
        try {
          long t0 = System.nanoTime();
          for (int s = 1; s <= steps; s++) {
            advanceTo(firstStop + (plan.endTs() - firstStop) * s / steps);
            long due = t0 + wall.toNanos() * s / steps;
            long sleep = due - System.nanoTime();
            if (sleep > 0) {
              TimeUnit.NANOSECONDS.sleep(sleep);
            }
          }
          finish();
        } catch (Throwable e) {
          failure.set(e);
        }
      }, "feeder");
      thread.setDaemon(true);
      thread.start();
    }

    public boolean done() {
      rethrow();
      return thread != null && !thread.isAlive();
    }

    public void rethrow() {
      if (failure.get() != null) {
        throw new AssertionError("the feeder failed", failure.get());
      }
    }

    public synchronized long records() {
      return records;
    }

    public synchronized long duplicates() {
      return duplicates;
    }

    private void writeSide(int s, List<Change> changes, long until) {
      Side side = s == 0 ? Side.SOURCE : Side.TARGET;
      while (next[s] < changes.size() && changes.get(next[s]).ts() <= until) {
        Change c = changes.get(next[s]++);
        Map<String, String> key = new TreeMap<>(Map.of("id", c.id()));
        CanonicalRow row = c.value() == null ? null : CanonicalRow.of(Map.of("id", c.id(), "v", c.value()));
        ChangeEvent e = ChangeEvent.of(side, TABLE, new TreeMap<>(key), c.op(), row, c.ts(),
            String.format("%020d", ++position[s]));
        byte[] k = CanonicalKey.of(TABLE, key).toBytes();
        byte[] v = EventCodec.encode(e);
        unchecked.add(producer.send(new ProducerRecord<>(topics[s], k, v)));
        records++;
        if (random.nextInt(100) == 0) {
          unchecked.add(producer.send(new ProducerRecord<>(topics[s], k, v)));
          duplicates++;
        }
      }
      if (until > frontier[s]) {
        frontier[s] = until;
        watermark(s, until);
      }
    }

    private void watermark(int s, long wm) {
      byte[] v = EventCodec.encode(new Watermark(s == 0 ? Side.SOURCE : Side.TARGET, wm));
      for (int p = 0; p < partitions; p++) {
        unchecked.add(producer.send(new ProducerRecord<>(topics[s], p, null, v)));
      }
    }

    private void check() {
      producer.flush();
      try {
        for (Future<RecordMetadata> f : unchecked) {
          f.get();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("a change event was not written", e.getCause());
      }
      unchecked.clear();
    }

    @Override
    public void close() {
      if (thread != null) {
        thread.interrupt();
      }
      producer.close(Duration.ofSeconds(5));
    }
  }

  // ---- the verify role in its own JVM -----------------------------------------------------------

  /** The config of a verify-only deployment on an external broker. */
  public static Path writeConfig(Path dir, String name, String bootstrap, int partitions, Path stateDir,
      int standbys) throws IOException {
    Path f = dir.resolve(name + "-" + stateDir.getFileName() + ".yaml");
    // session.timeout.ms: a SIGKILLed member leaves the group only when its session expires; the
    // default 45 s would make every restart in these tests wait that long (see the report)
    Files.writeString(f, """
        name: %s
        kafka:
          bootstrap-servers: %s
          partitions: %d
          properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "1000"}
        source: {type: postgres, database: legacy, user: verifier}
        target: {type: postgres, database: modern, user: verifier}
        verify: {window: 1s, stall-threshold: 1h, state-dir: "%s", commit-interval: 100ms, num-standby-replicas: %d}
        http: {enabled: false}
        tables:
          - {name: %s, key: [id]}
        """.formatted(name, bootstrap, partitions, stateDir, standbys, TABLE));
    return f;
  }

  public static VerifierConfig parse(Path configFile) {
    try {
      return Configs.parse(Files.readString(configFile));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code run --roles verify} in a child JVM, its output in a file. */
  public static final class VerifyJvm {
    private static final Pattern RESTORED =
        Pattern.compile("Finished restoring changelog \\S+ to store \\S+ with a total number of (\\d+) records");
    private final Process process;
    public final Path log;
    public final long startedNanos = System.nanoTime();

    private VerifyJvm(Process process, Path log) {
      this.process = process;
      this.log = log;
    }

    public static VerifyJvm start(Path config, Path log) throws IOException {
      Path logback = log.resolveSibling("child-logback.xml");
      if (!Files.exists(logback)) {
        // the product's defaults, plus Streams' restore lines: how much state a restart read back
        Files.writeString(logback, """
            <configuration>
              <appender name="E" class="ch.qos.logback.core.ConsoleAppender">
                <target>System.err</target>
                <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
              </appender>
              <logger name="io.migrationverifier" level="INFO"/>
              <logger name="org.apache.kafka.streams.processor.internals.StoreChangelogReader" level="INFO"/>
              <root level="WARN"><appender-ref ref="E"/></root>
            </configuration>
            """);
      }
      // the child loads the config with System.getenv: the test secrets go into its environment
      Process p = Configs.withSecrets(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
          .toString(), "-Xmx512m", "-Dlogback.configurationFile=" + logback, "-cp",
          System.getProperty("java.class.path"), Main.class.getName(), "run", "--config", config.toString(), "--roles",
          "verify"))
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      return new VerifyJvm(p, log);
    }

    public boolean alive() {
      return process.isAlive();
    }

    public long pid() {
      return process.pid();
    }

    /** SIGKILL, and wait until the process is gone. */
    public void kill() throws InterruptedException {
      process.destroyForcibly();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("the killed verify JVM is gone").isTrue();
      assertThat(process.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
    }

    /** A planned stop (SIGTERM: the shutdown hook closes Streams and leaves the group). */
    public void stop() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(40, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }

    public String output() {
      try {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
      } catch (IOException e) {
        return "(unreadable: " + e + ")";
      }
    }

    /** Records Streams restored from changelogs, summed over the restore lines of this log so far. */
    public long restoredRecords() {
      Matcher m = RESTORED.matcher(output());
      long n = 0;
      while (m.find()) {
        n += Long.parseLong(m.group(1));
      }
      return n;
    }
  }

  // ---- measuring on the broker ------------------------------------------------------------------

  /** End offsets (latest) of every partition of {@code topics}. */
  public static Map<TopicPartition, Long> ends(Admin admin, Collection<String> topics, int partitions,
      IsolationLevel isolation) {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (String t : topics) {
      for (int p = 0; p < partitions; p++) {
        request.put(new TopicPartition(t, p), OffsetSpec.latest());
      }
    }
    try {
      Map<TopicPartition, Long> out = new HashMap<>();
      admin.listOffsets(request, new ListOffsetsOptions(isolation)).all().get(30, TimeUnit.SECONDS)
          .forEach((tp, info) -> out.put(tp, info.offset()));
      return out;
    } catch (Exception e) {
      throw new IllegalStateException("listOffsets " + topics, e);
    }
  }

  /** The verify application's committed offsets on its input partitions (absent: 0). */
  public static Map<TopicPartition, Long> committed(Admin admin, String groupId) {
    try {
      Map<TopicPartition, Long> out = new HashMap<>();
      Map<TopicPartition, OffsetAndMetadata> c = admin.listConsumerGroupOffsets(groupId)
          .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
      c.forEach((tp, o) -> out.put(tp, o == null ? 0 : o.offset()));
      return out;
    } catch (Exception e) {
      throw new IllegalStateException("listConsumerGroupOffsets " + groupId, e);
    }
  }

  public static long sum(Map<TopicPartition, Long> offsets, Collection<TopicPartition> of) {
    long n = 0;
    for (TopicPartition tp : of) {
      n += offsets.getOrDefault(tp, 0L);
    }
    return n;
  }

  /** Whether the committed offsets reached {@code ends} on every partition. */
  public static boolean caughtUp(Admin admin, String groupId, Map<TopicPartition, Long> ends) {
    Map<TopicPartition, Long> c = committed(admin, groupId);
    return ends.entrySet().stream().allMatch(e -> c.getOrDefault(e.getKey(), 0L) >= e.getValue());
  }

  /**
   * Which input partitions of {@code topic} each member of the verify application holds as active
   * tasks, keyed by client id. Kafka Streams 4.3 joins as a classic consumer group by default
   * ({@code group.protocol=classic}); a group on the Streams rebalance protocol (KIP-1071) is read
   * with describeStreamsGroups instead.
   */
  public static Map<String, Set<Integer>> activePartitions(Admin admin, String groupId, String topic) {
    try {
      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(groupId)).all().get(30, TimeUnit.SECONDS)
          .get(groupId);
      if (d.type() != GroupType.STREAMS) {
        Map<String, Set<Integer>> out = new TreeMap<>();
        for (MemberDescription m : d.members()) {
          Set<Integer> ps = new java.util.TreeSet<>();
          m.assignment().topicPartitions().stream().filter(tp -> tp.topic().equals(topic))
              .forEach(tp -> ps.add(tp.partition()));
          out.put(m.clientId(), ps);
        }
        return out;
      }
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof GroupIdNotFoundException)) {
        throw new IllegalStateException("describeConsumerGroups " + groupId, e);
      }
      // no member yet, or not a consumer group: the Streams group description says which
    } catch (Exception e) {
      throw new IllegalStateException("describeConsumerGroups " + groupId, e);
    }
    try {
      StreamsGroupDescription d = admin.describeStreamsGroups(List.of(groupId)).all().get(30, TimeUnit.SECONDS)
          .get(groupId);
      Map<String, Set<Integer>> out = new TreeMap<>();
      for (StreamsGroupMemberDescription m : d.members()) {
        Set<Integer> ps = new java.util.TreeSet<>();
        m.assignment().activeTasks().forEach(t -> ps.addAll(t.partitions()));
        out.put(m.clientId(), ps);
      }
      return out;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof GroupIdNotFoundException) {
        return Map.of();
      }
      throw new IllegalStateException("describeStreamsGroups " + groupId, e);
    } catch (Exception e) {
      throw new IllegalStateException("describeStreamsGroups " + groupId, e);
    }
  }

  // ---- the discrepancy topic ------------------------------------------------------------------

  /** Every record of the discrepancy topic a read_committed consumer sees, up to the last stable offsets. */
  public static List<JsonNode> readCommittedDiscrepancies(Admin admin, VerifierConfig config, String bootstrap) {
    String topic = config.topics().discrepancies();
    List<JsonNode> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = OpsKafka.consumer(config, bootstrap, null, "reliability-check")) {
      List<TopicPartition> tps = OpsKafka.partitions(admin, topic, bootstrap);
      // Every transaction on the topic decided first. The coordinator writes a commit's markers to
      // the output partitions and to the consumer offsets one after the other, so "offsets committed"
      // can be seen just before the last reports are readable; and a killed instance's open
      // transaction holds the last stable offset back until it times out and is aborted. Reading up
      // to the last stable offset before then would miss reports that are there.
      org.awaitility.Awaitility.await("no open transaction on " + topic).atMost(java.time.Duration.ofSeconds(120))
          .pollInterval(java.time.Duration.ofMillis(200))
          .until(() -> ends(admin, List.of(topic), tps.size(), IsolationLevel.READ_COMMITTED)
              .equals(ends(admin, List.of(topic), tps.size(), IsolationLevel.READ_UNCOMMITTED)));
      c.assign(tps);
      c.seekToBeginning(tps);
      OpsKafka.readToEnd(c, tps, ends(admin, List.of(topic), tps.size(), IsolationLevel.READ_COMMITTED), rec -> {
        try {
          out.add(JSON.readTree(rec.value()));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        return true;
      });
    }
    return out;
  }

  /**
   * The assertions of issue 7 points 1 and 2: every expected (kind, key) exactly once, nothing
   * else, no id twice, and each RESOLVED closing the id of its key's report.
   *
   * @return a one-line summary for the figures
   */
  public static String assertExactly(Plan plan, List<JsonNode> got) {
    Map<Expected, Integer> seen = new HashMap<>();
    Map<String, Integer> ids = new HashMap<>();
    Map<String, String> reportIdByKey = new HashMap<>();
    Map<String, String> resolvesByKey = new HashMap<>();
    for (JsonNode d : got) {
      String id = d.get("key").get("id").asText();
      String kind = d.get("kind").asText();
      seen.merge(new Expected(kind, id), 1, Integer::sum);
      ids.merge(d.get("id").asText(), 1, Integer::sum);
      if (kind.equals("RESOLVED")) {
        resolvesByKey.put(id, d.get("resolves").asText());
      } else {
        reportIdByKey.put(id, d.get("id").asText());
      }
    }
    List<String> duplicates = new ArrayList<>();
    seen.forEach((e, n) -> {
      if (n > 1) {
        duplicates.add(e + " x" + n);
      }
    });
    ids.forEach((id, n) -> {
      if (n > 1) {
        duplicates.add("id " + id + " x" + n);
      }
    });
    Set<Expected> missing = new HashSet<>(plan.expected());
    missing.removeAll(seen.keySet());
    Set<Expected> falsePositives = new HashSet<>(seen.keySet());
    falsePositives.removeAll(plan.expected());
    String summary = "expected " + plan.expected().size() + " reports, got " + got.size() + " records; duplicates "
        + duplicates.size() + ", lost " + missing.size() + ", false positives " + falsePositives.size();
    assertThat(duplicates).as("nothing reported twice (" + summary + ")").isEmpty();
    assertThat(missing).as("nothing lost (" + summary + ")").isEmpty();
    assertThat(falsePositives).as("no false positive (" + summary + ")").isEmpty();
    resolvesByKey.forEach((key, resolves) -> assertThat(resolves).as("RESOLVED of " + key + " closes its report")
        .isEqualTo(reportIdByKey.get(key)));
    return summary;
  }

  /** Elapsed ms since {@code nanos}. */
  public static long msSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }
}
