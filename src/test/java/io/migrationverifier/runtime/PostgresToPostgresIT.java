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
import io.migrationverifier.testutil.PostgresServer;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole product on real components, PostgreSQL to PostgreSQL: an in-process Kafka broker,
 * one embedded PostgreSQL holding a legacy and a modern database per scenario, both Debezium
 * captures and the Kafka Streams verifier started through {@link Pipeline}, discrepancies and
 * health events read back with read_committed.
 *
 * <p>The modern side differs in ways that are not differences: another table name, a renamed
 * column, another decimal scale. Window 2 s; the "replication" of the dual-writing application
 * trails the source by 300 ms.
 *
 * <p>"Nothing was reported" is asserted only after {@link PipelineFixture#awaitVerifiedUpTo}: the
 * verifier accepted both sides' watermarks past the last write + window + margin in every
 * partition and committed that progress, and every committed output record was read.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class PostgresToPostgresIT {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresToPostgresIT.class);
  private static final long WINDOW = 2_000;
  private static final long MARGIN = 500;
  private static final long LAG = 300;
  /** How late the replicator may start a copy and the copy still land within the window (with 200 ms to spare). */
  private static final long LATE_BUDGET = WINDOW - LAG - 200;
  private static final OffsetDateTime BASE = OffsetDateTime.of(2026, 3, 1, 9, 0, 0, 0, ZoneOffset.UTC);
  private static final String TABLES = """
      - name: orders
        target-table: purchase_orders
        key: [id]
        columns:
          - {name: amount, target: total_amount}
      """;

  static PipelineFixture kafka;
  static PostgresServer pg;

  @BeforeAll
  static void start() throws Exception {
    CompletableFuture<PostgresServer> db = CompletableFuture.supplyAsync(PostgresServer::start);
    try {
      kafka = PipelineFixture.start();
    } finally {
      pg = db.get(60, TimeUnit.SECONDS); // kept for @AfterAll whatever failed
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  // ---- 1. a correctly mirrored workload --------------------------------------------------------

  @Test
  void mirroredWorkloadReportsNothing() throws Exception {
    try (Scenario s = new Scenario("p2p-mirrored", "1h")) {
      s.seed(20);
      Pipeline p = s.start(Role.all());
      for (int i = 0; i < 150; i++) {
        s.mirroredOp();
        if (i % 10 == 0) {
          s.pause(20);
        }
      }
      long last = s.replicator.drain();
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + WINDOW + MARGIN, p);

      s.replicator.assertKeptUpWithin(LATE_BUDGET);
      assertThat(s.events.discrepancies).as("a correctly mirrored workload").isEmpty();
      assertThat(s.events.health).as("no side stalled").isEmpty();
      assertThat(s.probe.anomalies).isEmpty();
      // the verifier really compared: the snapshot (2 x 20 rows) and every change of both sides, once
      assertThat(s.probe.applied.get()).isGreaterThanOrEqualTo(40 + 2 * 150);
      kafka.assertEachChangeAppliedOnce(s.config, s.probe);
      assertThat(s.probe.converged.get()).as("disagreements that ended within the window").isPositive();
      assertThat(s.count(s.source, "orders")).isEqualTo(s.count(s.target, "purchase_orders"));
    }
  }

  // ---- 2. every fault kind ---------------------------------------------------------------------

  @Test
  void everyFaultKindIsReportedWithItsKindAndFields() throws Exception {
    try (Scenario s = new Scenario("p2p-faults", "1h")) {
      s.seed(20);
      s.live.removeAll(List.of(5L, 6L, 8L, 9L, 10L)); // reserved for faults: the mirrored workload leaves them alone
      // drift that exists before the captures start: the snapshots must find it
      exec(s.target, "UPDATE purchase_orders SET note = 'drifted' WHERE id = 8");
      exec(s.target, "DELETE FROM purchase_orders WHERE id = 9");
      exec(s.source, "DELETE FROM orders WHERE id = 10");
      Pipeline p = s.start(Role.all());
      s.mirrored(30);

      // missing in target: the target write of a new row is lost
      long missingBefore = System.currentTimeMillis();
      s.insertSource(101, "ann", new BigDecimal("12.00"), "lost");
      long missingAfter = System.currentTimeMillis();
      s.mirrored(10);
      // unexpected in target: a row only the new service wrote
      s.insertTarget(102, "bob", new BigDecimal("3.10"), "extra");
      s.mirrored(10);
      // value mismatch: the copy carries another amount
      s.insertSource(103, "cid", new BigDecimal("10.50"), "same");
      s.replicator.later(() -> s.insertTargetRow(s.targetReplica, 103, "cid", new BigDecimal("10.75"), "same"));
      s.mirrored(10);
      // missed delete: seeded row 5 deleted on the source only
      exec(s.source, "DELETE FROM orders WHERE id = ?", 5L);
      s.mirrored(10);
      // delayed beyond the window: seeded row 6 updated, its copy arrives after 2 windows + 1 s
      exec(s.source, "UPDATE orders SET amount = ? WHERE id = ?", new BigDecimal("77.70"), 6L);
      s.replicator.after(2 * WINDOW + 1_000, () -> exec(s.targetReplica,
          "UPDATE purchase_orders SET total_amount = ? WHERE id = ?", new BigDecimal("77.70"), 6L));
      s.mirrored(30);

      await("every fault reported, the delayed write resolved").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.events.discrepancies.size() >= 9);
      long last = s.replicator.drain();
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + WINDOW + MARGIN, p);

      s.replicator.assertKeptUpWithin(LATE_BUDGET);
      assertThat(s.events.summary()).containsExactlyInAnyOrder("101:MISSING_IN_TARGET", "102:UNEXPECTED_IN_TARGET",
          "103:VALUE_MISMATCH", "5:UNEXPECTED_IN_TARGET", "6:VALUE_MISMATCH", "6:RESOLVED",
          "8:VALUE_MISMATCH", "9:MISSING_IN_TARGET", "10:UNEXPECTED_IN_TARGET");
      for (JsonNode d : s.events.discrepancies) {
        assertThat(d.get("table").asText()).isEqualTo("orders");
        assertThat(d.get("detector").asText()).isEqualTo("stream");
        if (!d.get("kind").asText().equals("RESOLVED")) {
          assertThat(d.get("detectedAt").asLong() - d.get("divergedSince").asLong()).as("reported at t0 + window")
              .isEqualTo(WINDOW);
        }
      }

      JsonNode missing = s.events.forId("101").get(0);
      assertThat(missing.get("source").get("amount").asText()).isEqualTo("12");
      assertThat(missing.get("source").get("note").asText()).isEqualTo("lost");
      assertThat(missing.get("target").isNull()).isTrue();
      assertThat(missing.get("fields")).isEmpty();
      // t0 is the source's commit time (same clock as this JVM)
      assertThat(missing.get("divergedSince").asLong()).isBetween(missingBefore - 50, missingAfter + 50);

      JsonNode unexpected = s.events.forId("102").get(0);
      assertThat(unexpected.get("source").isNull()).isTrue();
      assertThat(unexpected.get("target").get("customer").asText()).isEqualTo("bob");
      assertThat(unexpected.get("target").get("amount").asText()).isEqualTo("3.1");

      JsonNode mismatch = s.events.forId("103").get(0);
      assertThat(mismatch.get("fields")).hasSize(1);
      JsonNode f = mismatch.get("fields").get(0);
      assertThat(f.get("name").asText()).isEqualTo("amount");
      assertThat(f.get("source").asText()).as("canonical decimal").isEqualTo("10.5");
      assertThat(f.get("target").asText()).as("canonical decimal of NUMERIC(14,4) 10.7500").isEqualTo("10.75");
      assertThat(mismatch.get("source").get("amount").asText()).isEqualTo("10.5");
      assertThat(mismatch.get("target").get("amount").asText()).isEqualTo("10.75");

      JsonNode missedDelete = s.events.forId("5").get(0);
      assertThat(missedDelete.get("source").isNull()).isTrue();
      assertThat(missedDelete.get("target").get("id").asText()).isEqualTo("5");

      JsonNode drift = s.events.forId("8").get(0);
      assertThat(drift.get("fields")).hasSize(1);
      assertThat(drift.get("fields").get(0).get("name").asText()).isEqualTo("note");
      assertThat(drift.get("fields").get(0).get("source").asText()).isEqualTo("seeded");
      assertThat(drift.get("fields").get(0).get("target").asText()).isEqualTo("drifted");
      // found in the snapshots: the disagreement starts when both sides' streams began, before any live write
      // (the target snapshot's start; a side's first watermark is that start - 1 ms, hence closeTo)
      assertThat(drift.get("divergedSince").asLong()).isLessThan(missing.get("divergedSince").asLong());
      for (String id : List.of("9", "10")) {
        assertThat(s.events.forId(id).get(0).get("divergedSince").asLong())
            .isCloseTo(drift.get("divergedSince").asLong(), Offset.offset(1L));
      }
      assertThat(s.events.forId("9").get(0).get("source").get("id").asText()).isEqualTo("9");
      assertThat(s.events.forId("10").get(0).get("target").get("id").asText()).isEqualTo("10");

      List<JsonNode> delayed = s.events.forId("6");
      JsonNode open = delayed.get(0);
      JsonNode resolved = delayed.get(1);
      assertThat(open.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
      assertThat(open.get("fields")).hasSize(1);
      assertThat(open.get("fields").get(0).get("name").asText()).isEqualTo("amount");
      assertThat(open.get("fields").get(0).get("source").asText()).isEqualTo("77.7");
      assertThat(resolved.get("kind").asText()).isEqualTo("RESOLVED");
      assertThat(resolved.get("resolves").asText()).isEqualTo(open.get("id").asText());
      assertThat(resolved.get("resolution").asText()).isEqualTo("target-change");
      assertThat(resolved.get("divergedSince").asLong()).isEqualTo(open.get("divergedSince").asLong());
      assertThat(resolved.get("openForMs").asLong()).isGreaterThan(2 * WINDOW)
          .isEqualTo(resolved.get("resolvedAt").asLong() - open.get("divergedSince").asLong());
      assertThat(resolved.get("source")).isEqualTo(resolved.get("target"));

      assertThat(s.events.discrepancies).extracting(d -> d.get("id").asText()).doesNotHaveDuplicates();
      assertThat(s.events.health).isEmpty();
      assertThat(s.probe.anomalies).isEmpty();
      kafka.assertEachChangeAppliedOnce(s.config, s.probe);
    }
  }

  // ---- 4. the verifier restarted ---------------------------------------------------------------

  @Test
  void verifierRestartedMidStreamReportsNothingTwiceAndLosesNothing() throws Exception {
    try (Scenario s = new Scenario("p2p-verify-restart", "1h")) {
      s.seed(20);
      Probe captureProbe = new Probe();
      Pipeline captures = s.track(Pipeline.start(s.config, EnumSet.of(Role.CAPTURE_SOURCE, Role.CAPTURE_TARGET),
          kafka.bootstrapServers(), captureProbe, null));
      long started = System.currentTimeMillis();
      Pipeline verify1 = Pipeline.start(s.config, EnumSet.of(Role.VERIFY), kafka.bootstrapServers(), null, s.probe);
      s.track(verify1);
      kafka.awaitLive(s.config, s.probe, started, captures, verify1);

      s.mirrored(30);
      s.insertSource(201, "ann", new BigDecimal("1.00"), "first fault");
      s.mirrored(30);
      await("first fault reported").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.events.summary().contains("201:MISSING_IN_TARGET"));
      // a fault whose deadline falls while the verifier is down: pending in its state when it stops
      s.insertSource(204, "dan", new BigDecimal("4.00"), "pending at the stop");
      long pendingAt = System.currentTimeMillis();
      await("pending fault applied by the verifier").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.probe.minWatermark(2) >= pendingAt);
      kafka.awaitCommittedPastInput(s.config);
      LOG.info("closing the verifier {} ms after the pending fault's commit (window {} ms); reported so far: {}",
          System.currentTimeMillis() - pendingAt, WINDOW, s.events.summary());

      long t0 = System.nanoTime();
      verify1.close(); // what `run` does on SIGTERM
      LOG.info("verify-only pipeline closed in {} ms", ms(t0));

      // while the verifier is down: a second fault, the first one fixed, mirrored writes
      s.mirrored(20);
      s.insertSource(202, "bob", new BigDecimal("2.00"), "on the source");
      s.replicator.later(() -> s.insertTargetRow(s.targetReplica, 202, "bob", new BigDecimal("2.00"), "on the target"));
      s.mirrored(20);
      s.insertTargetRow(s.target, 201, "ann", new BigDecimal("1.00"), "first fault");
      s.mirrored(20);
      long last = s.replicator.drain();

      Probe probe2 = new Probe();
      t0 = System.nanoTime();
      Pipeline verify2 = s.track(Pipeline.start(s.config, EnumSet.of(Role.VERIFY), kafka.bootstrapServers(), null,
          probe2));
      await("the restarted verifier processes").atMost(AWAIT).pollInterval(POLL)
          .until(() -> probe2.minWatermark(2) != Long.MIN_VALUE);
      LOG.info("restarted verifier processing after {} ms", ms(t0));
      await("second fault reported, first resolved").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.events.discrepancies.size() >= 4);
      kafka.awaitVerifiedUpTo(s.config, probe2, s.events, last + WINDOW + MARGIN, captures, verify2);
      s.replicator.assertKeptUpWithin(LATE_BUDGET);

      assertThat(s.events.summary()).as("exactly one report per fault, nothing re-emitted by the restarted verifier")
          .containsExactlyInAnyOrder("201:MISSING_IN_TARGET", "202:VALUE_MISMATCH", "201:RESOLVED",
              "204:MISSING_IN_TARGET");
      List<JsonNode> first = s.events.forId("201");
      assertThat(first.get(1).get("kind").asText()).isEqualTo("RESOLVED");
      assertThat(first.get(1).get("resolves").asText()).as("the restarted verifier remembered the open report")
          .isEqualTo(first.get(0).get("id").asText());
      JsonNode second = s.events.forId("202").get(0);
      assertThat(second.get("fields")).hasSize(1);
      assertThat(second.get("fields").get(0).get("name").asText()).isEqualTo("note");
      assertThat(second.get("fields").get(0).get("source").asText()).isEqualTo("on the source");
      assertThat(second.get("fields").get(0).get("target").asText()).isEqualTo("on the target");
      assertThat(s.probe.anomalies).isEmpty();
      assertThat(probe2.anomalies).isEmpty();

      // ---- and once more on another machine: same application id, an empty state dir --------------
      // (the state comes back from the changelog topics; it must still know what was reported)
      verify2.close();
      s.mirrored(20);
      s.insertTarget(203, "cat", new BigDecimal("3.00"), "third fault");
      s.mirrored(20);
      last = s.replicator.drain();
      Path freshStateDir = PipelineFixture.tempDir("p2p-state-moved");
      try {
        VerifierConfig moved = kafka.config(s.name, PipelineFixture.postgres(pg.port(), s.sourceDb),
            PipelineFixture.postgres(pg.port(), s.targetDb), WINDOW + "ms", "1h", freshStateDir, TABLES);
        assertThat(moved.topics().verifyApplicationId()).isEqualTo(s.config.topics().verifyApplicationId());
        Probe probe3 = new Probe();
        t0 = System.nanoTime();
        Pipeline verify3 = s.track(Pipeline.start(moved, EnumSet.of(Role.VERIFY), kafka.bootstrapServers(), null,
            probe3));
        await("third fault reported").atMost(AWAIT).pollInterval(POLL)
            .until(() -> s.events.summary().contains("203:UNEXPECTED_IN_TARGET"));
        LOG.info("verifier on an empty state dir reported after {} ms", ms(t0));
        kafka.awaitVerifiedUpTo(moved, probe3, s.events, last + WINDOW + MARGIN, captures, verify3);
        verify3.close();
        assertThat(s.events.summary()).as("state restored from the changelogs: nothing re-emitted")
            .containsExactlyInAnyOrder("201:MISSING_IN_TARGET", "202:VALUE_MISMATCH", "201:RESOLVED",
                "204:MISSING_IN_TARGET", "203:UNEXPECTED_IN_TARGET");
        assertThat(probe3.anomalies).isEmpty();
      } finally {
        PipelineFixture.deleteRecursively(freshStateDir);
      }
      assertThat(captureProbe.anomalies).isEmpty();
    }
  }

  // ---- 5. a capture restarted --------------------------------------------------------------------

  @Test
  void captureRestartedWhileWritesContinueGivesOnlyHarmlessDuplicates() throws Exception {
    try (Scenario s = new Scenario("p2p-capture-restart", "1h")) {
      s.seed(20);
      Pipeline p = s.start(Role.all());
      try (Background w = s.background()) {
        w.awaitOps(60);
        for (Side side : List.of(Side.SOURCE, Side.TARGET)) {
          long beats = s.probe.heartbeats.get(side).get();
          long ops = w.ops.get();
          long t0 = System.nanoTime();
          p.restartCapture(side, s.probe);
          LOG.info("capture {} restarted in {} ms", side.id(), ms(t0));
          await("restarted " + side.id() + " capture streams").atMost(AWAIT).pollInterval(POLL)
              .until(() -> s.probe.heartbeats.get(side).get() > beats + 2);
          w.awaitOps(ops + 60);
        }
      }
      // nothing lost after the restarts: a fault injected now is detected
      s.insertSource(301, "zoe", new BigDecimal("30.00"), "after the restarts");
      long last = Math.max(System.currentTimeMillis(), s.replicator.drain());
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + WINDOW + MARGIN, p);

      s.replicator.assertKeptUpWithin(LATE_BUDGET);
      assertThat(s.events.summary()).containsExactly("301:MISSING_IN_TARGET");
      assertThat(s.probe.anomalies).isEmpty();
      kafka.assertEachChangeAppliedOnce(s.config, s.probe); // across both capture restarts
      LOG.info("replayed changes ignored by the verifier after the capture restarts: {}", s.probe.duplicates.get());
      assertThat(s.count(s.source, "orders") - 1).isEqualTo(s.count(s.target, "purchase_orders"));
    }
  }

  // ---- 6. the target capture stalled -------------------------------------------------------------

  @Test
  void stoppedTargetCaptureIsSideStalledNotAFloodAndRecovers() throws Exception {
    long stall = 3_000;
    try (Scenario s = new Scenario("p2p-target-stall", stall + "ms")) {
      s.seed(20);
      Pipeline p = s.start(Role.all());
      try (Background w = s.background()) {
        w.awaitOps(30);
        assertThat(s.events.health).as("healthy before the stop").isEmpty();
        p.stopCapture(Side.TARGET);
        long stoppedAt = System.currentTimeMillis();
        long opsAtStop = w.ops.get();
        await("target reported stalled in every partition").atMost(AWAIT).pollInterval(POLL)
            .until(() -> s.events.health("SIDE_STALLED", "target").size() >= 2);
        // The verifier has now seen the source move on far past the deadlines of the source writes
        // made right after the stop, whose copies it cannot see: they must stay pending.
        w.awaitOps(opsAtStop + 100);
        await("source watermark past the first stalled writes' deadlines").atMost(AWAIT).pollInterval(POLL)
            .until(() -> s.probe.minWatermark(2, Side.SOURCE) > stoppedAt + 3 * WINDOW);
        kafka.awaitCommittedPastInput(s.config);
        s.events.awaitCaughtUp(kafka.admin());
        s.replicator.assertKeptUpWithin(LATE_BUDGET);
        assertThat(s.events.discrepancies).as("a stalled target is not a flood of MISSING_IN_TARGET").isEmpty();
        for (JsonNode h : s.events.health("SIDE_STALLED", "target")) {
          assertThat(h.get("lagMs").asLong()).isGreaterThan(stall);
        }

        p.restartCapture(Side.TARGET, s.probe);
        await("target recovered in every partition").atMost(AWAIT).pollInterval(POLL)
            .until(() -> s.events.health("SIDE_RECOVERED", "target").size() >= 2);
        w.awaitOps(w.ops.get() + 30);
      }
      long last = s.replicator.drain();
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + WINDOW + MARGIN, p);

      s.replicator.assertKeptUpWithin(LATE_BUDGET);
      assertThat(s.events.discrepancies).as("the target writes made while its capture was down caught up").isEmpty();
      assertThat(s.events.health).extracting(h -> h.get("kind").asText() + ":" + h.get("side").asText()
              + ":" + h.get("partition").asInt())
          .containsExactlyInAnyOrder("SIDE_STALLED:target:0", "SIDE_STALLED:target:1", "SIDE_RECOVERED:target:0",
              "SIDE_RECOVERED:target:1");
      assertThat(s.probe.anomalies).isEmpty();
      kafka.assertEachChangeAppliedOnce(s.config, s.probe);
      assertThat(s.count(s.source, "orders")).isEqualTo(s.count(s.target, "purchase_orders"));
    }
  }

  // ---- scenario plumbing -------------------------------------------------------------------------

  /** One scenario: its databases, config, state dir, observers and pipelines. */
  static final class Scenario implements AutoCloseable {
    final String name;
    final String sourceDb;
    final String targetDb;
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

    Scenario(String name, String stallThreshold) throws Exception {
      this.name = name;
      String db = name.replace('-', '_');
      sourceDb = "legacy_" + db;
      targetDb = "modern_" + db;
      pg.createDatabase(sourceDb);
      pg.createDatabase(targetDb);
      source = pg.connect(sourceDb);
      target = pg.connect(targetDb);
      targetReplica = pg.connect(targetDb);
      try (Statement st = source.createStatement()) {
        st.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, amount NUMERIC(12,2) NOT NULL,"
            + " placed_at TIMESTAMPTZ NOT NULL, note TEXT)");
        st.execute("ALTER TABLE orders REPLICA IDENTITY FULL");
      }
      try (Statement st = target.createStatement()) {
        st.execute("CREATE TABLE purchase_orders (id BIGINT PRIMARY KEY, customer VARCHAR(100) NOT NULL,"
            + " total_amount NUMERIC(14,4) NOT NULL, placed_at TIMESTAMPTZ NOT NULL, note TEXT)");
        st.execute("ALTER TABLE purchase_orders REPLICA IDENTITY FULL");
      }
      stateDir = PipelineFixture.tempDir("p2p-state");
      config = kafka.config(name, PipelineFixture.postgres(pg.port(), sourceDb),
          PipelineFixture.postgres(pg.port(), targetDb), WINDOW + "ms", stallThreshold, stateDir, TABLES);
      events = new Events(config, kafka.bootstrapServers());
      random = new Random(name.hashCode());
    }

    <P extends Pipeline> P track(P p) {
      pipelines.add(p);
      return p;
    }

    /** Starts the given roles on the class's broker and waits until both sides stream. */
    Pipeline start(Set<Role> roles) throws Exception {
      long started = System.currentTimeMillis();
      long t0 = System.nanoTime();
      Pipeline p = track(Pipeline.start(config, roles, kafka.bootstrapServers(), probe, probe));
      LOG.info("{}: Pipeline.start returned after {} ms", name, ms(t0));
      kafka.awaitLive(config, probe, started, p);
      return p;
    }

    /** Identical rows 1..n on both sides before the captures start: the snapshot baseline. */
    void seed(int n) throws Exception {
      for (long id = 1; id <= n; id++) {
        long k = id;
        insertSource(k, "seed" + k, BigDecimal.valueOf(k * 100 + 25, 2), k % 3 == 0 ? null : "seeded");
        // through the replicator: warms its thread and connection before anything is timed
        replicator.after(0, () -> insertTargetRow(targetReplica, k, "seed" + k, BigDecimal.valueOf(k * 100 + 25, 2),
            k % 3 == 0 ? null : "seeded"));
        live.add(k);
      }
      replicator.drain();
      replicator.maxLateMs.set(0);
    }

    void insertSource(long id, String customer, BigDecimal amount, String note) throws SQLException {
      exec(source, "INSERT INTO orders (id, customer, amount, placed_at, note) VALUES (?, ?, ?, ?, ?)", id, customer,
          amount, BASE.plusSeconds(id), note);
    }

    void insertTarget(long id, String customer, BigDecimal amount, String note) throws SQLException {
      insertTargetRow(target, id, customer, amount, note);
    }

    void insertTargetRow(Connection c, long id, String customer, BigDecimal amount, String note) throws SQLException {
      exec(c, "INSERT INTO purchase_orders (id, customer, total_amount, placed_at, note) VALUES (?, ?, ?, ?, ?)", id,
          customer, amount, BASE.plusSeconds(id), note);
    }

    /** n correct dual writes. */
    void mirrored(int n) throws SQLException {
      for (int i = 0; i < n; i++) {
        mirroredOp();
      }
    }

    /**
     * One correct dual write, its copy on the target {@link #LAG} ms later: an insert, an update, a
     * delete, a primary-key change (Debezium: delete + create) or a transaction of three changes.
     */
    void mirroredOp() throws SQLException {
      int action = random.nextInt(20);
      if (action < 8 || live.size() < 8) {
        long id = nextId++;
        String customer = "c" + random.nextInt(1000);
        BigDecimal amount = BigDecimal.valueOf(random.nextInt(1_000_000), 2);
        String note = random.nextInt(4) == 0 ? null : "n" + random.nextInt(100);
        insertSource(id, customer, amount, note);
        replicator.later(() -> insertTargetRow(targetReplica, id, customer, amount, note));
        live.add(id);
      } else if (action < 14) {
        long id = live.get(random.nextInt(live.size()));
        BigDecimal amount = BigDecimal.valueOf(random.nextInt(1_000_000), 2);
        String note = "u" + random.nextInt(100);
        exec(source, "UPDATE orders SET amount = ?, note = ? WHERE id = ?", amount, note, id);
        replicator.later(() -> exec(targetReplica, "UPDATE purchase_orders SET total_amount = ?, note = ? WHERE id = ?",
            amount, note, id));
      } else if (action < 17) {
        long id = live.remove(random.nextInt(live.size()));
        exec(source, "DELETE FROM orders WHERE id = ?", id);
        replicator.later(() -> exec(targetReplica, "DELETE FROM purchase_orders WHERE id = ?", id));
      } else if (action < 18) {
        long id = live.remove(random.nextInt(live.size()));
        long renumbered = nextId++;
        exec(source, "UPDATE orders SET id = ? WHERE id = ?", renumbered, id);
        replicator.later(() -> exec(targetReplica, "UPDATE purchase_orders SET id = ? WHERE id = ?", renumbered, id));
        live.add(renumbered);
      } else {
        long inserted = nextId++;
        long deleted = live.remove(random.nextInt(live.size()));
        long updated = live.get(random.nextInt(live.size()));
        BigDecimal amount = BigDecimal.valueOf(random.nextInt(1_000_000), 2);
        inTransaction(source, () -> {
          insertSource(inserted, "tx", amount, "in a transaction");
          exec(source, "UPDATE orders SET amount = ? WHERE id = ?", amount, updated);
          exec(source, "DELETE FROM orders WHERE id = ?", deleted);
        });
        replicator.later(() -> inTransaction(targetReplica, () -> {
          insertTargetRow(targetReplica, inserted, "tx", amount, "in a transaction");
          exec(targetReplica, "UPDATE purchase_orders SET total_amount = ? WHERE id = ?", amount, updated);
          exec(targetReplica, "DELETE FROM purchase_orders WHERE id = ?", deleted);
        }));
        live.add(inserted);
      }
    }

    /** Paces the workload (spreads it over event time); not a wait for anything to settle. */
    void pause(long millis) throws InterruptedException {
      TimeUnit.MILLISECONDS.sleep(millis);
    }

    /** Mirrored writes on a background thread, one every 10 ms, until closed. */
    Background background() {
      return new Background(this);
    }

    long count(Connection c, String table) throws SQLException {
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
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

  /** A workload that keeps writing while the test restarts or stops parts of the pipeline. */
  static final class Background implements AutoCloseable {
    final AtomicLong ops = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private volatile Throwable failure;

    Background(Scenario s) {
      thread = new Thread(() -> {
        try {
          while (running.get()) {
            s.mirroredOp();
            ops.incrementAndGet();
            TimeUnit.MILLISECONDS.sleep(10); // pacing: about 100 writes per second
          }
        } catch (Throwable t) {
          failure = t;
        }
      }, "workload-" + s.name);
      thread.start();
    }

    void awaitOps(long n) {
      await(n + " workload operations").atMost(AWAIT).pollInterval(POLL).until(() -> {
        if (failure != null) {
          throw new IllegalStateException("workload failed", failure);
        }
        return ops.get() >= n;
      });
    }

    @Override
    public void close() throws Exception {
      running.set(false);
      thread.join(10_000);
      if (failure != null) {
        throw new IllegalStateException("workload failed", failure);
      }
    }
  }
}
