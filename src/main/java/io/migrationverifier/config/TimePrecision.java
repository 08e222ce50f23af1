package io.migrationverifier.config;

import java.util.Locale;

/** The precision at which timestamps and times are compared (values are truncated to it). */
public enum TimePrecision {
  SECONDS(0), MILLIS(3), MICROS(6), NANOS(9);

  private final int digits;

  TimePrecision(int digits) {
    this.digits = digits;
  }

  /** Fraction digits kept in the canonical text. */
  public int digits() {
    return digits;
  }

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static TimePrecision fromId(String id) {
    for (TimePrecision p : values()) {
      if (p.id().equalsIgnoreCase(id)) {
        return p;
      }
    }
    return null;
  }
}
