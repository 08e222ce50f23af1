package io.migrationverifier.repair;

import static io.migrationverifier.repair.RepairItSupport.AWAIT;
import static io.migrationverifier.repair.RepairItSupport.POLL;
import static io.migrationverifier.repair.RepairItSupport.exec;
import static io.migrationverifier.repair.RepairItSupport.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import io.migrationverifier.check.KeyCheck;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.repair.RepairItSupport.Outcomes;
import io.migrationverifier.repair.RepairItSupport.TopicTail;
import io.migrationverifier.runtime.PipelineFixture.Probe;
import io.migrationverifier.repair.RepairEngine.Status;
import io.migrationverifier.repair.spi.Conflict;
import io.migrationverifier.repair.spi.ConflictResolver;
import io.migrationverifier.repair.spi.Decision;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import io.migrationverifier.testutil.TcpProxy;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code repair} role end to end on real components: an in-process Kafka broker, PostgreSQL
 * (zonky) and, where installed, MariaDB. Captures and the verifier run in one {@link Pipeline};
 * the repair role runs in a second one ({@code roles: [repair]}), as a deployment that splits
 * roles across processes would. Differences are made in the target database after the pipeline
 * is live; the verifier reports them, the repair role resolves them by the table's policy, the
 * repaired rows come back through capture and the verifier closes the loop with RESOLVED.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RepairRoleIT {
  private static final Logger LOG = LoggerFactory.getLogger(RepairRoleIT.class);
  private static final String WINDOW = "800ms";

  static EmbeddedKafka broker;
  static Admin admin;
  static PostgresServer pg;
  static MariaDbServer maria;
  static TimeZone previousZone;

  @BeforeAll
  static void start() throws Exception {
    // Debezium's MariaDB connector snapshots TIMESTAMP columns in the JVM zone (MariaDbServer)
    previousZone = TimeZone.getDefault();
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    CompletableFuture<PostgresServer> postgres = CompletableFuture.supplyAsync(PostgresServer::start);
    CompletableFuture<MariaDbServer> mariadb = MariaDbServer.available()
        ? CompletableFuture.supplyAsync(MariaDbServer::start) : CompletableFuture.completedFuture(null);
    try {
      broker = EmbeddedKafka.start(0, null);
      admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
    } finally {
      pg = postgres.get(60, TimeUnit.SECONDS);
      maria = mariadb.get(60, TimeUnit.SECONDS);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (admin != null) {
        admin.close(Duration.ofSeconds(5));
      }
      if (maria != null) {
        maria.close();
      }
      if (pg != null) {
        pg.close();
      }
      if (broker != null) {
        broker.close();
      }
    } finally {
      TimeZone.setDefault(previousZone);
    }
  }

  // ---- resolvers loaded by class name ----------------------------------------------------------------

  /**
   * A custom policy: rows only on the target are kept for a person to look at (source-wins would
   * delete them), a target row whose note says "accepted" is left alone, everything else takes the
   * source row.
   */
  public static final class KeepExtrasResolver implements ConflictResolver {
    @Override
    public Decision resolve(Conflict c) {
      if (c.source() == null) {
        return Decision.review("custom: rows only on the target are kept for audit");
      }
      if (c.target() != null && "accepted".equals(c.target().get("note"))) {
        return Decision.skip("custom: accepted difference");
      }
      return Decision.write(c.source());
    }
  }

  /**
   * A last-write-wins by a numeric {@code ver} that lets the test change the target row from
   * inside the decision, i.e. after the engine read the image it judges and before its fenced write.
   */
  public static final class RacingResolver implements ConflictResolver {
    interface Hook {
      void run(int call, Conflict c) throws SQLException;
    }

    static volatile Hook hook = (n, c) -> { };
    static final AtomicInteger CALLS = new AtomicInteger();
    static final List<String> TRACE = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public Decision resolve(Conflict c) {
      int n = CALLS.incrementAndGet();
      TRACE.add(n + " " + java.time.LocalTime.now() + " " + Thread.currentThread().getName() + " " + c.key().get("id")
          + " target=" + c.target().get("note"));
      try {
        hook.run(n, c);
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
      if (c.target() != null && Long.parseLong(c.target().get("ver")) > Long.parseLong(c.source().get("ver"))) {
        return Decision.review("target newer");
      }
      return Decision.write(c.source());
    }
  }

  // ---- the scenario ---------------------------------------------------------------------------------

  /** Source PostgreSQL database {@code <db>_src}; target PostgreSQL or MariaDB database {@code <db>_tgt}. */
  final class Scenario implements AutoCloseable {
    final String name;
    final boolean mariaTarget;
    final String sourceDb;
    final String targetDb;
    final Connection source;
    final Connection target;
    final Probe probe = new Probe();
    final Outcomes outcomes = new Outcomes();
    final Path stateDir = RepairItSupport.tempDir("repair-it");
    VerifierConfig config;
    VerifierConfig repairConfig;
    TopicTail tail;
    Pipeline detect;
    Pipeline repair;
    TcpProxy proxy;

    Scenario(String name, boolean mariaTarget) throws Exception {
      this.name = name;
      this.mariaTarget = mariaTarget;
      String db = name.replace('-', '_');
      sourceDb = db + "_src";
      targetDb = db + "_tgt";
      pg.createDatabase(sourceDb);
      source = pg.connect(sourceDb);
      if (mariaTarget) {
        maria.createDatabase(targetDb);
        target = maria.connect(targetDb);
      } else {
        pg.createDatabase(targetDb);
        target = pg.connect(targetDb);
      }
    }

    void sourceDdl(String... sql) throws SQLException {
      run(source, sql);
    }

    void targetDdl(String... sql) throws SQLException {
      run(target, sql);
    }

    private void run(Connection c, String... sql) throws SQLException {
      try (Statement s = c.createStatement()) {
        for (String q : sql) {
          s.execute(q);
        }
      }
    }

    int targetPort() {
      return mariaTarget ? maria.port() : pg.port();
    }

    String targetYaml(int port) {
      return mariaTarget
          ? ("{type: mariadb, host: 127.0.0.1, port: %d, database: %s, user: %s,"
              + " password: \"${env:MV_TEST_MARIADB_ADMIN_PASSWORD}\", time-zone: UTC}")
              .formatted(port, targetDb, MariaDbServer.ADMIN_USER)
          : "{type: postgres, host: 127.0.0.1, port: %d, database: %s, user: postgres, password: '', time-zone: UTC}"
              .formatted(port, targetDb);
    }

    VerifierConfig config(int targetPort, String repairYaml, String tablesYaml) {
      return Configs.parse("""
          name: %s
          kafka: {bootstrap-servers: "%s", partitions: 2}
          source: {type: postgres, host: 127.0.0.1, port: %d, database: %s, user: postgres, password: '', time-zone: UTC}
          target: %s
          verify: {window: %s, stall-threshold: 1h, state-dir: "%s", commit-interval: 100ms}
          capture: {heartbeat-interval: 200ms}
          repair: %s
          tables:
          %s""".formatted(name, broker.bootstrapServers(), pg.port(), sourceDb, targetYaml(targetPort), WINDOW,
          stateDir, repairYaml, tablesYaml.indent(2)));
    }

    /**
     * Starts captures + verify on the databases, and the repair role in its own pipeline, through
     * a TCP proxy in front of the target when {@code viaProxy}.
     */
    void start(String repairYaml, String tablesYaml, boolean viaProxy) throws Exception {
      config = config(targetPort(), repairYaml, tablesYaml);
      if (viaProxy) {
        proxy = new TcpProxy(targetPort());
      }
      repairConfig = viaProxy ? config(proxy.port(), repairYaml, tablesYaml) : config;
      tail = new TopicTail(broker.bootstrapServers(), 2, config.topics().discrepancies(),
          config.topics().repairsLog(), config.topics().review(), config.topics().repairsRetry(),
          config.topics().repairsDlq());
      long started = System.currentTimeMillis();
      long t0 = System.nanoTime();
      detect = Pipeline.start(config, EnumSet.of(Role.CAPTURE_SOURCE, Role.CAPTURE_TARGET, Role.VERIFY),
          broker.bootstrapServers(), probe, probe);
      repair = Pipeline.start(repairConfig, EnumSet.of(Role.REPAIR), broker.bootstrapServers(), null, null, outcomes);
      assertThat(repair.repair()).as("the repair role runs").isNotNull();
      RepairItSupport.awaitLive(config, probe, started, detect, repair);
      LOG.info("{}: live after {} ms", name, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    List<JsonNode> discrepancies() {
      return tail.json(config.topics().discrepancies());
    }

    List<JsonNode> discrepancies(String table, String id, String kind) {
      return discrepancies().stream().filter(d -> d.get("table").asText().equals(table) && id(d).equals(id)
          && d.get("kind").asText().equals(kind)).toList();
    }

    List<RepairLogEntry> repairs(String table) {
      return tail.repairLog(config.topics().repairsLog()).stream().filter(e -> e.table().equals(table)).toList();
    }

    List<JsonNode> reviews(String table) {
      return tail.json(config.topics().review()).stream().filter(r -> r.get("table").asText().equals(table)).toList();
    }

    /** The key is consistent in both databases now (read directly, never through the proxy). */
    boolean consistent(String table, long id) throws SQLException {
      return check(table, id).consistent();
    }

    KeyCheck.Result check(String table, long id) throws SQLException {
      Canonicalizer c = Canonicalizer.forConfig(config);
      try (RowReader reader = new RowReader(config, c)) {
        return new KeyCheck(c, reader).check(table, Map.of("id", Long.toString(id)));
      }
    }

    String targetValue(String sql) throws SQLException {
      try (Statement s = target.createStatement(); ResultSet rs = s.executeQuery(sql)) {
        return rs.next() ? rs.getString(1) : "<absent>";
      }
    }

    /** Waits for a RESOLVED of the key that says it was repaired. */
    void awaitRepairedResolution(String table, long id) {
      await(table + " " + id + " RESOLVED").atMost(AWAIT).pollInterval(POLL).untilAsserted(() -> {
        RepairItSupport.rethrow(detect, repair);
        List<JsonNode> r = discrepancies(table, Long.toString(id), "RESOLVED");
        assertThat(r).as("RESOLVED of %s %s", table, id).isNotEmpty();
        assertThat(r.get(r.size() - 1).get("resolution").asText()).isEqualTo("repaired");
      });
    }

    @Override
    public void close() throws Exception {
      if (repair != null) {
        repair.close();
      }
      if (detect != null) {
        detect.close();
      }
      if (tail != null) {
        tail.close();
      }
      if (proxy != null) {
        proxy.close();
      }
      source.close();
      target.close();
      pg.dropReplicationSlots();
      RepairItSupport.deleteRecursively(stateDir);
    }
  }

  // ---- 1. each policy through Kafka (PostgreSQL target) ----------------------------------------------

  @Test
  void eachPolicyEndToEnd() throws Exception {
    try (Scenario s = new Scenario("rp-policies", false)) {
      for (String t : List.of("sw", "man", "cust", "det")) {
        s.sourceDdl("CREATE TABLE " + t + " (id BIGINT PRIMARY KEY, amount NUMERIC(12,2), note TEXT)");
        s.targetDdl("CREATE TABLE " + t + " (id BIGINT PRIMARY KEY, amount NUMERIC(12,2), note TEXT)",
            "ALTER TABLE " + t + " REPLICA IDENTITY FULL");
        for (int i = 1; i <= 5; i++) {
          exec(s.source, "INSERT INTO " + t + " VALUES (?, ?, ?)", (long) i, new BigDecimal(i + ".50"), "n" + i);
          exec(s.target, "INSERT INTO " + t + " VALUES (?, ?, ?)", (long) i, new BigDecimal(i + ".50"), "n" + i);
        }
      }
      s.sourceDdl("CREATE TABLE lww (id BIGINT PRIMARY KEY, updated_at TIMESTAMPTZ NOT NULL, note TEXT)");
      s.targetDdl("CREATE TABLE lww (id BIGINT PRIMARY KEY, updated_at TIMESTAMPTZ NOT NULL, note TEXT)",
          "ALTER TABLE lww REPLICA IDENTITY FULL");
      for (int i = 1; i <= 5; i++) {
        exec(s.source, "INSERT INTO lww VALUES (?, '2026-03-01 09:00:00+00', ?)", (long) i, "n" + i);
        exec(s.target, "INSERT INTO lww VALUES (?, '2026-03-01 09:00:00+00', ?)", (long) i, "n" + i);
      }
      s.start("{backoff: 200ms, max-backoff: 1s, outage-probe-interval: 300ms}", """
          - {name: sw, key: [id], repair: {policy: source-wins}}
          - {name: lww, key: [id], repair: {policy: last-write-wins, version-column: updated_at, skew-tolerance: 1s}}
          - {name: man, key: [id], repair: {policy: manual}}
          - {name: cust, key: [id], repair: {policy: custom, resolver: "io.migrationverifier.repair.RepairRoleIT$KeepExtrasResolver"}}
          - {name: det, key: [id]}
          """, false);

      // source-wins: a missing row, an extra row, a wrong value
      exec(s.source, "INSERT INTO sw VALUES (101, 9.99, 'only on the source')");
      exec(s.target, "INSERT INTO sw VALUES (102, 1.00, 'only on the target')");
      exec(s.target, "UPDATE sw SET amount = 0.01, note = 'wrong' WHERE id = 3");
      // last-write-wins: source newer; target newer beyond the skew; target newer within the skew
      exec(s.source, "UPDATE lww SET updated_at = '2026-03-01 10:00:00+00', note = 'source newer' WHERE id = 1");
      exec(s.target, "UPDATE lww SET updated_at = '2026-03-01 10:00:00+00', note = 'target newer' WHERE id = 2");
      exec(s.target, "UPDATE lww SET updated_at = '2026-03-01 09:00:00.5+00', note = 'within skew' WHERE id = 3");
      // manual
      exec(s.target, "UPDATE man SET note = 'hand edit' WHERE id = 1");
      // custom: written, skipped, kept for review
      exec(s.target, "UPDATE cust SET note = 'wrong' WHERE id = 2");
      exec(s.target, "UPDATE cust SET note = 'accepted' WHERE id = 1");
      exec(s.target, "INSERT INTO cust VALUES (103, 3.00, 'extra')");
      // detect-only
      exec(s.target, "UPDATE det SET note = 'drift' WHERE id = 1");

      // repaired: consistent in both databases, logged with before and after, resolved as repaired
      record Repaired(String table, long id, String action) {}
      List<Repaired> repaired = List.of(new Repaired("sw", 101, "insert"), new Repaired("sw", 102, "delete"),
          new Repaired("sw", 3, "update"), new Repaired("lww", 1, "update"), new Repaired("lww", 3, "update"),
          new Repaired("cust", 2, "update"));
      for (Repaired r : repaired) {
        s.awaitRepairedResolution(r.table(), r.id());
        assertThat(s.consistent(r.table(), r.id())).as("%s %s consistent", r.table(), r.id()).isTrue();
      }
      // the rest has been decided once every request was handled
      await("all outcomes").atMost(AWAIT).pollInterval(POLL).until(() ->
          s.outcomes.total(Status.APPLIED) >= 6 && s.outcomes.total(Status.REVIEW) >= 3
              && s.outcomes.total(Status.SKIPPED) >= 1 && !s.discrepancies("det", "1", "VALUE_MISMATCH").isEmpty());
      RepairItSupport.awaitRepairCommitted(admin, s.config, s.tail);

      for (Repaired r : repaired) {
        List<RepairLogEntry> log = s.repairs(r.table()).stream()
            .filter(e -> e.key().get("id").equals(Long.toString(r.id()))).toList();
        assertThat(log).as("repair log of %s %s", r.table(), r.id()).hasSize(1);
        RepairLogEntry e = log.get(0);
        assertThat(e.action()).isEqualTo(r.action());
        assertThat(e.origin()).isEqualTo("stream");
        assertThat(e.discrepancyId()).isNotNull();
        assertThat(e.undoes()).isNull();
        JsonNode asked = s.discrepancies().stream().filter(d -> d.get("id").asText().equals(e.discrepancyId()))
            .findFirst().orElseThrow();
        assertThat(asked.get("table").asText()).isEqualTo(r.table());
      }
      RepairLogEntry insert = s.repairs("sw").stream().filter(e -> e.key().get("id").equals("101")).findFirst()
          .orElseThrow();
      assertThat(insert.before()).isNull();
      assertThat(insert.after()).containsEntry("amount", "9.99").containsEntry("note", "only on the source");
      assertThat(insert.policy()).isEqualTo("source-wins");
      RepairLogEntry delete = s.repairs("sw").stream().filter(e -> e.key().get("id").equals("102")).findFirst()
          .orElseThrow();
      assertThat(delete.before()).containsEntry("note", "only on the target");
      assertThat(delete.after()).isNull();
      RepairLogEntry update = s.repairs("sw").stream().filter(e -> e.key().get("id").equals("3")).findFirst()
          .orElseThrow();
      assertThat(update.before()).containsEntry("amount", "0.01").containsEntry("note", "wrong");
      assertThat(update.after()).containsEntry("amount", "3.5").containsEntry("note", "n3");
      assertThat(s.targetValue("SELECT note FROM sw WHERE id = 102")).isEqualTo("<absent>");
      assertThat(s.targetValue("SELECT note FROM sw WHERE id = 101")).isEqualTo("only on the source");
      assertThat(s.repairs("lww")).allSatisfy(e -> assertThat(e.policy()).isEqualTo("last-write-wins"));
      assertThat(s.targetValue("SELECT note FROM lww WHERE id = 3")).isEqualTo("n3");
      assertThat(s.repairs("cust")).singleElement().satisfies(e ->
          assertThat(e.policy()).isEqualTo("custom:io.migrationverifier.repair.RepairRoleIT$KeepExtrasResolver"));

      // last-write-wins, target newer beyond the skew: review, target unchanged
      assertThat(s.reviews("lww")).singleElement().satisfies(r -> {
        assertThat(r.get("key").get("id").asText()).isEqualTo("2");
        assertThat(r.get("policy").asText()).isEqualTo("last-write-wins");
        assertThat(r.get("reason").asText()).contains("newer");
        assertThat(r.get("target").get("note").asText()).isEqualTo("target newer");
        assertThat(r.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
      });
      assertThat(s.targetValue("SELECT note FROM lww WHERE id = 2")).isEqualTo("target newer");
      // manual: review, no write
      assertThat(s.reviews("man")).singleElement().satisfies(r -> {
        assertThat(r.get("key").get("id").asText()).isEqualTo("1");
        assertThat(r.get("policy").asText()).isEqualTo("manual");
      });
      assertThat(s.repairs("man")).isEmpty();
      assertThat(s.targetValue("SELECT note FROM man WHERE id = 1")).isEqualTo("hand edit");
      // custom: the extra row kept for review (source-wins would have deleted it), the accepted one skipped
      assertThat(s.reviews("cust")).singleElement().satisfies(r -> {
        assertThat(r.get("key").get("id").asText()).isEqualTo("103");
        assertThat(r.get("reason").asText()).isEqualTo("custom: rows only on the target are kept for audit");
      });
      assertThat(s.targetValue("SELECT note FROM cust WHERE id = 103")).isEqualTo("extra");
      assertThat(s.targetValue("SELECT note FROM cust WHERE id = 1")).isEqualTo("accepted");
      assertThat(s.outcomes.count("cust", Status.SKIPPED)).isEqualTo(1);
      // detect-only: reported, never written, never logged
      assertThat(s.repairs("det")).isEmpty();
      assertThat(s.reviews("det")).isEmpty();
      assertThat(s.targetValue("SELECT note FROM det WHERE id = 1")).isEqualTo("drift");
      assertThat(s.outcomes.counts.keySet()).noneMatch(k -> k.startsWith("det/"));

      assertThat(s.tail.of(s.config.topics().repairsLog())).hasSize(6);
      assertThat(s.tail.of(s.config.topics().repairsDlq())).isEmpty();
      assertThat(s.tail.of(s.config.topics().repairsRetry())).isEmpty();
      assertThat(s.probe.anomalies).isEmpty();
    }
  }

  // ---- 1b. MariaDB target: logical columns mapped back to the target's names and types ---------------

  @Test
  void sourceWinsIntoMariaDbMapsColumnsBackToTheTargetsNamesAndTypes() throws Exception {
    assumeTrue(maria != null, "mariadbd not installed (apt-get install mariadb-server)");
    try (Scenario s = new Scenario("rp-maria", true)) {
      s.sourceDdl("CREATE TABLE products (id BIGINT PRIMARY KEY, price NUMERIC(10,2) NOT NULL, active BOOLEAN NOT NULL,"
          + " updated_at TIMESTAMP(3) NOT NULL, seen_at TIMESTAMPTZ(3), label TEXT)");
      s.targetDdl("CREATE TABLE products (id BIGINT PRIMARY KEY, cost DECIMAL(12,4) NOT NULL, active TINYINT(1) NOT NULL,"
          + " updated_at DATETIME(3) NOT NULL, seen_at TIMESTAMP(3) NULL, label_t VARCHAR(100))"
          + " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
      for (int i = 1; i <= 5; i++) {
        exec(s.source, "INSERT INTO products VALUES (?, ?, true, '2026-03-01 09:00:00.123', '2026-03-01 10:00:00.456+00',"
            + " ?)", (long) i, new BigDecimal(i + ".25"), "p" + i);
        exec(s.target, "INSERT INTO products VALUES (?, ?, 1, '2026-03-01 09:00:00.123', '2026-03-01 10:00:00.456', ?)",
            (long) i, new BigDecimal(i + ".25"), "p" + i);
      }
      s.start("{backoff: 200ms, max-backoff: 1s, outage-probe-interval: 300ms}", """
          - name: products
            key: [id]
            columns:
              - {name: price, target: cost}
              - {name: label, target: label_t}
            repair: {policy: source-wins}
          """, false);

      // A fraction with a leading zero (.001): MariaDB Connector/J 3.5.3 getString() renders a DATETIME(3)
      // .001 as ".1000"; RowReader must read the value, not that text (regression test).
      exec(s.source, "INSERT INTO products VALUES (101, 12.50, false, '2026-04-02 23:59:58.001',"
          + " '2026-04-03 00:00:01.999+00', 'naïve ✓ new')");
      exec(s.target, "INSERT INTO products VALUES (102, 1, 1, '2026-01-01 00:00:00', NULL, 'extra')");
      exec(s.target, "UPDATE products SET cost = 0, active = 0, updated_at = '2020-01-01 00:00:00',"
          + " seen_at = NULL, label_t = 'wrong' WHERE id = 3");

      for (long id : List.of(101L, 102L, 3L)) {
        s.awaitRepairedResolution("products", id);
        KeyCheck.Result r = s.check("products", id);
        assertThat(r.consistent()).as("products %s consistent: %s", id, r).isTrue();
      }
      // the physical MariaDB row: renamed columns, DECIMAL scale 4, TINYINT(1), DATETIME(3), TIMESTAMP(3) in UTC
      try (Statement st = s.target.createStatement()) {
        st.execute("SET time_zone = '+00:00'");
        try (ResultSet rs = st.executeQuery("SELECT cost, active, updated_at, seen_at, label_t FROM products"
            + " WHERE id = 101")) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getBigDecimal(1)).isEqualByComparingTo("12.5");
          assertThat(rs.getString(1)).isEqualTo("12.5000");
          assertThat(rs.getInt(2)).isZero();
          assertThat(rs.getObject(3, java.time.LocalDateTime.class)).isEqualTo("2026-04-02T23:59:58.001");
          assertThat(rs.getString(4)).startsWith("2026-04-03 00:00:01.999");
          assertThat(rs.getString(5)).isEqualTo("naïve ✓ new");
        }
        try (ResultSet rs = st.executeQuery("SELECT cost, active, updated_at, seen_at, label_t FROM products"
            + " WHERE id = 3")) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getString(1)).isEqualTo("3.2500");
          assertThat(rs.getInt(2)).isEqualTo(1);
          assertThat(rs.getString(3)).startsWith("2026-03-01 09:00:00.123");
          assertThat(rs.getString(4)).startsWith("2026-03-01 10:00:00.456");
          assertThat(rs.getString(5)).isEqualTo("p3");
        }
      }
      assertThat(s.targetValue("SELECT label_t FROM products WHERE id = 102")).isEqualTo("<absent>");
      RepairItSupport.awaitRepairCommitted(admin, s.config, s.tail);
      List<RepairLogEntry> log = s.repairs("products");
      assertThat(log).extracting(e -> e.key().get("id") + ":" + e.action())
          .containsExactlyInAnyOrder("101:insert", "102:delete", "3:update");
      RepairLogEntry upd = log.stream().filter(e -> e.key().get("id").equals("3")).findFirst().orElseThrow();
      assertThat(upd.before()).containsEntry("price", "0").containsEntry("active", "false")
          .containsEntry("label", "wrong");
      assertThat(upd.after()).containsEntry("price", "3.25").containsEntry("active", "true")
          .containsEntry("label", "p3");
      assertThat(s.tail.of(s.config.topics().repairsDlq())).isEmpty();
      assertThat(s.probe.anomalies).isEmpty();
    }
  }

  // ---- 2. a stale repair is never applied ----------------------------------------------------------------

  @Test
  void aStaleRepairIsNeverAppliedButJudgedAgainAndWhenTheTargetKeepsMovingRetriedThenDeadLettered()
      throws Exception {
    pg.createDatabase("rp_stale_src");
    pg.createDatabase("rp_stale_tgt");
    VerifierConfig cfg = Configs.parse("""
        name: rp-stale
        kafka: {bootstrap-servers: "%s", partitions: 2}
        source: {type: postgres, host: 127.0.0.1, port: %d, database: rp_stale_src, user: postgres, password: ''}
        target: {type: postgres, host: 127.0.0.1, port: %d, database: rp_stale_tgt, user: postgres, password: ''}
        repair: {fence-retries: 2, max-attempts: 3, backoff: 300ms, max-backoff: 600ms}
        tables:
          - {name: items, key: [id], repair: {policy: custom, resolver: "io.migrationverifier.repair.RepairRoleIT$RacingResolver"}}
        """.formatted(broker.bootstrapServers(), pg.port(), pg.port()));
    try (Connection source = pg.connect("rp_stale_src"); Connection target = pg.connect("rp_stale_tgt");
        Connection other = pg.connect("rp_stale_tgt")) {
      for (Connection c : List.of(source, target)) {
        try (Statement st = c.createStatement()) {
          st.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, ver BIGINT NOT NULL, note TEXT)");
        }
      }
      for (long id = 1; id <= 3; id++) {
        exec(source, "INSERT INTO items VALUES (?, 5, 'source')", id);
        exec(target, "INSERT INTO items VALUES (?, 1, 'old')", id);
      }
      try (RepairEngine engine = RepairEngine.open(cfg, Canonicalizer.forConfig(cfg))) {
        // (a) a newer target row appears after the judgement: the write is not applied, the
        //     re-judgement sees the newer row and leaves it to a person
        RacingResolver.CALLS.set(0);
        RacingResolver.hook = (n, c) -> {
          if (n == 1) {
            exec(other, "UPDATE items SET ver = 9, note = 'concurrent' WHERE id = 1");
          }
        };
        RepairEngine.Outcome a = engine.repair("items", Map.of("id", "1"), null, "check");
        assertThat(a.status()).isEqualTo(Status.REVIEW);
        assertThat(a.target()).containsEntry("ver", "9");
        assertThat(RacingResolver.CALLS.get()).isEqualTo(2);
        assertThat(value(target, "SELECT ver || ' ' || note FROM items WHERE id = 1")).isEqualTo("9 concurrent");

        // (b) the target moves but stays older: judged again on what it holds now, then written;
        //     the log's before-image is the row the write replaced, not the first one judged
        RacingResolver.CALLS.set(0);
        RacingResolver.hook = (n, c) -> {
          if (n == 1) {
            exec(other, "UPDATE items SET ver = 2, note = 'concurrent older' WHERE id = 2");
          }
        };
        RepairEngine.Outcome b = engine.repair("items", Map.of("id", "2"), null, "check");
        assertThat(b.status()).isEqualTo(Status.APPLIED);
        assertThat(b.log().before()).containsEntry("ver", "2").containsEntry("note", "concurrent older");
        assertThat(b.log().after()).containsEntry("ver", "5").containsEntry("note", "source");
        assertThat(RacingResolver.CALLS.get()).isEqualTo(2);
        assertThat(value(target, "SELECT ver || ' ' || note FROM items WHERE id = 2")).isEqualTo("5 source");

        // (c) the target changes on every attempt: bounded by fence-retries, nothing written
        RacingResolver.CALLS.set(0);
        RacingResolver.hook = (n, c) -> exec(other, "UPDATE items SET note = ? WHERE id = 3", "churn " + n);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> engine.repair("items", Map.of("id", "3"), null,
            "check")).isInstanceOf(RepairEngine.StaleRepairException.class).hasMessageContaining("fence-retries=2");
        assertThat(RacingResolver.CALLS.get()).isEqualTo(3);
        assertThat(value(target, "SELECT ver || ' ' || note FROM items WHERE id = 3")).isEqualTo("1 churn 3");
      }

      // (d) the same through the role: transient, so the retry topic (attempts, not-before), then the DLQ
      try (Admin a = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
        io.migrationverifier.kafka.TopicAdmin.ensureTopics(a, cfg, Duration.ofSeconds(60));
      }
      RacingResolver.CALLS.set(0);
      Outcomes outcomes = new Outcomes();
      try (TopicTail tail = new TopicTail(broker.bootstrapServers(), 2, cfg.topics().repairsRetry(),
          cfg.topics().repairsDlq(), cfg.topics().repairsLog());
          RepairWorker worker = new RepairWorker(cfg, broker.bootstrapServers(), outcomes);
          KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
              ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()), new ByteArraySerializer(),
              new ByteArraySerializer())) {
        worker.start();
        SortedMap<String, String> key = new TreeMap<>(Map.of("id", "3"));
        Discrepancy d = new Discrepancy("d-stale-3", DiscrepancyKind.VALUE_MISMATCH, "items", key, "stream", 1L, 2L,
            new TreeMap<>(Map.of("id", "3", "ver", "5", "note", "source")),
            new TreeMap<>(Map.of("id", "3", "ver", "1", "note", "old")), List.of(), null, null, null, null, 3L);
        RecordMetadata sent = producer.send(new ProducerRecord<>(cfg.topics().discrepancies(),
            CanonicalKey.of("items", key).toBytes(), EventCodec.encode(d))).get(30, TimeUnit.SECONDS);

        await("dead-lettered").atMost(AWAIT).pollInterval(POLL).until(() -> {
          assertThat(worker.stopped()).isNotCompletedExceptionally();
          return !tail.of(cfg.topics().repairsDlq()).isEmpty();
        });
        tail.awaitCaughtUp(admin);
        List<ConsumerRecord<byte[], byte[]>> retries = tail.of(cfg.topics().repairsRetry());
        assertThat(retries).hasSize(2);
        long previousNotBefore = 0;
        for (int i = 0; i < 2; i++) {
          var h = retries.get(i).headers();
          assertThat(RepairHeaders.number(h, RepairHeaders.ATTEMPTS, -1)).isEqualTo(i + 1);
          long last = RepairHeaders.number(h, RepairHeaders.LAST_FAILURE, -1);
          assertThat(last).as("attempt %d ran no earlier than its not-before", i + 1).isGreaterThanOrEqualTo(
              previousNotBefore);
          long notBefore = RepairHeaders.number(h, RepairHeaders.NOT_BEFORE, -1);
          assertThat(notBefore - last).as("exponential backoff").isEqualTo(i == 0 ? 300 : 600);
          previousNotBefore = notBefore;
          assertThat(RepairHeaders.text(h, DeadLetters.TOPIC)).isEqualTo(cfg.topics().discrepancies());
          assertThat(RepairHeaders.text(h, DeadLetters.EXCEPTION))
              .isEqualTo(RepairEngine.StaleRepairException.class.getName());
          assertThat(retries.get(i).value()).isEqualTo(EventCodec.encode(d));
        }
        List<ConsumerRecord<byte[], byte[]>> dlq = tail.of(cfg.topics().repairsDlq());
        assertThat(dlq).hasSize(1);
        var h = dlq.get(0).headers();
        assertThat(RepairHeaders.number(h, RepairHeaders.ATTEMPTS, -1)).isEqualTo(3);
        assertThat(RepairHeaders.text(h, RepairHeaders.FAILURE_KIND)).isEqualTo("attempts-spent");
        assertThat(RepairHeaders.text(h, DeadLetters.EXCEPTION))
            .isEqualTo(RepairEngine.StaleRepairException.class.getName());
        assertThat(RepairHeaders.text(h, DeadLetters.TOPIC)).isEqualTo(cfg.topics().discrepancies());
        assertThat(RepairHeaders.number(h, DeadLetters.PARTITION, -1)).isEqualTo(sent.partition());
        assertThat(RepairHeaders.number(h, DeadLetters.OFFSET, -1)).isEqualTo(sent.offset());
        assertThat(RepairHeaders.number(h, RepairHeaders.FIRST_FAILURE, -1))
            .isEqualTo(RepairHeaders.number(retries.get(0).headers(), RepairHeaders.FIRST_FAILURE, -2));
        assertThat(RepairHeaders.number(h, RepairHeaders.LAST_FAILURE, -1)).isGreaterThanOrEqualTo(previousNotBefore);
        assertThat(dlq.get(0).value()).isEqualTo(EventCodec.encode(d));
        // each attempt judges fence-retries + 1 times, the batched path's first judgement included
        assertThat(RacingResolver.CALLS.get()).as("3 attempts of 3 judgements: %s", RacingResolver.TRACE)
            .isEqualTo(9);
        assertThat(tail.of(cfg.topics().repairsLog())).isEmpty();
        assertThat(value(target, "SELECT ver || ' ' || note FROM items WHERE id = 3"))
            .isEqualTo("1 churn " + RacingResolver.CALLS.get());
        assertThat(outcomes.retried.get()).isEqualTo(2);
        assertThat(outcomes.deadLettered.get()).isEqualTo(1);
      } finally {
        RacingResolver.hook = (n, c) -> { };
      }
    }
  }

  private static String value(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : "<absent>";
    }
  }

  // ---- 3. the target down for a while, then back --------------------------------------------------------

  @Test
  void targetDownForAWhileThenBackEveryRepairAppliedNothingDeadLettered() throws Exception {
    int n = 30;
    try (Scenario s = new Scenario("rp-outage", false)) {
      s.sourceDdl("CREATE TABLE items (id BIGINT PRIMARY KEY, note TEXT)");
      s.targetDdl("CREATE TABLE items (id BIGINT PRIMARY KEY, note TEXT)", "ALTER TABLE items REPLICA IDENTITY FULL");
      // few attempts and short backoffs: an outage that spent attempts would reach the DLQ quickly
      s.start("{max-attempts: 2, backoff: 100ms, max-backoff: 200ms, outage-probe-interval: 300ms}", """
          - {name: items, key: [id], repair: {policy: source-wins, rate-limit: 10}}
          """, true);
      RepairWorker worker = s.repair.repair();

      // phase 1: down before the differences are reported
      s.proxy.cut();
      for (int i = 1; i <= n; i++) {
        exec(s.source, "INSERT INTO items VALUES (?, ?)", (long) i, "row " + i);
      }
      await("all reported").atMost(AWAIT).pollInterval(POLL).until(() ->
          s.discrepancies().stream().filter(d -> d.get("kind").asText().equals("MISSING_IN_TARGET")).count() == n);
      await("paused").atMost(AWAIT).pollInterval(POLL).until(() -> worker.state() == RepairWorker.State.PAUSED_OUTAGE);
      assertThat(s.outcomes.paused.get()).isEqualTo(1);
      // stays paused across several probes, spending nothing
      long until = System.currentTimeMillis() + 1_500;
      await().atMost(Duration.ofSeconds(5)).pollInterval(POLL).until(() -> {
        assertThat(worker.state()).isEqualTo(RepairWorker.State.PAUSED_OUTAGE);
        return System.currentTimeMillis() >= until;
      });
      s.tail.awaitCaughtUp(admin);
      assertThat(s.tail.of(s.config.topics().repairsDlq())).isEmpty();
      assertThat(s.tail.of(s.config.topics().repairsRetry())).isEmpty();
      assertThat(s.outcomes.total(Status.APPLIED)).isZero();

      s.proxy.restore();
      await("every key repaired").atMost(AWAIT).pollInterval(POLL).until(() -> {
        RepairItSupport.rethrow(s.detect, s.repair);
        return s.outcomes.total(Status.APPLIED) >= n;
      });
      assertThat(worker.state()).isEqualTo(RepairWorker.State.RUNNING);
      assertThat(s.outcomes.resumed.get()).isEqualTo(1);
      for (int i = 1; i <= n; i++) {
        assertThat(s.consistent("items", i)).as("item %s", i).isTrue();
      }

      // phase 2: down while the role is taking the next requests in (a batch waits for the table's rate
      // limit before it is handled), with connections of phase 1 open in its pool and reader
      for (int i = n + 1; i <= 2 * n; i++) {
        exec(s.source, "INSERT INTO items VALUES (?, ?)", (long) i, "row " + i);
      }
      await("second batch reported").atMost(AWAIT).pollInterval(Duration.ofMillis(5)).until(() ->
          s.discrepancies().stream().anyMatch(d -> d.get("kind").asText().equals("MISSING_IN_TARGET")
              && Long.parseLong(id(d)) > n));
      s.proxy.cut();
      await("paused again").atMost(AWAIT).pollInterval(POLL).until(() -> worker.state() == RepairWorker.State.PAUSED_OUTAGE);
      LOG.info("paused with {} of the second {} repairs applied", s.outcomes.total(Status.APPLIED) - n, n);
      Thread.sleep(1_000); // a few probe intervals of outage: still nothing spent (asserted below)
      s.proxy.restore();
      for (int i = n + 1; i <= 2 * n; i++) {
        final long id = i;
        await("item " + id).atMost(AWAIT).pollInterval(POLL).until(() -> s.consistent("items", id));
      }
      for (int i = 1; i <= 2 * n; i++) {
        s.awaitRepairedResolution("items", i);
      }
      RepairItSupport.awaitRepairCommitted(admin, s.config, s.tail);
      assertThat(s.tail.of(s.config.topics().repairsDlq())).as("nothing dead-lettered").isEmpty();
      assertThat(s.tail.of(s.config.topics().repairsRetry())).as("no attempt spent on the outage").isEmpty();
      assertThat(s.outcomes.deadLettered.get()).isZero();
      assertThat(s.outcomes.retried.get()).isZero();
      assertThat(s.outcomes.paused.get()).isEqualTo(2);
      assertThat(s.repairs("items")).hasSizeGreaterThanOrEqualTo(2 * n);
      assertThat(s.repairs("items").stream().map(e -> e.key().get("id")).distinct()).hasSize(2 * n);
      assertThat(s.proxy.accepted()).isPositive();
    }
  }

  // ---- 4. a permanent error: the DLQ with DESIGN's headers, other keys not blocked ------------------------

  @Test
  void aConstraintViolationIsDeadLetteredWithItsHeadersAndOtherKeysAreRepaired() throws Exception {
    try (Scenario s = new Scenario("rp-dlq", false)) {
      s.sourceDdl("CREATE TABLE orders (id BIGINT PRIMARY KEY, qty INT NOT NULL, note TEXT)");
      s.targetDdl("CREATE TABLE orders (id BIGINT PRIMARY KEY, qty INT NOT NULL CONSTRAINT qty_not_negative"
          + " CHECK (qty >= 0), note TEXT)", "ALTER TABLE orders REPLICA IDENTITY FULL");
      s.start("{max-attempts: 3, backoff: 100ms, max-backoff: 200ms}", """
          - {name: orders, key: [id], repair: {policy: source-wins}}
          """, false);
      long before = System.currentTimeMillis();
      exec(s.source, "INSERT INTO orders VALUES (1, -5, 'refund')");
      for (long id = 2; id <= 6; id++) {
        exec(s.source, "INSERT INTO orders VALUES (?, 1, 'ok')", id);
      }
      for (long id = 2; id <= 6; id++) {
        s.awaitRepairedResolution("orders", id);
      }
      await("dead-lettered").atMost(AWAIT).pollInterval(POLL)
          .until(() -> !s.tail.of(s.config.topics().repairsDlq()).isEmpty());
      RepairItSupport.awaitRepairCommitted(admin, s.config, s.tail);

      List<ConsumerRecord<byte[], byte[]>> dlq = s.tail.of(s.config.topics().repairsDlq());
      assertThat(dlq).hasSize(1);
      ConsumerRecord<byte[], byte[]> dead = dlq.get(0);
      ConsumerRecord<byte[], byte[]> original = s.tail.of(s.config.topics().discrepancies()).stream()
          .filter(r -> new String(r.value(), StandardCharsets.UTF_8).contains("MISSING_IN_TARGET"))
          .filter(r -> new String(r.key(), StandardCharsets.UTF_8).contains("\"1\""))
          .findFirst().orElseThrow();
      assertThat(dead.key()).isEqualTo(original.key());
      assertThat(dead.value()).as("the original request").isEqualTo(original.value());
      var h = dead.headers();
      assertThat(RepairHeaders.text(h, DeadLetters.TOPIC)).isEqualTo(s.config.topics().discrepancies());
      assertThat(RepairHeaders.number(h, DeadLetters.PARTITION, -1)).isEqualTo(original.partition());
      assertThat(RepairHeaders.number(h, DeadLetters.OFFSET, -1)).isEqualTo(original.offset());
      assertThat(RepairHeaders.number(h, RepairHeaders.ATTEMPTS, -1)).as("permanent: no retry").isEqualTo(1);
      long first = RepairHeaders.number(h, RepairHeaders.FIRST_FAILURE, -1);
      long last = RepairHeaders.number(h, RepairHeaders.LAST_FAILURE, -1);
      assertThat(first).isBetween(before, System.currentTimeMillis());
      assertThat(last).isEqualTo(first);
      assertThat(RepairHeaders.text(h, DeadLetters.EXCEPTION)).isEqualTo("org.postgresql.util.PSQLException");
      assertThat(RepairHeaders.text(h, DeadLetters.MESSAGE)).contains("qty_not_negative");
      assertThat(RepairHeaders.text(h, DeadLetters.STACKTRACE)).contains("PSQLException");
      assertThat(RepairHeaders.text(h, RepairHeaders.FAILURE_KIND)).isEqualTo("permanent");
      assertThat(RepairHeaders.text(h, RepairHeaders.NOT_BEFORE)).isNull();

      assertThat(s.tail.of(s.config.topics().repairsRetry())).isEmpty();
      assertThat(s.targetValue("SELECT qty FROM orders WHERE id = 1")).isEqualTo("<absent>");
      assertThat(s.repairs("orders")).extracting(e -> e.key().get("id")).containsExactlyInAnyOrder("2", "3", "4", "5",
          "6");
      assertThat(s.outcomes.deadLettered.get()).isEqualTo(1);
      List<String> stillOpen = new ArrayList<>();
      if (!s.check("orders", 1).consistent()) {
        stillOpen.add("1");
      }
      assertThat(stillOpen).containsExactly("1");
    }
  }
}
