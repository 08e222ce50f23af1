package io.migrationverifier.verify;

import io.migrationverifier.config.Side;

/**
 * Per-partition (per-task) progress of both sides: watermarks, the last position accepted
 * (replays are at or before it), the arrival sequence that orders buffered changes of a side,
 * the event-time frontier up to which the merged history has been applied, and stall flags.
 */
final class PartitionMeta {
  static final long NONE = Long.MIN_VALUE;
  private static final int VERSION = 1;

  final long[] watermark = {NONE, NONE};
  final long[] firstWatermark = {NONE, NONE};
  final String[] lastPos = {null, null};
  final long[] lastTs = {NONE, NONE};
  final long[] seq = {0, 0};
  final boolean[] stalled = {false, false};
  long frontier = NONE;

  static int i(Side side) {
    return side.ordinal();
  }

  /** Event time both sides have passed: every change at or before it is known. */
  long both() {
    return Math.min(watermark[0], watermark[1]);
  }

  byte[] encode() {
    Bin.Out o = new Bin.Out().b(VERSION);
    for (int i = 0; i < 2; i++) {
      o.l(watermark[i]).l(firstWatermark[i]).s(lastPos[i]).l(lastTs[i]).l(seq[i]).b(stalled[i] ? 1 : 0);
    }
    return o.l(frontier).toBytes();
  }

  static PartitionMeta decode(byte[] bytes) {
    PartitionMeta m = new PartitionMeta();
    if (bytes == null) {
      return m;
    }
    Bin.In in = new Bin.In(bytes);
    int version = in.b();
    if (version != VERSION) {
      throw new IllegalStateException("unknown partition-meta version " + version);
    }
    for (int i = 0; i < 2; i++) {
      m.watermark[i] = in.l();
      m.firstWatermark[i] = in.l();
      m.lastPos[i] = in.s();
      m.lastTs[i] = in.l();
      m.seq[i] = in.l();
      m.stalled[i] = in.b() != 0;
    }
    m.frontier = in.l();
    return m;
  }
}
