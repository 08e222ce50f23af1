package io.migrationverifier.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.capture.CaptureListener;
import io.migrationverifier.config.RepairSettings;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.repair.RepairEngine;
import io.migrationverifier.repair.RepairListener;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.PipelineFixture.Probe;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.PostgresServer;
import io.migrationverifier.verify.VerifyListener;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 7 point 3: the Kafka broker stopped and started again (same port, same log dir) in the
 * middle of a run, while a workload writes to both PostgreSQL databases and injects faults
 * before, during and after the outage. Capture, verify (Kafka Streams, exactly_once_v2) and
 * repair run in one {@link Pipeline} and must ride it out on their own: no role fails, every
 * injected difference is reported exactly once (read_committed), the repaired ones are repaired
 * and resolved, every other key agrees in the two databases, and nothing else is reported.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class BrokerRestartIT {
  private static final Logger LOG = LoggerFactory.getLogger(BrokerRestartIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration AWAIT = Duration.ofSeconds(90);
  private static final Duration POLL = Duration.ofMillis(50);
  private static final long WINDOW = 1_500;
  private static final long MARGIN = 500;
  /** The pause between stop and start; {@code -DbrokerRestartIT.outageSeconds=N} probes longer outages. */
  private static final Duration OUTAGE = Duration.ofSeconds(Long.getLong("brokerRestartIT.outageSeconds", 4));
  private static final int PARTITIONS = 2;

  /** A fault the workload made: a key of a table that differs in the target on purpose. */
  record Fault(String table, long id, String kind) {}

  @Test
  void captureVerifyAndRepairRideOutABrokerRestart() throws Exception {
    Path dir = Files.createTempDirectory("broker-restart-it");
    Path logDir = dir.resolve("kafka");
    int port = freePort();
    EmbeddedKafka broker = EmbeddedKafka.start(port, logDir);
    List<String> figures = new ArrayList<>();
    try (PostgresServer pg = PostgresServer.start()) {
      for (String db : List.of("br_src", "br_tgt")) {
        pg.createDatabase(db);
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
          for (String t : List.of("acct", "ledger")) {
            s.execute("CREATE TABLE " + t + " (id BIGINT PRIMARY KEY, amount NUMERIC(12,2), note TEXT)");
            s.execute("ALTER TABLE " + t + " REPLICA IDENTITY FULL");
          }
        }
      }
      String bootstrap = broker.bootstrapServers();
      String side = "{type: postgres, host: 127.0.0.1, port: %d, database: %s, user: postgres, password: '', time-zone: UTC}";
      VerifierConfig config = Configs.parse("""
          name: br
          kafka: {bootstrap-servers: "%s", partitions: %d}
          source: %s
          target: %s
          verify: {window: %dms, stall-threshold: 1h, state-dir: "%s", commit-interval: 100ms}
          capture: {heartbeat-interval: 200ms}
          repair: {backoff: 200ms, max-backoff: 1s, outage-probe-interval: 300ms}
          tables:
            - {name: acct, key: [id], repair: {policy: source-wins}}
            - {name: ledger, key: [id]}
          """.formatted(bootstrap, PARTITIONS, side.formatted(pg.port(), "br_src"), side.formatted(pg.port(), "br_tgt"),
          WINDOW, dir.resolve("state")));
      Observer observer = new Observer();
      Outcomes outcomes = new Outcomes();
      long started = System.currentTimeMillis();
      try (CaptureCrashIT.Tail discrepancies = new CaptureCrashIT.Tail(bootstrap, "read_committed",
              config.topics().discrepancies());
          Pipeline pipeline = Pipeline.start(config, Role.all(), bootstrap, observer, observer, outcomes);
          Workload workload = new Workload(pg.connect("br_src"), pg.connect("br_tgt"));
          Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        await("pipeline live").atMost(AWAIT).pollInterval(POLL)
            .until(() -> rethrow(pipeline) && observer.probe.minWatermark(PARTITIONS) >= started);
        workload.start();
        await("workload before the outage").atMost(AWAIT).pollInterval(POLL)
            .until(() -> rethrow(pipeline) && workload.ops.get() >= 300 && workload.faults.size() >= 4);
        await("first faults reported before the outage").atMost(AWAIT).pollInterval(POLL)
            .until(() -> rethrow(pipeline) && discrepancies.changes() >= 2);

        // ---- the outage ------------------------------------------------------------------------
        long faultsBefore = workload.faults.size();
        long stopAt = System.nanoTime();
        broker.close();
        long stoppedMs = ms(stopAt);
        await("writes and faults while the broker is down").atMost(AWAIT).pollDelay(OUTAGE).until(() -> true);
        long restartAt = System.nanoTime();
        broker = EmbeddedKafka.start(port, logDir);
        long downMs = ms(stopAt);
        long brokerReadyMs = ms(restartAt);
        long faultsDuring = workload.faults.size() - faultsBefore;
        long capturedAtRestart = observer.captureBatchesAt();
        long verifiedAtRestart = observer.watermarkCallbacks.get();
        await("captures resume").atMost(AWAIT).pollInterval(Duration.ofMillis(20))
            .until(() -> rethrow(pipeline) && observer.capturedSince(capturedAtRestart));
        long captureResumedMs = ms(restartAt);
        await("verify resumes").atMost(AWAIT).pollInterval(Duration.ofMillis(20))
            .until(() -> rethrow(pipeline) && observer.watermarkCallbacks.get() > verifiedAtRestart + 10);
        long verifyResumedMs = ms(restartAt);
        String outage = String.format("broker stopped in %d ms, down %d ms in all (ready again %d ms after its start);"
            + " after the restart capture wrote again after %d ms, verify moved watermarks after %d ms; %d faults"
            + " injected while it was down", stoppedMs, downMs, brokerReadyMs, captureResumedMs, verifyResumedMs,
            faultsDuring);
        LOG.info(outage);
        figures.add(outage);

        long opsAtRestart = workload.ops.get();
        await("workload after the outage").atMost(AWAIT).pollInterval(POLL)
            .until(() -> rethrow(pipeline) && workload.ops.get() >= opsAtRestart + 300);
        workload.stopAndCheck();
        long last = System.currentTimeMillis();

        // ---- everything judged --------------------------------------------------------------------
        List<Fault> faults = List.copyOf(workload.faults);
        assertThat(faultsDuring).as("faults injected while the broker was down").isPositive();
        List<Fault> repaired = faults.stream().filter(f -> f.table().equals("acct")).toList();
        await("watermarks past the last write + window").atMost(AWAIT).pollInterval(POLL)
            .until(() -> rethrow(pipeline) && observer.probe.minWatermark(PARTITIONS) >= last + WINDOW + MARGIN);
        await("every repaired fault resolved").atMost(AWAIT).pollInterval(POLL).until(() -> {
          rethrow(pipeline);
          Set<String> resolved = resolvedKeys(discrepancies.snapshot());
          return repaired.stream().allMatch(f -> resolved.contains(f.table() + "/" + f.id()));
        });
        long lastRepair = System.currentTimeMillis();
        await("watermarks past the last repair + window").atMost(AWAIT).pollInterval(POLL)
            .until(() -> rethrow(pipeline)
                && observer.probe.minWatermark(PARTITIONS) >= lastRepair + WINDOW + MARGIN);
        awaitCommitted(admin, config.topics().verifyApplicationId(), changeTopicEnds(admin, config));
        List<ConsumerRecord<byte[], byte[]>> committed = readCommitted(admin, config, bootstrap);
        // the repair role commits past the last record it handled (a transaction marker may follow it)
        Map<TopicPartition, Long> handled = new HashMap<>();
        committed.forEach(r -> handled.merge(new TopicPartition(r.topic(), r.partition()), r.offset() + 1, Math::max));
        awaitCommitted(admin, RepairSettings.groupId(config.name()), handled);

        assertThat(pipeline.failure()).as("no role failed").isNotDone();
        List<String> reported = new ArrayList<>();
        Map<String, List<JsonNode>> resolvedByKey = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : committed) {
          JsonNode d = JSON.readTree(r.value());
          String key = d.get("table").asText() + "/" + d.get("key").get("id").asText();
          if (d.get("kind").asText().equals("RESOLVED")) {
            resolvedByKey.computeIfAbsent(key, k -> new ArrayList<>()).add(d);
          } else {
            reported.add(key + " " + d.get("kind").asText());
          }
        }
        List<String> expected = faults.stream().map(f -> f.table() + "/" + f.id() + " " + f.kind()).toList();
        assertThat(reported).as("every injected difference reported exactly once, nothing else (%d faults, %d during"
            + " the outage)", faults.size(), faultsDuring).containsExactlyInAnyOrderElementsOf(expected);
        for (Fault f : repaired) {
          List<JsonNode> r = resolvedByKey.getOrDefault(f.table() + "/" + f.id(), List.of());
          assertThat(r).as("one RESOLVED for repaired %s", f).hasSize(1);
          assertThat(r.get(0).get("resolution").asText()).isEqualTo("repaired");
        }
        assertThat(resolvedByKey.keySet()).as("RESOLVED only for repaired faults")
            .containsExactlyInAnyOrderElementsOf(repaired.stream().map(f -> f.table() + "/" + f.id()).toList());
        assertThat(outcomes.count(RepairEngine.Status.APPLIED)).as("one repair per repairable fault")
            .isEqualTo(repaired.size());
        assertThat(outcomes.deadLettered.get()).as("nothing dead-lettered").isZero();

        Set<String> detectOnly = faults.stream().filter(f -> f.table().equals("ledger"))
            .map(f -> "ledger/" + f.id()).collect(Collectors.toSet());
        for (String t : List.of("acct", "ledger")) {
          Map<Long, String> src = rows(pg, "br_src", t);
          Map<Long, String> tgt = rows(pg, "br_tgt", t);
          Set<Long> ids = new java.util.TreeSet<>(src.keySet());
          ids.addAll(tgt.keySet());
          List<String> differ = ids.stream().filter(id -> !java.util.Objects.equals(src.get(id), tgt.get(id)))
              .map(id -> t + "/" + id).toList();
          assertThat(differ).as("%s: only the detect-only faults still differ", t)
              .containsExactlyInAnyOrderElementsOf(detectOnly.stream().filter(k -> k.startsWith(t + "/")).toList());
        }
        assertThat(observer.probe.anomalies).as("no late change, nothing malformed or dead-lettered").isEmpty();
        String summary = String.format("%d workload ops, %d faults (%d during the outage, %d repaired), %d discrepancy"
            + " records read_committed, %d repairs applied", workload.ops.get(), faults.size(), faultsDuring,
            repaired.size(), committed.size(), outcomes.count(RepairEngine.Status.APPLIED));
        LOG.info(summary);
        figures.add(summary);
      }
    } finally {
      broker.close();
      deleteRecursively(dir);
      LOG.info("BrokerRestartIT figures:\n{}", String.join("\n", figures));
    }
  }

  // ---- the workload ----------------------------------------------------------------------------

  /**
   * Dual writes, ~150 operations a second: each inserts a row into the source and then the same
   * row into the target (tables alternate); every 3rd also updates an earlier, clean row on both.
   * Every 29th row is a fault instead, in turn: missing in the target, a wrong value in the
   * target, a row only in the target. Faulted rows are never touched again.
   */
  static final class Workload implements AutoCloseable {
    final AtomicLong ops = new AtomicLong();
    final List<Fault> faults = new CopyOnWriteArrayList<>();
    private final Connection source;
    private final Connection target;
    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Map<String, List<Long>> clean = new ConcurrentHashMap<>();
    private volatile Throwable failure;

    Workload(Connection source, Connection target) {
      this.source = source;
      this.target = target;
      this.thread = new Thread(this::loop, "workload");
      thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    private void loop() {
      try {
        int faultKind = 0;
        for (long k = 1; running.get(); k++) {
          String table = k % 2 == 0 ? "acct" : "ledger";
          BigDecimal amount = BigDecimal.valueOf(k, 2);
          if (k % 29 == 0) {
            switch (faultKind++ % 3) {
              case 0 -> {
                insert(source, table, k, amount, "only on the source");
                faults.add(new Fault(table, k, "MISSING_IN_TARGET"));
              }
              case 1 -> {
                insert(source, table, k, amount, "row " + k);
                insert(target, table, k, amount, "wrong " + k);
                faults.add(new Fault(table, k, "VALUE_MISMATCH"));
              }
              default -> {
                insert(target, table, k, amount, "only on the target");
                faults.add(new Fault(table, k, "UNEXPECTED_IN_TARGET"));
              }
            }
          } else {
            insert(source, table, k, amount, "row " + k);
            insert(target, table, k, amount, "row " + k);
            clean.computeIfAbsent(table, t -> new CopyOnWriteArrayList<>()).add(k);
          }
          if (k % 3 == 0) {
            List<Long> ids = clean.getOrDefault(table, List.of());
            if (!ids.isEmpty()) {
              long id = ids.get((int) ((k * 7919) % ids.size()));
              update(source, table, id, "updated at " + k);
              update(target, table, id, "updated at " + k);
            }
          }
          ops.incrementAndGet();
          Thread.sleep(5);
        }
      } catch (Throwable t) {
        failure = t;
      }
    }

    private static void insert(Connection c, String table, long id, BigDecimal amount, String note)
        throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " VALUES (?, ?, ?)")) {
        ps.setLong(1, id);
        ps.setBigDecimal(2, amount);
        ps.setString(3, note);
        ps.executeUpdate();
      }
    }

    private static void update(Connection c, String table, long id, String note) throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("UPDATE " + table + " SET note = ? WHERE id = ?")) {
        ps.setString(1, note);
        ps.setLong(2, id);
        ps.executeUpdate();
      }
    }

    void stopAndCheck() throws InterruptedException {
      running.set(false);
      thread.join(10_000);
      if (failure != null) {
        throw new IllegalStateException("the workload failed", failure);
      }
    }

    @Override
    public void close() throws Exception {
      running.set(false);
      thread.join(10_000);
      source.close();
      target.close();
    }
  }

  // ---- observers ---------------------------------------------------------------------------------

  /** The shared probe, plus when the captures last delivered and how often watermarks arrived. */
  static final class Observer implements CaptureListener, VerifyListener {
    final Probe probe = new Probe();
    final AtomicLong captureBatches = new AtomicLong();
    final AtomicLong watermarkCallbacks = new AtomicLong();

    long captureBatchesAt() {
      return captureBatches.get();
    }

    boolean capturedSince(long batches) {
      return captureBatches.get() > batches + 2;
    }

    @Override
    public void batch(Side side, int changes, long watermark) {
      captureBatches.incrementAndGet();
      probe.batch(side, changes, watermark);
    }

    @Override
    public void heartbeat(Side side, long ts) {
      probe.heartbeat(side, ts);
    }

    @Override
    public void deadLettered(Side side, Exception e) {
      probe.deadLettered(side, e);
    }

    @Override
    public void watermark(int partition, Side side, long watermark) {
      watermarkCallbacks.incrementAndGet();
      probe.watermark(partition, side, watermark);
    }

    @Override
    public void duplicateIgnored(Side side) {
      probe.duplicateIgnored(side);
    }

    @Override
    public void lateChange(Side side, long lateByMs) {
      probe.lateChange(side, lateByMs);
    }

    @Override
    public void malformed(String topic, String reason) {
      probe.malformed(topic, reason);
    }

    @Override
    public void changeApplied(String table, Side side) {
      probe.changeApplied(table, side);
    }

    @Override
    public void converged(String table, long disagreedForMs) {
      probe.converged(table, disagreedForMs);
    }
  }

  static final class Outcomes implements RepairListener {
    final Map<RepairEngine.Status, AtomicLong> counts = new ConcurrentHashMap<>();
    final AtomicLong deadLettered = new AtomicLong();

    @Override
    public void outcome(String table, RepairEngine.Status status) {
      counts.computeIfAbsent(status, s -> new AtomicLong()).incrementAndGet();
    }

    @Override
    public void deadLettered(String table, Throwable cause) {
      deadLettered.incrementAndGet();
    }

    long count(RepairEngine.Status s) {
      AtomicLong n = counts.get(s);
      return n == null ? 0 : n.get();
    }
  }

  // ---- waits and reads -------------------------------------------------------------------------------

  private static boolean rethrow(Pipeline p) {
    if (p.failure().isCompletedExceptionally()) {
      p.failure().join();
    }
    return true;
  }

  private static Set<String> resolvedKeys(List<ConsumerRecord<byte[], byte[]>> records) throws IOException {
    Set<String> out = new java.util.HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      JsonNode d = JSON.readTree(r.value());
      if (d.get("kind").asText().equals("RESOLVED")) {
        out.add(d.get("table").asText() + "/" + d.get("key").get("id").asText());
      }
    }
    return out;
  }

  private static Map<TopicPartition, Long> changeTopicEnds(Admin admin, VerifierConfig config) throws Exception {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (Side s : Side.values()) {
      for (int p = 0; p < PARTITIONS; p++) {
        request.put(new TopicPartition(config.topics().changes(s), p), OffsetSpec.latest());
      }
    }
    Map<TopicPartition, Long> out = new HashMap<>();
    admin.listOffsets(request).all().get().forEach((tp, info) -> out.put(tp, info.offset()));
    return out;
  }

  private static Map<TopicPartition, Long> discrepancyEnds(Admin admin, VerifierConfig config) throws Exception {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      request.put(new TopicPartition(config.topics().discrepancies(), p), OffsetSpec.latest());
    }
    Map<TopicPartition, Long> out = new HashMap<>();
    admin.listOffsets(request, new org.apache.kafka.clients.admin.ListOffsetsOptions(
        org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all().get()
        .forEach((tp, info) -> out.put(tp, info.offset()));
    return out;
  }

  /** Waits until a group's committed offsets reach {@code ends} (a partition with nothing to read counts as reached). */
  private static void awaitCommitted(Admin admin, String group, Map<TopicPartition, Long> ends) {
    await(group + " committed its input").atMost(AWAIT).pollInterval(POLL).until(() -> {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      return ends.entrySet().stream().allMatch(e -> e.getValue() == 0
          || committed.get(e.getKey()) != null && committed.get(e.getKey()).offset() >= e.getValue());
    });
  }

  /** Every discrepancy record committed as of now: a fresh read_committed consumer up to the last stable offsets. */
  private static List<ConsumerRecord<byte[], byte[]>> readCommitted(Admin admin, VerifierConfig config,
      String bootstrap) throws Exception {
    Map<TopicPartition, Long> lso = discrepancyEnds(admin, config);
    java.util.Properties p = new java.util.Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      c.assign(lso.keySet());
      c.seekToBeginning(lso.keySet());
      long deadline = System.currentTimeMillis() + AWAIT.toMillis();
      // positions move past transaction markers too, so this ends exactly at the last stable offsets
      while (lso.entrySet().stream().anyMatch(e -> c.position(e.getKey()) < e.getValue())) {
        assertThat(System.currentTimeMillis()).as("read the discrepancy topic to its end").isLessThan(deadline);
        c.poll(Duration.ofMillis(100)).forEach(out::add);
      }
    }
    return out;
  }

  private static Map<Long, String> rows(PostgresServer pg, String db, String table) throws SQLException {
    Map<Long, String> out = new TreeMap<>();
    try (Connection c = pg.connect(db); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id, amount, note FROM " + table)) {
      while (rs.next()) {
        out.put(rs.getLong(1), rs.getBigDecimal(2).toPlainString() + "|" + rs.getString(3));
      }
    }
    return out;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
      return s.getLocalPort();
    }
  }

  private static long ms(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  private static void deleteRecursively(Path d) {
    if (d == null || !Files.exists(d)) {
      return;
    }
    try (Stream<Path> files = Files.walk(d)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not delete {}: {}", d, e.toString());
    }
  }
}
