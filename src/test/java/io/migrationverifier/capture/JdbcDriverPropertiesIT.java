package io.migrationverifier.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.zaxxer.hikari.HikariDataSource;
import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code driver.<x>} entries of a side's {@code properties} reach the JDBC driver of our own pools
 * and connections (repair, check, audit, heartbeat) as {@code <x>}, on real servers: each test
 * reads the effect back from the server session, and a control connection without the property
 * shows the server would have answered otherwise.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class JdbcDriverPropertiesIT {

  @Test
  void postgresGetsDriverPropertiesInPoolsAndConnections() throws Exception {
    try (PostgresServer pg = PostgresServer.start()) {
      DatabaseSettings with = postgres(pg.port(), "localhost",
          "{driver.ApplicationName: mv-tls-test, driver.sslpassword: \"${env:MV_TEST_SSL_PASSWORD}\"}");
      DatabaseSettings without = postgres(pg.port(), "localhost", "{}");

      String sql = "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()";
      try (HikariDataSource pool = Jdbc.pool(with, "driver-props-it", 1, Duration.ofSeconds(10));
          Connection c = pool.getConnection()) {
        assertThat(single(c, sql)).isEqualTo("mv-tls-test");
      }
      try (Connection c = Jdbc.connect(with)) {
        assertThat(single(c, sql)).isEqualTo("mv-tls-test");
      }
      try (Connection c = Jdbc.connect(without)) {
        assertThat(single(c, sql)).isNotEqualTo("mv-tls-test");
      }
      // The secret reaches the driver but never a printed config.
      assertThat(Jdbc.driverProperties(with).getProperty("sslpassword")).isEqualTo("s3cret-pass");
      assertThat(with.toString()).doesNotContain("s3cret-pass").contains("driver.sslpassword=****")
          .contains("driver.ApplicationName=mv-tls-test");
    }
  }

  /** The README's TLS example, end to end: a server with a self-signed certificate, verify-full against it. */
  @Test
  void postgresTlsIsConfiguredByDriverProperties(@TempDir Path dir) throws Exception {
    Path cert = dir.resolve("server.crt");
    Path key = dir.resolve("server.key");
    run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost", "-keyout", key.toString(), "-out", cert.toString()), dir);
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
        .setServerConfig("ssl", "on")
        .setServerConfig("ssl_cert_file", cert.toString())
        .setServerConfig("ssl_key_file", key.toString())
        .start()) {
      String sql = "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
      DatabaseSettings tls = postgres(pg.getPort(), "localhost",
          "{driver.sslmode: verify-full, driver.sslrootcert: '" + cert + "'}");
      try (HikariDataSource pool = Jdbc.pool(tls, "driver-tls-it", 1, Duration.ofSeconds(10));
          Connection c = pool.getConnection()) {
        assertThat(single(c, sql)).isEqualTo("true");
      }
      try (Connection c = Jdbc.connect(tls)) {
        assertThat(single(c, sql)).isEqualTo("true");
      }
      try (Connection c = Jdbc.connect(postgres(pg.getPort(), "localhost", "{driver.sslmode: disable}"))) {
        assertThat(single(c, sql)).isEqualTo("false");
      }
      // verify-full checks the host name against the certificate: 127.0.0.1 is not in it.
      DatabaseSettings wrongHost = postgres(pg.getPort(), "127.0.0.1",
          "{driver.sslmode: verify-full, driver.sslrootcert: '" + cert + "'}");
      assertThatThrownBy(() -> Jdbc.connect(wrongHost).close()).isInstanceOf(SQLException.class)
          .hasStackTraceContaining("could not be verified");
    }
  }

  @Test
  void mariadbGetsDriverPropertiesInPoolsAndConnections() throws Exception {
    assumeTrue(MariaDbServer.available(), "mariadbd is not installed (Debian package mariadb-server)");
    try (MariaDbServer maria = MariaDbServer.start()) {
      maria.createDatabase("modern");
      DatabaseSettings with = mariadb(maria.port(), "{driver.sessionVariables: 'sql_mode=ANSI_QUOTES'}");
      DatabaseSettings without = mariadb(maria.port(), "{}");
      try (HikariDataSource pool = Jdbc.pool(with, "driver-props-it-maria", 1, Duration.ofSeconds(10));
          Connection c = pool.getConnection()) {
        assertThat(single(c, "SELECT @@sql_mode")).isEqualTo("ANSI_QUOTES");
      }
      try (Connection c = Jdbc.connect(with)) {
        assertThat(single(c, "SELECT @@sql_mode")).isEqualTo("ANSI_QUOTES");
      }
      try (Connection c = Jdbc.connect(without)) {
        assertThat(single(c, "SELECT @@sql_mode")).isNotEqualTo("ANSI_QUOTES");
      }
    }
  }

  private static DatabaseSettings postgres(int port, String host, String properties) {
    return Configs.parse("""
        name: driver-props
        source: {type: postgres, host: %s, port: %d, database: postgres, user: %s, password: "", properties: %s}
        target: {type: postgres, database: modern, user: verifier}
        tables: [{name: t, key: [id]}]
        """.formatted(host, port, PostgresServer.USER, properties)).source();
  }

  private static DatabaseSettings mariadb(int port, String properties) {
    return Configs.parse("""
        name: driver-props
        source: {type: postgres, database: legacy, user: verifier}
        target: {type: mariadb, host: 127.0.0.1, port: %d, database: modern, user: %s, password: "${env:MV_TEST_MARIADB_PASSWORD}", properties: %s}
        tables: [{name: t, key: [id]}]
        """.formatted(port, MariaDbServer.USER, properties)).target();
  }

  private static String single(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      assertThat(rs.next()).as(sql).isTrue();
      return rs.getString(1);
    }
  }

  private static void run(List<String> command, Path dir) throws Exception {
    Process p = new ProcessBuilder(new ArrayList<>(command)).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("openssl.log").toFile()).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("openssl finished").isTrue();
    assertThat(p.exitValue()).as("openssl: " + Files.readString(dir.resolve("openssl.log"))).isZero();
  }
}
