package io.migrationverifier.repair;

import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DiscrepancyKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Which DLQ entries a {@code dlq list} or {@code dlq replay} looks at: table, discrepancy kind and
 * failure-time range (the entry's last failure, i.e. when it was dead-lettered), all optional.
 *
 * @param text the filters as given (relative times unresolved): the identity of a replay's progress
 */
public record DlqFilter(String table, String kind, Long since, Long until, String text) {

  public static final DlqFilter NONE = new DlqFilter(null, null, null, null, "");

  /**
   * @throws IllegalArgumentException naming the option: an unknown table or kind, a bad time, an empty range
   */
  public static DlqFilter parse(VerifierConfig config, String table, String kind, String since, String until,
      long now) {
    if (table != null && config.table(table).isEmpty()) {
      throw new IllegalArgumentException("--table: unknown table \"" + table + "\"; configured: "
          + config.tables().stream().map(TableConfig::name).toList());
    }
    String k = null;
    if (kind != null) {
      k = kind.trim().toUpperCase(Locale.ROOT).replace('-', '_');
      try {
        DiscrepancyKind.valueOf(k);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--kind: \"" + kind + "\" is not a discrepancy kind; one of "
            + Arrays.toString(DiscrepancyKind.values()));
      }
    }
    Long s = since == null ? null : OpsTime.parse("--since", since, now);
    Long u = until == null ? null : OpsTime.parse("--until", until, now);
    if (s != null && u != null && s > u) {
      throw new IllegalArgumentException("--since " + since + " is after --until " + until + ": nothing can match");
    }
    List<String> parts = new ArrayList<>();
    if (table != null) {
      parts.add("table=" + table);
    }
    if (k != null) {
      parts.add("kind=" + k);
    }
    if (since != null) {
      parts.add("since=" + since.trim());
    }
    if (until != null) {
      parts.add("until=" + until.trim());
    }
    return new DlqFilter(table, k, s, u, String.join(" ", parts));
  }

  public boolean matches(DlqReader.Entry e) {
    return (table == null || table.equals(e.table())) && (kind == null || kind.equals(e.kind()))
        && (since == null || e.failedAt() >= since) && (until == null || e.failedAt() <= until);
  }

  public boolean isEmpty() {
    return text.isEmpty();
  }

  public String describe() {
    return isEmpty() ? "none" : text;
  }
}
