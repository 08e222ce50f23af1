package io.migrationverifier.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.canonical.Hash128;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Shortens the long values of an event that would not fit in one Kafka record (a producer's
 * {@code max.request.size}, 1 MiB by default): a row with a multi-megabyte text or bytea column,
 * or a discrepancy carrying two large rows. A cut value keeps a prefix and ends with a marker
 * naming its full length and the hash of its full text, so two different values stay different
 * after the cut (a comparison of cut rows never calls different values equal) and equal values stay
 * equal. The row's {@code hash} in a change event is still that of the full row.
 */
public final class OversizeValues {
  /** Values longer than this many chars (plus the marker's length) are cut first; it halves until the event fits. */
  public static final int FIRST_CUT_CHARS = 1024;
  /** Only values longer than the kept prefix plus this are cut: a cut always makes a value shorter. */
  private static final int MARKER_CHARS = 64;
  private static final ObjectMapper JSON = new ObjectMapper();

  private OversizeValues() {}

  /** {@code v} itself when at most {@code maxChars} (plus the marker's length) long, else its prefix plus the marker. */
  public static String cut(String v, int maxChars) {
    if (v == null || v.length() <= maxChars + MARKER_CHARS) {
      return v;
    }
    int end = maxChars;
    if (end > 0 && Character.isHighSurrogate(v.charAt(end - 1))) {
      end--; // never split a surrogate pair: the prefix must stay valid Unicode
    }
    return v.substring(0, end) + "…[cut: " + v.length() + " chars, hash "
        + Hash128.hex(v.getBytes(StandardCharsets.UTF_8)) + "]";
  }

  public static SortedMap<String, String> cut(Map<String, String> row, int maxChars) {
    SortedMap<String, String> out = new TreeMap<>();
    row.forEach((k, v) -> out.put(k, cut(v, maxChars)));
    return out;
  }

  /**
   * An encoded discrepancy event of at most {@code maxBytes}: {@code json} itself when it fits,
   * else re-encoded with the values of {@code source}, {@code target} and {@code fields} cut
   * (halving the kept length down to none, the marker alone). Only a row of thousands of columns
   * can still exceed {@code maxBytes} then; the shortest version is returned anyway.
   */
  public static byte[] fitDiscrepancy(byte[] json, int maxBytes) {
    if (json.length <= maxBytes) {
      return json;
    }
    try {
      JsonNode original = JSON.readTree(json);
      for (int chars = FIRST_CUT_CHARS; ; chars /= 2) {
        ObjectNode d = original.deepCopy();
        cutObject(d.get("source"), chars);
        cutObject(d.get("target"), chars);
        JsonNode fields = d.get("fields");
        if (fields != null) {
          for (JsonNode f : fields) {
            cutObject(f, chars);
          }
        }
        byte[] out = JSON.writeValueAsBytes(d);
        if (out.length <= maxBytes || chars == 0) {
          return out;
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("a discrepancy event this process encoded is not JSON", e);
    }
  }

  private static void cutObject(JsonNode node, int chars) {
    if (!(node instanceof ObjectNode o)) {
      return;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isTextual() && !e.getKey().equals("name") && !e.getKey().equals("missingOn")) {
        e.setValue(o.textNode(cut(e.getValue().asText(), chars)));
      }
    }
  }
}
