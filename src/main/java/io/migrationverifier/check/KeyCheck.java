package io.migrationverifier.check;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.canonical.Hash128;
import io.migrationverifier.canonical.RowComparator;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.PiiMasker;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Compares one key now (DESIGN section 2, {@code check}): reads the current row from both
 * databases with {@link RowReader} and compares them with the table's {@link RowComparator}, the
 * same canonical forms and rules the stream uses. A key agrees when both rows are absent or both
 * present and equivalent.
 *
 * <p>The two reads are not one snapshot across databases: a key being written right now can
 * differ for a moment. Callers that act on a difference (repair) re-read first.
 */
public final class KeyCheck {
  public static final String DETECTOR = Discrepancy.DETECTOR_CHECK;

  public enum Verdict {
    CONSISTENT, MISSING_IN_TARGET, UNEXPECTED_IN_TARGET, VALUE_MISMATCH;

    /** The discrepancy kind of a difference; empty for {@link #CONSISTENT}. */
    public Optional<DiscrepancyKind> kind() {
      return this == CONSISTENT ? Optional.empty() : Optional.of(DiscrepancyKind.valueOf(name()));
    }
  }

  /**
   * The outcome for one key.
   *
   * @param key       the key in canonical form (the source side's reading of what was asked)
   * @param source    the source row, null when absent
   * @param target    the target row, null when absent
   * @param fields    the columns that differ (VALUE_MISMATCH only; empty otherwise)
   * @param checkedAt wall-clock epoch ms at which both rows had been read
   */
  public record Result(CanonicalKey key, Verdict verdict, CanonicalRow source, CanonicalRow target,
      List<FieldDiff> fields, long checkedAt) {
    public Result {
      fields = List.copyOf(fields);
    }

    public boolean consistent() {
      return verdict == Verdict.CONSISTENT;
    }

    /**
     * The result as it may be shown or sent: columns with {@code pii} masked in the rows and field
     * diffs. Its rows' hashes are those of the masked values: compare with the unmasked result.
     */
    public Result masked(PiiMasker pii) {
      String t = key.table();
      return pii.masks(t) ? new Result(key, verdict, pii.row(t, source), pii.row(t, target), pii.fields(t, fields),
          checkedAt) : this;
    }

    /** The discrepancy event of a difference (detector {@code check}); empty when consistent. */
    public Optional<Discrepancy> discrepancy() {
      return verdict.kind().map(kind -> new Discrepancy(id(key, checkedAt), kind, key.table(), key.key(), DETECTOR,
          checkedAt, checkedAt, source == null ? null : source.values(), target == null ? null : target.values(),
          fields, null, null, null, null, checkedAt));
    }
  }

  private final Canonicalizer canonicalizer;
  private final RowReader reader;
  private final LongSupplier clock;

  public KeyCheck(Canonicalizer canonicalizer, RowReader reader) {
    this(canonicalizer, reader, System::currentTimeMillis);
  }

  public KeyCheck(Canonicalizer canonicalizer, RowReader reader, LongSupplier clock) {
    this.canonicalizer = canonicalizer;
    this.reader = reader;
    this.clock = clock;
  }

  /** Convenience: a reader of its own over {@code config} (close it with {@link RowReader#close()}). */
  public static KeyCheck forConfig(VerifierConfig config, Canonicalizer canonicalizer) {
    return new KeyCheck(canonicalizer, new RowReader(config, canonicalizer));
  }

  public RowReader reader() {
    return reader;
  }

  /**
   * Checks one key of a logical table.
   *
   * @param key logical key column to value; values may be given loosely ({@code "042"}) and are
   *     brought to canonical form per side
   * @throws IllegalArgumentException unknown table, key columns that are not the table's key, or a
   *     key value that is not a value of its column's type
   * @throws SQLException a database is unreachable or a query failed
   */
  public Result check(String table, Map<String, String> key) throws SQLException {
    RowComparator cmp = canonicalizer.comparator(table)
        .orElseThrow(() -> new IllegalArgumentException("unknown table \"" + table + "\""));
    CanonicalKey canonical = reader.canonicalKey(Side.SOURCE, table, key);
    CanonicalRow source = reader.read(Side.SOURCE, table, key).orElse(null);
    CanonicalRow target = reader.read(Side.TARGET, table, key).orElse(null);
    long now = clock.getAsLong();
    Verdict verdict;
    List<FieldDiff> fields = List.of();
    if (source == null && target == null) {
      verdict = Verdict.CONSISTENT;
    } else if (target == null) {
      verdict = Verdict.MISSING_IN_TARGET;
    } else if (source == null) {
      verdict = Verdict.UNEXPECTED_IN_TARGET;
    } else if (cmp.equivalent(source, target)) {
      verdict = Verdict.CONSISTENT;
    } else {
      verdict = Verdict.VALUE_MISMATCH;
      fields = cmp.diff(source, target);
    }
    return new Result(canonical, verdict, source, target, fields, now);
  }

  /** A UUID-shaped id from the record key and the check time: the same check at the same ms has the same id. */
  static String id(CanonicalKey key, long checkedAt) {
    byte[] k = key.toBytes();
    byte[] suffix = (":" + checkedAt + ":" + DETECTOR).getBytes(StandardCharsets.UTF_8);
    byte[] all = Arrays.copyOf(k, k.length + suffix.length);
    System.arraycopy(suffix, 0, all, k.length, suffix.length);
    String h = Hash128.hex(all);
    return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-"
        + h.substring(20, 32);
  }
}
