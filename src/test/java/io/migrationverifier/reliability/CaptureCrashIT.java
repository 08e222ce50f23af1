package io.migrationverifier.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.cli.Main;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 7 point 4: the capture role in its own JVM ({@code run --roles capture-source}) against a
 * real broker and database.
 *
 * <ol>
 *   <li>SIGKILLed twice mid-stream while a writer commits numbered rows, and restarted each time:
 *       the change topic then holds, per key and in commit order, exactly the changes the writer
 *       committed (no gap, nothing invented); every repeated event is a replay of an earlier one,
 *       with the same {@code pos} and the same content, and positions of new events rise per
 *       partition.
 *   <li>The PostgreSQL replication slot dropped (then: recreated) while the capture is down: the
 *       restart fails with exit code 1 and a message naming the slot, the LSN and the ways out;
 *       nothing written while it was down appears as if it had been captured.
 *   <li>MariaDB binlogs purged past the stored position while the capture is down: the restart
 *       fails the same way.
 * </ol>
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class CaptureCrashIT {
  private static final Logger LOG = LoggerFactory.getLogger(CaptureCrashIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration AWAIT = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(100);
  /** Change events the capture writes between two kills. */
  private static final int EVENTS_BETWEEN_KILLS = 1_500;

  static PostgresServer pg;
  static EmbeddedKafka kafka;
  static Path dir;
  /** The capture processes' output, kept after the run (target/ of the build). */
  static Path logs;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("capture-crash-it");
    logs = Files.createDirectories(Path.of("target", "capture-crash-it"));
    pg = PostgresServer.start();
    kafka = EmbeddedKafka.start(0, null);
  }

  @AfterAll
  static void stop() throws Exception {
    if (kafka != null) {
      kafka.close();
    }
    if (pg != null) {
      pg.close();
    }
    deleteRecursively(dir);
  }

  // ---- 1. SIGKILL mid-stream ---------------------------------------------------------------------

  @Test
  void killedCaptureResumesWithReplaysOnlyAndNoGap() throws Exception {
    String name = "cc-kill";
    Path config = postgresDeployment(name, "cc_kill");
    Map<Long, List<String>> history = new ConcurrentHashMap<>();
    try (Connection c = pg.connect("cc_kill_src"); Statement s = c.createStatement()) {
      s.execute("INSERT INTO numbered SELECT g, g, 'pre ' || g FROM generate_series(1, 100) g");
    }
    for (long id = 1; id <= 100; id++) {
      history.put(id, new CopyOnWriteArrayList<>(List.of("r " + id)));
    }
    String topic = name + ".changes.source";
    List<String> restarts = new ArrayList<>();
    try (Tail tail = new Tail(topic); Writer writer = new Writer(pg.connect("cc_kill_src"), 101, history)) {
      Capture capture = Capture.start(config, logs.resolve(name + "-1.log"));
      try {
        await("snapshot of the 100 rows on " + topic).atMost(AWAIT).pollInterval(POLL)
            .until(() -> capture.failIfDead() && tail.changes() >= 100);
        writer.start();
        for (int kill = 1; kill <= 2; kill++) {
          long before = tail.changes();
          await("capture kill " + kill + ": " + EVENTS_BETWEEN_KILLS + " more events").atMost(AWAIT).pollInterval(POLL)
              .until(() -> capture.failIfDead() && tail.changes() >= before + EVENTS_BETWEEN_KILLS);
          capture.kill();
          long killedAt = System.nanoTime();
          long endAtKill = tail.records();
          long writtenAtKill = writer.committed.get();
          // down for a while: the writer keeps committing, the slot keeps the changes
          await().pollDelay(Duration.ofMillis(1500)).until(() -> true);
          capture.replace(Capture.start(config, logs.resolve(name + "-" + (kill + 1) + ".log")));
          long startedAt = System.nanoTime();
          await("restarted capture writes again").atMost(AWAIT).pollInterval(Duration.ofMillis(20))
              .until(() -> capture.failIfDead() && tail.records() > endAtKill);
          String line = String.format("kill %d after %d events: restarted process produced its first record %d ms"
              + " after its start (%d ms after the kill, %d transactions committed meanwhile)", kill, before
              + EVENTS_BETWEEN_KILLS, ms(startedAt), ms(killedAt), writer.committed.get() - writtenAtKill);
          restarts.add(line);
          LOG.info(line);
        }
        long afterLast = tail.changes();
        await("some more changes after the last restart").atMost(AWAIT).pollInterval(POLL)
            .until(() -> capture.failIfDead() && tail.changes() >= afterLast + 500);
        writer.stopAndCheck();
        long expected = history.values().stream().mapToLong(List::size).sum();
        await("every committed change on " + topic).atMost(AWAIT).pollInterval(Duration.ofMillis(500))
            .until(() -> capture.failIfDead() && distinctContents(tail.snapshot()) >= expected);
        capture.stop();
      } finally {
        capture.kill();
      }

      List<ConsumerRecord<byte[], byte[]>> records = tail.snapshot();
      Verdict v = judge(records);
      long expected = history.values().stream().mapToLong(List::size).sum();
      LOG.info("{}: {} change events, {} distinct, {} replays (by partition: {}), {} transactions committed, {}"
          + " changes committed; restarts: {}", name, v.total, v.distinct, v.replays, v.replaysByPartition,
          writer.committed.get(), expected, restarts);
      assertThat(v.problems).as("replays are identical repeats; new positions rise per partition").isEmpty();
      Map<Long, List<String>> captured = v.byKey;
      Map<Long, List<String>> committed = new HashMap<>(history);
      List<String> differences = new ArrayList<>();
      for (Map.Entry<Long, List<String>> e : committed.entrySet()) {
        List<String> got = captured.getOrDefault(e.getKey(), List.of());
        if (!got.equals(e.getValue())) {
          differences.add("id " + e.getKey() + ": committed " + e.getValue() + ", captured " + got);
        }
      }
      captured.keySet().stream().filter(k -> !committed.containsKey(k))
          .forEach(k -> differences.add("id " + k + ": captured " + captured.get(k) + " but never committed"));
      assertThat(differences).as("per key, exactly the committed changes in commit order (no gap)").isEmpty();
      assertThat(v.distinct).isEqualTo(expected);
      Files.writeString(dir.resolve("figures.txt"), String.join("\n", restarts) + "\nreplays " + v.replays + "\n");
      FIGURES.add(name + ": " + v.total + " events, " + v.distinct + " distinct changes, " + v.replays
          + " replays after 2 SIGKILLs; " + restarts);
    }
  }

  // ---- 2. PostgreSQL slot dropped / recreated while down -----------------------------------------

  @Test
  void droppedOrRecreatedSlotFailsLoudly() throws Exception {
    String name = "cc-slot";
    Path config = postgresDeployment(name, "cc_slot");
    String slot = "mv_cc_slot_source";
    String topic = name + ".changes.source";
    try (Tail tail = new Tail(topic); Connection src = pg.connect("cc_slot_src")) {
      Capture capture = Capture.start(config, logs.resolve(name + "-1.log"));
      try {
        insert(src, 1, 50);
        await("50 rows captured").atMost(AWAIT).pollInterval(POLL)
            .until(() -> capture.failIfDead() && tail.changes() >= 50);
        // let an offset flush (every second) settle, so the restart has something to resume from
        await().pollDelay(Duration.ofMillis(1500)).until(() -> true);
        capture.kill();
      } finally {
        capture.kill();
      }
      dropSlot(slot);
      insert(src, 51, 80); // committed while the capture is down and its slot is gone: lost to capture

      Capture restarted = Capture.start(config, logs.resolve(name + "-2.log"));
      long t0 = System.nanoTime();
      String out = restarted.awaitExit(AWAIT);
      LOG.info("{}: restart without slot failed after {} ms:\n{}", name, ms(t0), tail(out));
      assertThat(restarted.exitCode()).as(out).isEqualTo(1);
      assertThat(out).contains("the replication slot " + slot + " is gone", "changes since LSN",
          "are lost to capture", "Run `audit`", "reset capture state to re-snapshot",
          "delete " + dir.resolve("state-" + name).resolve("capture-source"))
          .doesNotContain("LSN unknown");
      assertThat(slotExists(slot)).as("the refused start left no new slot behind (a later start must refuse too)")
          .isFalse();
      assertThat(ids(tail.snapshot())).as("nothing written while the slot was gone passes for captured")
          .allMatch(id -> id <= 50);
      FIGURES.add(name + ": restart with the slot dropped refused after " + ms(t0) + " ms (JVM start included)");

      // someone "fixes" it by creating the slot again: it starts at now, the hole is still there
      try (Connection c = pg.connect("cc_slot_src"); Statement s = c.createStatement()) {
        s.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
      }
      insert(src, 81, 90);
      Capture again = Capture.start(config, logs.resolve(name + "-3.log"));
      String out2 = again.awaitExit(AWAIT);
      assertThat(again.exitCode()).as(out2).isEqualTo(1);
      assertThat(out2).contains("the replication slot " + slot, "after the last change this capture delivered",
          "recreated or advanced", "Run `audit`");
      assertThat(ids(tail.snapshot())).allMatch(id -> id <= 50);

      // the documented way out: reset capture state, which re-snapshots every row
      dropSlot(slot);
      deleteRecursively(dir.resolve("state-" + name).resolve("capture-source"));
      Capture fresh = Capture.start(config, logs.resolve(name + "-4.log"));
      try {
        await("re-snapshot after the reset holds rows 1-90").atMost(AWAIT).pollInterval(POLL)
            .until(() -> fresh.failIfDead() && ids(tail.snapshot()).containsAll(
                java.util.stream.LongStream.rangeClosed(1, 90).boxed().toList()));
      } finally {
        fresh.kill();
      }
    }
  }

  // ---- 3. MariaDB binlog purged while down --------------------------------------------------------

  @Test
  void purgedBinlogFailsLoudly() throws Exception {
    assumeTrue(MariaDbServer.available(), "mariadbd is not installed (apt-get install -y mariadb-server)");
    try (MariaDbServer maria = MariaDbServer.start()) {
      String name = "cc-binlog";
      maria.createDatabase("cc_binlog_src");
      pg.createDatabase("cc_binlog_tgt");
      try (Connection c = maria.connect("cc_binlog_src"); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE numbered (id BIGINT PRIMARY KEY, n BIGINT, note VARCHAR(100))");
        // the capture user is least-privilege (no CREATE): its heartbeat table is made for it
        s.execute("CREATE TABLE verifier_heartbeat (id VARCHAR(200) PRIMARY KEY, beat DATETIME(3) NOT NULL)");
        for (String host : List.of("%", "127.0.0.1", "localhost")) {
          s.execute("GRANT SELECT, INSERT, UPDATE ON cc_binlog_src.verifier_heartbeat TO '" + MariaDbServer.USER
              + "'@'" + host + "'");
        }
      }
      try (Connection c = pg.connect("cc_binlog_tgt"); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE numbered (id BIGINT PRIMARY KEY, n BIGINT, note TEXT)");
      }
      Path config = writeConfig(name, ("{type: mariadb, host: 127.0.0.1, port: %d, database: cc_binlog_src, user: %s,"
          + " password: \"${env:MV_TEST_MARIADB_PASSWORD}\", time-zone: UTC}").formatted(maria.port(), MariaDbServer.USER),
          "{type: postgres, host: 127.0.0.1, port: %d, database: cc_binlog_tgt, user: postgres, password: '', time-zone: UTC}"
              .formatted(pg.port()));
      String topic = name + ".changes.source";
      try (Tail tail = new Tail(topic); Connection src = maria.connect("cc_binlog_src")) {
        Capture capture = Capture.start(config, logs.resolve(name + "-1.log"));
        try {
          insert(src, 1, 30);
          await("30 rows captured").atMost(AWAIT).pollInterval(POLL)
              .until(() -> capture.failIfDead() && tail.changes() >= 30);
          await().pollDelay(Duration.ofMillis(1500)).until(() -> true);
          capture.kill();
        } finally {
          capture.kill();
        }
        insert(src, 31, 40); // lost with the binlog purged below
        try (Statement s = src.createStatement()) {
          // the server keeps a binlog in use (unpurgeable) while the killed capture's dump thread lingers
          await("the killed capture's binlog dump thread gone").atMost(AWAIT).pollInterval(POLL).until(() -> {
            List<Long> dumps = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SHOW PROCESSLIST")) {
              while (rs.next()) {
                if (rs.getString("Command").startsWith("Binlog Dump")) {
                  dumps.add(rs.getLong("Id"));
                }
              }
            }
            for (long id : dumps) {
              s.execute("KILL " + id);
            }
            return dumps.isEmpty();
          });
          // a binlog is purgeable only once InnoDB checkpointed it (asynchronously after a rotation)
          s.execute("FLUSH BINARY LOGS");
          AtomicReference<String> purgedTo = new AtomicReference<>();
          await("binlogs before the current one purged").atMost(AWAIT).pollInterval(Duration.ofMillis(250))
              .until(() -> {
                s.execute("FLUSH BINARY LOGS");
                String now;
                try (ResultSet rs = s.executeQuery("SHOW MASTER STATUS")) {
                  rs.next();
                  now = rs.getString(1);
                }
                s.execute("PURGE BINARY LOGS TO '" + now + "'");
                try (ResultSet w = s.executeQuery("SHOW WARNINGS")) {
                  while (w.next()) {
                    LOG.info("purge: {}", w.getString("Message"));
                  }
                }
                try (ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
                  rs.next();
                  purgedTo.set(now);
                  return rs.getString(1).equals(now);
                }
              });
          LOG.info("binlogs purged up to {}", purgedTo.get());
        }
        Capture restarted = Capture.start(config, logs.resolve(name + "-2.log"));
        long t0 = System.nanoTime();
        String out = restarted.awaitExit(AWAIT);
        LOG.info("{}: restart with purged binlog failed after {} ms:\n{}", name, ms(t0), tail(out));
        assertThat(restarted.exitCode()).as(out).isEqualTo(1);
        assertThat(out).contains("has been purged", "are lost to capture", "Run `audit`",
            "reset capture state to re-snapshot");
        assertThat(ids(tail.snapshot())).allMatch(id -> id <= 30);
        FIGURES.add(name + ": restart with the binlog purged refused after " + ms(t0) + " ms (JVM start included)");
      }
    }
  }

  static final List<String> FIGURES = new CopyOnWriteArrayList<>();

  @AfterAll
  static void figures() {
    LOG.info("CaptureCrashIT figures:\n{}", String.join("\n", FIGURES));
  }

  // ---- the deployment --------------------------------------------------------------------------

  /** Source and target PostgreSQL databases {@code <db>_src} / {@code <db>_tgt} with table numbered, and a config file. */
  private static Path postgresDeployment(String name, String db) throws Exception {
    for (String d : List.of(db + "_src", db + "_tgt")) {
      pg.createDatabase(d);
      try (Connection c = pg.connect(d); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE numbered (id BIGINT PRIMARY KEY, n BIGINT, note TEXT)");
        s.execute("ALTER TABLE numbered REPLICA IDENTITY FULL");
      }
    }
    String side = "{type: postgres, host: 127.0.0.1, port: %d, database: %s, user: postgres, password: '', time-zone: UTC}";
    return writeConfig(name, side.formatted(pg.port(), db + "_src"), side.formatted(pg.port(), db + "_tgt"));
  }

  private static Path writeConfig(String name, String source, String target) throws IOException {
    return Files.writeString(dir.resolve(name + ".yaml"), """
        name: %s
        kafka: {bootstrap-servers: "%s", partitions: 2}
        source: %s
        target: %s
        verify: {state-dir: "%s"}
        capture: {heartbeat-interval: 200ms}
        http: {enabled: false}
        tables:
          - {name: numbered, key: [id]}
        """.formatted(name, kafka.bootstrapServers(), source, target, dir.resolve("state-" + name)));
  }

  private static void insert(Connection c, long from, long to) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO numbered VALUES (?, ?, ?)")) {
      for (long i = from; i <= to; i++) {
        ps.setLong(1, i);
        ps.setLong(2, i);
        ps.setString(3, "row " + i);
        ps.executeUpdate();
      }
    }
  }

  private static void dropSlot(String slot) throws Exception {
    // the killed walsender may hold the slot for a moment
    await("slot " + slot + " dropped").atMost(AWAIT).pollInterval(POLL).ignoreExceptions().until(() -> {
      try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
        s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
        return true;
      }
    });
  }

  private static boolean slotExists(String slot) throws SQLException {
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot + "'")) {
      return rs.next();
    }
  }

  // ---- the capture process ---------------------------------------------------------------------

  /** {@code run --roles capture-source} in its own JVM, its output in a file. */
  static final class Capture {
    private Process process;
    private Path log;

    static Capture start(Path config, Path log) throws IOException {
      Capture c = new Capture();
      c.launch(config, log);
      return c;
    }

    private void launch(Path config, Path log) throws IOException {
      this.log = log;
      // the child loads the config with System.getenv: the test secrets go into its environment
      process = Configs.withSecrets(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
          .toString(), "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "--config",
          config.toString(), "--roles", "capture-source"))
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Takes over another instance's process (a restart) so one try/finally kills whichever runs. */
    void replace(Capture other) {
      process = other.process;
      log = other.log;
    }

    /** True while alive; throws with its output if it died on its own. */
    boolean failIfDead() throws IOException {
      if (!process.isAlive()) {
        throw new AssertionError("the capture process exited with " + process.exitValue() + ":\n" + output());
      }
      return true;
    }

    void kill() throws InterruptedException {
      if (process.isAlive()) {
        process.destroyForcibly(); // SIGKILL: no shutdown hook, no offset flush
        process.waitFor(30, TimeUnit.SECONDS);
      }
    }

    /** SIGTERM, as an operator stops it. */
    void stop() throws Exception {
      process.destroy();
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("capture stops on SIGTERM").isTrue();
    }

    String awaitExit(Duration max) throws Exception {
      boolean exited = process.waitFor(max.toMillis(), TimeUnit.MILLISECONDS);
      if (!exited) {
        process.destroyForcibly();
        throw new AssertionError("the capture kept running where it had to fail:\n" + output());
      }
      return output();
    }

    int exitCode() {
      return process.exitValue();
    }

    String output() throws IOException {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }
  }

  // ---- the change topic ------------------------------------------------------------------------

  /** Every record of a change topic, read from the start in the background. */
  static final class Tail implements AutoCloseable {
    private final List<ConsumerRecord<byte[], byte[]>> records = new CopyOnWriteArrayList<>();
    private final AtomicLong changes = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private volatile Throwable failure;

    Tail(String topic) {
      this(kafka.bootstrapServers(), "read_uncommitted", topic);
    }

    /** Also used by BrokerRestartIT: the consumer rides out a broker restart on its own. */
    Tail(String bootstrapServers, String isolation, String topic) {
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
      thread = new Thread(() -> {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
          List<TopicPartition> parts = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));
          c.assign(parts);
          c.seekToBeginning(parts);
          while (running.get()) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(50))) {
              records.add(r);
              if (r.key() != null) {
                changes.incrementAndGet();
              }
            }
          }
        } catch (Throwable t) {
          failure = t;
        }
      }, "tail-" + topic);
      thread.setDaemon(true);
      thread.start();
    }

    long changes() {
      check();
      return changes.get();
    }

    long records() {
      check();
      return records.size();
    }

    List<ConsumerRecord<byte[], byte[]>> snapshot() {
      check();
      return new ArrayList<>(records);
    }

    private void check() {
      if (failure != null) {
        throw new IllegalStateException("the topic tail failed", failure);
      }
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      thread.join(5_000);
    }
  }

  /** What the change topic holds, judged by position. */
  static final class Verdict {
    long total;
    long distinct;
    long replays;
    final Map<Integer, Long> replaysByPartition = new HashMap<>();
    final List<String> problems = new ArrayList<>();
    /** Per key id, the distinct changes in topic order, as "op n". */
    final Map<Long, List<String>> byKey = new HashMap<>();
  }

  /**
   * Per partition in offset order: an event whose {@code pos} is above every earlier one is new,
   * and its position must not have been seen; any other is a replay, and must repeat an earlier
   * event of that position exactly (key, op, row, hash).
   */
  static Verdict judge(List<ConsumerRecord<byte[], byte[]>> records) throws IOException {
    Verdict v = new Verdict();
    Map<String, String> contentByPos = new HashMap<>();
    Map<Integer, String> maxPos = new HashMap<>();
    List<ConsumerRecord<byte[], byte[]>> ordered = new ArrayList<>(records);
    ordered.sort(Comparator.<ConsumerRecord<byte[], byte[]>>comparingInt(ConsumerRecord::partition)
        .thenComparingLong(ConsumerRecord::offset));
    for (ConsumerRecord<byte[], byte[]> r : ordered) {
      if (r.key() == null) {
        continue; // watermark
      }
      JsonNode n = JSON.readTree(r.value());
      v.total++;
      String pos = n.get("pos").asText();
      String content = n.get("table").asText() + " " + n.get("key") + " " + n.get("op").asText() + " " + n.get("row")
          + " " + n.get("hash");
      String max = maxPos.get(r.partition());
      if (max == null || pos.compareTo(max) > 0) {
        if (contentByPos.containsKey(pos)) {
          v.problems.add("position " + pos + " seen before in another partition: " + content);
        }
        contentByPos.put(pos, content);
        maxPos.put(r.partition(), pos);
        v.distinct++;
        long id = n.get("key").get("id").asLong();
        String op = n.get("op").asText();
        v.byKey.computeIfAbsent(id, k -> new ArrayList<>()).add(op.equals("d") ? "d" : op + " "
            + n.get("row").get("n").asText());
      } else {
        v.replays++;
        v.replaysByPartition.merge(r.partition(), 1L, Long::sum);
        String earlier = contentByPos.get(pos);
        if (earlier == null) {
          v.problems.add("partition " + r.partition() + " offset " + r.offset() + ": position " + pos
              + " is below the partition's highest (" + max + ") but was never delivered: " + content);
        } else if (!earlier.equals(content)) {
          v.problems.add("position " + pos + " replayed with other content: " + earlier + " / " + content);
        }
      }
    }
    return v;
  }

  /** Distinct changes by content alone (every committed change has its own), whatever their positions say. */
  private static long distinctContents(List<ConsumerRecord<byte[], byte[]>> records) throws IOException {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      if (r.key() != null) {
        JsonNode n = JSON.readTree(r.value());
        seen.add(n.get("key") + " " + n.get("op").asText() + " " + n.get("row"));
      }
    }
    return seen.size();
  }

  private static List<Long> ids(List<ConsumerRecord<byte[], byte[]>> records) throws IOException {
    List<Long> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      if (r.key() != null) {
        out.add(JSON.readTree(r.value()).get("key").get("id").asLong());
      }
    }
    return out;
  }

  // ---- the writer ------------------------------------------------------------------------------

  /**
   * Commits numbered transactions, ~500 a second: each inserts row k; every 5th also updates row
   * k-3, every 11th deletes row k-7. {@code history} gets each change ("c n", "u n", "d") once its
   * transaction committed.
   */
  static final class Writer implements AutoCloseable {
    final AtomicLong committed = new AtomicLong();
    private final Connection c;
    private final Map<Long, List<String>> history;
    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private volatile Throwable failure;
    private long next;

    Writer(Connection c, long first, Map<Long, List<String>> history) {
      this.c = c;
      this.next = first;
      this.history = history;
      this.thread = new Thread(this::loop, "writer");
      thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    private void loop() {
      try (PreparedStatement ins = c.prepareStatement("INSERT INTO numbered VALUES (?, ?, ?)");
          PreparedStatement upd = c.prepareStatement("UPDATE numbered SET n = ? WHERE id = ?");
          PreparedStatement del = c.prepareStatement("DELETE FROM numbered WHERE id = ?")) {
        c.setAutoCommit(false);
        while (running.get()) {
          long k = next++;
          Map<Long, String> changes = new LinkedHashMap<>();
          ins.setLong(1, k);
          ins.setLong(2, k);
          ins.setString(3, "row " + k);
          ins.executeUpdate();
          changes.put(k, "c " + k);
          if (k % 5 == 0 && alive(k - 3)) {
            upd.setLong(1, k - 3 + 1_000_000);
            upd.setLong(2, k - 3);
            upd.executeUpdate();
            changes.put(k - 3, "u " + (k - 3 + 1_000_000));
          }
          if (k % 11 == 0 && alive(k - 7)) {
            del.setLong(1, k - 7);
            del.executeUpdate();
            changes.put(k - 7, "d");
          }
          c.commit();
          changes.forEach((id, change) -> history.computeIfAbsent(id, x -> new CopyOnWriteArrayList<>()).add(change));
          committed.incrementAndGet();
          Thread.sleep(2);
        }
      } catch (Throwable t) {
        failure = t;
      }
    }

    private boolean alive(long id) {
      List<String> h = history.get(id);
      return h != null && !h.get(h.size() - 1).equals("d");
    }

    void stopAndCheck() throws Exception {
      running.set(false);
      thread.join(10_000);
      if (failure != null) {
        throw new IllegalStateException("the writer failed", failure);
      }
    }

    @Override
    public void close() throws Exception {
      running.set(false);
      thread.join(10_000);
      c.close();
    }
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private static String tail(String out) {
    String[] lines = out.split("\n");
    return String.join("\n", List.of(lines).subList(Math.max(0, lines.length - 30), lines.length));
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
