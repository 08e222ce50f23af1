package io.migrationverifier.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A hash-only table whose database gives no full before-images is named at capture start with the
 * statement that fixes it (its reports would otherwise lack the other side's row); a table that
 * has them is not.
 */
class BeforeImageCheckIT {

  private static VerifierConfig config(String type) {
    return Configs.parse("""
        name: bi
        kafka: {bootstrap-servers: embedded}
        source: {type: %s, database: legacy, user: u}
        target: {type: %s, database: legacy, user: u}
        tables:
          - {name: orders, key: [id], state: hash-only}
        """.formatted(type, type));
  }

  @Test
  void postgresTablesWithoutReplicaIdentityFullAreNamedWithTheFix() throws Exception {
    try (PostgresServer pg = PostgresServer.start()) {
      pg.createDatabase("legacy");
      try (Connection c = pg.connect("legacy"); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
        s.execute("CREATE TABLE lines (id BIGINT PRIMARY KEY, note TEXT)");
        s.execute("ALTER TABLE lines REPLICA IDENTITY FULL");
        Map<String, String> w = BeforeImageCheck.lacking(c, config("postgres").database(Side.SOURCE), "source",
            Map.of("orders", "public.orders", "lines", "public.lines"));
        assertThat(w).containsOnlyKeys("orders");
        assertThat(w.get("orders")).contains("public.orders").contains("rowsNotKept")
            .contains("ALTER TABLE public.orders REPLICA IDENTITY FULL");
        s.execute("ALTER TABLE orders REPLICA IDENTITY FULL");
        assertThat(BeforeImageCheck.lacking(c, config("postgres").database(Side.SOURCE), "source",
            Map.of("orders", "public.orders", "lines", "public.lines"))).isEmpty();
      }
    }
  }

  @Test
  void mariadbWithoutFullRowImagesIsNamedWithTheFix() throws Exception {
    assumeTrue(MariaDbServer.available(), "mariadbd not installed");
    try (MariaDbServer maria = MariaDbServer.start(); Connection c = maria.connect("mysql");
        Statement s = c.createStatement()) {
      // the test server runs with FULL, as capture needs anyway
      assertThat(BeforeImageCheck.lacking(c, config("mariadb").database(Side.SOURCE), "target",
          Map.of("orders", "legacy.orders"))).isEmpty();
      s.execute("SET GLOBAL binlog_row_image = 'MINIMAL'");
      try {
        Map<String, String> w = BeforeImageCheck.lacking(c, config("mariadb").database(Side.SOURCE), "target",
            Map.of("orders", "legacy.orders"));
        assertThat(w).containsOnlyKeys("orders");
        assertThat(w.get("orders")).contains("binlog_row_image is MINIMAL")
            .contains("SET GLOBAL binlog_row_image = 'FULL'");
      } finally {
        s.execute("SET GLOBAL binlog_row_image = 'FULL'");
      }
    }
  }
}
