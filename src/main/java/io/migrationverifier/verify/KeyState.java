package io.migrationverifier.verify;

import io.migrationverifier.config.Side;
import io.migrationverifier.event.DiscrepancyKind;
import java.util.SortedMap;

/**
 * What the verifier knows of one key: each side's current image (presence, hash, canonical row)
 * and the open disagreement, if any. An agreeing key stores its row once.
 */
final class KeyState {
  static final long NONE = Long.MIN_VALUE;
  private static final int VERSION = 1;

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
    boolean same = sourcePresent && targetPresent && sourceHash != null && sourceHash.equals(targetHash)
        && sourceRow != null && sourceRow.equals(targetRow);
    int flags = (sourcePresent ? 1 : 0) | (targetPresent ? 2 : 0) | (same ? 4 : 0) | (disagreeing() ? 8 : 0)
        | (reported ? 16 : 0);
    Bin.Out o = new Bin.Out().b(VERSION).b(flags);
    if (sourcePresent) {
      o.s(sourceHash).map(sourceRow);
    }
    if (targetPresent && !same) {
      o.s(targetHash).map(targetRow);
    }
    if (disagreeing()) {
      o.l(t0).l(deadline);
    }
    if (reported) {
      o.s(openId).b(reportedKind.ordinal()).l(detectedAt);
    }
    return o.toBytes();
  }

  static KeyState decode(byte[] bytes) {
    KeyState s = new KeyState();
    if (bytes == null) {
      return s;
    }
    Bin.In in = new Bin.In(bytes);
    int version = in.b();
    if (version != VERSION) {
      throw new IllegalStateException("unknown key-state version " + version);
    }
    int flags = in.b();
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
