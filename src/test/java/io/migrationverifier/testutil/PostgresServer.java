package io.migrationverifier.testutil;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throw-away real PostgreSQL (zonky embedded binaries) prepared for Debezium: {@code
 * wal_level=logical}, enough replication slots and WAL senders for several engines at once, time
 * zone UTC. User {@code postgres}, no password, listening on 127.0.0.1 on a free port.
 *
 * <p>{@link #close()} drops every replication slot left behind (a slot outlives its engine and
 * holds WAL) and stops the server.
 */
public final class PostgresServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(PostgresServer.class);
  public static final String USER = "postgres";
  private static final long SLOT_RELEASE_TIMEOUT_MS = 10_000;

  private final EmbeddedPostgres pg;

  private PostgresServer(EmbeddedPostgres pg) {
    this.pg = pg;
  }

  public static PostgresServer start() {
    try {
      return new PostgresServer(EmbeddedPostgres.builder()
          .setServerConfig("wal_level", "logical")
          .setServerConfig("max_replication_slots", "16")
          .setServerConfig("max_wal_senders", "16")
          .setServerConfig("timezone", "UTC")
          .start());
    } catch (IOException e) {
      throw new UncheckedIOException("could not start embedded PostgreSQL", e);
    }
  }

  public int port() {
    return pg.getPort();
  }

  public String jdbcUrl(String db) {
    return pg.getJdbcUrl(USER, db);
  }

  public Connection connect(String db) throws SQLException {
    return DriverManager.getConnection(jdbcUrl(db), USER, "");
  }

  public void createDatabase(String name) throws SQLException {
    try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE \"" + name.replace("\"", "\"\"") + "\"");
    }
  }

  /** Drops every replication slot of the server; slots still held by a walsender are freed first. */
  public void dropReplicationSlots() throws SQLException, InterruptedException {
    try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
      long deadline = System.currentTimeMillis() + SLOT_RELEASE_TIMEOUT_MS;
      while (true) {
        List<String> inactive = new ArrayList<>();
        List<Integer> activePids = new ArrayList<>();
        try (ResultSet rs = s.executeQuery(
            "SELECT slot_name, active, active_pid FROM pg_replication_slots")) {
          while (rs.next()) {
            if (rs.getBoolean(2)) {
              activePids.add(rs.getInt(3));
            } else {
              inactive.add(rs.getString(1));
            }
          }
        }
        for (String slot : inactive) {
          try {
            s.execute("SELECT pg_drop_replication_slot('" + slot.replace("'", "''") + "')");
          } catch (SQLException e) {
            LOG.debug("dropping slot {}: {}", slot, e.getMessage()); // raced with a re-activation
          }
        }
        if (activePids.isEmpty() && inactive.isEmpty()) {
          return;
        }
        if (!activePids.isEmpty() && System.currentTimeMillis() > deadline) {
          // An engine that was not stopped still streams: end its walsender so the slot frees up.
          for (int pid : activePids) {
            s.execute("SELECT pg_terminate_backend(" + pid + ")");
          }
        }
        if (System.currentTimeMillis() > deadline + SLOT_RELEASE_TIMEOUT_MS) {
          throw new IllegalStateException("replication slots still active after "
              + (2 * SLOT_RELEASE_TIMEOUT_MS) + " ms");
        }
        TimeUnit.MILLISECONDS.sleep(100);
      }
    }
  }

  @Override
  public void close() throws Exception {
    try {
      dropReplicationSlots();
    } catch (Exception e) {
      LOG.warn("could not drop replication slots: {}", e.toString());
    } finally {
      pg.close();
    }
  }
}
