package io.migrationverifier.config;

import java.time.Duration;

/**
 * The batch audit ({@code audit}): how it cuts a table into segments, how far it bisects a
 * differing segment before comparing rows, and how hard it may load the databases.
 *
 * @param segmentRows      rows per key segment (sampled from the source in key order); with
 *                         {@code targetChunkTime} set, the starting size that is then adapted
 * @param bisectRows       a differing range with at most this many rows (on either side) is compared
 *                         row by row; larger ones are split further
 * @param timeWindow       the width of a segment with {@code --segments time:<column>}
 * @param maxRowsPerSecond rows read per second, both sides counted; 0 = unlimited
 * @param targetChunkTime  null = fixed {@code segmentRows}; else each key segment is sized so that
 *                         summarizing it takes about this long
 * @param fetchSize        rows per round trip while streaming
 */
public record AuditSettings(int segmentRows, int bisectRows, Duration timeWindow, long maxRowsPerSecond,
    Duration targetChunkTime, int fetchSize) {

  public static final AuditSettings DEFAULTS =
      new AuditSettings(10_000, 1_000, Duration.ofHours(1), 0, null, 5_000);

  /** A copy with other segment sizes (tests, benchmarks). */
  public AuditSettings withSizes(int segmentRows, int bisectRows) {
    return new AuditSettings(segmentRows, bisectRows, timeWindow, maxRowsPerSecond, targetChunkTime, fetchSize);
  }
}
