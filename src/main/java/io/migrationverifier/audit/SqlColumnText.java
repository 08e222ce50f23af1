package io.migrationverifier.audit;

import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.config.CanonicalType;
import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.Dialect;
import io.migrationverifier.config.TimePrecision;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Locale;
import java.util.Optional;

/**
 * SQL expressions that yield, inside the database, exactly the canonical text the JVM gives one
 * column's value ({@code Values.canonical} of what {@code RowReader} reads, after the column's
 * rule), NULL for NULL. Only (column type, canonical type, rule) combinations whose text both
 * dialects reproduce to the character are supported; everything else is {@link Optional#empty()},
 * and the caller falls back to hashing in the JVM. {@code SqlSegmentHasherIT} compares every
 * expression with the JVM's canonical row on real PostgreSQL and MariaDB.
 *
 * <p>Deliberately unsupported: floats (tolerances, shortest-repr text), JSON (key order, number
 * normalization), TIME, MONEY, bit strings, ZEROFILL and YEAR, enums and other PostgreSQL types,
 * {@code trim} (Java's whitespace set) and {@code case-insensitive} (Java's lower-casing), custom
 * comparators, zone-less timestamps in a zone with DST (Java and PostgreSQL resolve the overlap
 * hour differently, MariaDB may have no zone tables), MariaDB CHAR columns read as UUIDs.
 */
final class SqlColumnText {
  private SqlColumnText() {}

  /** How RowReader reads a column (its Kind), as far as this class supports it. */
  enum Storage { INT, DECIMAL, BOOL, TINYINT_BOOL, TEXT, UUID, DATE, TIMESTAMP_LOCAL, TIMESTAMP_ZONED, BYTES }

  /** The storage of a column from the type RowReader reports for it; empty when not supported. */
  static Optional<Storage> storage(Dialect dialect, ColumnType ct) {
    if (ct == null || ct.dbType() == null) {
      return Optional.empty();
    }
    String t = ct.dbType().toUpperCase(Locale.ROOT);
    Storage s;
    if (dialect == Dialect.POSTGRES) {
      s = switch (t) {
        case "INT2", "INT4", "INT8" -> Storage.INT;
        case "NUMERIC" -> Storage.DECIMAL;
        case "BOOL" -> Storage.BOOL;
        // not "CHAR": that is PostgreSQL's one-byte "char", not blank-padded character(n) (BPCHAR)
        case "TEXT", "VARCHAR", "BPCHAR" -> Storage.TEXT;
        case "UUID" -> Storage.UUID;
        case "DATE" -> Storage.DATE;
        case "TIMESTAMP" -> Storage.TIMESTAMP_LOCAL;
        case "TIMESTAMPTZ" -> Storage.TIMESTAMP_ZONED;
        case "BYTEA" -> Storage.BYTES;
        default -> null;
      };
    } else {
      if (t.endsWith(" ZEROFILL")) {
        return Optional.empty(); // CAST AS CHAR keeps the zero padding; Debezium's number does not
      }
      String base = t.endsWith(" UNSIGNED") ? t.substring(0, t.length() - " UNSIGNED".length()) : t;
      s = switch (base) {
        case "TINYINT" -> ct.length() != null && ct.length() == 1 ? Storage.TINYINT_BOOL : Storage.INT;
        case "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT" -> Storage.INT;
        case "DECIMAL", "NUMERIC", "DEC", "FIXED" -> Storage.DECIMAL;
        case "CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT" -> Storage.TEXT;
        case "UUID" -> Storage.UUID;
        case "DATE" -> Storage.DATE;
        case "DATETIME" -> Storage.TIMESTAMP_LOCAL;
        case "TIMESTAMP" -> Storage.TIMESTAMP_ZONED;
        case "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB" -> Storage.BYTES;
        default -> null;
      };
    }
    return Optional.ofNullable(s);
  }

  /**
   * A column's canonical-text expression. {@code freeText}: its text may hold any character; all
   * other texts are digits, signs, ISO date-time punctuation, letters of hex, "true"/"false",
   * "infinity", "NaN" or " BC", never a comma.
   */
  record SqlText(String sql, boolean freeText) {}

  /**
   * The canonical-text expression of one physical column under its rule, or empty with the
   * reason in {@code why} (for the report of why a table is hashed in the JVM).
   *
   * @param rule             the column's rule ({@link ColumnRule#plain} for an unlisted column)
   * @param defaultPrecision the verifier's timestamp precision (a rule may override it)
   * @param zone             the side's zone for zone-less timestamps
   */
  static Optional<SqlText> expression(Dialect dialect, String physical, ColumnType ct, ColumnRule rule,
      TimePrecision defaultPrecision, ZoneId zone, StringBuilder why) {
    if (rule.comparator() != null) {
      return no(why, "custom comparator " + rule.comparator());
    }
    if (rule.tolerance() != null) {
      return no(why, "tolerance");
    }
    Optional<Storage> st = storage(dialect, ct);
    if (st.isEmpty()) {
      return no(why, "column type " + (ct == null ? "unknown" : ct.dbType()));
    }
    Storage s = st.get();
    CanonicalType type = rule.type() == CanonicalType.AUTO ? ct.infer() : rule.type();
    if (type == null) {
      return no(why, "no canonical type");
    }
    if (type == CanonicalType.TEXT && (rule.trim() || rule.caseInsensitive())) {
      return no(why, rule.trim() ? "trim" : "case-insensitive");
    }
    TimePrecision precision = rule.precision() != null ? rule.precision() : defaultPrecision;
    boolean pg = dialect == Dialect.POSTGRES;
    String q = dialect.quote(physical);
    String e = switch (s) {
      case INT -> switch (type) {
        case INTEGER -> pg ? q + "::text" : "CAST(" + q + " AS CHAR)";
        case DECIMAL -> rule.scale() == null ? (pg ? q + "::text" : "CAST(" + q + " AS CHAR)")
            : scaled(dialect, q, ct, rule.scale(), true);
        case BOOLEAN -> trueFalse(q + " <> 0", q);
        default -> null;
      };
      case DECIMAL -> type != CanonicalType.DECIMAL ? null
          : rule.scale() == null ? stripped(dialect, q) : scaled(dialect, q, ct, rule.scale(), false);
      case BOOL -> type == CanonicalType.BOOLEAN ? q + "::text" : null;
      // Debezium's TinyIntOneToBooleanConverter: intValue() > 0, so -1 is false
      case TINYINT_BOOL -> type == CanonicalType.BOOLEAN ? trueFalse(q + " > 0", q) : null;
      case TEXT -> type != CanonicalType.TEXT ? null : text(dialect, q, ct.blankPadded());
      case UUID -> type == CanonicalType.UUID || type == CanonicalType.TEXT
          ? (pg ? q + "::text" : "LOWER(CAST(" + q + " AS CHAR))") : null;
      case DATE -> type != CanonicalType.DATE ? null
          : pg ? "CASE WHEN " + q + " >= DATE '0001-01-01' AND " + q + " < DATE '10000-01-01' THEN to_char(" + q
              + ", 'YYYY-MM-DD') ELSE " + q + "::text END"
          : "CASE WHEN CAST(" + q + " AS CHAR) NOT LIKE '0000-00-00%' THEN CAST(" + q + " AS CHAR) END";
      case TIMESTAMP_LOCAL -> {
        if (type != CanonicalType.TIMESTAMP) {
          yield null;
        }
        if (!zone.getRules().isFixedOffset()) {
          why.append("zone-less timestamp in zone ").append(zone).append(" (not a fixed offset)");
          yield null;
        }
        int offset = zone.getRules().getOffset(Instant.EPOCH).getTotalSeconds();
        yield timestamp(dialect, q, offset, precision, true);
      }
      case TIMESTAMP_ZONED -> type == CanonicalType.TIMESTAMP ? timestamp(dialect, q, 0, precision, false) : null;
      case BYTES -> type != CanonicalType.BYTES ? null : pg ? "encode(" + q + ", 'hex')" : "LOWER(HEX(" + q + "))";
    };
    if (e == null) {
      if (why.isEmpty()) {
        why.append("rule type ").append(type.id()).append(" on column type ").append(ct.dbType());
      }
      return Optional.empty();
    }
    return Optional.of(new SqlText(e, s == Storage.TEXT));
  }

  private static Optional<SqlText> no(StringBuilder why, String reason) {
    why.append(reason);
    return Optional.empty();
  }

  private static String trueFalse(String condition, String q) {
    return "CASE WHEN " + q + " IS NULL THEN NULL WHEN " + condition + " THEN 'true' ELSE 'false' END";
  }

  /** Debezium's decimal text with trailing fraction zeros stripped, "0" for zero (Values.plainDecimal). */
  private static String stripped(Dialect dialect, String q) {
    if (dialect == Dialect.POSTGRES) {
      return "trim_scale(" + q + ")::text";
    }
    String t = "CAST(" + q + " AS CHAR)";
    return "CASE WHEN " + q + " = 0 THEN '0' WHEN INSTR(" + t + ", '.') > 0 THEN TRIM(TRAILING '.' FROM TRIM(TRAILING"
        + " '0' FROM " + t + ")) ELSE " + t + " END";
  }

  /** {@code setScale(scale, HALF_UP).toPlainString()}: both dialects round half away from zero. */
  private static String scaled(Dialect dialect, String q, ColumnType ct, int scale, boolean integer) {
    if (scale < 0 || scale > 30) {
      return null;
    }
    String zero = scale == 0 ? "0" : "0." + "0".repeat(scale);
    if (dialect == Dialect.POSTGRES) {
      String r = "round(" + q + (integer ? "::numeric" : "") + ", " + scale + ")";
      return "CASE WHEN " + r + " = 0 THEN '" + zero + "' ELSE " + r + "::text END";
    }
    // DECIMAL(65, s) must hold every value of the column, else MariaDB clips it to the type's maximum
    int intDigits = integer ? 20 : ct.length() == null ? 65 : ct.length() - (ct.scale() == null ? 0 : ct.scale());
    if (intDigits + scale > 65) {
      return null;
    }
    String r = "CAST(" + q + " AS DECIMAL(65, " + scale + "))";
    return "CASE WHEN " + r + " = 0 THEN '" + zero + "' ELSE CAST(" + r + " AS CHAR) END";
  }

  private static String text(Dialect dialect, String q, boolean blankPadded) {
    if (dialect == Dialect.POSTGRES) {
      return blankPadded ? "rtrim(" + q + "::text, ' ')" : q + "::text";
    }
    // CHAR's pad is stripped on read unless sql_mode PAD_CHAR_TO_FULL_LENGTH; strip it either way
    return blankPadded ? "TRIM(TRAILING ' ' FROM " + q + ")" : q;
  }

  /**
   * {@code yyyy-MM-ddTHH:mm:ss[.f]Z} in UTC, truncated to the precision (Values.timestamp). A
   * zone-less value is local time at {@code offsetSeconds}; a MariaDB zero date reads as NULL.
   */
  private static String timestamp(Dialect dialect, String q, int offsetSeconds, TimePrecision precision,
      boolean zoneLess) {
    int digits = precision.digits();
    int keep = 19 + (digits > 0 ? 1 + Math.min(digits, 6) : 0);
    String tail = digits > 6 ? "0".repeat(digits - 6) + "Z" : "Z";
    if (dialect == Dialect.POSTGRES) {
      String utc = zoneLess ? (offsetSeconds == 0 ? q : "(" + q + " - interval '" + offsetSeconds + " seconds')")
          : "(" + q + " AT TIME ZONE 'UTC')";
      // outside years 1-9999 (BC, infinity) the server's own text: never equal to an in-range text
      return "CASE WHEN " + utc + " >= TIMESTAMP '0001-01-01' AND " + utc + " < TIMESTAMP '10000-01-01'"
          + " THEN left(to_char(" + utc + ", 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), " + keep + ") || '" + tail + "'"
          + " ELSE " + q + "::text END";
    }
    String utc = offsetSeconds == 0 ? q : "(" + q + " - INTERVAL " + offsetSeconds + " SECOND)";
    return "CASE WHEN CAST(" + q + " AS CHAR) NOT LIKE '0000-00-00%' THEN CONCAT(LEFT(DATE_FORMAT(" + utc
        + ", '%Y-%m-%dT%H:%i:%s.%f'), " + keep + "), '" + tail + "') END";
  }
}
