package io.migrationverifier.event;

/** What a discrepancy event says about a key. */
public enum DiscrepancyKind {
  MISSING_IN_TARGET, UNEXPECTED_IN_TARGET, VALUE_MISMATCH, RESOLVED
}
