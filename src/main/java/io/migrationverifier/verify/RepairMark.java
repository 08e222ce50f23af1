package io.migrationverifier.verify;

import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.event.RepairLogEntry;

/**
 * What {@code verify-repairs} keeps of the latest repair of a key: only what it takes to recognise
 * the target change the repair made, or the discrepancy it answered. The rows themselves are not
 * kept: the hash of the after-image is what the capture of that write will carry.
 *
 * @param id            the repair's id (diagnostics)
 * @param discrepancyId the discrepancy it answered, or null
 * @param afterHash     canonical hash of the row it wrote; null when it deleted the row
 * @param appliedAt     wall-clock epoch ms of its commit, on the repair's host: bounds how long it is kept
 */
record RepairMark(String id, String discrepancyId, String afterHash, long appliedAt) {
  private static final int VERSION = 1;

  static RepairMark of(RepairLogEntry e) {
    return new RepairMark(e.id(), e.discrepancyId(), e.after() == null ? null
        : e.afterHash() != null ? e.afterHash() : CanonicalRow.of(e.after()).hash(),
        e.appliedAt());
  }

  /** Whether a target change with this op and hash is the write this repair made. */
  boolean wrote(boolean delete, String hash) {
    return afterHash == null ? delete : !delete && afterHash.equals(hash);
  }

  boolean answers(String openId) {
    return discrepancyId != null && discrepancyId.equals(openId);
  }

  byte[] encode() {
    return new Bin.Out().b(VERSION).s(id).s(discrepancyId).s(afterHash).l(appliedAt).toBytes();
  }

  /** Null for null: a key without a stored repair. */
  static RepairMark decode(byte[] bytes) {
    if (bytes == null) {
      return null;
    }
    Bin.In in = new Bin.In(bytes);
    int version = in.b();
    if (version != VERSION) {
      throw new IllegalStateException("unknown repair-mark version " + version);
    }
    return new RepairMark(in.s(), in.s(), in.s(), in.l());
  }
}
