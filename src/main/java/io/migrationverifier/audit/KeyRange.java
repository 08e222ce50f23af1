package io.migrationverifier.audit;

import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import io.migrationverifier.repair.FencedWriter;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A range of rows by key, {@code lower < key <= upper} in key-column order (the table's configured
 * key order), bounds in canonical text; a null bound is open. Both databases must select the SAME
 * rows for the same range, so text key columns compare by code point on both sides: PostgreSQL
 * {@code COLLATE "C"}, MariaDB the value's UTF-8 bytes ({@code CAST(CONVERT(col USING utf8mb4) AS BINARY)},
 * whatever the column's character set); byte order
 * of UTF-8 is code point order. Row-value comparison {@code (a, b) > (?, ?)} works in both dialects.
 */
public record KeyRange(List<String> lower, List<String> upper) {
  public static final KeyRange ALL = new KeyRange(null, null);

  public KeyRange {
    lower = lower == null ? null : List.copyOf(lower);
    upper = upper == null ? null : List.copyOf(upper);
  }

  /**
   * The SQL expression of one key column as it must be compared and ordered: text columns by code
   * point, everything else as stored.
   */
  public static String orderExpression(Dialect dialect, String physicalColumn, ColumnType type) {
    String q = dialect.quote(physicalColumn);
    if (!isText(type)) {
      return q;
    }
    // MariaDB: the UTF-8 bytes whatever the column's character set (a latin1 column's own bytes
    // would not order like the UTF-8 bounds bound against them)
    return dialect == Dialect.POSTGRES ? q + " COLLATE \"C\"" : "CAST(CONVERT(" + q + " USING utf8mb4) AS BINARY)";
  }

  static boolean isText(ColumnType type) {
    if (type == null || type.dbType() == null) {
      return false;
    }
    String t = type.dbType().toUpperCase(Locale.ROOT);
    return t.contains("CHAR") || t.contains("TEXT") || t.equals("NAME") || t.equals("BPCHAR") || t.equals("CITEXT");
  }

  /**
   * {@code " WHERE (k1, k2) > (?, ?) AND (k1, k2) <= (?, ?)"}, or {@code ""} for {@link #ALL}.
   *
   * @param keyExpressions the {@link #orderExpression}s of the key columns, in key order
   */
  public String where(List<String> keyExpressions) {
    if (lower == null && upper == null) {
      return "";
    }
    String tuple = "(" + String.join(", ", keyExpressions) + ")";
    String marks = "(" + String.join(", ", keyExpressions.stream().map(e -> "?").toList()) + ")";
    StringBuilder sb = new StringBuilder(" WHERE ");
    if (lower != null) {
      sb.append(tuple).append(" > ").append(marks);
    }
    if (upper != null) {
      if (lower != null) {
        sb.append(" AND ");
      }
      sb.append(tuple).append(" <= ").append(marks);
    }
    return sb.toString();
  }

  /**
   * Binds the bounds of {@link #where} from {@code first}; returns the next parameter index.
   *
   * @param keyPhysical the physical key columns, in key order
   * @param types       column types by physical name (as {@code RowReader.columnTypes} gives them)
   */
  public int bind(PreparedStatement ps, int first, DatabaseSettings db, List<String> keyPhysical,
      Map<String, ColumnType> types) throws SQLException {
    int i = first;
    for (List<String> bound : new List[] {lower, upper}) {
      if (bound == null) {
        continue;
      }
      for (int k = 0; k < keyPhysical.size(); k++) {
        String p = keyPhysical.get(k);
        FencedWriter.bindValue(ps, i++, db.dialect(), db.timeZone(), types.get(p), bound.get(k), p);
      }
    }
    return i;
  }
}
