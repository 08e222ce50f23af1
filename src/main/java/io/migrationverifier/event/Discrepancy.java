package io.migrationverifier.event;

import io.migrationverifier.canonical.FieldDiff;
import java.util.List;
import java.util.SortedMap;

/**
 * A discrepancy event (DESIGN section 3), schema {@code topology-docs/discrepancy.schema.json}.
 * Every field but {@code emittedAt} (wall clock, for latency) is a function of the two change
 * histories alone, so reprocessing the change topics yields the same events with the same ids.
 *
 * @param divergedSince event time the disagreement started (t0)
 * @param detectedAt    event time at which it was confirmed (t0 + window for the stream)
 * @param resolves      for RESOLVED: the id of the discrepancy it closes
 * @param resolution    for RESOLVED: {@code source-change} or {@code target-change} (which side's change
 *                      brought agreement back), or {@code repaired} (the target change was a logged repair's own write)
 * @param rowsNotKept   the sides ({@code source}, {@code target}) whose row is present but not held by the
 *                      verifier (a {@code state: hash-only} table changed without a usable before-image):
 *                      that side's row is then null and {@code fields} empty; usually empty
 */
public record Discrepancy(
    String id,
    DiscrepancyKind kind,
    String table,
    SortedMap<String, String> key,
    String detector,
    long divergedSince,
    long detectedAt,
    SortedMap<String, String> source,
    SortedMap<String, String> target,
    List<FieldDiff> fields,
    String resolves,
    Long resolvedAt,
    String resolution,
    Long openForMs,
    long emittedAt,
    List<String> rowsNotKept) {
  public static final int VERSION = 1;
  public static final String DETECTOR_STREAM = "stream";
  public static final String DETECTOR_CHECK = "check";
  public static final String DETECTOR_AUDIT = "audit";

  public Discrepancy {
    rowsNotKept = rowsNotKept == null ? List.of() : List.copyOf(rowsNotKept);
  }

  public Discrepancy(String id, DiscrepancyKind kind, String table, SortedMap<String, String> key, String detector,
      long divergedSince, long detectedAt, SortedMap<String, String> source, SortedMap<String, String> target,
      List<FieldDiff> fields, String resolves, Long resolvedAt, String resolution, Long openForMs, long emittedAt) {
    this(id, kind, table, key, detector, divergedSince, detectedAt, source, target, fields, resolves, resolvedAt,
        resolution, openForMs, emittedAt, List.of());
  }
}
