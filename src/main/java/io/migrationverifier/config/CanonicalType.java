package io.migrationverifier.config;

import java.util.Locale;

/**
 * How a column's values are brought to canonical form. {@code AUTO} infers it from the column
 * type Debezium reports (falling back to the JSON value's own type).
 */
public enum CanonicalType {
  AUTO, TEXT, INTEGER, DECIMAL, FLOAT, BOOLEAN, TIMESTAMP, DATE, TIME, JSON, BYTES, UUID;

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static CanonicalType fromId(String id) {
    for (CanonicalType t : values()) {
      if (t.id().equalsIgnoreCase(id)) {
        return t;
      }
    }
    return null;
  }
}
