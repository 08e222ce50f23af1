package io.migrationverifier.canonical;

/**
 * One column that differs. A column missing from one side's row image (as opposed to NULL) is
 * flagged by {@code missingOn}.
 */
public record FieldDiff(String name, String source, String target, String missingOn) {}
