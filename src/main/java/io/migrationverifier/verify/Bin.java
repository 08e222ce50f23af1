package io.migrationverifier.verify;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Compact binary helpers for state-store values and order-preserving keys. State is read and
 * written on every change event, so it is not JSON.
 */
final class Bin {
  private Bin() {}

  /** 8 bytes whose unsigned lexicographic order is the signed order of {@code v}. */
  static void putSortableLong(byte[] b, int off, long v) {
    long x = v ^ Long.MIN_VALUE;
    for (int i = 7; i >= 0; i--) {
      b[off + i] = (byte) x;
      x >>>= 8;
    }
  }

  static long getSortableLong(byte[] b, int off) {
    long x = 0;
    for (int i = 0; i < 8; i++) {
      x = (x << 8) | (b[off + i] & 0xffL);
    }
    return x ^ Long.MIN_VALUE;
  }

  static final class Out {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream(128);
    private final DataOutputStream out = new DataOutputStream(buf);

    Out b(int v) {
      try {
        out.writeByte(v);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Out l(long v) {
      try {
        out.writeLong(v);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Out bytes(byte[] v) {
      try {
        if (v == null) {
          out.writeInt(-1);
        } else {
          out.writeInt(v.length);
          out.write(v);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Out s(String v) {
      return bytes(v == null ? null : v.getBytes(StandardCharsets.UTF_8));
    }

    Out map(Map<String, String> m) {
      try {
        if (m == null) {
          out.writeInt(-1);
          return this;
        }
        out.writeInt(m.size());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      for (Map.Entry<String, String> e : m.entrySet()) {
        s(e.getKey());
        s(e.getValue());
      }
      return this;
    }

    byte[] toBytes() {
      return buf.toByteArray();
    }
  }

  static final class In {
    private final DataInputStream in;

    In(byte[] b) {
      in = new DataInputStream(new java.io.ByteArrayInputStream(b));
    }

    int b() {
      try {
        return in.readUnsignedByte();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    long l() {
      try {
        return in.readLong();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    byte[] bytes() {
      try {
        int n = in.readInt();
        if (n < 0) {
          return null;
        }
        byte[] v = new byte[n];
        in.readFully(v);
        return v;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    String s() {
      byte[] v = bytes();
      return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }

    SortedMap<String, String> map() {
      int n;
      try {
        n = in.readInt();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (n < 0) {
        return null;
      }
      TreeMap<String, String> m = new TreeMap<>();
      for (int i = 0; i < n; i++) {
        m.put(s(), s());
      }
      return m;
    }
  }
}
