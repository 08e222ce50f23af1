package io.migrationverifier.capture;

import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Removes what capture leaves in the databases ({@code run --cleanup}): PostgreSQL replication
 * slots (they hold WAL until dropped, and can fill the disk) and publications. MariaDB keeps
 * nothing per replica.
 */
public final class ReplicationCleanup {
  private ReplicationCleanup() {}

  /** Drops this deployment's slots and publications; returns one line per action taken. */
  public static List<String> run(VerifierConfig config) throws SQLException {
    List<String> done = new ArrayList<>();
    for (Side side : Side.values()) {
      DatabaseSettings db = config.database(side);
      if (db.dialect() != Dialect.POSTGRES) {
        done.add(side.id() + ": mariadb keeps no replication state for the verifier; nothing to drop");
        continue;
      }
      String slot = CaptureNames.slot(config, side);
      try (Connection c = Jdbc.connect(db)) {
        try (PreparedStatement ps = c.prepareStatement(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ? AND NOT active")) {
          ps.setString(1, slot);
          try (ResultSet rs = ps.executeQuery()) {
            done.add(side.id() + ": " + (rs.next() ? "dropped replication slot " + slot
                : "no inactive replication slot " + slot + " (none, or still in use by a running capture)"));
          }
        }
        try (Statement s = c.createStatement()) {
          s.execute("DROP PUBLICATION IF EXISTS " + Dialect.POSTGRES.quote(slot));
          done.add(side.id() + ": dropped publication " + slot + " if it existed");
        } catch (SQLException e) {
          if (!"42501".equals(e.getSQLState())) {
            throw e;
          }
          // a least-privilege capture user does not own a publication its owner pre-created
          done.add(side.id() + ": publication " + slot + " kept: " + db.user() + " does not own it (" + e.getMessage()
              + "); drop it as its owner if it is no longer wanted: DROP PUBLICATION " + Dialect.POSTGRES.quote(slot));
        }
      }
    }
    return done;
  }
}
