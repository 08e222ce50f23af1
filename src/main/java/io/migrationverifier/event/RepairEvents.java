package io.migrationverifier.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.canonical.FieldDiff;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * JSON of the repair side's records: discrepancy events read back (the repair role's input), the
 * repair log and the review topic. Off the hot path of capture and verify, so Jackson's tree API.
 */
public final class RepairEvents {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RepairEvents() {}

  // ---- discrepancies -------------------------------------------------------------------------

  /** Reads a discrepancy event as {@link EventCodec#encode(Discrepancy)} writes it. */
  public static Discrepancy decodeDiscrepancy(byte[] bytes) {
    JsonNode n = tree(bytes, "discrepancy");
    int v = n.path("v").asInt(-1);
    if (v != Discrepancy.VERSION) {
      throw new MalformedEventException("\"v\" must be " + Discrepancy.VERSION + " (got " + n.get("v") + ")");
    }
    DiscrepancyKind kind;
    try {
      kind = DiscrepancyKind.valueOf(text(n, "kind", true));
    } catch (IllegalArgumentException e) {
      throw new MalformedEventException("\"kind\" is not a discrepancy kind: " + n.get("kind"));
    }
    String table = text(n, "table", true);
    SortedMap<String, String> key = map(n, "key");
    if (key == null || key.isEmpty()) {
      throw new MalformedEventException("\"key\" must be a non-empty object");
    }
    List<FieldDiff> fields = new ArrayList<>();
    JsonNode fs = n.get("fields");
    if (fs instanceof ArrayNode a) {
      for (JsonNode f : a) {
        fields.add(new FieldDiff(text(f, "name", true), nullableText(f, "source"), nullableText(f, "target"),
            nullableText(f, "missingOn")));
      }
    }
    return new Discrepancy(text(n, "id", true), kind, table, key, text(n, "detector", false),
        n.path("divergedSince").asLong(0), n.path("detectedAt").asLong(0), map(n, "source"), map(n, "target"),
        fields, nullableText(n, "resolves"), n.hasNonNull("resolvedAt") ? n.get("resolvedAt").asLong() : null,
        nullableText(n, "resolution"), n.hasNonNull("openForMs") ? n.get("openForMs").asLong() : null,
        n.path("emittedAt").asLong(0), rowsNotKept(n));
  }

  private static List<String> rowsNotKept(JsonNode n) {
    List<String> sides = new ArrayList<>();
    JsonNode a = n.get("rowsNotKept");
    if (a instanceof ArrayNode arr) {
      for (JsonNode s : arr) {
        if (!s.isTextual() || io.migrationverifier.config.Side.fromId(s.asText()) == null) {
          throw new MalformedEventException("\"rowsNotKept\" must list \"source\" and/or \"target\" (got " + a + ")");
        }
        sides.add(s.asText());
      }
    }
    return sides;
  }

  // ---- repair log ------------------------------------------------------------------------------

  public static byte[] encode(RepairLogEntry e) {
    ObjectNode o = JSON.createObjectNode();
    o.put("v", RepairLogEntry.VERSION);
    o.put("id", e.id());
    o.put("action", e.action());
    o.put("table", e.table());
    o.set("key", node(e.key()));
    o.put("discrepancyId", e.discrepancyId());
    o.put("origin", e.origin());
    o.put("policy", e.policy());
    o.set("before", node(e.before()));
    o.set("after", node(e.after()));
    o.put("appliedAt", e.appliedAt());
    o.put("undoes", e.undoes());
    if (e.afterHash() != null) {
      o.put("afterHash", e.afterHash());
    }
    return bytes(o);
  }

  public static RepairLogEntry decodeRepairLog(byte[] bytes) {
    JsonNode n = tree(bytes, "repair log entry");
    if (n.path("v").asInt(-1) != RepairLogEntry.VERSION) {
      throw new MalformedEventException("\"v\" must be " + RepairLogEntry.VERSION + " (got " + n.get("v") + ")");
    }
    SortedMap<String, String> key = map(n, "key");
    if (key == null || key.isEmpty()) {
      throw new MalformedEventException("\"key\" must be a non-empty object");
    }
    if (!n.path("appliedAt").canConvertToLong()) {
      throw new MalformedEventException("\"appliedAt\" (epoch ms) is missing");
    }
    return new RepairLogEntry(text(n, "id", true), text(n, "action", true), text(n, "table", true), key,
        nullableText(n, "discrepancyId"), nullableText(n, "origin"), nullableText(n, "policy"), map(n, "before"),
        map(n, "after"), n.get("appliedAt").asLong(), nullableText(n, "undoes"), nullableText(n, "afterHash"));
  }

  // ---- review --------------------------------------------------------------------------------

  /**
   * A record on {@code <name>.review}: a difference the policy leaves to a person. It carries the
   * rows as they were when judged (not the possibly older ones of the discrepancy) and why.
   */
  public static byte[] encodeReview(Discrepancy d, String table, SortedMap<String, String> key, String policy,
      String reason, SortedMap<String, String> source, SortedMap<String, String> target, long judgedAt) {
    ObjectNode o = JSON.createObjectNode();
    o.put("v", 1);
    o.put("table", table);
    o.set("key", node(key));
    o.put("discrepancyId", d == null ? null : d.id());
    o.put("kind", d == null ? null : d.kind().name());
    o.put("policy", policy);
    o.put("reason", reason);
    o.set("source", node(source));
    o.set("target", node(target));
    o.put("judgedAt", judgedAt);
    return bytes(o);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private static JsonNode tree(byte[] bytes, String what) {
    if (bytes == null) {
      throw new MalformedEventException("null value: a " + what + " is a JSON object");
    }
    JsonNode n;
    try {
      n = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new MalformedEventException("not valid JSON: " + e.getMessage(), e);
    }
    if (n == null || !n.isObject()) {
      throw new MalformedEventException("a " + what + " must be a JSON object");
    }
    return n;
  }

  private static String text(JsonNode n, String field, boolean required) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      if (required) {
        throw new MalformedEventException("\"" + field + "\" is missing");
      }
      return null;
    }
    if (!v.isValueNode()) {
      throw new MalformedEventException("\"" + field + "\" must be a string");
    }
    return v.asText();
  }

  private static String nullableText(JsonNode n, String field) {
    return text(n, field, false);
  }

  private static SortedMap<String, String> map(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isObject()) {
      throw new MalformedEventException("\"" + field + "\" must be an object or null");
    }
    TreeMap<String, String> m = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode x = e.getValue();
      if (x.isNull()) {
        m.put(e.getKey(), null);
      } else if (x.getNodeType() == JsonNodeType.OBJECT || x.getNodeType() == JsonNodeType.ARRAY) {
        throw new MalformedEventException("\"" + field + "." + e.getKey() + "\" must be a string or null");
      } else {
        m.put(e.getKey(), x.asText());
      }
    }
    return m;
  }

  private static JsonNode node(Map<String, String> m) {
    if (m == null) {
      return JSON.nullNode();
    }
    ObjectNode o = JSON.createObjectNode();
    m.forEach(o::put);
    return o;
  }

  private static byte[] bytes(JsonNode n) {
    try {
      return JSON.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
