package io.migrationverifier.verify;

import io.migrationverifier.config.Side;
import io.migrationverifier.event.DiscrepancyKind;

/**
 * Observations of the verify topology, for metrics. Called on stream threads: implementations
 * must be thread-safe and fast. Observations never influence results.
 */
public interface VerifyListener {
  VerifyListener NONE = new VerifyListener() {};

  default void changeApplied(String table, Side side) {}

  /** A change at or before the last position accepted for its side and partition: ignored. */
  default void duplicateIgnored(Side side) {}

  /** A change whose commit time was at or before the watermark of both sides (a capture broke its promise). */
  default void lateChange(Side side, long lateByMs) {}

  default void malformed(String topic, String reason) {}

  /** A disagreement that ended within its window: how long the target trailed (convergence lag). */
  default void converged(String table, long disagreedForMs) {}

  default void reported(String table, DiscrepancyKind kind) {}

  default void resolved(String table, long openForMs) {}

  /**
   * The number of this instance's disagreements of {@code table} waiting for their deadline changed
   * by {@code delta}: +1 when one starts, -1 when it converges or its deadline fires. A task's
   * restored state counts in when the task starts here and out when it leaves (rebalance), so the
   * sum over instances is the deployment's pending disagreements.
   */
  default void pendingChanged(String table, int delta) {}

  default void watermark(int partition, Side side, long watermark) {}

  default void stalled(int partition, Side side, boolean stalled) {}

  /** The partition's task was closed in this instance (it moved away, or the instance stops). */
  default void partitionClosed(int partition) {}
}
