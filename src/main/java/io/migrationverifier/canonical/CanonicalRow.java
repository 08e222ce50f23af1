package io.migrationverifier.canonical;

import java.io.ByteArrayOutputStream;
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
  private static final byte FIELD_SEP = 0x1e;
  private static final byte NAME_SEP = 0x1f;
  private final SortedMap<String, String> values;
  private String hash;

  private CanonicalRow(SortedMap<String, String> values) {
    this.values = Collections.unmodifiableSortedMap(values);
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
   * 128-bit hash of the canonical form (32 hex chars). NULL and the empty string hash
   * differently, and so do a missing column and a NULL one.
   */
  public String hash() {
    String h = hash;
    if (h == null) {
      ByteArrayOutputStream buf = new ByteArrayOutputStream(32 * values.size() + 16);
      for (Map.Entry<String, String> e : values.entrySet()) {
        buf.writeBytes(e.getKey().getBytes(StandardCharsets.UTF_8));
        buf.write(NAME_SEP);
        if (e.getValue() == null) {
          buf.write(0);
        } else {
          buf.write(1);
          buf.writeBytes(e.getValue().getBytes(StandardCharsets.UTF_8));
        }
        buf.write(FIELD_SEP);
      }
      h = Hash128.hex(buf.toByteArray());
      hash = h;
    }
    return h;
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
