package io.migrationverifier.runtime;

import static io.migrationverifier.runtime.PipelineFixture.AWAIT;
import static io.migrationverifier.runtime.PipelineFixture.POLL;
import static io.migrationverifier.runtime.PipelineFixture.exec;
import static io.migrationverifier.runtime.PipelineFixture.inTransaction;
import static io.migrationverifier.runtime.PipelineFixture.ms;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.runtime.PipelineFixture.Events;
import io.migrationverifier.runtime.PipelineFixture.Probe;
import io.migrationverifier.runtime.PipelineFixture.Replicator;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TimeZone;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole product across database kinds: MariaDB (local {@code mariadbd}, binlog) as the source,
 * PostgreSQL (zonky) as the target, an in-process Kafka broker, both captures and the verifier
 * started through {@link Pipeline}.
 *
 * <p>The two schemas differ the way a real MariaDB-to-PostgreSQL migration does, and none of it
 * is a difference: {@code TINYINT(1)} vs {@code BOOLEAN}, {@code DECIMAL(10,2)} vs
 * {@code NUMERIC(12,4)}, {@code DATETIME(3)} vs {@code TIMESTAMP(6)} (the application's clock has
 * microseconds, the source keeps milliseconds: column rule {@code precision: millis}),
 * {@code TIMESTAMP(3)} vs {@code TIMESTAMPTZ}, a {@code DATETIME(3)} holding Paris wall-clock time
 * vs a {@code TIMESTAMPTZ} holding the instant (both sides' {@code time-zone: Europe/Paris}, so the
 * zone-less columns of both are read as Paris time), MariaDB {@code JSON} (verbatim text) vs
 * {@code JSONB} (normalized; rule {@code type: json}), utf8mb4 text. The capture user on MariaDB
 * has only what Debezium documents plus rights on the heartbeat table.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class MariaDbToPostgresIT {
  private static final Logger LOG = LoggerFactory.getLogger(MariaDbToPostgresIT.class);
  /**
   * 4 s, not the 2 s of the PostgreSQL tests: MariaDB commit times have whole-second resolution
   * (binlog event header), so a disagreement started by a source change begins up to 999 ms
   * before the change really committed (see aCopyWithinTheWindowIsNotReported...); the rest must
   * absorb the replication lag of the test's dual writes on a loaded 2-core machine.
   */
  private static final long WINDOW = 4_000;
  private static final long MARGIN = 500;
  private static final long LAG = 300;
  /** How late the replicator may start a copy and the copy still land within the window, second truncation included. */
  private static final long LATE_BUDGET = WINDOW - LAG - 1_000 - 200;
  private static final LocalDateTime BASE = LocalDateTime.of(2026, 3, 1, 9, 0, 0);
  private static final DateTimeFormatter MILLIS = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");
  private static final DateTimeFormatter MICROS = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");
  private static final ZoneId PARIS = ZoneId.of("Europe/Paris");
  private static final String TABLES = """
      - name: accounts
        key: [id]
        columns:
          - {name: updated_at, precision: millis}
          - {name: profile, type: json}
      """;
  private static final List<String> NOTES = List.of("plain", "café crème", "naïve ✓", "emoji 😀", "");

  static PipelineFixture kafka;
  static PostgresServer pg;
  static MariaDbServer maria;
  private static TimeZone previousZone;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(MariaDbServer.available(), "mariadbd not installed (apt-get install mariadb-server)");
    // Debezium's MariaDB connector reads TIMESTAMP columns during the snapshot with a calendar in
    // the JVM default time zone (FIELD-NOTES); the servers run in UTC, and so does the product
    // (`run` and `demo` pin the JVM zone to UTC the same way).
    previousZone = TimeZone.getDefault();
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    CompletableFuture<PostgresServer> postgres = CompletableFuture.supplyAsync(PostgresServer::start);
    CompletableFuture<MariaDbServer> mariadb = CompletableFuture.supplyAsync(MariaDbServer::start);
    try {
      kafka = PipelineFixture.start();
    } finally {
      // whatever failed, keep what started so that @AfterAll stops it
      pg = postgres.get(60, TimeUnit.SECONDS);
      maria = mariadb.get(60, TimeUnit.SECONDS);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (maria != null) {
        maria.close();
      }
      if (pg != null) {
        pg.close();
      }
      if (kafka != null) {
        kafka.close();
      }
    } finally {
      if (previousZone != null) {
        TimeZone.setDefault(previousZone);
      }
    }
  }

  // ---- 3a. heterogeneous types, correctly mirrored ----------------------------------------------

  @Test
  void mirroredHeterogeneousWorkloadReportsNothing() throws Exception {
    try (Scenario s = new Scenario("m2p-mirrored")) {
      s.seed(20);
      Pipeline p = s.start(Role.all());
      for (int i = 0; i < 120; i++) {
        s.mirroredOp();
        if (i % 10 == 0) {
          TimeUnit.MILLISECONDS.sleep(30); // pacing: spread the workload over a few seconds of event time
        }
      }
      long last = s.replicator.drain();
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + WINDOW + MARGIN, p);

      s.replicator.assertKeptUpWithin(LATE_BUDGET);
      assertThat(s.events.discrepancies).as("mirrored across MariaDB and PostgreSQL types").isEmpty();
      assertThat(s.events.health).isEmpty();
      assertThat(s.probe.anomalies).isEmpty();
      assertThat(s.probe.applied.get()).isGreaterThanOrEqualTo(40 + 2 * 120);
      kafka.assertEachChangeAppliedOnce(s.config, s.probe);
      assertThat(s.probe.converged.get()).isPositive();
      assertThat(s.count(s.source)).isEqualTo(s.count(s.target));
    }
  }

  // ---- 3b. injected value differences, one field each -------------------------------------------

  @Test
  void injectedValueDifferencesAreReportedWithTheirCanonicalFields() throws Exception {
    try (Scenario s = new Scenario("m2p-faults")) {
      s.seed(20);
      Pipeline p = s.start(Role.all());
      s.mirrored(30);
      // each row differs in exactly one column; everything else is the heterogeneous "same"
      Row balance = s.row(501).withBalance("12.50");
      s.insertSource(balance);
      s.replicator.later(() -> s.insertTarget(s.targetReplica, balance.withBalance("12.51")));
      s.mirrored(10);
      Row profile = s.row(502).withProfile("{\"tier\": \"gold\", \"tags\": [\"a\", \"b\"], \"score\": 1.50}",
          "{\"score\": 1.5, \"tags\": [\"a\", \"b\"], \"tier\": \"gold\"}");
      s.insertSource(profile);
      s.replicator.later(() -> s.insertTarget(s.targetReplica, profile.withProfile(null,
          "{\"score\": 1.5, \"tags\": [\"a\", \"b\"], \"tier\": \"silver\"}")));
      s.mirrored(10);
      Row active = s.row(503).withActive(true);
      s.insertSource(active);
      s.replicator.later(() -> s.insertTarget(s.targetReplica, active.withActive(false)));
      s.mirrored(10);
      // 5.123 ms on the source; the target's 5.124456 is another millisecond, not a finer clock
      Row updated = s.row(504).withUpdatedAt(BASE.plusSeconds(5).plusNanos(123_000_000));
      s.insertSource(updated);
      s.replicator.later(() -> s.insertTarget(s.targetReplica,
          updated.withUpdatedAt(BASE.plusSeconds(5).plusNanos(124_456_000))));
      s.mirrored(30);

      await("the four differences reported").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.events.discrepancies.size() >= 4);
      long last = s.replicator.drain();
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + WINDOW + MARGIN, p);

      s.replicator.assertKeptUpWithin(LATE_BUDGET);
      assertThat(s.events.summary()).containsExactlyInAnyOrder("501:VALUE_MISMATCH", "502:VALUE_MISMATCH",
          "503:VALUE_MISMATCH", "504:VALUE_MISMATCH");
      assertField(s.events.forId("501").get(0), "balance", "12.5", "12.51");
      assertField(s.events.forId("502").get(0), "profile", "{\"score\":1.5,\"tags\":[\"a\",\"b\"],\"tier\":\"gold\"}",
          "{\"score\":1.5,\"tags\":[\"a\",\"b\"],\"tier\":\"silver\"}");
      assertField(s.events.forId("503").get(0), "active", "true", "false");
      // zone-less on both sides, read as Paris time (UTC+1 on 1 March), compared at millisecond precision
      assertField(s.events.forId("504").get(0), "updated_at", "2026-03-01T08:00:05.123Z", "2026-03-01T08:00:05.124Z");

      JsonNode d = s.events.forId("501").get(0);
      // the rest of the row, canonical on both sides
      for (String side : List.of("source", "target")) {
        assertThat(d.get(side).get("active").asText()).isEqualTo(String.valueOf(balance.active()));
        assertThat(d.get(side).get("created_at").asText()).endsWith("Z");
        assertThat(d.get(side).get("note").asText()).isEqualTo(balance.note());
      }
      assertThat(d.get("source").get("created_at")).isEqualTo(d.get("target").get("created_at"));
      assertThat(d.get("source").get("updated_at")).isEqualTo(d.get("target").get("updated_at"));
      assertThat(d.get("source").get("profile")).isEqualTo(d.get("target").get("profile"));
      assertThat(d.get("source").get("local_at").asText()).as("Paris wall-clock time as an instant")
          .isEqualTo(d.get("target").get("local_at").asText())
          .isEqualTo(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
              .format(LocalDateTime.ofInstant(balance.localAt(), ZoneOffset.UTC)));
      assertThat(s.probe.anomalies).isEmpty();
      kafka.assertEachChangeAppliedOnce(s.config, s.probe);
    }
  }

  private static void assertField(JsonNode d, String name, String source, String target) {
    assertThat(d.get("fields")).as("exactly the injected column differs: %s", d).hasSize(1);
    JsonNode f = d.get("fields").get(0);
    assertThat(f.get("name").asText()).isEqualTo(name);
    assertThat(f.get("source").asText()).isEqualTo(source);
    assertThat(f.get("target").asText()).isEqualTo(target);
    assertThat(d.get("source").get(name).asText()).isEqualTo(source);
    assertThat(d.get("target").get(name).asText()).isEqualTo(target);
  }

  // ---- a capture that crashed before flushing its offsets replays: harmless duplicates ----------

  @Test
  void captureRestartedFromAnOlderOffsetReplaysOnlyHarmlessDuplicates() throws Exception {
    try (Scenario s = new Scenario("m2p-replay")) {
      s.seed(10);
      Pipeline p = s.start(Role.all());
      s.mirrored(20);
      Path offsets = s.stateDir.resolve("capture-source").resolve("offsets.dat");
      Path saved = s.stateDir.resolve("offsets-saved.dat");
      // a clean stop flushes the offsets: keep that file as "the last flush before the crash"
      p.stopCapture(Side.SOURCE);
      Files.copy(offsets, saved, StandardCopyOption.REPLACE_EXISTING);
      p.restartCapture(Side.SOURCE, s.probe);
      for (int i = 0; i < 60; i++) {
        s.mirroredOp();
        if (i % 10 == 0) {
          TimeUnit.MILLISECONDS.sleep(30);
        }
      }
      long written = s.replicator.drain();
      // the verifier has applied all of it ...
      await("changes verified").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.probe.minWatermark(2) >= written);
      // ... when the capture "crashes" and comes back from the older offset: every change since is re-read
      p.stopCapture(Side.SOURCE);
      Files.copy(saved, offsets, StandardCopyOption.REPLACE_EXISTING);
      long t0 = System.nanoTime();
      p.restartCapture(Side.SOURCE, s.probe);
      await("the replayed changes reached the verifier").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.probe.duplicates.get() >= 60);
      LOG.info("{} replayed changes ignored, {} ms after the restart", s.probe.duplicates.get(), ms(t0));
      s.mirrored(30);
      // nothing lost: a fault after the replay is still detected
      s.insertSource(s.row(601));
      long last = Math.max(System.currentTimeMillis(), s.replicator.drain());
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + WINDOW + MARGIN, p);

      s.replicator.assertKeptUpWithin(LATE_BUDGET);
      assertThat(s.events.summary()).containsExactly("601:MISSING_IN_TARGET");
      assertThat(s.probe.anomalies).as("replays are duplicates, not late changes").isEmpty();
      // every replayed change was ignored, every distinct one applied exactly once
      kafka.assertEachChangeAppliedOnce(s.config, s.probe);
      assertThat(s.probe.duplicates.get()).isGreaterThanOrEqualTo(60);
      assertThat(s.count(s.source) - 1).isEqualTo(s.count(s.target));
    }
  }

  // ---- MariaDB commit times have whole-second resolution -----------------------------------------

  /**
   * The window is "how long the two sides may disagree, in commit time" (DESIGN section 4,
   * {@code verify.window}). A MariaDB binlog event carries its commit time in whole seconds, and
   * capture uses it as the change's time: a source change committed at hh:mm:ss.900 starts its
   * disagreement at hh:mm:ss.000. A copy that follows 1.3 s later (well inside a 2 s window)
   * ends a disagreement that, in the verifier's event time, lasted up to 2.3 s: reported, then
   * RESOLVED. Fails until the verifier accounts for the side's time resolution (see the report).
   */
  @Test
  void aCopyWithinTheWindowIsNotReportedWhenTheSourceCommittedLateInItsSecond() throws Exception {
    long window = 2_000;
    long lag = 1_300;
    try (Scenario s = new Scenario("m2p-second-resolution", window)) {
      s.seed(5);
      Pipeline p = s.start(Role.all());
      Row r = s.row(701);
      // commit the source write late in a wall-clock second (the clock MariaDB stamps the binlog with)
      await("late in a second").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
          .until(() -> System.currentTimeMillis() % 1_000 >= 880 && System.currentTimeMillis() % 1_000 < 920);
      long sourceBefore = System.currentTimeMillis();
      s.insertSource(r);
      long sourceAfter = System.currentTimeMillis();
      long[] target = new long[2];
      s.replicator.after(lag, () -> {
        target[0] = System.currentTimeMillis();
        s.insertTarget(s.targetReplica, r);
        target[1] = System.currentTimeMillis();
      });
      long last = s.replicator.drain();
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + window + MARGIN, p);

      long realLagAtMost = target[1] - sourceBefore;
      LOG.info("source committed in [{}, {}], target in [{}, {}]: real lag at most {} ms", sourceBefore, sourceAfter,
          target[0], target[1], realLagAtMost);
      assertThat(realLagAtMost).as("precondition: the copy really followed within the window").isLessThan(window);
      assertThat(s.events.discrepancies)
          .as("row 701 disagreed for at most %d ms (source commit >= %d, copy committed <= %d) under a %d ms"
              + " window, yet was reported with divergedSince = the source commit's whole second", realLagAtMost,
              sourceBefore, target[1], window)
          .isEmpty();
    }
  }

  // ---- a capture that fails must fail the pipeline ----------------------------------------------

  /**
   * {@link Pipeline#restartCapture} starts a new capture but does not watch its {@code stopped()}
   * future the way {@code startAll} does: when the restarted capture fails, {@link Pipeline#failure()}
   * never completes and the side silently stops. Here the restart fails for a real reason: the
   * binlog its offset points into was purged while it was down (snapshot mode no_data cannot
   * recover from that). Fails until restartCapture watches the new engine.
   */
  @Test
  void restartedCaptureThatFailsFailsThePipeline() throws Exception {
    try (Scenario s = new Scenario("m2p-restart-fails")) {
      s.seed(5);
      Pipeline p = s.start(Role.all());
      s.mirrored(10);
      p.stopCapture(Side.SOURCE);
      s.mirrored(10); // transactions the stopped capture has not read yet ...
      purgeBinlogsBeforeTheCurrentOne(); // ... are gone
      p.restartCapture(Side.SOURCE, s.probe);
      // the same failure at Pipeline.start completes failure() (see the next test); Debezium logs
      // "Could not find GTID state requested by slave in any binlog files" within ~1 s
      await("pipeline failure reported").atMost(Duration.ofSeconds(10)).pollInterval(POLL)
          .until(() -> p.failure().isCompletedExceptionally());
    }
  }

  /**
   * A pipeline whose capture failed must still release that capture's resources on close.
   * {@code CaptureEngine.close()} only catches {@code IOException} from {@code engine.close()};
   * Debezium's async engine throws {@code IllegalStateException("Engine has been already shut
   * down.")} when it already stopped with an error, so the executor, the Kafka producer (and its
   * network thread) and the {@code stopped} future are left behind. Fails until close() goes on
   * after that exception.
   */
  @Test
  void closingAPipelineWhoseCaptureFailedReleasesItsProducer() throws Exception {
    try (Scenario s = new Scenario("m2p-failed-close")) {
      s.seed(5);
      Pipeline first = s.start(Role.all());
      s.mirrored(10);
      first.close();
      s.mirrored(10);
      purgeBinlogsBeforeTheCurrentOne();
      // the same config again: the source capture resumes from an offset whose binlog is gone
      Pipeline second = Pipeline.start(s.config, Role.all(), kafka.bootstrapServers(), s.probe, s.probe);
      String sourceProducer = "kafka-producer-network-thread | " + s.config.name() + "-capture-source";
      String targetProducer = "kafka-producer-network-thread | " + s.config.name() + "-capture-target";
      try {
        await("the failed capture fails the pipeline").atMost(Duration.ofSeconds(30)).pollInterval(POLL)
            .until(() -> second.failure().isCompletedExceptionally());
        assertThat(threadAlive(sourceProducer)).as("the capture producers' threads run before the close").isTrue();
        assertThat(threadAlive(targetProducer)).isTrue();
      } finally {
        second.close();
      }
      await("the healthy capture's producer closed").atMost(Duration.ofSeconds(10)).pollInterval(POLL)
          .until(() -> !threadAlive(targetProducer));
      await("the failed capture's producer closed").atMost(Duration.ofSeconds(10)).pollInterval(POLL)
          .until(() -> !threadAlive(sourceProducer));
    }
  }

  private static boolean threadAlive(String name) {
    return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.isAlive() && t.getName().equals(name));
  }

  /** Rotates the binlog and purges every older file (retrying while a closing dump thread still reads one). */
  private static void purgeBinlogsBeforeTheCurrentOne() throws Exception {
    try (Connection admin = maria.connect(""); Statement st = admin.createStatement()) {
      st.execute("FLUSH BINARY LOGS");
      String current;
      try (ResultSet rs = st.executeQuery("SHOW MASTER STATUS")) {
        rs.next();
        current = rs.getString(1);
      }
      await("older binlog files purged").atMost(AWAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
        st.execute("PURGE BINARY LOGS TO '" + current + "'");
        try (ResultSet rs = st.executeQuery("SHOW BINARY LOGS")) {
          rs.next();
          return rs.getString(1).equals(current);
        }
      });
    }
  }

  // ---- scenario plumbing -------------------------------------------------------------------------

  /** One row as the application means it; each side stores it in its own types. */
  record Row(long id, boolean active, String balance, LocalDateTime updatedAt, LocalDateTime createdAt,
      Instant localAt, String sourceProfile, String targetProfile, String note) {
    Row withBalance(String b) {
      return new Row(id, active, b, updatedAt, createdAt, localAt, sourceProfile, targetProfile, note);
    }

    Row withActive(boolean a) {
      return new Row(id, a, balance, updatedAt, createdAt, localAt, sourceProfile, targetProfile, note);
    }

    Row withUpdatedAt(LocalDateTime t) {
      return new Row(id, active, balance, t, createdAt, localAt, sourceProfile, targetProfile, note);
    }

    Row withProfile(String source, String target) {
      return new Row(id, active, balance, updatedAt, createdAt, localAt, source == null ? sourceProfile : source,
          target, note);
    }

    /** Paris wall-clock time, as the legacy application stored it in a DATETIME. */
    String localAtInParis() {
      return MILLIS.format(LocalDateTime.ofInstant(localAt, PARIS));
    }

    /** The same instant, as the new service stores it in a TIMESTAMPTZ. */
    String localAtUtc() {
      return MILLIS.format(LocalDateTime.ofInstant(localAt, ZoneOffset.UTC)) + "+00";
    }
  }

  final class Scenario implements AutoCloseable {
    final String name;
    final VerifierConfig config;
    final Path stateDir;
    final Connection source;
    final Connection target;
    final Connection targetReplica;
    final Replicator replicator = new Replicator(LAG);
    final Probe probe = new Probe();
    final Events events;
    final Random random;
    final List<Long> live = new ArrayList<>();
    private final List<Pipeline> pipelines = new ArrayList<>();
    private long nextId = 1_000;

    Scenario(String name) throws Exception {
      this(name, WINDOW);
    }

    Scenario(String name, long windowMs) throws Exception {
      this.name = name;
      String db = name.replace('-', '_');
      String sourceDb = "shop_" + db;
      String targetDb = "modern_" + db;
      maria.createDatabase(sourceDb);
      pg.createDatabase(targetDb);
      source = maria.connect(sourceDb);
      try (Statement st = source.createStatement()) {
        st.execute("CREATE TABLE accounts (id BIGINT PRIMARY KEY, active TINYINT(1) NOT NULL,"
            + " balance DECIMAL(10,2) NOT NULL, updated_at DATETIME(3) NOT NULL, created_at TIMESTAMP(3) NULL,"
            + " local_at DATETIME(3) NOT NULL, profile JSON, note TEXT) ENGINE=InnoDB");
        // The capture user: Debezium's documented grants (MariaDbServer) plus the heartbeat table,
        // which capture creates if missing and updates every heartbeat interval.
        st.execute("CREATE TABLE verifier_heartbeat (id VARCHAR(200) PRIMARY KEY, beat DATETIME(3) NOT NULL)");
        for (String host : List.of("%", "127.0.0.1", "localhost")) {
          st.execute("GRANT CREATE, SELECT, INSERT, UPDATE ON " + sourceDb + ".verifier_heartbeat TO '"
              + MariaDbServer.USER + "'@'" + host + "'");
        }
      }
      target = pg.connect(targetDb);
      targetReplica = pg.connect(targetDb);
      try (Statement st = target.createStatement()) {
        st.execute("CREATE TABLE accounts (id BIGINT PRIMARY KEY, active BOOLEAN NOT NULL,"
            + " balance NUMERIC(12,4) NOT NULL, updated_at TIMESTAMP(6) NOT NULL, created_at TIMESTAMPTZ,"
            + " local_at TIMESTAMPTZ NOT NULL, profile JSONB, note TEXT)");
        st.execute("ALTER TABLE accounts REPLICA IDENTITY FULL");
      }
      stateDir = PipelineFixture.tempDir("m2p-state");
      config = kafka.config(name, PipelineFixture.mariadb(maria.port(), sourceDb, MariaDbServer.USER,
          Configs.MARIADB_PASSWORD, "Europe/Paris"), PipelineFixture.postgres(pg.port(), targetDb, "Europe/Paris"),
          windowMs + "ms", "1h", stateDir, TABLES);
      events = new Events(config, kafka.bootstrapServers());
      random = new Random(name.hashCode());
    }

    Pipeline start(Set<Role> roles) throws Exception {
      long started = System.currentTimeMillis();
      long t0 = System.nanoTime();
      Pipeline p = Pipeline.start(config, roles, kafka.bootstrapServers(), probe, probe);
      pipelines.add(p);
      LOG.info("{}: Pipeline.start returned after {} ms", name, ms(t0));
      kafka.awaitLive(config, probe, started, p);
      return p;
    }

    /** A random row; the JSON documents are equal by structure but not by text. */
    Row row(long id) {
      LocalDateTime updated = BASE.plusSeconds(random.nextInt(100_000)).plusNanos(random.nextInt(1000) * 1_000_000L);
      // the application's clock has microseconds; DATETIME(3) keeps the milliseconds of it
      updated = updated.plusNanos(random.nextInt(1000) * 1_000L);
      LocalDateTime created = BASE.minusDays(random.nextInt(400)).plusNanos(random.nextInt(1000) * 1_000_000L);
      int tier = random.nextInt(3);
      int items = random.nextInt(10);
      String sourceProfile = random.nextInt(5) == 0 ? null
          : "{\"tier\": " + tier + ", \"items\": [" + items + ", 2.50], \"vip\": " + (tier == 2) + "}";
      String targetProfile = sourceProfile == null ? null
          : "{\"vip\":" + (tier == 2) + ",\"items\":[" + items + ",2.5],\"tier\":" + tier + "}";
      String note = random.nextInt(6) == 0 ? null : NOTES.get(random.nextInt(NOTES.size())) + " " + id;
      // winter (UTC+1) or summer (UTC+2) in Paris, away from the daylight-saving switches, whose
      // repeated hour a zone-less column cannot represent
      Instant local = LocalDateTime.of(2026, random.nextBoolean() ? 1 : 7, 1 + random.nextInt(28), random.nextInt(24),
          random.nextInt(60), random.nextInt(60), random.nextInt(1000) * 1_000_000).toInstant(ZoneOffset.UTC);
      return new Row(id, random.nextBoolean(), BigDecimal.valueOf(random.nextInt(10_000_000), 2).toPlainString(),
          updated, created, local, sourceProfile, targetProfile, note);
    }

    /** Identical rows 1..n on both sides before the captures start; the target copies go through the replicator (warm-up). */
    void seed(int n) throws Exception {
      for (long id = 1; id <= n; id++) {
        Row r = row(id);
        insertSource(r);
        replicator.after(0, () -> insertTarget(targetReplica, r));
        live.add(id);
      }
      replicator.drain();
      replicator.maxLateMs.set(0);
    }

    void insertSource(Row r) throws SQLException {
      exec(source, "INSERT INTO accounts (id, active, balance, updated_at, created_at, local_at, profile, note)"
          + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", r.id(), r.active(), new BigDecimal(r.balance()),
          MILLIS.format(r.updatedAt()), MILLIS.format(r.createdAt()), r.localAtInParis(), r.sourceProfile(), r.note());
    }

    void insertTarget(Connection c, Row r) throws SQLException {
      exec(c, "INSERT INTO accounts (id, active, balance, updated_at, created_at, local_at, profile, note)"
          + " VALUES (?, ?, ?, ?::timestamp, ?::timestamptz, ?::timestamptz, ?::jsonb, ?)", r.id(), r.active(),
          new BigDecimal(r.balance()), MICROS.format(r.updatedAt()), MILLIS.format(r.createdAt()) + "+00",
          r.localAtUtc(), r.targetProfile(), r.note());
    }

    void updateSource(Row r) throws SQLException {
      exec(source, "UPDATE accounts SET active = ?, balance = ?, updated_at = ?, local_at = ?, profile = ?, note = ?"
          + " WHERE id = ?", r.active(), new BigDecimal(r.balance()), MILLIS.format(r.updatedAt()), r.localAtInParis(),
          r.sourceProfile(), r.note(), r.id());
    }

    void updateTarget(Connection c, Row r) throws SQLException {
      exec(c, "UPDATE accounts SET active = ?, balance = ?, updated_at = ?::timestamp, local_at = ?::timestamptz,"
          + " profile = ?::jsonb, note = ? WHERE id = ?", r.active(), new BigDecimal(r.balance()),
          MICROS.format(r.updatedAt()), r.localAtUtc(), r.targetProfile(), r.note(), r.id());
    }

    void mirrored(int n) throws SQLException {
      for (int i = 0; i < n; i++) {
        mirroredOp();
      }
    }

    /**
     * One correct dual write, its copy on PostgreSQL {@link #LAG} ms later: an insert, an update, a
     * delete, a primary-key change (Debezium: delete + create) or a transaction of three changes.
     */
    void mirroredOp() throws SQLException {
      int action = random.nextInt(20);
      if (action < 8 || live.size() < 8) {
        Row r = row(nextId++);
        insertSource(r);
        replicator.later(() -> insertTarget(targetReplica, r));
        live.add(r.id());
      } else if (action < 14) {
        Row r = row(live.get(random.nextInt(live.size())));
        updateSource(r);
        replicator.later(() -> updateTarget(targetReplica, r));
      } else if (action < 17) {
        long id = live.remove(random.nextInt(live.size()));
        exec(source, "DELETE FROM accounts WHERE id = ?", id);
        replicator.later(() -> exec(targetReplica, "DELETE FROM accounts WHERE id = ?", id));
      } else if (action < 18) {
        long id = live.remove(random.nextInt(live.size()));
        long renumbered = nextId++;
        exec(source, "UPDATE accounts SET id = ? WHERE id = ?", renumbered, id);
        replicator.later(() -> exec(targetReplica, "UPDATE accounts SET id = ? WHERE id = ?", renumbered, id));
        live.add(renumbered);
      } else {
        Row inserted = row(nextId++);
        long deleted = live.remove(random.nextInt(live.size()));
        Row updated = row(live.get(random.nextInt(live.size())));
        inTransaction(source, () -> {
          insertSource(inserted);
          updateSource(updated);
          exec(source, "DELETE FROM accounts WHERE id = ?", deleted);
        });
        replicator.later(() -> inTransaction(targetReplica, () -> {
          insertTarget(targetReplica, inserted);
          updateTarget(targetReplica, updated);
          exec(targetReplica, "DELETE FROM accounts WHERE id = ?", deleted);
        }));
        live.add(inserted.id());
      }
    }

    long count(Connection c) throws SQLException {
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM accounts")) {
        rs.next();
        return rs.getLong(1);
      }
    }

    @Override
    public void close() throws Exception {
      for (int i = pipelines.size() - 1; i >= 0; i--) {
        pipelines.get(i).close();
      }
      events.close();
      replicator.close();
      source.close();
      target.close();
      targetReplica.close();
      pg.dropReplicationSlots();
      PipelineFixture.deleteRecursively(stateDir);
    }
  }
}
