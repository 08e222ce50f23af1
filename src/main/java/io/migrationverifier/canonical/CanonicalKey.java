package io.migrationverifier.canonical;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The record key of every topic (DESIGN section 3): {@code {"table":"orders","key":{"id":"42"}}}
 * as compact UTF-8 JSON, key columns sorted by name, values canonical text. Both sides produce
 * identical bytes for the same logical row, which is what co-partitions the two change topics
 * and lets the discrepancy topic be compacted per row.
 */
public record CanonicalKey(String table, SortedMap<String, String> key) {
  private static final JsonFactory JSON = new JsonFactory();

  public CanonicalKey {
    key = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(key));
  }

  public static CanonicalKey of(String table, Map<String, String> key) {
    return new CanonicalKey(table, new TreeMap<>(key));
  }

  public byte[] toBytes() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("table", table);
      g.writeObjectFieldStart("key");
      for (Map.Entry<String, String> e : key.entrySet()) {
        if (e.getValue() == null) {
          g.writeNullField(e.getKey());
        } else {
          g.writeStringField(e.getKey(), e.getValue());
        }
      }
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  @Override
  public String toString() {
    return new String(toBytes(), StandardCharsets.UTF_8);
  }

  /** Parses record-key bytes; throws {@link IllegalArgumentException} naming what is wrong. */
  public static CanonicalKey parse(byte[] bytes) {
    if (bytes == null) {
      throw new IllegalArgumentException("record key is null");
    }
    String table = null;
    TreeMap<String, String> key = null;
    try (JsonParser p = JSON.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("record key is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String f = p.currentName();
        JsonToken t = p.nextToken();
        if ("table".equals(f) && t == JsonToken.VALUE_STRING) {
          table = p.getText();
        } else if ("key".equals(f) && t == JsonToken.START_OBJECT) {
          key = new TreeMap<>();
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String col = p.currentName();
            JsonToken vt = p.nextToken();
            if (vt == JsonToken.VALUE_NULL) {
              key.put(col, null);
            } else if (vt.isScalarValue()) {
              key.put(col, p.getText());
            } else {
              throw new IllegalArgumentException("record key column " + col + " is not a scalar");
            }
          }
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("record key is not valid JSON: " + e.getMessage(), e);
    }
    if (table == null || key == null || key.isEmpty()) {
      throw new IllegalArgumentException("record key needs a \"table\" string and a non-empty \"key\" object");
    }
    return new CanonicalKey(table, key);
  }
}
