package io.migrationverifier.config;

import java.util.regex.Pattern;

/**
 * SQL identifiers that come from config. They are validated against a strict pattern before
 * anything else sees them, and quoted per dialect wherever SQL is built, so a name such as
 * {@code id" OR 1=1 --} is rejected at validation instead of reaching a database.
 */
public final class Identifiers {
  /** Letters, digits, underscore and dollar; must not start with a digit; at most 63 chars (PG limit). */
  private static final Pattern PART = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]{0,62}");

  private Identifiers() {}

  public static boolean isValidPart(String name) {
    return name != null && PART.matcher(name).matches();
  }

  /** A table reference: {@code table} or {@code schema.table}. */
  public static boolean isValidQualified(String name) {
    if (name == null || name.isEmpty()) {
      return false;
    }
    String[] parts = name.split("\\.", -1);
    if (parts.length > 2) {
      return false;
    }
    for (String p : parts) {
      if (!isValidPart(p)) {
        return false;
      }
    }
    return true;
  }

  public static String describeRule() {
    return "letters, digits, '_' or '$', not starting with a digit, at most 63 characters"
        + " (qualify a table as schema.table)";
  }

  /** Quotes a validated identifier (or schema.table) for PostgreSQL / ANSI SQL. */
  public static String quoteAnsi(String qualified) {
    return quote(qualified, '"');
  }

  /** Quotes a validated identifier (or db.table) for MariaDB / MySQL. */
  public static String quoteMariaDb(String qualified) {
    return quote(qualified, '`');
  }

  private static String quote(String qualified, char q) {
    if (!isValidQualified(qualified)) {
      throw new IllegalArgumentException("not a valid SQL identifier: " + abbreviate(qualified));
    }
    StringBuilder sb = new StringBuilder();
    for (String part : qualified.split("\\.")) {
      if (sb.length() > 0) {
        sb.append('.');
      }
      sb.append(q).append(part).append(q);
    }
    return sb.toString();
  }

  static String abbreviate(String s) {
    if (s == null) {
      return "null";
    }
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
