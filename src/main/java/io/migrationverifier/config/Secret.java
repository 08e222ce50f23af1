package io.migrationverifier.config;

import java.util.Objects;

/**
 * A secret value (password, token). Its {@code toString} never reveals it, so a config object
 * printed in a log line, an exception message or a debugger watch stays safe.
 */
public final class Secret {
  public static final Secret EMPTY = new Secret("");
  private static final String MASK = "****";
  private final String value;

  private Secret(String value) {
    this.value = Objects.requireNonNull(value);
  }

  public static Secret of(String value) {
    return value == null || value.isEmpty() ? EMPTY : new Secret(value);
  }

  /** The clear value: call only where it is handed to a driver, never to build a message. */
  public String reveal() {
    return value;
  }

  public boolean isEmpty() {
    return value.isEmpty();
  }

  @Override
  public String toString() {
    return value.isEmpty() ? "" : MASK;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Secret s && s.value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }
}
