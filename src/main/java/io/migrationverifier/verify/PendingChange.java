package io.migrationverifier.verify;

import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.Op;
import java.util.SortedMap;

/**
 * A change waiting in {@code verify-pending} for both watermarks to pass it. Version 2 also holds
 * the change's before-image (tables kept {@code state: hash-only} only); version 1 values, written
 * before it existed, are still read.
 */
record PendingChange(byte[] stateKey, String table, Op op, String hash, SortedMap<String, String> row,
    SortedMap<String, String> before) {
  private static final int VERSION = 1;
  private static final int VERSION_WITH_BEFORE = 2;

  static byte[] encode(byte[] stateKey, ChangeEvent e, boolean keepBefore) {
    boolean before = keepBefore && e.before() != null;
    Bin.Out o = new Bin.Out().b(before ? VERSION_WITH_BEFORE : VERSION).bytes(stateKey).s(e.table())
        .b(e.op().ordinal()).s(e.hash()).map(e.row() == null ? null : e.row().values());
    if (before) {
      o.map(e.before().values());
    }
    return o.toBytes();
  }

  static PendingChange decode(byte[] bytes) {
    Bin.In in = new Bin.In(bytes);
    int version = in.b();
    if (version != VERSION && version != VERSION_WITH_BEFORE) {
      throw new IllegalStateException("unknown pending-change version " + version);
    }
    return new PendingChange(in.bytes(), in.s(), Op.values()[in.b()], in.s(), in.map(),
        version == VERSION_WITH_BEFORE ? in.map() : null);
  }
}
