package io.migrationverifier.canonical;

import io.migrationverifier.canonical.spi.ValueComparator;

/**
 * Built-in comparator {@code digits-only}: compares only the digits of a value, so that
 * "+1 (555) 010-0199" and "15550100199" agree. Typical for phone numbers re-formatted by the
 * new service. Also the reference implementation of the {@link ValueComparator} SPI.
 */
public final class DigitsOnlyComparator implements ValueComparator {
  @Override
  public String name() {
    return "digits-only";
  }

  @Override
  public String canonicalize(String value) {
    if (value == null) {
      return null;
    }
    StringBuilder sb = new StringBuilder(value.length());
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c >= '0' && c <= '9') {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
