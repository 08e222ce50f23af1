package io.migrationverifier.capture;

import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.util.DriverDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

/** JDBC URLs and connections of a configured database. The password is handed to the driver only. */
public final class Jdbc {
  /** Pooled (repair) connections wait at most this long for a row lock. */
  public static final int LOCK_WAIT_SECONDS = 5;

  private Jdbc() {}

  /**
   * No read waits longer than this for the server: after a network partition (packets dropped,
   * not refused) a query would otherwise hang until TCP gives up, holding a repair batch and the
   * consumer's poll interval hostage. Far above any statement's own timeout.
   */
  public static final int SOCKET_TIMEOUT_SECONDS = 300;

  /**
   * Prefix of the side's {@code properties} that go to the JDBC driver, Debezium's convention:
   * {@code driver.sslmode: verify-full} reaches pgjdbc as {@code sslmode} in our pools and
   * connections (repair, check, audit, heartbeat) just as Debezium hands it to its own.
   */
  public static final String DRIVER_PREFIX = "driver.";

  /**
   * The side's {@code driver.<x>} properties as {@code <x>}. The password stays in
   * {@link DatabaseSettings#password()}: these values may hold secrets too ({@code sslpassword}),
   * so print them only through {@link DatabaseSettings#toString()}, which masks them.
   */
  public static Properties driverProperties(DatabaseSettings db) {
    Properties p = new Properties();
    db.properties().forEach((k, v) -> {
      if (k.startsWith(DRIVER_PREFIX) && k.length() > DRIVER_PREFIX.length()) {
        p.setProperty(k.substring(DRIVER_PREFIX.length()), v);
      }
    });
    return p;
  }

  public static String url(DatabaseSettings db) {
    return db.dialect() == Dialect.POSTGRES
        ? "jdbc:postgresql://" + db.host() + ":" + db.port() + "/" + db.database() + "?socketTimeout="
            + SOCKET_TIMEOUT_SECONDS
        : "jdbc:mariadb://" + db.host() + ":" + db.port() + "/" + db.database() + "?socketTimeout="
            + SOCKET_TIMEOUT_SECONDS * 1000;
  }

  /**
   * A HikariCP pool on {@code db} whose connections run their session in UTC (as {@code RowReader}
   * and {@code FencedWriter} expect) and are handed out with auto-commit off. A connection that
   * cannot be had within {@code connectTimeout} fails with {@link java.sql.SQLTransientConnectionException}:
   * callers treat that as the database being down.
   */
  public static HikariDataSource pool(DatabaseSettings db, String poolName, int maxSize, Duration connectTimeout) {
    HikariConfig h = new HikariConfig();
    h.setPoolName(poolName);
    // HikariCP prints its jdbcUrl and dataSourceProperties at DEBUG, masking only "password": the
    // driver properties (sslpassword, ...) reach the driver through a DataSource it does not print.
    h.setDataSource(new DriverDataSource(url(db), null, driverProperties(db), db.user(),
        db.password().isEmpty() ? null : db.password().reveal()));
    h.setMaximumPoolSize(maxSize);
    h.setMinimumIdle(0);
    h.setAutoCommit(false);
    h.setConnectionTimeout(Math.max(250, connectTimeout.toMillis()));
    h.setValidationTimeout(Math.max(250, Math.min(connectTimeout.toMillis(), 5_000)));
    // Start without a connection: a database that is down at start is an outage to wait out, not a crash.
    h.setInitializationFailTimeout(-1);
    // A row locked by the application for long must not hold a repair batch (and the consumer's
    // poll interval) hostage: the lock wait fails fast, as a transient failure that is retried later.
    h.setConnectionInitSql(db.dialect() == Dialect.MARIADB
        ? "SET time_zone = '+00:00', innodb_lock_wait_timeout = " + LOCK_WAIT_SECONDS
        : "SELECT set_config('TimeZone', 'UTC', false), set_config('lock_timeout', '" + LOCK_WAIT_SECONDS + "s', false)");
    return new HikariDataSource(h);
  }

  public static Connection connect(DatabaseSettings db) throws SQLException {
    Properties p = driverProperties(db);
    p.setProperty("user", db.user());
    if (!db.password().isEmpty()) {
      p.setProperty("password", db.password().reveal());
    }
    try {
      return DriverManager.getConnection(url(db), p);
    } catch (SQLException e) {
      // The driver's message names host, port and database; it never contains the password.
      throw new SQLException("cannot connect to " + db.dialect().id() + " " + db.host() + ":" + db.port() + "/"
          + db.database() + " as " + db.user() + ": " + e.getMessage(), e.getSQLState(), e);
    }
  }
}
