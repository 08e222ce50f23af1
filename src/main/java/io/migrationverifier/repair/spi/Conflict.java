package io.migrationverifier.repair.spi;

import java.util.SortedMap;

/**
 * A difference the repair role is about to resolve, as both databases hold it NOW (re-read just
 * before the decision, not the possibly older images of the discrepancy event). Rows are
 * canonical text by logical column name; null = no row on that side.
 *
 * @param kind the kind of the discrepancy that asked for the repair ({@code MISSING_IN_TARGET},
 *             {@code UNEXPECTED_IN_TARGET}, {@code VALUE_MISMATCH}), or null for an on-demand check
 */
public record Conflict(String table, SortedMap<String, String> key, SortedMap<String, String> source,
    SortedMap<String, String> target, String kind) {}
