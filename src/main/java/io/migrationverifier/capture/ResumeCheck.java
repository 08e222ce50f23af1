package io.migrationverifier.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Refuses to resume a capture whose change stream has a hole it cannot see.
 *
 * <p>Debezium resumes from its stored offset only if the database still holds the changes after
 * it. Whether it notices when it does not depends on the connector and version: Debezium 3.5.0
 * refuses a dropped PostgreSQL slot and a purged MariaDB binlog (measured, CaptureCrashIT), but in
 * words that name neither the slot nor a safe way out (its advice, a snapshot mode "when needed",
 * would re-snapshot silently the next time), the MariaDB cause only in an earlier log line, and
 * older versions re-created a dropped slot at "now" and streamed on (DBZ-5739). Silently resuming
 * past a hole means comparing histories with a gap that only an audit finds. So before the engine
 * starts on stored offsets:
 * <ul>
 *   <li>PostgreSQL: the slot must exist, must not be invalidated ({@code wal_status = lost}), and
 *       its {@code confirmed_flush_lsn} must not lie beyond the last LSN this capture had Kafka
 *       acknowledge (kept in {@code acked-lsn} next to the offsets). Debezium only confirms LSNs of
 *       records the capture processed, which it does after Kafka acknowledged them, so a slot ahead
 *       of that was recreated or advanced by someone else.
 *   <li>MariaDB: the binlog file of the stored offset must still be listed by
 *       {@code SHOW BINARY LOGS} (a purged binlog).
 * </ul>
 * The error names what is lost and the two ways out: an audit, or resetting capture state.
 */
final class ResumeCheck {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String ACKED_LSN_FILE = "acked-lsn";

  private ResumeCheck() {}

  /** A capture whose stored state does not match the database: resuming would skip changes. */
  static final class LostChangesException extends IllegalStateException {
    LostChangesException(String message) {
      super(message);
    }
  }

  static void verify(DatabaseSettings db, String sideId, String slot, Path stateDir, Path offsets) {
    Optional<JsonNode> offset = storedOffset(offsets);
    try (Connection c = Jdbc.connect(db)) {
      if (db.dialect() == Dialect.POSTGRES) {
        verifyPostgres(c, db, sideId, slot, stateDir, offset);
      } else {
        verifyMariaDb(c, db, sideId, stateDir, offset);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("capture " + sideId + ": cannot check that " + db.database()
          + " still holds the changes after the stored capture position (" + e.getMessage() + ")", e);
    }
  }

  private static void verifyPostgres(Connection c, DatabaseSettings db, String sideId, String slot, Path stateDir,
      Optional<JsonNode> offset) throws SQLException {
    String since = offset.map(o -> lsnText(o.path("lsn_commit").asLong(o.path("lsn").asLong(0)))).orElse("unknown");
    String reset = resetHint(stateDir);
    // SELECT *: wal_status exists from PostgreSQL 13 on
    try (PreparedStatement ps = c.prepareStatement("SELECT * FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new LostChangesException("capture " + sideId + ": the replication slot " + slot + " is gone from "
              + db.database() + " (dropped while the capture was down?); changes since LSN " + since
              + " are lost to capture and will not be compared. Run `audit` to compare the tables as they are now,"
              + " or reset capture state to re-snapshot: " + reset);
        }
        String confirmed = rs.getString("confirmed_flush_lsn");
        String walStatus = column(rs, "wal_status");
        if ("lost".equals(walStatus)) {
          throw new LostChangesException("capture " + sideId + ": the replication slot " + slot + " in "
              + db.database() + " was invalidated (wal_status lost, max_slot_wal_keep_size?); changes since LSN "
              + since + " are lost to capture. Run `audit`, or drop the slot and reset capture state to"
              + " re-snapshot: " + reset);
        }
        Optional<Long> acked = readAckedLsn(stateDir);
        // Debezium also confirms positions of records it did not hand us as changes (its own
        // heartbeats, transaction metadata): what its offsets hold it may have confirmed
        long stored = offset.map(o -> Math.max(o.path("lsn_commit").asLong(0), o.path("lsn").asLong(0))).orElse(0L);
        if (confirmed != null && acked.isPresent() && parseLsn(confirmed) > Math.max(acked.get(), stored)) {
          throw new LostChangesException("capture " + sideId + ": the replication slot " + slot + " in "
              + db.database() + " starts at LSN " + confirmed + ", after the last change this capture delivered ("
              + lsnText(acked.get()) + "): it was recreated or advanced while the capture was down, and the changes"
              + " in between are lost to capture. Run `audit`, or reset capture state to re-snapshot: " + reset);
        }
      }
    }
  }

  private static String column(ResultSet rs, String name) throws SQLException {
    var meta = rs.getMetaData();
    for (int i = 1; i <= meta.getColumnCount(); i++) {
      if (meta.getColumnName(i).equals(name)) {
        return rs.getString(i);
      }
    }
    return null;
  }

  private static void verifyMariaDb(Connection c, DatabaseSettings db, String sideId, Path stateDir,
      Optional<JsonNode> offset) throws SQLException {
    String file = offset.map(o -> o.path("file").asText(null)).orElse(null);
    if (file == null || file.isEmpty()) {
      return; // nothing stored to resume from (or a GTID-only offset): Debezium decides
    }
    long pos = offset.get().path("pos").asLong(0);
    List<String> logs = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
      while (rs.next()) {
        logs.add(rs.getString(1));
      }
    }
    if (!logs.contains(file)) {
      throw new LostChangesException("capture " + sideId + ": the binlog " + file + " (position " + pos
          + ") this capture would resume from has been purged from " + db.host() + ":" + db.port()
          + " (oldest binlog now: " + (logs.isEmpty() ? "none" : logs.get(0)) + "); changes since then are lost to"
          + " capture and will not be compared. Run `audit`, or reset capture state to re-snapshot: "
          + resetHint(stateDir) + ". Keep binlogs longer than a capture can be down (binlog_expire_logs_seconds)");
    }
  }

  private static String resetHint(Path stateDir) {
    return "stop this capture, delete " + stateDir.toAbsolutePath() + " and start it again";
  }

  /** Records the highest LSN Kafka acknowledged; called before Debezium may confirm it to the slot. */
  static void writeAckedLsn(Path stateDir, long lsn) throws IOException {
    Path tmp = stateDir.resolve(ACKED_LSN_FILE + ".tmp");
    Files.writeString(tmp, Long.toUnsignedString(lsn), StandardCharsets.UTF_8);
    Files.move(tmp, stateDir.resolve(ACKED_LSN_FILE), StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  /** The highest LSN a PostgreSQL change's source block names (its own and its {@code sequence} entries); 0 if none. */
  static long maxLsn(JsonNode source) {
    long max = source.path("lsn").asLong(0);
    String sequence = source.path("sequence").asText(null);
    if (sequence != null) {
      try {
        for (JsonNode n : JSON.readTree(sequence)) {
          if (n.isTextual() || n.isNumber()) {
            max = Math.max(max, Long.parseLong(n.asText()));
          }
        }
      } catch (IOException | NumberFormatException e) {
        // the position tracker rejects such an event anyway
      }
    }
    return max;
  }

  static Optional<Long> readAckedLsn(Path stateDir) {
    Path f = stateDir.resolve(ACKED_LSN_FILE);
    try {
      return Files.isRegularFile(f) ? Optional.of(Long.parseUnsignedLong(Files.readString(f).trim()))
          : Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.empty(); // unreadable: the slot's presence is still checked
    }
  }

  /**
   * Debezium's stored source offset ({@code FileOffsetBackingStore}: a serialized map of JSON key
   * to JSON value bytes, one entry per connector partition); empty when none is stored.
   */
  static Optional<JsonNode> storedOffset(Path offsets) {
    if (!Files.isRegularFile(offsets)) {
      return Optional.empty();
    }
    try (InputStream in = Files.newInputStream(offsets); ObjectInputStream ois = new ObjectInputStream(in)) {
      ois.setObjectInputFilter(info -> {
        Class<?> k = info.serialClass();
        // HashMap checks its table's array type (Map.Entry[]) through the filter as well
        if (k == null || k == java.util.HashMap.class || k == byte[].class || k == Map.Entry[].class) {
          return ObjectInputFilter.Status.UNDECIDED;
        }
        return ObjectInputFilter.Status.REJECTED;
      });
      Object o = ois.readObject();
      if (!(o instanceof Map<?, ?> m)) {
        return Optional.empty();
      }
      for (Object v : m.values()) {
        if (v instanceof byte[] b) {
          return Optional.of(JSON.readTree(b));
        }
      }
      return Optional.empty();
    } catch (IOException | ClassNotFoundException | RuntimeException e) {
      return Optional.empty(); // Debezium reads (and judges) the file itself
    }
  }

  /** PostgreSQL's {@code X/Y} text form of an LSN. */
  static String lsnText(long lsn) {
    return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
  }

  static long parseLsn(String text) {
    int slash = text.indexOf('/');
    return (Long.parseLong(text.substring(0, slash), 16) << 32) | Long.parseLong(text.substring(slash + 1), 16);
  }
}
