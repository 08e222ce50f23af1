package io.migrationverifier.config;

import java.time.Duration;

/**
 * A table's repair settings ({@code tables[].repair}). Detect-only unless {@code enabled}.
 *
 * @param versionColumn  last-write-wins: the logical column that orders writes (a number or a timestamp)
 * @param skewTolerance  last-write-wins: versions closer than this count as concurrent; the source wins them
 * @param resolverClass  custom: the {@code ConflictResolver} implementation
 * @param rateLimit      repairs per second for this table; 0 = unlimited; null = {@code repair.rate-limit}
 */
public record TableRepair(boolean enabled, RepairPolicy policy, String versionColumn, Duration skewTolerance,
    String resolverClass, Integer rateLimit) {

  public static final TableRepair DETECT_ONLY =
      new TableRepair(false, RepairPolicy.SOURCE_WINS, null, Duration.ZERO, null, null);

  /** The rate limit in force for this table: its own, else the repair role's default. */
  public int effectiveRateLimit(RepairSettings defaults) {
    return rateLimit != null ? rateLimit : defaults.rateLimit();
  }
}
