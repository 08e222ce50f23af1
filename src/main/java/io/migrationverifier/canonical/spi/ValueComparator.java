package io.migrationverifier.canonical.spi;

import java.util.Objects;

/**
 * Application-specific comparison of one column, for rules the built-in ones cannot express
 * (e.g. "phone numbers equal after stripping punctuation"). Register an implementation with
 * {@code META-INF/services/io.migrationverifier.canonical.spi.ValueComparator} and name it in a
 * column rule: {@code comparator: phone-digits} (its {@link #name()}) or its class name.
 *
 * <p>Prefer {@link #canonicalize}: values it maps to the same text hash the same, so rows agree
 * without a field-by-field look. {@link #equivalent} is for what cannot be canonicalized
 * (tolerances); it is consulted only when row hashes differ. Both must be pure and thread-safe,
 * because the stream, the audit and the on-demand check all call them.
 */
public interface ValueComparator {

  /** The name used in config. */
  String name();

  /** Maps a built-in canonical value (or null) to this comparator's canonical value. */
  default String canonicalize(String canonicalValue) {
    return canonicalValue;
  }

  /** Whether two values canonicalized by this comparator are the same for the application. */
  default boolean equivalent(String source, String target) {
    return Objects.equals(source, target);
  }
}
