package io.migrationverifier.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.event.Op;
import java.io.IOException;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads Debezium's JSON change events as produced with {@link DebeziumSettings}: an envelope
 * {@code {"schema":...,"payload":{...}}} whose schema carries each column's type (Connect type,
 * Debezium semantic name and, thanks to {@code column.propagate.source.type}, the database's own
 * type, length and scale). A schemaless payload is accepted too; types are then inferred later
 * from the values.
 */
public final class DebeziumJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String P = "__debezium.source.column.";

  private DebeziumJson() {}

  public static DebeziumChange parse(byte[] json) throws IOException {
    return parse(MAPPER.readTree(json));
  }

  public static DebeziumChange parse(String json) throws IOException {
    return parse(MAPPER.readTree(json));
  }

  public static DebeziumChange parse(JsonNode root) {
    JsonNode payload = root.has("payload") && root.has("schema") ? root.get("payload") : root;
    Op op = Op.fromCode(payload.path("op").asText(null));
    if (op == null) {
      throw new IllegalArgumentException("not a Debezium change event: \"op\" is missing or unknown");
    }
    Map<String, ColumnType> types = root.has("schema") ? columnTypes(root.get("schema")) : Map.of();
    return new DebeziumChange(op, image(payload.get("before")), image(payload.get("after")), types,
        payload.get("source"), payload.path("ts_ms").asLong(0));
  }

  private static Map<String, JsonNode> image(JsonNode n) {
    if (n == null || n.isNull()) {
      return null;
    }
    Map<String, JsonNode> m = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      m.put(e.getKey(), e.getValue());
    }
    return m;
  }

  /** Column types from the envelope schema's {@code after} (or {@code before}) struct. */
  static Map<String, ColumnType> columnTypes(JsonNode schema) {
    for (JsonNode f : schema.path("fields")) {
      String name = f.path("field").asText();
      if (!name.equals("after") && !name.equals("before")) {
        continue;
      }
      Map<String, ColumnType> types = new HashMap<>();
      for (JsonNode col : f.path("fields")) {
        JsonNode params = col.path("parameters");
        types.put(col.path("field").asText(), new ColumnType(
            col.path("type").asText(null),
            col.path("name").asText(null),
            params.path(P + "type").asText(null),
            intOrNull(params.path(P + "length")),
            intOrNull(params.path(P + "scale"))));
      }
      return types;
    }
    return Collections.emptyMap();
  }

  private static Integer intOrNull(JsonNode n) {
    if (n.isMissingNode() || n.isNull()) {
      return null;
    }
    try {
      return Integer.parseInt(n.asText());
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
