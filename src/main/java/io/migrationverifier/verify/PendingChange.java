package io.migrationverifier.verify;

import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.Op;
import java.util.SortedMap;

/** A change waiting in {@code verify-pending} for both watermarks to pass it. */
record PendingChange(byte[] stateKey, String table, Op op, String hash, SortedMap<String, String> row) {
  private static final int VERSION = 1;

  static byte[] encode(byte[] stateKey, ChangeEvent e) {
    return new Bin.Out().b(VERSION).bytes(stateKey).s(e.table()).b(e.op().ordinal()).s(e.hash())
        .map(e.row() == null ? null : e.row().values()).toBytes();
  }

  static PendingChange decode(byte[] bytes) {
    Bin.In in = new Bin.In(bytes);
    int version = in.b();
    if (version != VERSION) {
      throw new IllegalStateException("unknown pending-change version " + version);
    }
    return new PendingChange(in.bytes(), in.s(), Op.values()[in.b()], in.s(), in.map());
  }
}
