package io.migrationverifier.config;

import java.util.Locale;

/**
 * How a column's values appear in the records the verifier writes for people (discrepancy,
 * review and dead-letter records, the check's answer). Comparison always uses the exact values.
 */
public enum PiiMode {
  /** Shown as they are. */
  NONE,
  /** Replaced by {@code "***"}: the record says which column differs, not what it holds. */
  MASK,
  /**
   * Replaced by a keyed hash ({@code hmac:} + 32 hex chars) under {@code verify.pii-key}: equal
   * values still look equal in a diff, but the value cannot be recovered or guessed without the key.
   */
  HASH;

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static PiiMode fromId(String id) {
    for (PiiMode m : values()) {
      if (m.id().equalsIgnoreCase(id)) {
        return m;
      }
    }
    return null;
  }
}
