package io.migrationverifier.capture;

import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;

/**
 * Tables kept {@code state: hash-only} need full before-images: the verifier holds only hashes of
 * their agreeing rows and takes the other side's row from the before-image of the change that
 * breaks agreement. Without one, a report still comes, but without that row and its field diffs
 * ({@code rowsNotKept}). Checked once at capture start and said in the log with the fix; not a
 * refusal, since detection itself does not depend on it. Capture then sends no before-image for
 * such a table: PostgreSQL would fill a deleted row's non-key columns with placeholders (0, '',
 * 1970-01-01), which a reader of the change topic could take for the old values.
 */
final class BeforeImageCheck {
  private BeforeImageCheck() {}

  /**
   * @param tables logical name to qualified physical name ({@code schema.table}) of this side's hash-only tables
   * @return each table whose changes will lack full before-images (logical name) with the warning
   *     that says so and how to fix it; the same warning for every table when the server is the cause
   */
  static Map<String, String> lacking(Connection c, DatabaseSettings db, String sideId, Map<String, String> tables)
      throws SQLException {
    Map<String, String> out = new TreeMap<>();
    if (tables.isEmpty()) {
      return out;
    }
    if (db.dialect() == Dialect.MARIADB) {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@GLOBAL.binlog_row_image")) {
        String image = rs.next() ? rs.getString(1) : null;
        if (!"FULL".equalsIgnoreCase(image)) {
          String w = "capture " + sideId + ": binlog_row_image is " + image + ", so the hash-only tables "
              + tables.keySet() + " get no full before-images: their reports will lack the other side's row"
              + " (rowsNotKept). Fix: SET GLOBAL binlog_row_image = 'FULL' (and in the server's config)";
          tables.keySet().forEach(t -> out.put(t, w));
        }
      }
      return out;
    }
    for (Map.Entry<String, String> t : tables.entrySet()) {
      String qualified = t.getValue();
      int dot = qualified.indexOf('.');
      try (PreparedStatement ps = c.prepareStatement("SELECT c.relreplident FROM pg_class c JOIN pg_namespace n"
          + " ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?")) {
        ps.setString(1, qualified.substring(0, dot));
        ps.setString(2, qualified.substring(dot + 1));
        try (ResultSet rs = ps.executeQuery()) {
          // 'f' = FULL; missing tables are reported by capture itself
          if (rs.next() && !"f".equals(rs.getString(1))) {
            out.put(t.getKey(), "capture " + sideId + ": table " + qualified + " (" + t.getKey() + ", state: hash-only)"
                + " has no REPLICA IDENTITY FULL, so its updates and deletes carry no full before-image: reports will"
                + " lack the other side's row (rowsNotKept). Fix: ALTER TABLE " + qualified + " REPLICA IDENTITY FULL");
          }
        }
      }
    }
    return out;
  }
}
