package io.migrationverifier.config;

import java.time.Duration;

/**
 * The repair role ({@code repair}): how it retries, fences and throttles. Which tables it repairs
 * and how is per table ({@link TableRepair}).
 *
 * @param maxAttempts         attempts of one repair (transient failures) before it goes to the DLQ
 * @param backoff             delay before the first retry; doubled at each further attempt
 * @param maxBackoff          the longest delay between two attempts
 * @param fenceRetries        how often a repair is judged again when the target changed between
 *                            the judgement and the locked write, before it counts as a failed attempt
 * @param outageProbeInterval target or source unreachable: how often the paused role probes it
 * @param rateLimit           default repairs per second per table; 0 = unlimited
 */
public record RepairSettings(int maxAttempts, Duration backoff, Duration maxBackoff, int fenceRetries,
    Duration outageProbeInterval, int rateLimit) {

  public static final RepairSettings DEFAULTS =
      new RepairSettings(5, Duration.ofSeconds(1), Duration.ofMinutes(5), 3, Duration.ofSeconds(2), 0);

  /** The delay before attempt {@code attempt} (2 = the first retry): backoff * 2^(attempt-2), capped. */
  public Duration delayBefore(int attempt) {
    if (backoff.isZero()) {
      return Duration.ZERO;
    }
    int shift = Math.max(0, Math.min(30, attempt - 2));
    long ms = backoff.toMillis() << shift;
    return ms <= 0 || ms > maxBackoff.toMillis() ? maxBackoff : Duration.ofMillis(ms); // <= 0: overflow
  }

  /** The consumer group of the repair role. */
  public static String groupId(String name) {
    return name + ".repair";
  }
}
