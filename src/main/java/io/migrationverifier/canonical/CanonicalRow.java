package io.migrationverifier.canonical;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A row in canonical form: logical column names (sorted) to canonical text, or null for SQL NULL.
 * Two sides holding the same logical row produce equal instances and equal {@link #hash()}es.
 */
public final class CanonicalRow {
  private final TreeMap<String, String> map;
  private final SortedMap<String, String> values;
  private String hash;

  private CanonicalRow(TreeMap<String, String> map) {
    this.map = map;
    this.values = Collections.unmodifiableSortedMap(map);
  }

  public static CanonicalRow of(Map<String, String> values) {
    return new CanonicalRow(new TreeMap<>(values));
  }

  /** Wraps a map the caller built and no longer touches. */
  static CanonicalRow wrap(TreeMap<String, String> values) {
    return new CanonicalRow(values);
  }

  public SortedMap<String, String> values() {
    return values;
  }

  public boolean has(String column) {
    return values.containsKey(column);
  }

  public String get(String column) {
    return values.get(column);
  }

  /**
   * 128-bit hash of the canonical form (32 hex chars). The encoding is unambiguous: every name
   * and value is length-prefixed, so no content can imitate a field boundary; NULL and the empty
   * string hash differently, and so do a missing column and a NULL one. Both sides compute it
   * independently, so the encoding never changes without a new event version.
   */
  public String hash() {
    String h = hash;
    if (h == null) {
      Encoder e = ENCODER.get();
      e.reset();
      for (Map.Entry<String, String> entry : map.entrySet()) { // the map itself: no read-only wrapper per entry
        e.string(entry.getKey());
        if (entry.getValue() == null) {
          e.put((byte) 0);
        } else {
          e.put((byte) 1);
          e.string(entry.getValue());
        }
      }
      h = Hash128.hex(e.buf, e.len);
      e.release();
      hash = h;
    }
    return h;
  }

  private static final ThreadLocal<Encoder> ENCODER = ThreadLocal.withInitial(Encoder::new);

  /** A reusable buffer: varint length + UTF-8 bytes per string. */
  private static final class Encoder {
    byte[] buf = new byte[1024];
    int len;

    void reset() {
      len = 0;
    }

    /** Drops a buffer that one very large row grew, instead of keeping it for the thread's lifetime. */
    void release() {
      if (buf.length > 1 << 20) {
        buf = new byte[1024];
      }
    }

    void put(byte b) {
      ensure(1);
      buf[len++] = b;
    }

    /** Varint byte length, then the UTF-8 bytes; ASCII (the common case) is written without encoding. */
    void string(String s) {
      int n = s.length();
      ensure(n + 5);
      int start = len;
      int pos = varint(start, n);
      byte[] b = buf;
      for (int i = 0; i < n; i++) {
        char c = s.charAt(i);
        if (c >= 0x80) {
          len = start;
          utf8(s);
          return;
        }
        b[pos + i] = (byte) c;
      }
      len = pos + n;
    }

    private void utf8(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      ensure(b.length + 5);
      len = varint(len, b.length);
      System.arraycopy(b, 0, buf, len, b.length);
      len += b.length;
    }

    /** Writes n as an unsigned LEB128 varint at pos (room is ensured); returns the position after it. */
    private int varint(int pos, int n) {
      byte[] b = buf;
      while ((n & ~0x7f) != 0) {
        b[pos++] = (byte) ((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      b[pos++] = (byte) n;
      return pos;
    }

    private void ensure(int extra) {
      if (len + extra > buf.length) {
        buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
      }
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CanonicalRow r && r.values.equals(values);
  }

  @Override
  public int hashCode() {
    return Objects.hash(values);
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
