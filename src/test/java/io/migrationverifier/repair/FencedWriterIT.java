package io.migrationverifier.repair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.repair.FencedWriter.Outcome;
import io.migrationverifier.repair.FencedWriter.Status;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TimeZone;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fenced write against real PostgreSQL and MariaDB targets: a table with typed columns, a
 * renamed column ({@code label} is {@code label_t} on the target), an ignored target-only column
 * ({@code internal}) and a source-only column ({@code legacy_code}). Every write is read back
 * with {@link RowReader} and must give exactly the desired canonical row; a target that changed
 * after the judged image is never overwritten.
 *
 * <p>The target's zone-less timestamps are in Europe/Berlin (so the local-time conversion is
 * exercised) and the JVM's default zone is America/New_York (nothing may depend on it).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FencedWriterIT {

  private static final String TABLES = """
      tables:
        - name: items
          source-table: public.items
          target-table: %s
          key: [id]
          columns:
            - {name: label, target: label_t}
            - {name: internal, source: null, ignore: true}
            - {name: legacy_code, target: null}
            - {name: doc, type: json}
            - {name: ext_id, type: uuid}
      """;

  private static final String PG_DDL = """
      CREATE TABLE items (
        id BIGINT PRIMARY KEY,
        amount NUMERIC(12,2),
        made_at TIMESTAMP(6),
        seen_at TIMESTAMPTZ,
        active BOOLEAN,
        doc JSONB,
        note TEXT,
        label_t VARCHAR(40),
        day DATE,
        payload BYTEA,
        ext_id UUID,
        internal TEXT DEFAULT 'keep'
      )""";

  private static final String MARIA_DDL = """
      CREATE TABLE items (
        id BIGINT PRIMARY KEY,
        amount DECIMAL(12,2),
        made_at DATETIME(6),
        seen_at TIMESTAMP(6) NULL,
        active TINYINT(1),
        doc JSON,
        note TEXT,
        label_t VARCHAR(40),
        day DATE,
        payload VARBINARY(64),
        ext_id CHAR(36),
        internal VARCHAR(40) DEFAULT 'keep'
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""";

  static PostgresServer pg;
  static MariaDbServer maria;
  static TimeZone previousZone;

  @BeforeAll
  static void start() throws Exception {
    previousZone = TimeZone.getDefault();
    TimeZone.setDefault(TimeZone.getTimeZone("America/New_York"));
    pg = PostgresServer.start();
    pg.createDatabase("legacy");
    pg.createDatabase("modern");
    try (Connection c = pg.connect("modern"); Statement s = c.createStatement()) {
      s.execute(PG_DDL);
    }
    if (MariaDbServer.available()) {
      maria = MariaDbServer.start();
      maria.createDatabase("modern");
      try (Connection c = maria.connect("modern"); Statement s = c.createStatement()) {
        s.execute(MARIA_DDL);
      }
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
    } finally {
      TimeZone.setDefault(previousZone);
    }
  }

  /** One target database under test. */
  interface Target {
    VerifierConfig config();

    Connection connect() throws SQLException;

    /** SQL literal of a boolean on this target. */
    String bool(boolean b);

    /** SQL literal of a zoned timestamp given in UTC. */
    String zoned(String utc);

    /** SQL literal of bytes from hex. */
    String bytes(String hex);

    /** A query counting the transactions of this target that wait for a row lock. */
    String lockWaits();
  }

  private static String source() {
    return "source: {type: postgres, host: 127.0.0.1, port: " + pg.port() + ", database: legacy, user: "
        + PostgresServer.USER + ", password: \"\"}\n";
  }

  private static Target postgresTarget() {
    VerifierConfig cfg = Configs.parse("name: fenced-pg\n"
        + "kafka: {bootstrap-servers: embedded}\n"
        + source()
        + "target: {type: postgres, host: 127.0.0.1, port: " + pg.port() + ", database: modern, user: "
        + PostgresServer.USER + ", password: \"\", time-zone: Europe/Berlin}\n"
        + TABLES.formatted("public.items"));
    return new Target() {
      @Override
      public VerifierConfig config() {
        return cfg;
      }

      @Override
      public Connection connect() throws SQLException {
        return pg.connect("modern");
      }

      @Override
      public String bool(boolean b) {
        return Boolean.toString(b);
      }

      @Override
      public String zoned(String utc) {
        return "'" + utc + "+00'";
      }

      @Override
      public String bytes(String hex) {
        return "decode('" + hex + "','hex')";
      }

      @Override
      public String lockWaits() {
        return "SELECT count(*) FROM pg_stat_activity WHERE datname = 'modern' AND wait_event_type = 'Lock'";
      }
    };
  }

  private static Target mariadbTarget() {
    VerifierConfig cfg = Configs.parse("name: fenced-maria\n"
        + "kafka: {bootstrap-servers: embedded}\n"
        + source()
        + "target: {type: mariadb, host: 127.0.0.1, port: " + maria.port() + ", database: modern, user: "
        + MariaDbServer.ADMIN_USER + ", password: \"${env:MV_TEST_MARIADB_ADMIN_PASSWORD}\", time-zone: Europe/Berlin}\n"
        + TABLES.formatted("modern.items"));
    return new Target() {
      @Override
      public VerifierConfig config() {
        return cfg;
      }

      @Override
      public Connection connect() throws SQLException {
        Connection c = maria.connect("modern");
        try (Statement s = c.createStatement()) {
          s.execute("SET time_zone = '+00:00'");
        }
        return c;
      }

      @Override
      public String bool(boolean b) {
        return b ? "1" : "0";
      }

      @Override
      public String zoned(String utc) {
        return "'" + utc + "'"; // the session runs in UTC
      }

      @Override
      public String bytes(String hex) {
        return "X'" + hex + "'";
      }

      @Override
      public String lockWaits() {
        return "SELECT count(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'";
      }
    };
  }

  // ---- rows ------------------------------------------------------------------------------------------

  /** A desired row as the source would give it (logical names, canonical text), legacy_code included. */
  private static Map<String, String> desired(long id) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("id", Long.toString(id));
    m.put("amount", "1.8");
    m.put("made_at", "2024-05-01T10:00:00.123456Z");
    m.put("seen_at", "2024-05-01T10:00:00.654321Z");
    m.put("active", "true");
    m.put("doc", "{\"a\":[1,2],\"b\":1}");
    m.put("note", "hello");
    m.put("label", "L" + id);
    m.put("day", "2024-05-01");
    m.put("payload", "cafe");
    m.put("ext_id", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    m.put("legacy_code", "only-on-the-source");
    return m;
  }

  /** What the target holds after a write of {@code desired}: no source-only column, no ignored one. */
  private static CanonicalRow expectedOnTarget(Map<String, String> desired) {
    Map<String, String> m = new LinkedHashMap<>(desired);
    m.remove("legacy_code");
    return CanonicalRow.of(m);
  }

  /** A different row written directly with SQL. */
  private static void insertRaw(Target t, long id, String note, String internal) throws SQLException {
    try (Connection c = t.connect(); Statement s = c.createStatement()) {
      s.execute("INSERT INTO items (id, amount, made_at, seen_at, active, doc, note, label_t, day, payload, ext_id,"
          + " internal) VALUES (" + id + ", 99.5, '2023-01-02 03:04:05', " + t.zoned("2023-01-02 03:04:05.5") + ", "
          + t.bool(false) + ", '{\"z\": 0}', " + (note == null ? "NULL" : "'" + note + "'") + ", 'old', '2023-01-02', "
          + t.bytes("00ff") + ", 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '" + internal + "')");
    }
  }

  private static String rawString(Target t, long id, String column) throws SQLException {
    try (Connection c = t.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT " + column + " FROM items WHERE id = " + id)) {
      return rs.next() ? rs.getString(1) : "<absent>";
    }
  }

  private static void execute(Target t, String sql) throws SQLException {
    try (Connection c = t.connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static Map<String, String> key(long id) {
    return Map.of("id", Long.toString(id));
  }

  // ---- the scenario, per target -----------------------------------------------------------------------

  private static void scenario(Target t, String localMadeAt) throws Exception {
    VerifierConfig cfg = t.config();
    Canonicalizer canonicalizer = Canonicalizer.forConfig(cfg);
    try (FencedWriter writer = new FencedWriter(cfg, canonicalizer);
        RowReader reader = new RowReader(cfg, canonicalizer)) {

      // (a) insert of a missing row
      Map<String, String> d1 = desired(1);
      assertThat(reader.read(Side.TARGET, "items", key(1))).isEmpty();
      Outcome inserted = writer.apply("items", key(1), Optional.empty(), Optional.of(CanonicalRow.of(d1)));
      assertThat(inserted.status()).isEqualTo(Status.APPLIED);
      assertThat(inserted.before()).isEmpty();
      CanonicalRow back = reader.read(Side.TARGET, "items", key(1)).orElseThrow();
      assertThat(back.values()).containsExactlyEntriesOf(expectedOnTarget(d1).values());
      assertThat(back.hash()).isEqualTo(expectedOnTarget(d1).hash());
      // the zone-less timestamp is stored as the local time of the target's zone (Berlin, CEST)
      assertThat(rawString(t, 1, "made_at")).startsWith(localMadeAt);
      assertThat(rawString(t, 1, "label_t")).isEqualTo("L1"); // the renamed column
      assertThat(rawString(t, 1, "internal")).isEqualTo("keep"); // never written: the column default

      // (b) update of a wrong value: before image returned, NULL written
      insertRaw(t, 2, "wrong", "secret-2");
      Optional<CanonicalRow> judged2 = reader.read(Side.TARGET, "items", key(2));
      assertThat(judged2).isPresent();
      assertThat(judged2.get().get("note")).isEqualTo("wrong");
      Map<String, String> d2 = desired(2);
      d2.put("note", null);
      Outcome updated = writer.apply("items", key(2), judged2, Optional.of(CanonicalRow.of(d2)));
      assertThat(updated.status()).isEqualTo(Status.APPLIED);
      assertThat(updated.before()).isEqualTo(judged2);
      CanonicalRow back2 = reader.read(Side.TARGET, "items", key(2)).orElseThrow();
      assertThat(back2.values()).containsExactlyEntriesOf(expectedOnTarget(d2).values());
      assertThat(back2.get("note")).isNull();
      // (e) the ignored target-only column keeps its value on update
      assertThat(rawString(t, 2, "internal")).isEqualTo("secret-2");

      // (c) delete of an unexpected row
      insertRaw(t, 3, "unexpected", "x");
      Optional<CanonicalRow> judged3 = reader.read(Side.TARGET, "items", key(3));
      assertThat(judged3).isPresent();
      Outcome deleted = writer.apply("items", key(3), judged3, Optional.empty());
      assertThat(deleted.status()).isEqualTo(Status.APPLIED);
      assertThat(deleted.before()).isEqualTo(judged3);
      assertThat(reader.read(Side.TARGET, "items", key(3))).isEmpty();
      assertThat(rawString(t, 3, "id")).isEqualTo("<absent>");

      // (d) STALE: the target changed after the judged image; nothing is written
      insertRaw(t, 4, "judged", "x");
      Optional<CanonicalRow> judged4 = reader.read(Side.TARGET, "items", key(4));
      execute(t, "UPDATE items SET note = 'newer' WHERE id = 4"); // between judging and applying
      Optional<CanonicalRow> newer4 = reader.read(Side.TARGET, "items", key(4));
      Outcome stale = writer.apply("items", key(4), judged4, Optional.of(CanonicalRow.of(desired(4))));
      assertThat(stale.status()).isEqualTo(Status.STALE);
      assertThat(stale.before()).isEqualTo(newer4);
      assertThat(stale.before().orElseThrow().get("note")).isEqualTo("newer");
      assertThat(reader.read(Side.TARGET, "items", key(4))).isEqualTo(newer4);
      assertThat(rawString(t, 4, "label_t")).isEqualTo("old");
      // ... a stale delete deletes nothing either
      Outcome staleDelete = writer.apply("items", key(4), judged4, Optional.empty());
      assertThat(staleDelete.status()).isEqualTo(Status.STALE);
      assertThat(reader.read(Side.TARGET, "items", key(4))).isEqualTo(newer4);
      // judged absent, but inserted meanwhile: the insert is stale, the newer row stays
      assertThat(reader.read(Side.TARGET, "items", key(5))).isEmpty();
      insertRaw(t, 5, "inserted-meanwhile", "x");
      Outcome staleInsert = writer.apply("items", key(5), Optional.empty(), Optional.of(CanonicalRow.of(desired(5))));
      assertThat(staleInsert.status()).isEqualTo(Status.STALE);
      assertThat(staleInsert.before()).isPresent();
      assertThat(staleInsert.before().get().get("note")).isEqualTo("inserted-meanwhile");
      assertThat(rawString(t, 5, "note")).isEqualTo("inserted-meanwhile");
      // judged present, but deleted meanwhile: the update does not resurrect it
      Optional<CanonicalRow> judged5 = reader.read(Side.TARGET, "items", key(5));
      execute(t, "DELETE FROM items WHERE id = 5");
      Outcome staleUpdate = writer.apply("items", key(5), judged5, Optional.of(CanonicalRow.of(desired(5))));
      assertThat(staleUpdate.status()).isEqualTo(Status.STALE);
      assertThat(staleUpdate.before()).isEmpty();
      assertThat(reader.read(Side.TARGET, "items", key(5))).isEmpty();

      // once re-judged, the repair goes through; the ignored column survives a second update too
      Outcome retried = writer.apply("items", key(4), newer4, Optional.of(CanonicalRow.of(desired(4))));
      assertThat(retried.status()).isEqualTo(Status.APPLIED);
      assertThat(reader.read(Side.TARGET, "items", key(4)).orElseThrow())
          .isEqualTo(expectedOnTarget(desired(4)));
      assertThat(rawString(t, 4, "internal")).isEqualTo("x");

      // (f) the lock: a repair that meets a concurrent, uncommitted change waits for it, then sees it
      concurrent(t, writer, reader, 7, true);
      concurrent(t, writer, reader, 8, false);

      // bad input is rejected before anything is written
      Map<String, String> bad = desired(6);
      bad.put("amount", "not-a-number");
      assertThatThrownBy(() -> writer.apply("items", key(6), Optional.empty(), Optional.of(CanonicalRow.of(bad))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("amount");
      assertThat(reader.read(Side.TARGET, "items", key(6))).isEmpty();
      assertThatThrownBy(() -> writer.apply("nope", key(6), Optional.empty(), Optional.empty()))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown table");
      // and the writer is still usable afterwards (the failed transaction was rolled back)
      Outcome after = writer.apply("items", key(6), Optional.empty(), Optional.of(CanonicalRow.of(desired(6))));
      assertThat(after.status()).isEqualTo(Status.APPLIED);
      assertThat(reader.read(Side.TARGET, "items", key(6))).contains(expectedOnTarget(desired(6)));
    }
  }

  /**
   * Another transaction holds row {@code id} locked with an uncommitted update while the repair
   * runs: the repair blocks on its lock (observed in the server's lock waits, bounded, no sleeps);
   * when the other commits, the repair is STALE with the committed image; when it rolls back, the
   * repair is applied over the judged image.
   */
  private static void concurrent(Target t, FencedWriter writer, RowReader reader, long id, boolean commit)
      throws Exception {
    insertRaw(t, id, "judged", "x");
    Optional<CanonicalRow> judged = reader.read(Side.TARGET, "items", key(id));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (Connection other = t.connect()) {
      other.setAutoCommit(false);
      try (Statement s = other.createStatement()) {
        s.executeUpdate("UPDATE items SET note = 'concurrent' WHERE id = " + id);
      }
      Future<Outcome> repair = pool.submit(
          () -> writer.apply("items", key(id), judged, Optional.of(CanonicalRow.of(desired(id)))));
      // MariaDB serves INNODB_TRX from a cache that is refreshed only when it has not been read for
      // 100 ms: a watcher polling faster than that and first reading before the repair blocked would
      // see "no lock wait" forever. Poll slower than the cache's idle time.
      try (Connection watch = t.connect(); Statement s = watch.createStatement()) {
        Awaitility.await("the repair waits for the row lock").atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(250))
            .until(() -> {
              assertThat(repair.isDone()).as("the repair must wait for the row lock").isFalse();
              try (ResultSet rs = s.executeQuery(t.lockWaits())) {
                rs.next();
                return rs.getLong(1) > 0;
              }
            });
      }
      if (commit) {
        other.commit();
      } else {
        other.rollback();
      }
      Outcome o = repair.get(30, TimeUnit.SECONDS);
      if (commit) {
        assertThat(o.status()).isEqualTo(Status.STALE);
        assertThat(o.before().orElseThrow().get("note")).isEqualTo("concurrent");
        assertThat(rawString(t, id, "note")).isEqualTo("concurrent");
        assertThat(rawString(t, id, "label_t")).isEqualTo("old");
      } else {
        assertThat(o.status()).isEqualTo(Status.APPLIED);
        assertThat(o.before()).isEqualTo(judged);
        assertThat(reader.read(Side.TARGET, "items", key(id))).contains(expectedOnTarget(desired(id)));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void postgresTarget_insertUpdateDeleteAndStale() throws Exception {
    scenario(postgresTarget(), "2024-05-01 12:00:00.123456");
  }

  @Test
  void mariadbTarget_insertUpdateDeleteAndStale() throws Exception {
    assumeTrue(MariaDbServer.available() && maria != null, "mariadbd not installed");
    scenario(mariadbTarget(), "2024-05-01 12:00:00.123456");
  }
}
