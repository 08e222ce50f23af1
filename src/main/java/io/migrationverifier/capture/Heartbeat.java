package io.migrationverifier.capture;

import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Updates one heartbeat row per deployment every interval. Its change travels through the
 * database's change stream in commit order, so when capture receives it every earlier commit has
 * been delivered: the watermark can move even while the database is otherwise idle.
 */
final class Heartbeat implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Heartbeat.class);
  private final DatabaseSettings db;
  private final String quotedTable;
  private final String id;
  private final Duration interval;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "capture-heartbeat");
    t.setDaemon(true);
    return t;
  });
  private Connection connection;
  private long failures;

  Heartbeat(DatabaseSettings db, String qualifiedTable, String id, Duration interval) {
    this.db = db;
    this.quotedTable = db.dialect().quote(qualifiedTable);
    this.id = id;
    this.interval = interval;
  }

  /** Creates the table if it does not exist and writes the first beat. */
  void ensureTable() {
    String ddl = db.dialect() == Dialect.POSTGRES
        ? "CREATE TABLE IF NOT EXISTS " + quotedTable + " (id VARCHAR(200) PRIMARY KEY, beat TIMESTAMPTZ NOT NULL)"
        : "CREATE TABLE IF NOT EXISTS " + quotedTable + " (id VARCHAR(200) PRIMARY KEY, beat DATETIME(3) NOT NULL)";
    try (Connection c = Jdbc.connect(db); Statement s = c.createStatement()) {
      // CREATE TABLE IF NOT EXISTS needs the CREATE privilege even when the table exists: a
      // least-privilege capture user with a pre-created table must not be asked for it
      if (!exists(s)) {
        s.execute(ddl);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create the heartbeat table " + quotedTable + " in " + db.database()
          + " (" + e.getMessage() + "). Create it as its owner: " + ddl + "; then GRANT SELECT, INSERT, UPDATE on it to "
          + db.user() + ". Or set capture.heartbeat-table: none.", e);
    }
    beat();
  }

  private boolean exists(Statement s) {
    try {
      s.executeQuery("SELECT 1 FROM " + quotedTable + " WHERE 1 = 0").close();
      return true;
    } catch (SQLException e) {
      return false; // absent (or not readable: then the CREATE below says what is wrong)
    }
  }

  void start() {
    long ms = interval.toMillis();
    timer.scheduleWithFixedDelay(this::beat, ms, ms, TimeUnit.MILLISECONDS);
  }

  private void beat() {
    String sql = db.dialect() == Dialect.POSTGRES
        ? "INSERT INTO " + quotedTable + " (id, beat) VALUES (?, clock_timestamp()) ON CONFLICT (id) DO UPDATE SET beat = EXCLUDED.beat"
        : "INSERT INTO " + quotedTable + " (id, beat) VALUES (?, NOW(3)) ON DUPLICATE KEY UPDATE beat = VALUES(beat)";
    try {
      if (connection == null || connection.isClosed()) {
        connection = Jdbc.connect(db);
        connection.setAutoCommit(true);
      }
      try (PreparedStatement ps = connection.prepareStatement(sql)) {
        ps.setString(1, id);
        ps.executeUpdate();
      }
      if (failures > 0) {
        LOG.info("heartbeat to {} works again after {} failure(s)", db.database(), failures);
        failures = 0;
      }
    } catch (SQLException e) {
      if (failures++ % 60 == 0) {
        LOG.warn("heartbeat to {} failed ({}): watermarks of this side stop moving while it fails", db.database(),
            e.getMessage());
      }
      closeQuietly();
    }
  }

  /** The database's clock, epoch ms: commit times come from it, so the watermarks do too. */
  static long databaseNow(DatabaseSettings db) {
    String sql = db.dialect() == Dialect.POSTGRES
        ? "SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint"
        : "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)";
    try (Connection c = Jdbc.connect(db); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  private void closeQuietly() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // already broken
      }
      connection = null;
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    closeQuietly();
  }
}
