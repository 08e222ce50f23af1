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
}
