package io.migrationverifier.verify;

import java.util.HashMap;
import java.util.Map;

/**
 * Decides which occurrences of a kind of bad input get a log line: the first {@value #FIRST},
 * then every {@value #EVERY}th, so a flood neither fills the disk nor hides that it goes on.
 * Counting, not timing: what is logged does not depend on the wall clock. One per task (not
 * thread-safe, like the processor that owns it); the metrics count every occurrence.
 */
final class BadInputLog {
  static final int FIRST = 10;
  static final int EVERY = 1000;
  private final Map<String, Long> counts = new HashMap<>();

  /** Counts one occurrence of {@code kind}; true when it is to be logged. */
  boolean due(String kind) {
    long n = counts.merge(kind, 1L, Long::sum);
    return n <= FIRST || n % EVERY == 0;
  }

  /** What to append to the line {@link #due} allowed: how many so far once lines start being skipped. */
  String suffix(String kind) {
    long n = counts.getOrDefault(kind, 0L);
    return n < FIRST ? "" : " [" + n + " so far in this task; from now on every " + EVERY + "th is logged]";
  }
}
