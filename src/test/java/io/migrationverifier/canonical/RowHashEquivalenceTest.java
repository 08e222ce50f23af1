package io.migrationverifier.canonical;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.migrationverifier.config.Side;
import io.migrationverifier.testutil.Configs;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The row hash and the row building, made faster, against what they replace: the hash against
 * the previous encoder (reproduced below as it was) and a plain MurmurHash3 x64 128 (checked
 * against the reference vector), the rows built by {@link TableCanonicalizer#row} against rows
 * merged column by column (the target side of the table below maps two physical columns to one
 * logical name, the case where the last one wins).
 */
class RowHashEquivalenceTest {

  // ---- the encoding before the speed-up, and MurmurHash3 written plainly ----

  static String referenceHash(Map<String, String> sortedValues) {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    for (Map.Entry<String, String> e : sortedValues.entrySet()) {
      referenceString(buf, e.getKey());
      if (e.getValue() == null) {
        buf.write(0);
      } else {
        buf.write(1);
        referenceString(buf, e.getValue());
      }
    }
    byte[] b = buf.toByteArray();
    return referenceMurmur(b, b.length);
  }

  private static void referenceString(ByteArrayOutputStream buf, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    int n = b.length;
    while ((n & ~0x7f) != 0) {
      buf.write((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    buf.write(n);
    buf.writeBytes(b);
  }

  private static final long C1 = 0x87c37b91114253d5L;
  private static final long C2 = 0x4cf5ad432745937fL;

  static String referenceMurmur(byte[] data, int length) {
    long h1 = 0;
    long h2 = 0;
    int blocks = length / 16;
    for (int i = 0; i < blocks; i++) {
      long k1 = getLong(data, i * 16);
      long k2 = getLong(data, i * 16 + 8);
      k1 *= C1;
      k1 = Long.rotateLeft(k1, 31);
      k1 *= C2;
      h1 ^= k1;
      h1 = Long.rotateLeft(h1, 27);
      h1 += h2;
      h1 = h1 * 5 + 0x52dce729;
      k2 *= C2;
      k2 = Long.rotateLeft(k2, 33);
      k2 *= C1;
      h2 ^= k2;
      h2 = Long.rotateLeft(h2, 31);
      h2 += h1;
      h2 = h2 * 5 + 0x38495ab5;
    }
    long k1 = 0;
    long k2 = 0;
    int tail = blocks * 16;
    int rest = length & 15;
    for (int i = rest - 1; i >= 8; i--) {
      k2 ^= (long) (data[tail + i] & 0xff) << ((i - 8) * 8);
    }
    if (rest > 8) {
      k2 *= C2;
      k2 = Long.rotateLeft(k2, 33);
      k2 *= C1;
      h2 ^= k2;
    }
    for (int i = Math.min(rest, 8) - 1; i >= 0; i--) {
      k1 ^= (long) (data[tail + i] & 0xff) << (i * 8);
    }
    if (rest > 0) {
      k1 *= C1;
      k1 = Long.rotateLeft(k1, 31);
      k1 *= C2;
      h1 ^= k1;
    }
    h1 ^= length;
    h2 ^= length;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    h2 += h1;
    return String.format("%016x%016x", h1, h2);
  }

  private static long getLong(byte[] b, int i) {
    return (b[i] & 0xffL) | (b[i + 1] & 0xffL) << 8 | (b[i + 2] & 0xffL) << 16 | (b[i + 3] & 0xffL) << 24
        | (b[i + 4] & 0xffL) << 32 | (b[i + 5] & 0xffL) << 40 | (b[i + 6] & 0xffL) << 48 | (b[i + 7] & 0xffL) << 56;
  }

  private static long fmix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }

  private static final String[] PIECES = {"", "a", "id", "name", "x", "é", "ü", "😀", "\u0000", "\u0001", "\u001e", "\u007f",
      "\u0080", "\u00ff", "\u0100", "\ud800", "\udc00", "€", "abc def", "0123456789abcdef"};

  private static String randomText(Random r) {
    StringBuilder sb = new StringBuilder();
    int n = r.nextInt(8);
    for (int i = 0; i < n; i++) {
      sb.append(PIECES[r.nextInt(PIECES.length)]);
    }
    if (r.nextInt(30) == 0) {
      sb.append("y".repeat(100 + r.nextInt(20_000))); // two- and three-byte length prefixes
    }
    return sb.toString();
  }

  @Test
  void theRowHashIsTheSameEncodingAndMurmurAsBefore() {
    Random r = new Random(17);
    for (int i = 0; i < 20_000; i++) {
      Map<String, String> values = new HashMap<>();
      int columns = r.nextInt(25);
      for (int c = 0; c < columns; c++) {
        values.put(randomText(r) + c, r.nextInt(8) == 0 ? null : randomText(r));
      }
      CanonicalRow row = CanonicalRow.of(values);
      assertThat(row.hash()).as("%s", values).isEqualTo(referenceHash(new TreeMap<>(values)));
    }
    for (int len = 0; len < 300; len++) {
      byte[] data = new byte[len + 7];
      r.nextBytes(data);
      assertThat(Hash128.hex(data, len)).isEqualTo(referenceMurmur(data, len));
    }
    assertThat(referenceMurmur("The quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.UTF_8), 43))
        .isEqualTo("e34bbc7bbc071b6c7a433ca9c49a9347");
  }

  @Test
  void rowsAreTheSameWhateverTheColumnOrderAndLayout() {
    Canonicalizer c = Canonicalizer.forConfig(Configs.withTables("""
        tables:
          - name: t
            source-table: public.t
            target-table: modern.t
            key: [id]
            columns:
              - {name: total, target: total_amount, type: decimal, scale: 2}
              - {name: name, trim: true, case-insensitive: true}
              - {name: secret, ignore: true}
              - {name: only_target, source: null}
              - {name: doc, type: json}
        """, null));
    JsonNodeFactory f = JsonNodeFactory.instance;
    Map<String, JsonNode> pool = new LinkedHashMap<>();
    pool.put("id", f.numberNode(7));
    pool.put("total", f.textNode("1.805"));
    pool.put("total_amount", f.textNode("1.81"));
    pool.put("name", f.textNode("  Alice "));
    pool.put("secret", f.textNode("s"));
    pool.put("only_target", f.textNode("o"));
    pool.put("doc", f.textNode("{\"b\":1,\"a\":2}"));
    pool.put("extra", f.textNode("e"));
    pool.put("zeta", f.nullNode());
    pool.put("Alpha", f.booleanNode(true));
    Map<String, ColumnType> types = Map.of("id", new ColumnType("int64", null, "INT8", null, null),
        "extra", new ColumnType("string", null, "BPCHAR", 4, null));
    Random r = new Random(23);
    for (Side side : Side.values()) {
      TableCanonicalizer tc = c.table(side, "t").orElseThrow();
      for (int i = 0; i < 3_000; i++) {
        List<String> cols = new ArrayList<>(pool.keySet());
        Collections.shuffle(cols, r);
        cols = cols.subList(0, r.nextInt(cols.size() + 1));
        Map<String, JsonNode> image = new LinkedHashMap<>();
        TreeMap<String, String> expected = new TreeMap<>();
        for (String col : cols) {
          image.put(col, pool.get(col));
          // the row of each column on its own, merged: independent of order and layout
          expected.putAll(tc.row(Map.of(col, pool.get(col)), types).values());
        }
        for (int repeat = 0; repeat < 1 + r.nextInt(3); repeat++) { // the same layout again hits the cached order
          CanonicalRow row = tc.row(image, types);
          assertThat(row.values()).as("%s %s", side, cols).isEqualTo(expected);
          assertThat(new ArrayList<>(row.values().keySet())).isEqualTo(new ArrayList<>(expected.keySet()));
          assertThat(row.hash()).isEqualTo(referenceHash(expected)).isEqualTo(CanonicalRow.of(expected).hash());
        }
      }
    }
  }
}
