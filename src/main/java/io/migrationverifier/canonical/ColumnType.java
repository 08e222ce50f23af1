package io.migrationverifier.canonical;

import io.migrationverifier.config.CanonicalType;
import java.util.Locale;

/**
 * What the change stream says about a column's type: the Kafka Connect type, the Debezium
 * semantic name, and the database's own type name, length and scale (Debezium's
 * {@code column.propagate.source.type}). Any part may be null.
 */
public record ColumnType(String connectType, String semanticName, String dbType, Integer length, Integer scale) {
  public static final ColumnType UNKNOWN = new ColumnType(null, null, null, null, null);

  /** The canonical type this column gets when its rule says {@code auto}; null if nothing is known. */
  public CanonicalType infer() {
    if (semanticName != null) {
      CanonicalType t = fromSemanticName(semanticName);
      if (t != null) {
        return t;
      }
    }
    if (dbType != null) {
      CanonicalType t = fromDbType(dbType.toUpperCase(Locale.ROOT), length);
      if (t != null) {
        return t;
      }
    }
    if (connectType != null) {
      return switch (connectType) {
        case "boolean" -> CanonicalType.BOOLEAN;
        case "int8", "int16", "int32", "int64" -> CanonicalType.INTEGER;
        case "float", "float32", "float64", "double" -> CanonicalType.FLOAT;
        case "bytes" -> CanonicalType.BYTES;
        case "string" -> CanonicalType.TEXT;
        default -> null;
      };
    }
    return null;
  }

  /** Blank-padded character types (SQL CHAR): trailing blanks are padding, not data. */
  public boolean blankPadded() {
    if (dbType == null) {
      return false;
    }
    String t = dbType.toUpperCase(Locale.ROOT);
    return t.equals("CHAR") || t.equals("BPCHAR") || t.equals("CHARACTER") || t.equals("NCHAR");
  }

  private static CanonicalType fromSemanticName(String name) {
    return switch (name) {
      case "io.debezium.data.Json" -> CanonicalType.JSON;
      case "io.debezium.data.Uuid" -> CanonicalType.UUID;
      case "org.apache.kafka.connect.data.Decimal", "io.debezium.data.VariableScaleDecimal" -> CanonicalType.DECIMAL;
      case "io.debezium.time.Date", "io.debezium.time.IsoDate", "org.apache.kafka.connect.data.Date" ->
          CanonicalType.DATE;
      case "io.debezium.time.Time", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime",
          "io.debezium.time.ZonedTime", "io.debezium.time.IsoTime", "org.apache.kafka.connect.data.Time" ->
          CanonicalType.TIME;
      case "io.debezium.time.Timestamp", "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp",
          "io.debezium.time.ZonedTimestamp", "io.debezium.time.IsoTimestamp",
          "org.apache.kafka.connect.data.Timestamp" -> CanonicalType.TIMESTAMP;
      default -> null;
    };
  }

  private static CanonicalType fromDbType(String t, Integer length) {
    if (t.endsWith(" UNSIGNED")) {
      t = t.substring(0, t.length() - " UNSIGNED".length());
    }
    return switch (t) {
      case "NUMERIC", "DECIMAL", "MONEY", "FIXED", "DEC" -> CanonicalType.DECIMAL;
      case "BOOL", "BOOLEAN", "BIT" -> length == null || length == 1 ? CanonicalType.BOOLEAN : CanonicalType.BYTES;
      case "TINYINT" -> length != null && length == 1 ? CanonicalType.BOOLEAN : CanonicalType.INTEGER;
      case "SMALLINT", "INT", "INT2", "INT4", "INT8", "INTEGER", "BIGINT", "MEDIUMINT", "SERIAL", "BIGSERIAL",
          "SMALLSERIAL", "YEAR" -> CanonicalType.INTEGER;
      case "REAL", "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION" -> CanonicalType.FLOAT;
      case "UUID" -> CanonicalType.UUID;
      case "JSON", "JSONB" -> CanonicalType.JSON;
      case "BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY" -> CanonicalType.BYTES;
      case "TIMESTAMP", "TIMESTAMPTZ", "DATETIME" -> CanonicalType.TIMESTAMP;
      case "DATE" -> CanonicalType.DATE;
      case "TIME", "TIMETZ" -> CanonicalType.TIME;
      default -> null;
    };
  }
}
