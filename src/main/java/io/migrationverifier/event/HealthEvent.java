package io.migrationverifier.event;

/**
 * A side's health in one partition, on {@code <name>.health}: {@code SIDE_STALLED} when its
 * watermark trails the other side's by more than {@code verify.stall-threshold},
 * {@code SIDE_RECOVERED} when it caught up again. A stalled capture shows here, not as a flood of
 * {@code MISSING_IN_TARGET}.
 */
public record HealthEvent(String kind, String side, int partition, Long watermark, Long otherWatermark, long lagMs,
    long emittedAt) {
  public static final String SIDE_STALLED = "SIDE_STALLED";
  public static final String SIDE_RECOVERED = "SIDE_RECOVERED";
}
