package io.migrationverifier.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.capture.CaptureListener;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.verify.VerifyListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the end-to-end pipeline tests share: one real in-process Kafka broker per test class, the
 * config of a scenario built as YAML text (as an operator writes it), a read_committed reader of
 * {@code <name>.discrepancies} and {@code <name>.health}, a {@link Probe} that observes the
 * captures and the verifier, and the waits that make "nothing was reported" a provable statement:
 * {@link #awaitVerifiedUpTo} returns only once the verifier has seen BOTH sides' watermarks pass a
 * point in event time in every partition, has committed that progress, and the reader has read
 * every committed output record.
 */
public final class PipelineFixture implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineFixture.class);
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration AWAIT = Duration.ofSeconds(60);
  static final Duration POLL = Duration.ofMillis(25);

  private final EmbeddedKafka broker;
  private final Admin admin;

  private PipelineFixture(EmbeddedKafka broker) {
    this.broker = broker;
    this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
  }

  static PipelineFixture start() {
    long t0 = System.nanoTime();
    PipelineFixture f = new PipelineFixture(EmbeddedKafka.start(0, null));
    LOG.info("broker ready in {} ms", ms(t0));
    return f;
  }

  String bootstrapServers() {
    return broker.bootstrapServers();
  }

  Admin admin() {
    return admin;
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(5));
    broker.close();
  }

  // ---- config ----------------------------------------------------------------------------------

  /** A PostgreSQL side as it appears in the config file. */
  static String postgres(int port, String database) {
    return postgres(port, database, "UTC");
  }

  static String postgres(int port, String database, String timeZone) {
    return "{type: postgres, host: 127.0.0.1, port: %d, database: %s, user: postgres, password: '', time-zone: %s}"
        .formatted(port, database, timeZone);
  }

  /** {@code passwordVariable}: the password is {@code ${env:<passwordVariable>}}, one of {@link Configs#SECRETS}. */
  static String mariadb(int port, String database, String user, String passwordVariable, String timeZone) {
    return "{type: mariadb, host: 127.0.0.1, port: %d, database: %s, user: %s, password: \"${env:%s}\", time-zone: %s}"
        .formatted(port, database, user, passwordVariable, timeZone);
  }

  /**
   * The config of one scenario: its own {@code name} (so its own topics, slots, application id),
   * its own state dir, 2 partitions, heartbeats every 200 ms.
   */
  VerifierConfig config(String name, String source, String target, String window, String stallThreshold,
      Path stateDir, String tablesYaml) {
    return Configs.parse("""
        name: %s
        kafka: {bootstrap-servers: "%s", partitions: 2}
        source: %s
        target: %s
        verify: {window: %s, stall-threshold: %s, state-dir: "%s", commit-interval: 100ms}
        capture: {heartbeat-interval: 200ms}
        tables:
        %s""".formatted(name, broker.bootstrapServers(), source, target, window, stallThreshold, stateDir,
        tablesYaml.indent(2)));
  }

  static Path tempDir(String prefix) throws IOException {
    return Files.createTempDirectory(prefix);
  }

  static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not delete {}: {}", dir, e.toString());
    }
  }

  // ---- observing the pipeline --------------------------------------------------------------------

  /**
   * Observes captures and verifier: the highest watermark the verifier accepted per partition and
   * side, and every anomaly (a late change breaks a capture's watermark promise; malformed and
   * dead-lettered records mean a change was not compared).
   */
  public static final class Probe implements CaptureListener, VerifyListener {
    private final Map<String, Long> watermarks = new ConcurrentHashMap<>();
    public final List<String> anomalies = new CopyOnWriteArrayList<>();
    final AtomicLong duplicates = new AtomicLong();
    final AtomicLong applied = new AtomicLong();
    final AtomicLong converged = new AtomicLong();
    final Map<Side, AtomicLong> heartbeats = new EnumMap<>(Map.of(Side.SOURCE, new AtomicLong(),
        Side.TARGET, new AtomicLong()));
    final Map<Side, AtomicLong> captured = new EnumMap<>(Map.of(Side.SOURCE, new AtomicLong(),
        Side.TARGET, new AtomicLong()));

    @Override
    public void watermark(int partition, Side side, long watermark) {
      watermarks.merge(partition + "/" + side.id(), watermark, Math::max);
    }

    @Override
    public void duplicateIgnored(Side side) {
      duplicates.incrementAndGet();
    }

    @Override
    public void lateChange(Side side, long lateByMs) {
      anomalies.add("late change on " + side.id() + " by " + lateByMs + " ms");
    }

    @Override
    public void malformed(String topic, String reason) {
      anomalies.add("malformed record on " + topic + ": " + reason);
    }

    @Override
    public void changeApplied(String table, Side side) {
      applied.incrementAndGet();
    }

    @Override
    public void converged(String table, long disagreedForMs) {
      converged.incrementAndGet();
    }

    @Override
    public void batch(Side side, int changes, long watermark) {
      captured.get(side).addAndGet(changes);
    }

    @Override
    public void heartbeat(Side side, long ts) {
      heartbeats.get(side).incrementAndGet();
    }

    @Override
    public void deadLettered(Side side, Exception e) {
      anomalies.add("capture " + side.id() + " dead-lettered a change: " + e);
    }

    /** The lowest watermark the verifier accepted over every partition and both sides (MIN if any is missing). */
    public long minWatermark(int partitions) {
      long min = Long.MAX_VALUE;
      for (int p = 0; p < partitions; p++) {
        for (Side s : Side.values()) {
          min = Math.min(min, watermarks.getOrDefault(p + "/" + s.id(), Long.MIN_VALUE));
        }
      }
      return min;
    }

    long watermark(int partition, Side side) {
      return watermarks.getOrDefault(partition + "/" + side.id(), Long.MIN_VALUE);
    }

    long minWatermark(int partitions, Side side) {
      long min = Long.MAX_VALUE;
      for (int p = 0; p < partitions; p++) {
        min = Math.min(min, watermark(p, side));
      }
      return min;
    }
  }

  /** Everything committed to {@code <name>.discrepancies} and {@code <name>.health}, read with read_committed. */
  static final class Events implements AutoCloseable {
    final List<JsonNode> discrepancies = new CopyOnWriteArrayList<>();
    final List<JsonNode> health = new CopyOnWriteArrayList<>();
    private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String discrepancyTopic;
    private final List<TopicPartition> partitions = new ArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable failure;

    Events(VerifierConfig config, String bootstrapServers) {
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      discrepancyTopic = config.topics().discrepancies();
      for (String t : List.of(discrepancyTopic, config.topics().health())) {
        for (int i = 0; i < config.kafka().partitions(); i++) {
          partitions.add(new TopicPartition(t, i));
        }
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      thread = new Thread(this::loop, "events-" + config.name());
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      try {
        while (running) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
            JsonNode n = JSON.readTree(r.value());
            if (r.topic().equals(discrepancyTopic)) {
              LOG.info("discrepancy: {}", n);
              discrepancies.add(n);
            } else {
              LOG.info("health: {}", n);
              health.add(n);
            }
          }
          for (TopicPartition tp : partitions) {
            positions.put(tp, consumer.position(tp));
          }
        }
      } catch (Throwable t) {
        failure = t;
        LOG.error("event reader failed", t);
      } finally {
        consumer.close(Duration.ofSeconds(2));
      }
    }

    /** Waits until this reader has read up to the last stable offset of every partition, as of now. */
    void awaitCaughtUp(Admin admin) throws Exception {
      Map<TopicPartition, OffsetSpec> request = new HashMap<>();
      partitions.forEach(tp -> request.put(tp, OffsetSpec.latest()));
      var lso = admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();
      await().atMost(AWAIT).pollInterval(POLL).until(() -> {
        check();
        return lso.entrySet().stream().allMatch(e -> positions.getOrDefault(e.getKey(), -1L) >= e.getValue().offset());
      });
    }

    void check() {
      if (failure != null) {
        throw new IllegalStateException("the event reader failed", failure);
      }
    }

    List<JsonNode> ofKind(String kind) {
      return discrepancies.stream().filter(d -> d.get("kind").asText().equals(kind)).toList();
    }

    /** Discrepancies of one key id (single-column key "id"), in the order read. */
    List<JsonNode> forId(String id) {
      return discrepancies.stream().filter(d -> d.get("key").get("id").asText().equals(id)).toList();
    }

    /** "id:KIND" of every discrepancy, in the order read. */
    List<String> summary() {
      return discrepancies.stream().map(d -> d.get("key").get("id").asText() + ":" + d.get("kind").asText())
          .collect(Collectors.toList());
    }

    List<JsonNode> health(String kind, String side) {
      return health.stream().filter(h -> h.get("kind").asText().equals(kind) && h.get("side").asText().equals(side))
          .toList();
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(5_000);
    }
  }

  // ---- waiting ------------------------------------------------------------------------------

  /**
   * Waits until both captures stream (snapshot done) and the verifier accepted a watermark at or
   * after {@code sinceMs} from both sides in every partition.
   */
  void awaitLive(VerifierConfig config, Probe probe, long sinceMs, Pipeline... pipelines) {
    long t0 = System.nanoTime();
    await("pipeline live").atMost(AWAIT).pollInterval(POLL).until(() -> {
      for (Pipeline p : pipelines) {
        if (p.failure().isCompletedExceptionally()) {
          p.failure().join();
        }
      }
      return probe.minWatermark(config.kafka().partitions()) >= sinceMs;
    });
    LOG.info("{}: live after {} ms", config.name(), ms(t0));
  }

  /**
   * Proves that the verifier has judged every disagreement whose deadline is at or before {@code ts}:
   * (1) the verifier accepted watermarks at or after {@code ts} from both sides in every partition
   * (deadlines up to there fired while those were processed); (2) its committed input offsets (in
   * the same transactions as its output) reach what the change topics held at that moment; (3) the
   * reader has read every committed output record.
   */
  void awaitVerifiedUpTo(VerifierConfig config, Probe probe, Events events, long ts, Pipeline... pipelines)
      throws Exception {
    long t0 = System.nanoTime();
    int partitions = config.kafka().partitions();
    await("watermarks past " + ts).atMost(AWAIT).pollInterval(POLL).until(() -> {
      for (Pipeline p : pipelines) {
        if (p.failure().isCompletedExceptionally()) {
          p.failure().join();
        }
      }
      events.check();
      return probe.minWatermark(partitions) >= ts;
    });
    awaitCommittedPastInput(config);
    events.awaitCaughtUp(admin);
    LOG.info("{}: verified up to {} after {} ms", config.name(), ts, ms(t0));
  }

  /** Waits until the verify application's committed offsets reach the current end of both change topics. */
  void awaitCommittedPastInput(VerifierConfig config) throws Exception {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (Side s : Side.values()) {
      for (int p = 0; p < config.kafka().partitions(); p++) {
        request.put(new TopicPartition(config.topics().changes(s), p), OffsetSpec.latest());
      }
    }
    var ends = admin.listOffsets(request).all().get();
    String group = config.topics().verifyApplicationId();
    await("verify committed past the change topics' end").atMost(AWAIT).pollInterval(POLL).until(() -> {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      return ends.entrySet().stream().allMatch(e -> {
        OffsetAndMetadata c = committed.get(e.getKey());
        return c != null && c.offset() >= e.getValue().offset();
      });
    });
  }

  /** What the two change topics hold: change events (watermarks aside), and how many distinct ones (by side and pos). */
  record ChangeCounts(long total, long distinct) {
    long repeated() {
      return total - distinct;
    }
  }

  /**
   * Reads both change topics to their current end. Each distinct change (a side's {@code pos} is
   * unique to one change) must be applied by the verifier exactly once; every repetition (a
   * capture's replay) must be ignored as a duplicate.
   */
  ChangeCounts countChanges(VerifierConfig config) throws Exception {
    List<TopicPartition> partitions = new ArrayList<>();
    for (Side s : Side.values()) {
      for (int p = 0; p < config.kafka().partitions(); p++) {
        partitions.add(new TopicPartition(config.topics().changes(s), p));
      }
    }
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    long total = 0;
    Set<String> distinct = new HashSet<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      c.assign(partitions);
      c.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = c.endOffsets(partitions);
      long deadline = System.currentTimeMillis() + AWAIT.toMillis();
      while (partitions.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("could not read the change topics to their end");
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
          if (r.offset() >= end.get(new TopicPartition(r.topic(), r.partition()))) {
            continue;
          }
          JsonNode n = JSON.readTree(r.value());
          if (n.has("watermark")) {
            continue;
          }
          total++;
          distinct.add(n.get("side").asText() + "/" + n.get("pos").asText());
        }
      }
    }
    return new ChangeCounts(total, distinct.size());
  }

  /** Every distinct change applied exactly once, every repetition ignored (one verifier instance, not restarted). */
  void assertEachChangeAppliedOnce(VerifierConfig config, Probe probe) throws Exception {
    ChangeCounts counts = countChanges(config);
    LOG.info("{}: {} change events on the change topics, {} distinct; verifier applied {}, ignored {} as replays",
        config.name(), counts.total(), counts.distinct(), probe.applied.get(), probe.duplicates.get());
    assertThat(probe.applied.get()).as("distinct changes applied once")
        .isEqualTo(counts.distinct());
    assertThat(probe.duplicates.get()).as("repeated changes ignored")
        .isEqualTo(counts.repeated());
  }

  // ---- writing ------------------------------------------------------------------------------

  interface SqlAction {
    void run() throws SQLException;
  }

  static void exec(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }

  /** Runs {@code action} as one transaction on {@code c}. */
  static void inTransaction(Connection c, SqlAction action) throws SQLException {
    c.setAutoCommit(false);
    try {
      action.run();
      c.commit();
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(true);
    }
  }

  /**
   * The "replication" of a dual-writing application: target writes run on one thread, each after
   * its delay, in the order they were scheduled when the delays are equal.
   */
  static final class Replicator implements AutoCloseable {
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "replicator");
      t.setDaemon(true);
      return t;
    });
    private final long lagMs;
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private long lastDue = System.currentTimeMillis();
    /** How late the most delayed target write started (the real lag is {@code lagMs} plus this). */
    final AtomicLong maxLateMs = new AtomicLong();

    Replicator(long lagMs) {
      this.lagMs = lagMs;
    }

    void later(SqlAction action) {
      after(lagMs, action);
    }

    synchronized void after(long delayMs, SqlAction action) {
      long due = System.currentTimeMillis() + delayMs;
      lastDue = Math.max(lastDue, due);
      executor.schedule(() -> {
        maxLateMs.accumulateAndGet(System.currentTimeMillis() - due, Math::max);
        try {
          action.run();
        } catch (SQLException | RuntimeException e) {
          errors.add(e);
          LOG.error("replicated write failed", e);
        }
      }, delayMs, TimeUnit.MILLISECONDS);
    }

    /** Waits until every scheduled write ran; returns the wall-clock time after the last one. */
    long drain() throws Exception {
      long wait;
      synchronized (this) {
        wait = Math.max(0, lastDue - System.currentTimeMillis()) + 1;
      }
      ScheduledFuture<?> marker = executor.schedule(() -> { }, wait, TimeUnit.MILLISECONDS);
      marker.get(wait + 30_000, TimeUnit.MILLISECONDS);
      if (!errors.isEmpty()) {
        throw new IllegalStateException("replicated writes failed: " + errors, errors.get(0));
      }
      LOG.info("replicated writes drained; the latest started {} ms after its due time", maxLateMs.get());
      return System.currentTimeMillis();
    }

    /**
     * Precondition of "a correctly mirrored workload gives no discrepancy": the copies really
     * followed within the window. On an overloaded machine the replicator thread can fall behind;
     * that is the harness failing, not the verifier, and this says so.
     */
    void assertKeptUpWithin(long budgetMs) {
      assertThat(maxLateMs.get())
          .as("precondition: the test's replicator started every copy at most %d ms late (machine overloaded?)",
              budgetMs)
          .isLessThanOrEqualTo(budgetMs);
    }

    @Override
    public void close() {
      executor.shutdownNow();
    }
  }

  static long ms(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }
}
