package io.migrationverifier.repair;

import io.migrationverifier.config.ConfigLoader;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * Time arguments of the operator commands ({@code --since}, {@code --until}): an ISO-8601 instant
 * ({@code 2026-11-24T10:00:00Z}, or with an offset {@code 2026-11-24T11:00:00+01:00}) or a
 * duration meaning "that long ago" ({@code 90s}, {@code 30m}, {@code 2h}, {@code 1d}, {@code PT2H}).
 */
public final class OpsTime {
  public static final String SYNTAX = "an ISO-8601 instant (2026-11-24T10:00:00Z) or a duration ago (30m, 2h, 1d)";

  private OpsTime() {}

  /**
   * @param option the option's name, for the message
   * @return epoch ms
   * @throws IllegalArgumentException naming the option and the accepted syntax
   */
  public static long parse(String option, String text, long now) {
    String s = text.trim();
    try {
      return Instant.parse(s).toEpochMilli();
    } catch (DateTimeParseException e) {
      // not an instant in Z form: try an offset, then a duration
    }
    try {
      return OffsetDateTime.parse(s).toInstant().toEpochMilli();
    } catch (DateTimeParseException e) {
      // a duration, then
    }
    Duration d = s.isEmpty() ? null : ConfigLoader.parseDuration(s);
    if (d == null || d.isNegative()) {
      throw new IllegalArgumentException(option + ": \"" + text + "\" is neither " + SYNTAX);
    }
    return now - d.toMillis();
  }

  public static String format(long epochMs) {
    return Instant.ofEpochMilli(epochMs).toString();
  }
}
