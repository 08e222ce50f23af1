package io.migrationverifier.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the verify role. {@code window} is how long the two sides may disagree on a key
 * (in event time) before it is a discrepancy; {@code stallThreshold} is how far one side's
 * watermark may trail the other's before a {@code SIDE_STALLED} health event.
 */
public record VerifySettings(
    Duration window,
    Duration stallThreshold,
    String processingGuarantee,
    Path stateDir,
    int numStandbyReplicas,
    int numStreamThreads,
    Duration commitInterval,
    TimePrecision timestampPrecision) {

  public static final String EXACTLY_ONCE_V2 = "exactly_once_v2";
  public static final String AT_LEAST_ONCE = "at_least_once";
}
