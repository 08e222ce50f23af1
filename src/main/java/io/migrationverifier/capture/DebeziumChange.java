package io.migrationverifier.capture;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.event.Op;
import java.util.Map;

/**
 * One Debezium change event, read from its JSON: the row images keyed by physical column name
 * (values as Jackson nodes), what the schema says about each column, and the source block.
 */
public record DebeziumChange(Op op, Map<String, JsonNode> before, Map<String, JsonNode> after,
    Map<String, ColumnType> types, JsonNode source, long tsMs) {

  /** The image that describes the row after this change: {@code after}, or {@code before} for a delete. */
  public Map<String, JsonNode> image() {
    return op == Op.DELETE ? before : after;
  }

  public String table() {
    return source == null ? null : source.path("table").asText(null);
  }

  /** Schema (PostgreSQL) or database (MariaDB) the table lives in. */
  public String schemaOrDatabase() {
    if (source == null) {
      return null;
    }
    JsonNode schema = source.get("schema");
    return schema != null && !schema.isNull() ? schema.asText() : source.path("db").asText(null);
  }

  /** Commit time of the change in epoch ms ({@code source.ts_ms}; whole seconds on MariaDB). */
  public long commitTs() {
    return source == null ? tsMs : source.path("ts_ms").asLong(tsMs);
  }
}
