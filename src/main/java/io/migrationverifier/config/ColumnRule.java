package io.migrationverifier.config;

/**
 * One configured column of a table: its logical name, its physical name on each side (null when
 * the column does not exist on that side), how its values are compared, and how they are shown
 * in outgoing records ({@code pii}: never in comparison).
 */
public record ColumnRule(
    String name,
    String sourceName,
    String targetName,
    boolean ignore,
    CanonicalType type,
    Integer scale,
    Double tolerance,
    TimePrecision precision,
    boolean trim,
    boolean caseInsensitive,
    String comparator,
    PiiMode pii) {

  public ColumnRule {
    pii = pii == null ? PiiMode.NONE : pii;
  }

  /** A rule without PII treatment. */
  public ColumnRule(String name, String sourceName, String targetName, boolean ignore, CanonicalType type,
      Integer scale, Double tolerance, TimePrecision precision, boolean trim, boolean caseInsensitive,
      String comparator) {
    this(name, sourceName, targetName, ignore, type, scale, tolerance, precision, trim, caseInsensitive, comparator,
        PiiMode.NONE);
  }

  public String physicalName(Side side) {
    return side == Side.SOURCE ? sourceName : targetName;
  }

  /** A column compared on both sides by its own name with default rules. */
  public static ColumnRule plain(String name) {
    return new ColumnRule(name, name, name, false, CanonicalType.AUTO, null, null, null, false, false, null);
  }
}
