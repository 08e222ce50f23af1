package io.migrationverifier.event;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.Side;
import java.util.SortedMap;

/**
 * A normalized change event (DESIGN section 3): one row change of one side, canonicalized.
 * {@code row} and {@code hash} are null for a delete. {@code ts} is the commit time in epoch ms;
 * {@code pos} orders the side's commits lexicographically.
 *
 * <p>{@code before} (optional, null when absent) is the row as it was before this change, for
 * updates and deletes of tables kept {@code state: hash-only}: the verifier keeps only hashes of
 * agreeing rows there, and takes the other side's row from this image when a change breaks
 * agreement. Readers that do not need it ignore it.
 */
public record ChangeEvent(Side side, String table, SortedMap<String, String> key, Op op, CanonicalRow row,
    String hash, long ts, String pos, CanonicalRow before) implements ChangeRecord {
  public static final int VERSION = 1;

  public ChangeEvent(Side side, String table, SortedMap<String, String> key, Op op, CanonicalRow row, String hash,
      long ts, String pos) {
    this(side, table, key, op, row, hash, ts, pos, null);
  }

  public CanonicalKey canonicalKey() {
    return new CanonicalKey(table, key);
  }

  public boolean isDelete() {
    return op == Op.DELETE;
  }

  public ChangeEvent withBefore(CanonicalRow image) {
    return new ChangeEvent(side, table, key, op, row, hash, ts, pos, image);
  }

  /** Builds an event whose hash is the row's own. */
  public static ChangeEvent of(Side side, String table, SortedMap<String, String> key, Op op, CanonicalRow row,
      long ts, String pos) {
    return new ChangeEvent(side, table, key, op, op == Op.DELETE ? null : row,
        op == Op.DELETE || row == null ? null : row.hash(), ts, pos);
  }
}
