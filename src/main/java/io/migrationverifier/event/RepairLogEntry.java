package io.migrationverifier.event;

import java.util.Objects;
import java.util.SortedMap;

/**
 * One applied repair on {@code <name>.repairs.log} (DESIGN section 5), keyed by the row's record
 * key like every other topic. The before-image is what the target held when the fenced write
 * locked it; the after-image is what the repair wrote (both canonical, logical column names; null
 * = no row). {@code repair undo} writes the before-image back where the target still holds the
 * after-image, and logs that as an entry of its own with {@code undoes} set.
 *
 * @param id            unique id of this repair
 * @param action        {@code insert}, {@code update} or {@code delete} on the target
 * @param table         logical table
 * @param key           canonical key
 * @param discrepancyId the discrepancy the repair answered (null for an undo or a check without event)
 * @param origin        what asked for it: {@code stream}, {@code audit}, {@code check}, {@code replay}, {@code undo}
 * @param policy        the conflict policy that decided the write
 * @param before        the target row before the write, null when absent: its faithful canonical
 *                      values (as stored, not blurred by comparison rules), what an undo writes back
 * @param after         the target row after the write (faithful, read inside the write's transaction),
 *                      null when deleted: what an undo's fence expects to find
 * @param appliedAt     wall-clock epoch ms right after the commit
 * @param undoes        for an undo: the id of the repair it reverted; else null
 * @param afterHash     the hash of the row written as the stream compares it (capture's hash of the
 *                      change this write causes); null when deleted or unknown
 */
public record RepairLogEntry(
    String id,
    String action,
    String table,
    SortedMap<String, String> key,
    String discrepancyId,
    String origin,
    String policy,
    SortedMap<String, String> before,
    SortedMap<String, String> after,
    long appliedAt,
    String undoes,
    String afterHash) {
  public static final int VERSION = 1;

  /** An entry without {@code afterHash} (the verifier then hashes {@code after} itself). */
  public RepairLogEntry(String id, String action, String table, SortedMap<String, String> key, String discrepancyId,
      String origin, String policy, SortedMap<String, String> before, SortedMap<String, String> after,
      long appliedAt, String undoes) {
    this(id, action, table, key, discrepancyId, origin, policy, before, after, appliedAt, undoes, null);
  }

  public RepairLogEntry {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(table, "table");
    Objects.requireNonNull(key, "key");
  }

  public boolean isUndo() {
    return undoes != null;
  }

  /** The action that writes {@code before} where {@code after} is now. */
  public static String action(SortedMap<String, String> before, SortedMap<String, String> after) {
    return after == null ? "delete" : before == null ? "insert" : "update";
  }
}
