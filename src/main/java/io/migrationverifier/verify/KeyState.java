package io.migrationverifier.verify;

import io.migrationverifier.config.Side;
import io.migrationverifier.event.DiscrepancyKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What the verifier knows of one key: each side's current image (presence, hash, canonical row)
 * and the open disagreement, if any. An agreeing key stores its row once. When both sides are
 * present with rows that differ (a mismatch, or rows a tolerance or custom comparator calls equal)
 * the target row is stored as its difference from the source row, so a row differing in one
 * column costs one column more rather than a second copy. A table kept {@code state: hash-only}
 * holds no row while its key agrees (rows are then null although present): flags and one hash.
 *
 * <p>Values are version 1, or version 2 when the target row is such a difference (flag 32): an
 * instance of the previous release, during a rolling upgrade, then fails loudly on a version-2
 * value rather than misreading it.
 */
final class KeyState {
  static final long NONE = Long.MIN_VALUE;
  private static final int VERSION = 1;
  private static final int VERSION_TARGET_DELTA = 2;
  private static final int TARGET_DELTA = 32;

  boolean sourcePresent;
  String sourceHash;
  SortedMap<String, String> sourceRow;
  boolean targetPresent;
  String targetHash;
  SortedMap<String, String> targetRow;
  /** Event time the current disagreement started, or NONE. */
  long t0 = NONE;
  long deadline = NONE;
  boolean reported;
  String openId;
  DiscrepancyKind reportedKind;
  long detectedAt = NONE;

  void set(Side side, boolean present, String hash, SortedMap<String, String> row) {
    if (side == Side.SOURCE) {
      sourcePresent = present;
      sourceHash = present ? hash : null;
      sourceRow = present ? row : null;
    } else {
      targetPresent = present;
      targetHash = present ? hash : null;
      targetRow = present ? row : null;
    }
  }

  boolean disagreeing() {
    return t0 != NONE;
  }

  void clearDisagreement() {
    t0 = NONE;
    deadline = NONE;
    reported = false;
    openId = null;
    reportedKind = null;
    detectedAt = NONE;
  }

  boolean empty() {
    return !sourcePresent && !targetPresent && !disagreeing();
  }

  /** The kind this key's state amounts to right now (meaningful only while it disagrees). */
  DiscrepancyKind kindNow() {
    if (sourcePresent && !targetPresent) {
      return DiscrepancyKind.MISSING_IN_TARGET;
    }
    if (!sourcePresent && targetPresent) {
      return DiscrepancyKind.UNEXPECTED_IN_TARGET;
    }
    return DiscrepancyKind.VALUE_MISMATCH;
  }

  byte[] encode() {
    // both rows null: an agreeing key of a hash-only table, stored as flags and one hash
    boolean same = sourcePresent && targetPresent && sourceHash != null && sourceHash.equals(targetHash)
        && Objects.equals(sourceRow, targetRow);
    boolean delta = sourcePresent && targetPresent && !same && sourceRow != null && targetRow != null;
    int flags = (sourcePresent ? 1 : 0) | (targetPresent ? 2 : 0) | (same ? 4 : 0) | (disagreeing() ? 8 : 0)
        | (reported ? 16 : 0) | (delta ? TARGET_DELTA : 0);
    Bin.Out o = new Bin.Out().b(delta ? VERSION_TARGET_DELTA : VERSION).b(flags);
    if (sourcePresent) {
      o.s(sourceHash).map(sourceRow);
    }
    if (targetPresent && !same) {
      o.s(targetHash);
      if (delta) {
        writeDifference(o, sourceRow, targetRow);
      } else {
        o.map(targetRow);
      }
    }
    if (disagreeing()) {
      o.l(t0).l(deadline);
    }
    if (reported) {
      o.s(openId).b(reportedKind.ordinal()).l(detectedAt);
    }
    return o.toBytes();
  }

  /** The columns whose value differs in {@code to} (or that only it has), then the columns only {@code from} has. */
  private static void writeDifference(Bin.Out o, SortedMap<String, String> from, SortedMap<String, String> to) {
    SortedMap<String, String> changed = new TreeMap<>();
    for (Map.Entry<String, String> e : to.entrySet()) {
      // containsKey: a SQL NULL is a null value, not an absent column
      if (!from.containsKey(e.getKey()) || !Objects.equals(from.get(e.getKey()), e.getValue())) {
        changed.put(e.getKey(), e.getValue());
      }
    }
    List<String> removed = new ArrayList<>();
    for (String column : from.keySet()) {
      if (!to.containsKey(column)) {
        removed.add(column);
      }
    }
    o.map(changed).i(removed.size());
    removed.forEach(o::s);
  }

  private static SortedMap<String, String> readDifference(Bin.In in, SortedMap<String, String> from) {
    SortedMap<String, String> changed = in.map();
    int removed = in.i();
    if (changed == null || removed < 0) {
      throw new IllegalStateException("corrupt key-state value: bad target row difference");
    }
    SortedMap<String, String> to = new TreeMap<>(from);
    for (int k = 0; k < removed; k++) {
      to.remove(in.s());
    }
    to.putAll(changed);
    return to;
  }

  static KeyState decode(byte[] bytes) {
    KeyState s = new KeyState();
    if (bytes == null) {
      return s;
    }
    Bin.In in = new Bin.In(bytes);
    int version = in.b();
    if (version != VERSION && version != VERSION_TARGET_DELTA) {
      throw new IllegalStateException("unknown key-state version " + version);
    }
    int flags = in.b();
    if (((flags & TARGET_DELTA) != 0) != (version == VERSION_TARGET_DELTA)) {
      throw new IllegalStateException("corrupt key-state value: version " + version + " with flags " + flags);
    }
    s.sourcePresent = (flags & 1) != 0;
    s.targetPresent = (flags & 2) != 0;
    boolean same = (flags & 4) != 0;
    if (s.sourcePresent) {
      s.sourceHash = in.s();
      s.sourceRow = in.map();
    }
    if (s.targetPresent) {
      if (same) {
        s.targetHash = s.sourceHash;
        s.targetRow = s.sourceRow;
      } else if ((flags & TARGET_DELTA) != 0) {
        s.targetHash = in.s();
        s.targetRow = readDifference(in, s.sourceRow);
      } else {
        s.targetHash = in.s();
        s.targetRow = in.map();
      }
    }
    if ((flags & 8) != 0) {
      s.t0 = in.l();
      s.deadline = in.l();
    }
    if ((flags & 16) != 0) {
      s.reported = true;
      s.openId = in.s();
      s.reportedKind = DiscrepancyKind.values()[in.b()];
      s.detectedAt = in.l();
    }
    return s;
  }
}
