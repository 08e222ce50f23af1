package io.migrationverifier.verify;

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

  /** A growable byte array writer (no streams: this runs several times per change event). */
  static final class Out {
    private byte[] buf = new byte[256];
    private int len;

    private void ensure(int n) {
      if (len + n > buf.length) {
        buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
      }
    }

    Out b(int v) {
      ensure(1);
      buf[len++] = (byte) v;
      return this;
    }

    Out i(int v) {
      ensure(4);
      buf[len++] = (byte) (v >>> 24);
      buf[len++] = (byte) (v >>> 16);
      buf[len++] = (byte) (v >>> 8);
      buf[len++] = (byte) v;
      return this;
    }

    Out l(long v) {
      ensure(8);
      for (int shift = 56; shift >= 0; shift -= 8) {
        buf[len++] = (byte) (v >>> shift);
      }
      return this;
    }

    Out bytes(byte[] v) {
      if (v == null) {
        return i(-1);
      }
      i(v.length);
      ensure(v.length);
      System.arraycopy(v, 0, buf, len, v.length);
      len += v.length;
      return this;
    }

    Out s(String v) {
      return bytes(v == null ? null : v.getBytes(StandardCharsets.UTF_8));
    }

    Out map(Map<String, String> m) {
      if (m == null) {
        return i(-1);
      }
      i(m.size());
      for (Map.Entry<String, String> e : m.entrySet()) {
        s(e.getKey());
        s(e.getValue());
      }
      return this;
    }

    byte[] toBytes() {
      return java.util.Arrays.copyOf(buf, len);
    }
  }

  /** Reads what {@link Out} wrote; a truncated or foreign value fails with an exception, never silently. */
  static final class In {
    private final byte[] buf;
    private int pos;

    In(byte[] b) {
      buf = b;
    }

    private void need(int n) {
      if (pos + n > buf.length) {
        throw new IllegalStateException("truncated state value: need " + n + " bytes at " + pos + " of " + buf.length);
      }
    }

    int b() {
      need(1);
      return buf[pos++] & 0xff;
    }

    int i() {
      need(4);
      int v = (buf[pos] & 0xff) << 24 | (buf[pos + 1] & 0xff) << 16 | (buf[pos + 2] & 0xff) << 8 | (buf[pos + 3] & 0xff);
      pos += 4;
      return v;
    }

    long l() {
      need(8);
      long v = 0;
      for (int k = 0; k < 8; k++) {
        v = (v << 8) | (buf[pos++] & 0xffL);
      }
      return v;
    }

    byte[] bytes() {
      int n = i();
      if (n < 0) {
        return null;
      }
      need(n);
      byte[] v = java.util.Arrays.copyOfRange(buf, pos, pos + n);
      pos += n;
      return v;
    }

    String s() {
      int n = i();
      if (n < 0) {
        return null;
      }
      need(n);
      String v = new String(buf, pos, n, StandardCharsets.UTF_8);
      pos += n;
      return v;
    }

    SortedMap<String, String> map() {
      int n = i();
      if (n < 0) {
        return null;
      }
      TreeMap<String, String> m = new TreeMap<>();
      for (int k = 0; k < n; k++) {
        m.put(s(), s());
      }
      return m;
    }
  }
}
