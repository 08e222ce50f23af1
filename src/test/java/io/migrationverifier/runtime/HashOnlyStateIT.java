package io.migrationverifier.runtime;

import static io.migrationverifier.runtime.PipelineFixture.AWAIT;
import static io.migrationverifier.runtime.PipelineFixture.JSON;
import static io.migrationverifier.runtime.PipelineFixture.POLL;
import static io.migrationverifier.runtime.PipelineFixture.exec;
import static io.migrationverifier.runtime.PipelineFixture.ms;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.runtime.PipelineFixture.Events;
import io.migrationverifier.runtime.PipelineFixture.Probe;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TimeZone;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
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
 * {@code tables[].state: hash-only} end to end: real databases, both captures (Debezium) and the
 * verifier on an in-process broker ({@link Pipeline}).
 *
 * <p>A hash-only table keeps only the hash of an agreeing key; when a change breaks agreement the
 * other side's row is taken from the change's before-image (captured for hash-only tables only),
 * provided it hashes to what the other side holds. So:
 * <ul>
 *   <li>with full before-images (PostgreSQL {@code REPLICA IDENTITY FULL}, MariaDB
 *       {@code binlog_row_image=FULL}) a hash-only table reports exactly what a {@code state: full}
 *       table of the same shape reports for the same faults: both rows, the same field diffs;
 *   <li>without them (PostgreSQL {@code REPLICA IDENTITY DEFAULT} on the side that changed) the
 *       report keeps its kind, names the row it does not hold in {@code rowsNotKept}, leaves that
 *       row null and {@code fields} empty; it never claims the unheld row is absent;
 *   <li>change events of a hash-only table carry {@code before} on updates and deletes; those of a
 *       full table never do.
 * </ul>
 * It is the identity of the side whose change breaks agreement that matters: a source-only
 * update's before-image comes from the source database.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class HashOnlyStateIT {
  private static final Logger LOG = LoggerFactory.getLogger(HashOnlyStateIT.class);
  private static final long MARGIN = 500;
  private static final LocalDateTime BASE = LocalDateTime.of(2026, 3, 1, 9, 0, 0);
  private static final String INSERT =
      "INSERT INTO %s (id, customer, amount, qty, active, placed_at, note) VALUES (?, ?, ?, ?, ?, ?, ?)";

  static PipelineFixture kafka;
  static PostgresServer pg;
  /** Null when mariadbd is not installed: the first test then runs against a PostgreSQL target. */
  static MariaDbServer maria;
  private static TimeZone previousZone;

  @BeforeAll
  static void start() throws Exception {
    // as MariaDbToPostgresIT: Debezium's MariaDB snapshot reads temporal columns in the JVM zone
    previousZone = TimeZone.getDefault();
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    CompletableFuture<PostgresServer> postgres = CompletableFuture.supplyAsync(PostgresServer::start);
    CompletableFuture<MariaDbServer> mariadb = MariaDbServer.available()
        ? CompletableFuture.supplyAsync(MariaDbServer::start) : CompletableFuture.completedFuture(null);
    try {
      kafka = PipelineFixture.start();
    } finally {
      // whatever failed, keep what started so that @AfterAll stops it
      pg = postgres.get(60, TimeUnit.SECONDS);
      maria = mariadb.get(60, TimeUnit.SECONDS);
    }
    if (maria == null) {
      LOG.warn("mariadbd not installed: the full-before-image test runs PostgreSQL to PostgreSQL");
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

  // ---- 1. full before-images: hash-only reports what full reports --------------------------------

  /**
   * Source PostgreSQL ({@code REPLICA IDENTITY FULL}), target MariaDB (binlog_row_image FULL); the
   * same faults on a hash-only table and on a full table of the same shape and rows.
   */
  @Test
  void withFullBeforeImagesHashOnlyReportsBothRowsAndFieldDiffsLikeFullState() throws Exception {
    boolean mariaTarget = maria != null;
    long window = mariaTarget ? 3_000 : 2_000; // MariaDB commit times have whole-second resolution
    String tables = """
        - {name: acct_hash, key: [id], state: hash-only}
        - {name: acct_full, key: [id], state: full}
        """;
    List<String> both = List.of("acct_hash", "acct_full");
    try (Scenario s = new Scenario("hash-only-full-images", mariaTarget, window, tables)) {
      for (String t : both) {
        s.createSource(t, true);
        s.createTarget(t, true);
      }
      // the snapshot baseline: rows 1..10, identical on both sides and in both tables
      for (long id = 1; id <= 10; id++) {
        for (String t : both) {
          s.insertBoth(t, row(id));
        }
      }
      Pipeline p = s.start();

      // correct dual writes while streaming: agreement reached through changes, not the snapshot
      for (String t : both) {
        for (long id = 11; id <= 14; id++) {
          s.insertBoth(t, row(id));
        }
        s.updateBoth(t, 11, "311.10", "mirrored update");
        s.updateBoth(t, 4, "44.40", null);
        s.deleteBoth(t, 12);
        s.deleteBoth(t, 5);
      }
      // the faults, the same on both tables
      for (String t : both) {
        exec(s.source, "UPDATE " + t + " SET amount = ?, note = ? WHERE id = ?", new BigDecimal("77.70"),
            "changed on the source only", 1L);
        exec(s.target, "DELETE FROM " + t + " WHERE id = ?", 2L);
        exec(s.target, "UPDATE " + t + " SET qty = ?, active = ? WHERE id = ?", 999, false, 3L);
        // a key that agreed through streamed changes (insert, then an update on both sides)
        exec(s.source, "UPDATE " + t + " SET customer = ? WHERE id = ?", "renamed on the source", 11L);
      }
      long last = System.currentTimeMillis();
      await("the eight faults reported").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.events.discrepancies.size() >= 8);
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + window + MARGIN, p);

      assertThat(summary(s.events)).as("nothing but the injected faults").containsExactlyInAnyOrder(
          "acct_hash:1:VALUE_MISMATCH", "acct_hash:2:MISSING_IN_TARGET", "acct_hash:3:VALUE_MISMATCH",
          "acct_hash:11:VALUE_MISMATCH",
          "acct_full:1:VALUE_MISMATCH", "acct_full:2:MISSING_IN_TARGET", "acct_full:3:VALUE_MISMATCH",
          "acct_full:11:VALUE_MISMATCH");
      assertThat(s.events.health).isEmpty();
      assertThat(s.probe.anomalies).isEmpty();

      // source-only update: the target row came from the source change's before-image
      JsonNode d1 = one(s.events, "acct_hash", "1");
      assertBothRows(d1);
      assertThat(fieldNames(d1)).containsExactlyInAnyOrder("amount", "note");
      assertThat(new BigDecimal(field(d1, "amount").get("source").asText())).isEqualByComparingTo("77.70");
      assertThat(new BigDecimal(field(d1, "amount").get("target").asText())).isEqualByComparingTo("1.25");
      assertThat(field(d1, "note").get("source").asText()).isEqualTo("changed on the source only");
      assertThat(field(d1, "note").get("target").asText()).isEqualTo("seeded 1");
      assertThat(d1.get("target").get("customer").asText()).isEqualTo("customer 1");

      // target-only delete: the source row came from the target delete's before-image
      JsonNode d2 = one(s.events, "acct_hash", "2");
      assertThat(d2.get("source").isObject()).as("source row reported: %s", d2).isTrue();
      assertThat(d2.get("source").get("customer").asText()).isEqualTo("customer 2");
      assertThat(d2.get("target").isNull()).as("%s", d2).isTrue();
      assertThat(d2.has("rowsNotKept")).as("every row present is held: %s", d2).isFalse();

      // target-only update: the source row came from the target change's before-image
      JsonNode d3 = one(s.events, "acct_hash", "3");
      assertBothRows(d3);
      assertThat(fieldNames(d3)).containsExactlyInAnyOrder("qty", "active");
      assertThat(field(d3, "qty").get("source").asText()).isEqualTo("3");
      assertThat(field(d3, "qty").get("target").asText()).isEqualTo("999");

      // a key that agreed through streamed changes: the before-image is the mirrored update's result
      JsonNode d11 = one(s.events, "acct_hash", "11");
      assertBothRows(d11);
      assertThat(fieldNames(d11)).containsExactly("customer");
      assertThat(d11.get("target").get("note").asText()).isEqualTo("mirrored update");
      assertThat(new BigDecimal(d11.get("target").get("amount").asText())).isEqualByComparingTo("311.10");

      // hash-only reports what full reports, row for row and field for field
      for (String id : List.of("1", "2", "3", "11")) {
        assertThat(comparable(one(s.events, "acct_hash", id))).as("key %s", id)
            .isEqualTo(comparable(one(s.events, "acct_full", id)));
      }

      // the change topics: before-images on the hash-only table's updates and deletes only
      List<JsonNode> changes = changeEvents(s.config);
      assertBeforeImages(changes, "acct_hash", true);
      assertNoBeforeImages(changes, "acct_full");
      kafka.assertEachChangeAppliedOnce(s.config, s.probe);
    }
  }

  // ---- 2. no full before-image: the row not held is named, never called absent ------------------

  /**
   * PostgreSQL to PostgreSQL. Table {@code plain}: {@code REPLICA IDENTITY DEFAULT} on both sides,
   * so no change carries a usable before-image. Table {@code mixed}: source FULL, target DEFAULT: a
   * source-only update still has both rows (its before-image comes from the source).
   */
  @Test
  void withoutFullBeforeImagesTheReportNamesTheRowNotKeptAndResolves() throws Exception {
    long window = 2_000;
    String tables = """
        - {name: plain, key: [id], state: hash-only}
        - {name: mixed, key: [id], state: hash-only}
        """;
    try (Scenario s = new Scenario("hash-only-no-images", false, window, tables)) {
      s.createSource("plain", false);
      s.createTarget("plain", false);
      s.createSource("mixed", true);
      s.createTarget("mixed", false);
      for (long id = 1; id <= 8; id++) {
        s.insertBoth("plain", row(id));
        s.insertBoth("mixed", row(id));
      }
      Pipeline p = s.start();
      // correct dual writes while streaming
      s.insertBoth("plain", row(11));
      s.updateBoth("plain", 11, "311.10", "mirrored update");
      s.updateBoth("plain", 6, "66.60", null);
      s.deleteBoth("plain", 7);

      exec(s.source, "UPDATE plain SET amount = ?, note = ? WHERE id = ?", new BigDecimal("77.70"), "source only", 1L);
      exec(s.target, "UPDATE plain SET qty = ? WHERE id = ?", 999, 2L);
      exec(s.source, "DELETE FROM plain WHERE id = ?", 3L);
      exec(s.target, "DELETE FROM plain WHERE id = ?", 4L);
      exec(s.source, "UPDATE mixed SET amount = ?, note = ? WHERE id = ?", new BigDecimal("77.70"), "source only", 1L);
      await("the five faults reported").atMost(AWAIT).pollInterval(POLL)
          .until(() -> s.events.discrepancies.size() >= 5);

      // the target follows the source-only update of plain:1: agreement is back
      exec(s.target, "UPDATE plain SET amount = ?, note = ? WHERE id = ?", new BigDecimal("77.70"), "source only", 1L);
      long last = System.currentTimeMillis();
      await("plain:1 resolved").atMost(AWAIT).pollInterval(POLL)
          .until(() -> summary(s.events).contains("plain:1:RESOLVED"));
      kafka.awaitVerifiedUpTo(s.config, s.probe, s.events, last + window + MARGIN, p);

      assertThat(summary(s.events)).as("nothing but the injected faults").containsExactlyInAnyOrder(
          "plain:1:VALUE_MISMATCH", "plain:1:RESOLVED", "plain:2:VALUE_MISMATCH", "plain:3:UNEXPECTED_IN_TARGET",
          "plain:4:MISSING_IN_TARGET", "mixed:1:VALUE_MISMATCH");
      assertThat(s.events.health).isEmpty();
      assertThat(s.probe.anomalies).isEmpty();

      // source-only update without a before-image: the target row is present but not held
      JsonNode m1 = s.events.discrepancies.stream().filter(d -> is(d, "plain", "1", "VALUE_MISMATCH")).findFirst()
          .orElseThrow();
      assertRowNotKept(m1, "target", "source");
      assertThat(new BigDecimal(m1.get("source").get("amount").asText())).isEqualByComparingTo("77.70");
      JsonNode r1 = s.events.discrepancies.stream().filter(d -> is(d, "plain", "1", "RESOLVED")).findFirst()
          .orElseThrow();
      assertThat(r1.get("resolves").asText()).isEqualTo(m1.get("id").asText());
      assertThat(r1.get("resolution").asText()).isEqualTo("target-change");
      LOG.info("resolved: {}", r1);

      // target-only update without a before-image: the source row is present but not held
      assertRowNotKept(one(s.events, "plain", "2"), "source", "target");
      // source-only delete: the target row is present (UNEXPECTED_IN_TARGET) but not held
      JsonNode u3 = one(s.events, "plain", "3");
      assertThat(u3.get("source").isNull()).as("source: %s", u3).isTrue();
      assertThat(u3.get("target").isNull()).as("target: %s", u3).isTrue();
      assertThat(u3.get("fields")).as("%s", u3).isEmpty();
      assertThat(rowsNotKept(u3)).containsExactly("target");
      // target-only delete: the source row is present (MISSING_IN_TARGET) but not held
      JsonNode m4 = one(s.events, "plain", "4");
      assertThat(m4.get("source").isNull()).as("source: %s", m4).isTrue();
      assertThat(m4.get("target").isNull()).as("target: %s", m4).isTrue();
      assertThat(m4.get("fields")).as("%s", m4).isEmpty();
      assertThat(rowsNotKept(m4)).containsExactly("source");

      // mixed: the target has no replica identity full, but the source's before-image suffices
      JsonNode x1 = one(s.events, "mixed", "1");
      assertBothRows(x1);
      assertThat(fieldNames(x1)).containsExactlyInAnyOrder("amount", "note");

      List<JsonNode> changes = changeEvents(s.config);
      // DEFAULT identity: no before-image at all, not even for deletes (PostgreSQL would fill a
      // deleted row's other columns with placeholders that a reader could take for old values)
      assertThat(changes).filteredOn(c -> c.get("table").asText().equals("plain") && op(c).equals("u"))
          .isNotEmpty().allSatisfy(c -> assertThat(c.has("before")).as("%s", c).isFalse());
      assertThat(changes).filteredOn(c -> c.get("table").asText().equals("plain") && op(c).equals("d"))
          .isNotEmpty().allSatisfy(c -> assertThat(c.has("before")).as("%s", c).isFalse());
      // mixed's target (DEFAULT) likewise
      assertThat(changes).filteredOn(c -> c.get("table").asText().equals("mixed")
          && c.get("side").asText().equals("target")).allSatisfy(c -> assertThat(c.has("before")).isFalse());
      assertBeforeImages(changes.stream().filter(c -> c.get("side").asText().equals("source")).toList(), "mixed",
          false);
      kafka.assertEachChangeAppliedOnce(s.config, s.probe);
    }
  }

  // ---- assertions ------------------------------------------------------------------------------

  private static boolean is(JsonNode d, String table, String id, String kind) {
    return d.get("table").asText().equals(table) && d.get("key").get("id").asText().equals(id)
        && d.get("kind").asText().equals(kind);
  }

  /** "table:id:KIND" of every discrepancy, in the order read. */
  private static List<String> summary(Events events) {
    return events.discrepancies.stream()
        .map(d -> d.get("table").asText() + ":" + d.get("key").get("id").asText() + ":" + d.get("kind").asText())
        .collect(Collectors.toList());
  }

  /** The only discrepancy of a key. */
  private static JsonNode one(Events events, String table, String id) {
    List<JsonNode> of = events.discrepancies.stream()
        .filter(d -> d.get("table").asText().equals(table) && d.get("key").get("id").asText().equals(id)).toList();
    assertThat(of).as("discrepancies of %s:%s", table, id).hasSize(1);
    return of.get(0);
  }

  private static void assertBothRows(JsonNode d) {
    assertThat(d.get("source").isObject()).as("source row reported: %s", d).isTrue();
    assertThat(d.get("target").isObject()).as("target row reported: %s", d).isTrue();
    assertThat(d.has("rowsNotKept")).as("every row present is held: %s", d).isFalse();
    assertThat(d.get("fields")).as("field diffs: %s", d).isNotEmpty();
  }

  private static void assertRowNotKept(JsonNode d, String notKept, String kept) {
    assertThat(d.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
    assertThat(rowsNotKept(d)).as("%s", d).containsExactly(notKept);
    assertThat(d.get(notKept).isNull()).as("%s row not held: %s", notKept, d).isTrue();
    assertThat(d.get(kept).isObject()).as("%s row reported: %s", kept, d).isTrue();
    assertThat(d.get("fields")).as("no field diffs without both rows: %s", d).isEmpty();
  }

  private static List<String> rowsNotKept(JsonNode d) {
    List<String> out = new ArrayList<>();
    if (d.has("rowsNotKept")) {
      d.get("rowsNotKept").forEach(n -> out.add(n.asText()));
    }
    return out;
  }

  private static List<String> fieldNames(JsonNode d) {
    List<String> out = new ArrayList<>();
    d.get("fields").forEach(f -> out.add(f.get("name").asText()));
    return out;
  }

  private static JsonNode field(JsonNode d, String name) {
    for (JsonNode f : d.get("fields")) {
      if (f.get("name").asText().equals(name)) {
        return f;
      }
    }
    throw new AssertionError("no field " + name + " in " + d);
  }

  /** What a report says about the rows, without what names the table, the report or its times. */
  private static JsonNode comparable(JsonNode d) {
    ObjectNode c = d.deepCopy();
    c.remove(List.of("id", "table", "divergedSince", "detectedAt", "emittedAt"));
    return c;
  }

  private static String op(JsonNode change) {
    return change.get("op").asText();
  }

  /**
   * Every update (and, with {@code deletesToo}, delete) of {@code table} carries a full before-image
   * (every column, the key's value included); creates and snapshot reads carry none.
   */
  private static void assertBeforeImages(List<JsonNode> changes, String table, boolean deletesToo) {
    List<JsonNode> of = changes.stream().filter(c -> c.get("table").asText().equals(table)).toList();
    assertThat(of).filteredOn(c -> op(c).equals("u")).isNotEmpty().allSatisfy(c -> {
      assertThat(c.get("before")).as("before-image of %s", c).isNotNull();
      assertThat(c.get("before").get("id")).isEqualTo(c.get("key").get("id"));
      assertThat(c.get("before").size()).as("%s", c).isEqualTo(c.get("row").size());
      assertThat(c.get("before")).isNotEqualTo(c.get("row"));
    });
    if (deletesToo) {
      assertThat(of).filteredOn(c -> op(c).equals("d")).isNotEmpty().allSatisfy(c -> {
        assertThat(c.get("before")).as("before-image of %s", c).isNotNull();
        assertThat(c.get("before").get("customer").isTextual()).as("a full image: %s", c).isTrue();
      });
    }
    assertThat(of).filteredOn(c -> op(c).equals("c") || op(c).equals("r")).isNotEmpty()
        .allSatisfy(c -> assertThat(c.has("before")).as("%s", c).isFalse());
    LOG.info("{}: {} change events, {} with a before-image", table, of.size(),
        of.stream().filter(c -> c.has("before")).count());
  }

  private static void assertNoBeforeImages(List<JsonNode> changes, String table) {
    List<JsonNode> of = changes.stream().filter(c -> c.get("table").asText().equals(table)).toList();
    assertThat(of).filteredOn(c -> op(c).equals("u")).isNotEmpty();
    assertThat(of).filteredOn(c -> op(c).equals("d")).isNotEmpty();
    assertThat(of).allSatisfy(c -> assertThat(c.has("before")).as("full-state table: %s", c).isFalse());
  }

  /** Every change event on both change topics, up to their current end (watermarks left out). */
  private static List<JsonNode> changeEvents(VerifierConfig config) throws Exception {
    List<TopicPartition> partitions = new ArrayList<>();
    for (Side side : Side.values()) {
      for (int p = 0; p < config.kafka().partitions(); p++) {
        partitions.add(new TopicPartition(config.topics().changes(side), p));
      }
    }
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<JsonNode> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      c.assign(partitions);
      c.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = c.endOffsets(partitions);
      long deadline = System.currentTimeMillis() + AWAIT.toMillis();
      while (partitions.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        assertThat(System.currentTimeMillis()).as("change topics read to their end in time").isLessThan(deadline);
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
          if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
            JsonNode n = JSON.readTree(r.value());
            if (!n.has("watermark")) {
              out.add(n);
            }
          }
        }
      }
    }
    return out;
  }

  // ---- scenario plumbing -------------------------------------------------------------------------

  /** A baseline row: every column set, the same on both sides. */
  private static Object[] row(long id) {
    return new Object[] {id, "customer " + id, BigDecimal.valueOf(id * 100 + 25, 2), (int) id, id % 2 == 1,
        BASE.plusSeconds(id).plusNanos(id * 1_000L), "seeded " + id};
  }

  /** One scenario: a PostgreSQL source, a MariaDB or PostgreSQL target, its config, observers and pipeline. */
  static final class Scenario implements AutoCloseable {
    final String name;
    final boolean mariaTarget;
    final VerifierConfig config;
    final Path stateDir;
    final Connection source;
    final Connection target;
    final Probe probe = new Probe();
    final Events events;
    private Pipeline pipeline;

    Scenario(String name, boolean mariaTarget, long windowMs, String tables) throws Exception {
      this.name = name;
      this.mariaTarget = mariaTarget;
      String db = name.replace('-', '_');
      String sourceDb = "legacy_" + db;
      String targetDb = "modern_" + db;
      pg.createDatabase(sourceDb);
      source = pg.connect(sourceDb);
      String targetSide;
      if (mariaTarget) {
        maria.createDatabase(targetDb);
        target = maria.connect(targetDb);
        try (Statement st = target.createStatement()) {
          // the capture user: Debezium's documented grants (MariaDbServer) plus the heartbeat table
          st.execute("CREATE TABLE verifier_heartbeat (id VARCHAR(200) PRIMARY KEY, beat DATETIME(3) NOT NULL)");
          for (String host : List.of("%", "127.0.0.1", "localhost")) {
            st.execute("GRANT CREATE, SELECT, INSERT, UPDATE ON " + targetDb + ".verifier_heartbeat TO '"
                + MariaDbServer.USER + "'@'" + host + "'");
          }
        }
        targetSide = PipelineFixture.mariadb(maria.port(), targetDb, MariaDbServer.USER, Configs.MARIADB_PASSWORD,
            "UTC");
      } else {
        pg.createDatabase(targetDb);
        target = pg.connect(targetDb);
        targetSide = PipelineFixture.postgres(pg.port(), targetDb);
      }
      stateDir = PipelineFixture.tempDir("hash-only-state");
      config = kafka.config(name, PipelineFixture.postgres(pg.port(), sourceDb), targetSide, windowMs + "ms", "1h",
          stateDir, tables);
      events = new Events(config, kafka.bootstrapServers());
    }

    void createSource(String table, boolean identityFull) throws Exception {
      try (Statement st = source.createStatement()) {
        st.execute("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, customer VARCHAR(100) NOT NULL,"
            + " amount NUMERIC(12,2) NOT NULL, qty INTEGER NOT NULL, active BOOLEAN NOT NULL,"
            + " placed_at TIMESTAMP(6) NOT NULL, note TEXT)");
        if (identityFull) {
          st.execute("ALTER TABLE " + table + " REPLICA IDENTITY FULL");
        }
      }
    }

    /** {@code identityFull}: PostgreSQL only (the test MariaDB's binlog always has full row images). */
    void createTarget(String table, boolean identityFull) throws Exception {
      try (Statement st = target.createStatement()) {
        if (mariaTarget) {
          st.execute("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, customer VARCHAR(100) NOT NULL,"
              + " amount DECIMAL(12,2) NOT NULL, qty INT NOT NULL, active TINYINT(1) NOT NULL,"
              + " placed_at DATETIME(6) NOT NULL, note TEXT) ENGINE=InnoDB");
        } else {
          st.execute("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, customer VARCHAR(100) NOT NULL,"
              + " amount NUMERIC(12,2) NOT NULL, qty INTEGER NOT NULL, active BOOLEAN NOT NULL,"
              + " placed_at TIMESTAMP(6) NOT NULL, note TEXT)");
          if (identityFull) {
            st.execute("ALTER TABLE " + table + " REPLICA IDENTITY FULL");
          }
        }
      }
    }

    void insertBoth(String table, Object[] row) throws Exception {
      exec(source, INSERT.formatted(table), row);
      exec(target, INSERT.formatted(table), row);
    }

    void updateBoth(String table, long id, String amount, String note) throws Exception {
      for (Connection c : List.of(source, target)) {
        exec(c, "UPDATE " + table + " SET amount = ?, note = ? WHERE id = ?", new BigDecimal(amount), note, id);
      }
    }

    void deleteBoth(String table, long id) throws Exception {
      for (Connection c : List.of(source, target)) {
        exec(c, "DELETE FROM " + table + " WHERE id = ?", id);
      }
    }

    /** Starts every role and waits until both sides stream. */
    Pipeline start() throws Exception {
      long started = System.currentTimeMillis();
      long t0 = System.nanoTime();
      pipeline = Pipeline.start(config, Role.all(), kafka.bootstrapServers(), probe, probe);
      LOG.info("{}: Pipeline.start returned after {} ms", name, ms(t0));
      kafka.awaitLive(config, probe, started, pipeline);
      return pipeline;
    }

    @Override
    public void close() throws Exception {
      if (pipeline != null) {
        pipeline.close();
      }
      events.close();
      source.close();
      target.close();
      pg.dropReplicationSlots();
      PipelineFixture.deleteRecursively(stateDir);
    }
  }
}
