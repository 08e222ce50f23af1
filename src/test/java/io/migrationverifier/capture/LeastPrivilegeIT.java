package io.migrationverifier.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a least-privilege capture user (LOGIN REPLICATION, no CREATE) meets outside Debezium, on a
 * real PostgreSQL: a heartbeat table its owner pre-created is used without asking for CREATE, and
 * {@code run --cleanup} keeps a publication the user does not own and says how to drop it.
 */
class LeastPrivilegeIT {

  @Test
  void aPreCreatedHeartbeatTableAndAForeignPublicationNeedNoExtraPrivilege() throws Exception {
    try (PostgresServer pg = PostgresServer.start()) {
      pg.createDatabase("legacy");
      VerifierConfig config = Configs.parse("""
          name: lp
          kafka: {bootstrap-servers: embedded}
          source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: mv_capture, password: "${env:MV_TEST_PASSWORD}"}
          target: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: mv_capture, password: "${env:MV_TEST_PASSWORD}"}
          tables:
            - {name: orders, key: [id]}
          """.formatted(pg.port(), pg.port()));
      String publication = CaptureNames.slot(config, Side.SOURCE);
      try (Connection c = pg.connect("legacy"); Statement s = c.createStatement()) {
        s.execute("CREATE ROLE mv_capture LOGIN REPLICATION PASSWORD 'pw'");
        s.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
        s.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY)");
        s.execute("GRANT SELECT ON orders TO mv_capture");
        s.execute("CREATE PUBLICATION \"" + publication + "\" FOR TABLE orders");
      }
      DatabaseSettings db = config.database(Side.SOURCE);

      // without the table, the user cannot create it: the error says what to run as the owner
      try (Heartbeat h = new Heartbeat(db, "verifier_heartbeat", "lp", Duration.ofSeconds(1))) {
        assertThatThrownBy(h::ensureTable).hasMessageContaining("Create it as its owner")
            .hasMessageContaining("GRANT SELECT, INSERT, UPDATE");
      }
      try (Connection c = pg.connect("legacy"); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE verifier_heartbeat (id VARCHAR(200) PRIMARY KEY, beat TIMESTAMPTZ NOT NULL)");
        s.execute("GRANT SELECT, INSERT, UPDATE ON verifier_heartbeat TO mv_capture");
      }
      try (Heartbeat h = new Heartbeat(db, "verifier_heartbeat", "lp", Duration.ofSeconds(1))) {
        h.ensureTable(); // CREATE TABLE IF NOT EXISTS would fail here: no CREATE on the schema
      }
      try (Connection c = pg.connect("legacy"); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM verifier_heartbeat WHERE id = 'lp'")) {
        rs.next();
        assertThat(rs.getInt(1)).as("the first beat was written").isEqualTo(1);
      }

      List<String> lines = ReplicationCleanup.run(config);
      assertThat(lines).anyMatch(l -> l.contains("publication " + publication + " kept")
          && l.contains("mv_capture does not own it") && l.contains("DROP PUBLICATION"));
      try (Connection c = pg.connect("legacy"); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_publication WHERE pubname = '" + publication + "'")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(1);
      }
    }
  }
}
