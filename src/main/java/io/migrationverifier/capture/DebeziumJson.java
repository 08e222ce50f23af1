package io.migrationverifier.capture;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.event.Op;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
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
 *
 * <p>Every event repeats its table's schema, which is most of the event (about 11 KB of a 12 KB
 * event with 20 columns). The column types of each distinct schema text are therefore cached
 * (bounded): an event shaped exactly as the JSON converter writes it,
 * {@code {"schema":<S>,"payload":<P>}} without blanks between the parts, whose {@code S} is a
 * schema seen before, is read by comparing {@code S} with the cached text and parsing only
 * {@code P}. Anything else (a new schema, another layout, an error) takes the general path: the
 * whole event is parsed as a tree, exactly as without the cache.
 */
public final class DebeziumJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String P = "__debezium.source.column.";
  private static final String HEAD = "{\"schema\":";
  private static final String MIDDLE = ",\"payload\":";
  private static final byte[] HEAD_BYTES = HEAD.getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MIDDLE_BYTES = MIDDLE.getBytes(StandardCharsets.US_ASCII);
  /** Bounds of each cache: distinct schemas, and their total length in bytes or chars. */
  static final int MAX_SCHEMAS = 512;
  static final long MAX_SCHEMA_CHARS = 16L << 20;
  private static final SchemaCache BYTE_SCHEMAS = new SchemaCache();
  private static final SchemaCache TEXT_SCHEMAS = new SchemaCache();

  private DebeziumJson() {}

  public static DebeziumChange parse(byte[] json) throws IOException {
    DebeziumChange fast = parseCached(json);
    if (fast != null && fast != KNOWN_SCHEMA) {
      return fast;
    }
    JsonNode root = MAPPER.readTree(json);
    DebeziumChange change = parse(root);
    if (fast == null && root.has("schema") && startsWith(json, 0, HEAD_BYTES)) {
      rememberSchema(json);
    }
    return change;
  }

  public static DebeziumChange parse(String json) throws IOException {
    DebeziumChange fast = parseCached(json);
    if (fast != null && fast != KNOWN_SCHEMA) {
      return fast;
    }
    JsonNode root = MAPPER.readTree(json);
    DebeziumChange change = parse(root);
    if (fast == null && root.has("schema") && json.startsWith(HEAD)) {
      rememberSchema(json);
    }
    return change;
  }

  public static DebeziumChange parse(JsonNode root) {
    JsonNode payload = root.has("payload") && root.has("schema") ? root.get("payload") : root;
    Op op = op(payload);
    Map<String, ColumnType> types = root.has("schema") ? columnTypes(root.get("schema")) : Map.of();
    return change(op, payload, types);
  }

  private static Op op(JsonNode payload) {
    Op op = Op.fromCode(payload.path("op").asText(null));
    if (op == null) {
      throw new IllegalArgumentException("not a Debezium change event: \"op\" is missing or unknown");
    }
    return op;
  }

  private static DebeziumChange change(Op op, JsonNode payload, Map<String, ColumnType> types) {
    return new DebeziumChange(op, image(payload.get("before")), image(payload.get("after")), types,
        payload.get("source"), payload.path("ts_ms").asLong(0));
  }

  // ---- the cached path ----

  /** One cached schema: its exact text (bytes or chars, by cache) and the column types it gives. */
  private static final class Schema {
    final byte[] bytes;
    final char[] chars;
    final Map<String, ColumnType> types;

    Schema(byte[] bytes, char[] chars, Map<String, ColumnType> types) {
      this.bytes = bytes;
      this.chars = chars;
      this.types = types;
    }

    int length() {
      return bytes != null ? bytes.length : chars.length;
    }

    boolean sameText(Schema o) {
      return bytes != null ? Arrays.equals(bytes, o.bytes) : Arrays.equals(chars, o.chars);
    }
  }

  /** Copy-on-write list of schemas, oldest first; bounded by count and total length. */
  private static final class SchemaCache {
    private volatile Schema[] schemas = new Schema[0];

    Schema[] all() {
      return schemas;
    }

    synchronized void add(Schema s) {
      Schema[] current = schemas;
      for (Schema c : current) {
        if (c.length() == s.length() && c.sameText(s)) {
          return; // another thread was first
        }
      }
      long total = s.length();
      int keep = 0;
      // keep the newest that fit with the new one
      for (int i = current.length - 1; i >= 0; i--) {
        if (keep + 1 >= MAX_SCHEMAS || total + current[i].length() > MAX_SCHEMA_CHARS) {
          break;
        }
        total += current[i].length();
        keep++;
      }
      Schema[] next = Arrays.copyOfRange(current, current.length - keep, current.length + 1);
      next[keep] = s;
      schemas = next;
    }
  }

  /** How many schemas the byte[] (or, with {@code text}, the String) cache holds; for tests. */
  static int cachedSchemas(boolean text) {
    return (text ? TEXT_SCHEMAS : BYTE_SCHEMAS).all().length;
  }

  /** What {@code parseCached} answers when S is cached but the rest is not as expected: read it in full, cache nothing. */
  private static final DebeziumChange KNOWN_SCHEMA = new DebeziumChange(null, null, null, Map.of(), null, 0);

  /**
   * The change, if json is {@code {"schema":S,"payload":P}} with a cached S; {@link #KNOWN_SCHEMA}
   * if S is cached but the rest is not like that; otherwise null.
   */
  private static DebeziumChange parseCached(byte[] json) throws IOException {
    if (!startsWith(json, 0, HEAD_BYTES)) {
      return null;
    }
    int n = json.length;
    int start = HEAD_BYTES.length;
    for (Schema s : BYTE_SCHEMAS.all()) {
      int end = start + s.bytes.length;
      // a complete JSON value equal to S ends where S ends: the payload must follow right there
      if (end + MIDDLE_BYTES.length < n && startsWith(json, end, MIDDLE_BYTES)
          && Arrays.equals(json, start, end, s.bytes, 0, s.bytes.length)) {
        int close = lastNonBlank(json, n);
        int from = end + MIDDLE_BYTES.length;
        if (close <= from || json[close] != '}') {
          return KNOWN_SCHEMA;
        }
        try (JsonParser p = MAPPER.createParser(json, from, close - from)) {
          return payloadChange(p, s.types);
        } catch (JacksonException e) {
          return KNOWN_SCHEMA; // the general path reports it as it always did
        }
      }
    }
    return null;
  }

  private static DebeziumChange parseCached(String json) throws IOException {
    if (!json.startsWith(HEAD)) {
      return null;
    }
    int n = json.length();
    int start = HEAD.length();
    char[] chars = null;
    for (Schema s : TEXT_SCHEMAS.all()) {
      int end = start + s.chars.length;
      if (end + MIDDLE.length() < n && json.startsWith(MIDDLE, end)) {
        if (chars == null) {
          // one copy of the event into a reused buffer: compared there (vectorized, unlike
          // String.regionMatches) and parsed from there
          chars = charBuffer(n);
          json.getChars(0, n, chars, 0);
        }
        if (!Arrays.equals(chars, start, end, s.chars, 0, s.chars.length)) {
          continue;
        }
        int close = n - 1;
        while (close > end && isBlank(chars[close])) {
          close--;
        }
        int from = end + MIDDLE.length();
        if (close <= from || chars[close] != '}') {
          return KNOWN_SCHEMA;
        }
        try (JsonParser p = MAPPER.createParser(chars, from, close - from)) {
          return payloadChange(p, s.types);
        } catch (JacksonException e) {
          return KNOWN_SCHEMA;
        }
      }
    }
    return null;
  }

  /** Events up to this many chars are copied into a buffer kept per thread; longer ones into a new array. */
  private static final int KEPT_BUFFER_CHARS = 1 << 20;
  private static final ThreadLocal<char[][]> CHAR_BUFFER = ThreadLocal.withInitial(() -> new char[1][]);

  private static char[] charBuffer(int n) {
    if (n > KEPT_BUFFER_CHARS) {
      return new char[n];
    }
    char[][] holder = CHAR_BUFFER.get();
    if (holder[0] == null || holder[0].length < n) {
      holder[0] = new char[Math.max(n, 16 * 1024)];
    }
    return holder[0];
  }

  /** The change from a parser over exactly the payload value; KNOWN_SCHEMA if anything else follows it. */
  private static DebeziumChange payloadChange(JsonParser p, Map<String, ColumnType> types) throws IOException {
    JsonNode payload = MAPPER.readTree(p);
    if (payload == null || p.nextToken() != null) {
      return KNOWN_SCHEMA;
    }
    return change(op(payload), payload, types);
  }

  /**
   * Caches the schema of an event that starts with {@code {"schema":} and has just been read
   * the general way. Its extent comes from the parser; the types from parsing it on its own.
   */
  private static void rememberSchema(byte[] json) {
    if (indexOf(json, MIDDLE_BYTES, HEAD_BYTES.length) < 0) {
      return; // the payload does not follow the schema as the converter writes it: never cacheable
    }
    try (JsonParser p = MAPPER.createParser(json)) {
      int[] extent = schemaExtent(p);
      if (extent == null || extent[0] != HEAD_BYTES.length || json[extent[1] - 1] != '}'
          || !startsWith(json, extent[1], MIDDLE_BYTES)) {
        return;
      }
      byte[] schema = Arrays.copyOfRange(json, extent[0], extent[1]);
      BYTE_SCHEMAS.add(new Schema(schema, null, cachedTypes(MAPPER.readTree(schema))));
    } catch (IOException | RuntimeException e) {
      // not cached: every event of this schema takes the general path
    }
  }

  private static void rememberSchema(String json) {
    if (json.indexOf(MIDDLE, HEAD.length()) < 0) {
      return;
    }
    try (JsonParser p = MAPPER.createParser(json)) {
      int[] extent = schemaExtent(p);
      if (extent == null || extent[0] != HEAD.length() || json.charAt(extent[1] - 1) != '}'
          || !json.startsWith(MIDDLE, extent[1])) {
        return;
      }
      String schema = json.substring(extent[0], extent[1]);
      TEXT_SCHEMAS.add(new Schema(null, schema.toCharArray(), cachedTypes(MAPPER.readTree(schema))));
    } catch (IOException | RuntimeException e) {
      // not cached
    }
  }

  /** Start and end offset (bytes or chars, by input) of the object value of a leading "schema" field. */
  private static int[] schemaExtent(JsonParser p) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME
        || !"schema".equals(p.currentName()) || p.nextToken() != JsonToken.START_OBJECT) {
      return null;
    }
    long start = offset(p.currentTokenLocation());
    p.skipChildren();
    long end = offset(p.currentLocation());
    return start < 0 || end <= start ? null : new int[] {(int) start, (int) end};
  }

  private static long offset(com.fasterxml.jackson.core.JsonLocation l) {
    return l.getByteOffset() >= 0 ? l.getByteOffset() : l.getCharOffset();
  }

  private static Map<String, ColumnType> cachedTypes(JsonNode schema) {
    return Collections.unmodifiableMap(columnTypes(schema));
  }

  private static boolean startsWith(byte[] json, int at, byte[] prefix) {
    return at + prefix.length <= json.length && Arrays.equals(json, at, at + prefix.length, prefix, 0, prefix.length);
  }

  private static int indexOf(byte[] json, byte[] part, int from) {
    for (int i = from, last = json.length - part.length; i <= last; i++) {
      if (json[i] == part[0] && startsWith(json, i, part)) {
        return i;
      }
    }
    return -1;
  }

  private static int lastNonBlank(byte[] json, int n) {
    int i = n - 1;
    while (i >= 0 && isBlank((char) json[i])) {
      i--;
    }
    return i;
  }

  private static boolean isBlank(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
  }

  // ---- the tree ----

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
