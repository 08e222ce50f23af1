package io.migrationverifier.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.config.Side;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * JSON of the event contracts (DESIGN section 3), written and read with Jackson's streaming API:
 * change events are on the hot path of both capture and verify.
 */
public final class EventCodec {
  private static final JsonFactory JSON = new JsonFactory();

  private EventCodec() {}

  // ---- change topics -----------------------------------------------------------------------

  public static byte[] encode(ChangeEvent e) {
    return write(g -> {
      g.writeStartObject();
      g.writeNumberField("v", ChangeEvent.VERSION);
      g.writeStringField("side", e.side().id());
      g.writeStringField("table", e.table());
      writeMap(g, "key", e.key());
      g.writeStringField("op", e.op().code());
      if (e.row() == null) {
        g.writeNullField("row");
      } else {
        writeMap(g, "row", e.row().values());
      }
      if (e.hash() == null) {
        g.writeNullField("hash");
      } else {
        g.writeStringField("hash", e.hash());
      }
      g.writeNumberField("ts", e.ts());
      g.writeStringField("pos", e.pos());
      if (e.before() != null) {
        writeMap(g, "before", e.before().values());
      }
      g.writeEndObject();
    });
  }

  public static byte[] encode(Watermark w) {
    return write(g -> {
      g.writeStartObject();
      g.writeNumberField("v", ChangeEvent.VERSION);
      g.writeStringField("side", w.side().id());
      g.writeNumberField("watermark", w.watermark());
      g.writeEndObject();
    });
  }

  /** Reads a change-topic value; throws {@link MalformedEventException} saying what is wrong. */
  public static ChangeRecord decodeChange(byte[] bytes) {
    if (bytes == null) {
      throw new MalformedEventException("null value (tombstone): change topics carry no tombstones");
    }
    Integer v = null;
    String side = null;
    String table = null;
    TreeMap<String, String> key = null;
    String op = null;
    TreeMap<String, String> row = null;
    TreeMap<String, String> before = null;
    boolean rowSeen = false;
    String hash = null;
    Long ts = null;
    String pos = null;
    Long watermark = null;
    boolean[] escaped = {false};
    try (JsonParser p = JSON.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedEventException("value is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String f = p.currentName();
        JsonToken t = p.nextToken();
        switch (f) {
          case "v" -> v = t == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : -1;
          case "side" -> side = t == JsonToken.VALUE_STRING ? p.getText() : null;
          case "table" -> table = t == JsonToken.VALUE_STRING ? unicode(p.getText(), "table") : null;
          case "key" -> key = t == JsonToken.START_OBJECT ? readMap(p, "key", null) : null;
          case "op" -> op = t == JsonToken.VALUE_STRING ? p.getText() : null;
          case "row" -> {
            rowSeen = true;
            if (t == JsonToken.START_OBJECT) {
              row = readMap(p, "row", escaped);
            } else if (t != JsonToken.VALUE_NULL) {
              throw new MalformedEventException("\"row\" must be an object or null");
            }
          }
          case "before" -> {
            if (t == JsonToken.START_OBJECT) {
              // its own flag: a lone surrogate in the old image says nothing about the writer's hash of the row
              before = readMap(p, "before", new boolean[1]);
            } else if (t != JsonToken.VALUE_NULL) {
              throw new MalformedEventException("\"before\" must be an object or null");
            }
          }
          case "hash" -> hash = t == JsonToken.VALUE_STRING ? p.getText() : null;
          case "ts" -> ts = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : null;
          case "pos" -> pos = t == JsonToken.VALUE_STRING ? unicode(p.getText(), "pos") : null;
          case "watermark" -> watermark = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : null;
          default -> p.skipChildren(); // unknown fields are allowed: newer writers may add some
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw new MalformedEventException("trailing content after the JSON object");
      }
    } catch (JsonProcessingException e) {
      throw new MalformedEventException("not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new MalformedEventException("unreadable value: " + e.getMessage(), e);
    }
    if (v == null || v != ChangeEvent.VERSION) {
      throw new MalformedEventException("\"v\" must be " + ChangeEvent.VERSION + " (got " + v + ")");
    }
    Side s = Side.fromId(side);
    if (s == null) {
      throw new MalformedEventException("\"side\" must be \"source\" or \"target\" (got " + side + ")");
    }
    if (watermark != null && table == null) {
      return new Watermark(s, watermark);
    }
    if (table == null || table.isEmpty()) {
      throw new MalformedEventException("\"table\" is missing (neither a change event nor a watermark)");
    }
    if (key == null || key.isEmpty()) {
      throw new MalformedEventException("\"key\" must be a non-empty object");
    }
    if (key.containsValue(null)) {
      // capture never writes one (a NULL key column is rejected there): two such rows would share a key
      throw new MalformedEventException("\"key\" has a null column: " + key);
    }
    Op o = Op.fromCode(op);
    if (o == null) {
      throw new MalformedEventException("\"op\" must be one of c, u, d, r (got " + op + ")");
    }
    if (ts == null) {
      throw new MalformedEventException("\"ts\" (commit time, epoch ms) is missing or not an integer");
    }
    if (pos == null || pos.isEmpty()) {
      throw new MalformedEventException("\"pos\" is missing");
    }
    CanonicalRow canonical = null;
    if (o != Op.DELETE) {
      if (!rowSeen || (row == null && hash == null)) {
        throw new MalformedEventException("\"row\" is required for op " + op);
      }
      if (row != null) {
        canonical = CanonicalRow.of(row);
        if (hash == null || escaped[0]) {
          // a writer's hash of a row with unpaired surrogates saw them as UTF-8 '?': not to be trusted
          hash = canonical.hash();
        }
      }
    } else {
      hash = null;
    }
    // trusted only as far as its hash matches what the verifier holds for the other side
    CanonicalRow beforeRow = before == null ? null : CanonicalRow.of(before);
    return new ChangeEvent(s, table, key, o, canonical, hash, ts, pos, beforeRow);
  }

  /**
   * @param escaped null: text with unpaired surrogates is malformed (names, keys); else such values
   *     are escaped (see {@link #escapeLoneSurrogates}) and {@code escaped[0]} says that one was
   */
  private static TreeMap<String, String> readMap(JsonParser p, String what, boolean[] escaped) throws IOException {
    TreeMap<String, String> m = new TreeMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = unicode(p.currentName(), what);
      JsonToken t = p.nextToken();
      if (t == JsonToken.VALUE_NULL) {
        m.put(name, null);
      } else if (t.isScalarValue()) {
        String text = p.getText();
        if (escaped == null) {
          m.put(name, unicode(text, what + "." + name));
        } else {
          String e = escapeLoneSurrogates(text);
          escaped[0] |= e != text;
          m.put(name, e);
        }
      } else {
        throw new MalformedEventException("\"" + what + "." + name + "\" must be a string or null (canonical form)");
      }
    }
    return m;
  }

  /**
   * Rejects a table name, key or position with an unpaired UTF-16 surrogate (JSON can spell one as
   * {@code "\\ud800"}): not Unicode, and as record-key bytes it would not be the key capture wrote.
   */
  static String unicode(String s, String where) {
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          throw new MalformedEventException("\"" + where + "\" holds an unpaired UTF-16 surrogate (\\u"
              + Integer.toHexString(c) + " at char " + i + "): not valid Unicode");
        }
      }
    }
    return s;
  }

  /**
   * {@code s} itself when it is valid Unicode; else a copy with each unpaired surrogate spelled as
   * the six characters of its JSON escape ({@code \\uD800}). A legacy database can hold such text
   * (PostgreSQL's {@code json} keeps {@code "\\ud800"} as written); compared as it would be
   * stored (UTF-8 '?'), it would equal a different value that holds a real '?'.
   */
  static String escapeLoneSurrogates(String s) {
    StringBuilder out = null;
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        if (out != null) {
          out.append(c).append(s.charAt(i + 1));
        }
        i++;
      } else if (Character.isSurrogate(c)) {
        if (out == null) {
          out = new StringBuilder(n + 8).append(s, 0, i);
        }
        out.append(String.format("\\u%04X", (int) c));
      } else if (out != null) {
        out.append(c);
      }
    }
    return out == null ? s : out.toString();
  }

  // ---- discrepancies and health ------------------------------------------------------------

  public static byte[] encode(Discrepancy d) {
    return write(g -> {
      g.writeStartObject();
      g.writeNumberField("v", Discrepancy.VERSION);
      g.writeStringField("id", d.id());
      g.writeStringField("kind", d.kind().name());
      g.writeStringField("table", d.table());
      writeMap(g, "key", d.key());
      g.writeStringField("detector", d.detector());
      g.writeNumberField("divergedSince", d.divergedSince());
      g.writeNumberField("detectedAt", d.detectedAt());
      writeNullableMap(g, "source", d.source());
      writeNullableMap(g, "target", d.target());
      g.writeArrayFieldStart("fields");
      for (FieldDiff f : d.fields()) {
        g.writeStartObject();
        g.writeStringField("name", f.name());
        writeNullableString(g, "source", f.source());
        writeNullableString(g, "target", f.target());
        if (f.missingOn() != null) {
          g.writeStringField("missingOn", f.missingOn());
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      if (d.kind() == DiscrepancyKind.RESOLVED) {
        g.writeStringField("resolves", d.resolves());
        g.writeNumberField("resolvedAt", d.resolvedAt());
        g.writeStringField("resolution", d.resolution());
        g.writeNumberField("openForMs", d.openForMs());
      }
      if (!d.rowsNotKept().isEmpty()) {
        g.writeArrayFieldStart("rowsNotKept");
        for (String side : d.rowsNotKept()) {
          g.writeString(side);
        }
        g.writeEndArray();
      }
      g.writeNumberField("emittedAt", d.emittedAt());
      g.writeEndObject();
    });
  }

  public static byte[] encode(HealthEvent h) {
    return write(g -> {
      g.writeStartObject();
      g.writeNumberField("v", 1);
      g.writeStringField("kind", h.kind());
      g.writeStringField("side", h.side());
      g.writeNumberField("partition", h.partition());
      if (h.watermark() == null) {
        g.writeNullField("watermark");
      } else {
        g.writeNumberField("watermark", h.watermark());
      }
      if (h.otherWatermark() == null) {
        g.writeNullField("otherWatermark");
      } else {
        g.writeNumberField("otherWatermark", h.otherWatermark());
      }
      g.writeNumberField("lagMs", h.lagMs());
      g.writeNumberField("emittedAt", h.emittedAt());
      g.writeEndObject();
    });
  }

  public static byte[] healthKey(String side, int partition) {
    return write(g -> {
      g.writeStartObject();
      g.writeStringField("side", side);
      g.writeNumberField("partition", partition);
      g.writeEndObject();
    });
  }

  // ---- helpers -----------------------------------------------------------------------------

  private interface Writer {
    void write(JsonGenerator g) throws IOException;
  }

  private static byte[] write(Writer w) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      w.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void writeMap(JsonGenerator g, String name, Map<String, String> m) throws IOException {
    g.writeObjectFieldStart(name);
    for (Map.Entry<String, String> e : m.entrySet()) {
      writeNullableString(g, e.getKey(), e.getValue());
    }
    g.writeEndObject();
  }

  private static void writeNullableMap(JsonGenerator g, String name, SortedMap<String, String> m) throws IOException {
    if (m == null) {
      g.writeNullField(name);
    } else {
      writeMap(g, name, m);
    }
  }

  private static void writeNullableString(JsonGenerator g, String name, String v) throws IOException {
    if (v == null) {
      g.writeNullField(name);
    } else {
      g.writeStringField(name, v);
    }
  }
}
