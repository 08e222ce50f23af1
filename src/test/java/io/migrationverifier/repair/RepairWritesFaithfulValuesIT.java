package io.migrationverifier.repair;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A repair writes the values as stored, never the blurred form the rules compare them in: a
 * column that already agreed under trim / case-insensitive / digits-only / scale / precision
 * rules keeps (or gets) the source's exact value, and the log's before-image is the target's
 * exact value, so an undo restores the target byte for byte. Real PostgreSQL on both sides.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RepairWritesFaithfulValuesIT {
  private static final String DDL = """
      CREATE TABLE people (
        id BIGINT PRIMARY KEY,
        email TEXT,
        phone TEXT,
        name TEXT,
        balance NUMERIC(12,4),
        seen_at TIMESTAMP(6)
      )""";

  static PostgresServer pg;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresServer.start();
    for (String db : new String[] {"legacy", "modern"}) {
      pg.createDatabase(db);
      try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
        s.execute(DDL);
      }
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  private static VerifierConfig config() {
    String db = "{type: postgres, host: 127.0.0.1, port: " + pg.port() + ", database: %s, user: "
        + PostgresServer.USER + ", password: \"\"}";
    return Configs.parse("name: faithful\nkafka: {bootstrap-servers: embedded}\n"
        + "source: " + db.formatted("legacy") + "\ntarget: " + db.formatted("modern") + "\n"
        + """
        tables:
          - name: people
            key: [id]
            repair: {policy: source-wins}
            columns:
              - {name: email, trim: true, case-insensitive: true}
              - {name: phone, comparator: digits-only}
              - {name: balance, scale: 2}
              - {name: seen_at, precision: millis}
        """);
  }

  @Test
  void aRepairWritesTheSourcesExactValuesAndUndoRestoresTheTargetsExactValues() throws Exception {
    exec("legacy", "INSERT INTO people VALUES (1, '  Alice@Example.COM ', '+1 (555) 010-0199', 'Bob',"
        + " 12.3456, '2026-05-01 10:00:00.123456')");
    // Equal to the source under every rule but `name`: the repair must still write exact values.
    exec("modern", "INSERT INTO people VALUES (1, 'alice@example.com', '15550100199', 'Rob',"
        + " 12.3451, '2026-05-01 10:00:00.123999')");
    String targetBefore = row("modern", 1);

    VerifierConfig cfg = config();
    try (RepairEngine engine = RepairEngine.open(cfg, Canonicalizer.forConfig(cfg))) {
      RepairEngine.Outcome o = engine.repair("people", Map.of("id", "1"), null, "check");
      assertThat(o.status()).isEqualTo(RepairEngine.Status.APPLIED);
      assertThat(row("modern", 1)).as("the target now holds exactly the source row").isEqualTo(row("legacy", 1));

      RepairLogEntry log = o.log();
      assertThat(log.before()).as("before-image: the target's values as stored")
          .containsEntry("email", "alice@example.com").containsEntry("phone", "15550100199")
          .containsEntry("name", "Rob").containsEntry("seen_at", "2026-05-01T10:00:00.123999Z");
      assertThat(log.after()).containsEntry("email", "  Alice@Example.COM ").containsEntry("name", "Bob");
      // the hash the verifier matches is the one capture computes for this write: the compared form
      try (RowReader reader = new RowReader(cfg, Canonicalizer.forConfig(cfg))) {
        Optional<CanonicalRow> compared = reader.read(Side.TARGET, "people", Map.of("id", "1"));
        assertThat(log.afterHash()).isEqualTo(compared.orElseThrow().hash());
      }

      assertThat(engine.undo(log)).isPresent();
      assertThat(row("modern", 1)).as("undo restores the target byte for byte").isEqualTo(targetBefore);
    }
  }

  @Test
  void aChangeTheRulesCannotSeeStillFencesTheRepair() throws Exception {
    exec("legacy", "INSERT INTO people VALUES (2, 'x@example.com', '1', 'Ann', 1, '2026-05-01 10:00:00')");
    exec("modern", "INSERT INTO people VALUES (2, 'x@example.com', '1', 'Anne', 1, '2026-05-01 10:00:00')");
    VerifierConfig cfg = config();
    try (RepairEngine engine = RepairEngine.open(cfg, Canonicalizer.forConfig(cfg))) {
      RepairEngine.Outcome first = engine.repair("people", Map.of("id", "2"), null, "check");
      RepairLogEntry log = first.log();
      // Someone upper-cases the e-mail: equal under the rules, but not what the repair wrote.
      exec("modern", "UPDATE people SET email = 'X@EXAMPLE.COM' WHERE id = 2");
      assertThat(engine.undo(log)).as("the undo's fence sees the change").isEmpty();
      assertThat(row("modern", 2)).contains("X@EXAMPLE.COM", "Ann");
    }
  }

  @Test
  void noRepairCommitsWithoutItsLogEntryRecordedFirst() throws Exception {
    exec("legacy", "INSERT INTO people VALUES (3, 'a@b.c', '1', 'Cid', 1, '2026-05-01 10:00:00')");
    exec("modern", "INSERT INTO people VALUES (3, 'a@b.c', '1', 'Sid', 1, '2026-05-01 10:00:00')");
    exec("legacy", "INSERT INTO people VALUES (4, 'd@e.f', '2', 'Dee', 2, '2026-05-01 10:00:00')");
    VerifierConfig cfg = config();
    try (RepairEngine engine = RepairEngine.open(cfg, Canonicalizer.forConfig(cfg))) {
      java.util.List<RepairLogEntry> recorded = new java.util.ArrayList<>();
      engine.logBeforeCommit(entries -> {
        // the write is done but not committed: nobody else sees it yet
        try {
          assertThat(row("modern", 3)).contains("Sid");
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
        recorded.addAll(entries);
      });
      RepairEngine.Outcome o = engine.repair("people", Map.of("id", "3"), null, "check");
      assertThat(recorded).containsExactly(o.log());
      assertThat(row("modern", 3)).contains("Cid");

      engine.logBeforeCommit(entries -> {
        throw new RepairEngine.LogUnavailableException("kafka is down", null);
      });
      java.util.List<RepairEngine.Result> results = null;
      Throwable thrown = null;
      try {
        results = engine.repairBatch(java.util.List.of(new RepairEngine.Request("people", Map.of("id", "4"), null,
            "check")));
      } catch (RepairEngine.LogUnavailableException e) {
        thrown = e;
      }
      assertThat(thrown).as("a log that cannot be written stops the caller: %s", results).isNotNull();
      try (Connection c = pg.connect("modern"); Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT count(*) FROM people WHERE id = 4")) {
        rs.next();
        assertThat(rs.getLong(1)).as("the insert was rolled back").isZero();
      }
    }
  }

  private static void exec(String db, String sql) throws SQLException {
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String row(String db, long id) throws SQLException {
    try (Connection c = pg.connect(db); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT email, phone, name, balance::text, seen_at::text FROM people"
             + " WHERE id = " + id)) {
      assertThat(rs.next()).isTrue();
      return rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3) + "|" + rs.getString(4) + "|"
          + rs.getString(5);
    }
  }
}
