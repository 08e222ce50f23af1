package io.migrationverifier.capture;

import io.migrationverifier.config.Side;

/** Observations of a capture, for metrics and progress. Called on the capture's thread. */
public interface CaptureListener {
  CaptureListener NONE = new CaptureListener() {};

  /** A batch was produced and acknowledged: {@code changes} row changes, watermark now {@code watermark}. */
  default void batch(Side side, int changes, long watermark) {}

  /** The heartbeat row's change arrived with (monotonic) commit time {@code ts}. */
  default void heartbeat(Side side, long ts) {}

  /** A Debezium event that could not be read or canonicalized went to the dead-letter topic. */
  default void deadLettered(Side side, Exception e) {}

  /** Both listeners, {@code a} first. */
  static CaptureListener both(CaptureListener a, CaptureListener b) {
    return new CaptureListener() {
      @Override
      public void batch(Side side, int changes, long watermark) {
        a.batch(side, changes, watermark);
        b.batch(side, changes, watermark);
      }

      @Override
      public void heartbeat(Side side, long ts) {
        a.heartbeat(side, ts);
        b.heartbeat(side, ts);
      }

      @Override
      public void deadLettered(Side side, Exception e) {
        a.deadLettered(side, e);
        b.deadLettered(side, e);
      }
    };
  }
}
