package io.migrationverifier.capture;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/**
 * The schema-caching reader against the general one ({@code parse(readTree(json))}, which is what
 * {@code parse(byte[])} and {@code parse(String)} did before the cache): same change, same
 * exception, for the golden events and for every variant of their layout.
 */
class DebeziumJsonTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static List<String> golden() throws IOException {
    List<String> lines = new ArrayList<>();
    for (String db : List.of("postgres", "mariadb")) {
      try (InputStream in = DebeziumJsonTest.class.getResourceAsStream("/golden/" + db + "/traps.jsonl")) {
        for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          if (!line.isBlank()) {
            lines.add(line);
          }
        }
      }
    }
    return lines;
  }

  private static Object outcome(Callable<Object> c) {
    try {
      return c.call();
    } catch (Exception e) {
      return "threw " + e.getClass().getName();
    }
  }

  /** parse(String) and parse(byte[]) agree with the general reader, on a first and on later reads. */
  private static void agrees(String json) {
    Object expected = outcome(() -> DebeziumJson.parse(MAPPER.readTree(json)));
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    Object expectedFromBytes = outcome(() -> DebeziumJson.parse(MAPPER.readTree(bytes)));
    for (int i = 0; i < 3; i++) {
      assertThat(outcome(() -> DebeziumJson.parse(json))).as("text, read %d: %s", i, json).isEqualTo(expected);
      assertThat(outcome(() -> DebeziumJson.parse(bytes))).as("bytes, read %d: %s", i, json).isEqualTo(expectedFromBytes);
    }
  }

  @Test
  void goldenEventsReadAlikeAndTheirSchemasAreCached() throws IOException {
    List<String> lines = golden();
    assertThat(lines).hasSize(36);
    for (String line : lines) {
      agrees(line);
    }
    for (String line : lines) {
      // read from the cache: the types of one schema are one shared, unmodifiable map
      DebeziumChange a = DebeziumJson.parse(line.getBytes(StandardCharsets.UTF_8));
      DebeziumChange b = DebeziumJson.parse(line.getBytes(StandardCharsets.UTF_8));
      DebeziumChange c = DebeziumJson.parse(line);
      DebeziumChange d = DebeziumJson.parse(line);
      assertThat(a.types()).isSameAs(b.types()).isNotEmpty();
      assertThat(c.types()).isSameAs(d.types()).isEqualTo(a.types());
    }
  }

  @Test
  void everyOtherLayoutAndEveryErrorReadsAsWithoutTheCache() throws IOException {
    String line = golden().get(0);
    agrees(line); // its schema is now cached
    int split = line.indexOf(",\"payload\":");
    String schema = line.substring("{\"schema\":".length(), split);
    String payload = line.substring(split + ",\"payload\":".length(), line.length() - 1);
    List<String> variants = new ArrayList<>(List.of(
        line + "\n",
        line + "  \r\n\t",
        line + " trailing",
        line + "{}",
        line + "}",
        " " + line,
        "{\"schema\": " + schema + ",\"payload\":" + payload + "}",
        "{\"schema\":" + schema + " ,\"payload\":" + payload + "}",
        "{\"schema\":" + schema + ", \"payload\":" + payload + "}",
        "{\"schema\":" + schema + ",\"payload\": " + payload + " }",
        "{\"schema\":" + schema + ",\"payload\":" + payload + ",\"extra\":1}",
        "{\"schema\":" + schema + ",\"payload\":" + payload + ",\"schema\":null}",
        "{\"schema\":" + schema + ",\"payload\":" + payload + ",\"payload\":" + payload + "}",
        "{\"schema\":" + schema + ",\"payload\":" + payload + "," + "}",
        "{\"schema\":" + schema + ",\"payload\":" + payload + "}}",
        "{\"schema\":" + schema + ",\"payload\":" + payload + "]",
        "{\"schema\":" + schema + ",\"payload\":" + payload,
        "{\"schema\":" + schema + ",\"payload\":" + payload + " " + payload + "}",
        "{\"schema\":" + schema + ",\"payload\":null}",
        "{\"schema\":" + schema + ",\"payload\":{}}",
        "{\"schema\":" + schema + ",\"payload\":{\"op\":\"x\"}}",
        "{\"schema\":" + schema + ",\"payload\":{\"op\":\"c\",\"after\":{\"id\":1,}}}",
        "{\"schema\":" + schema + ",\"payload\":{\"op\":\"c\",\"after\":{\"id\":1,\"note\":\"é ü 😀 \\u0000\"}}}",
        "{\"schema\":" + schema + ",\"payload\":{\"op\":\"d\",\"before\":{\"id\":1},\"after\":null,\"ts_ms\":5}}",
        "{\"schema\":" + schema + ",\"payload\":[1,2]}",
        "{\"schema\":" + schema + ",\"payload\":\"c\"}",
        "{\"schema\":" + schema + ",\"payload\":1}",
        "{\"schema\":" + schema.replace("\"INT8\"", "\"INT4\"") + ",\"payload\":" + payload + "}",
        "{\"schema\":" + schema.substring(0, schema.length() - 1) + ",\"payload\":" + payload + "}",
        "{\"schema\":" + schema + "}" + ",\"payload\":" + payload + "}",
        "{\"payload\":" + payload + ",\"schema\":" + schema + "}",
        "{\"schema\":null,\"payload\":" + payload + "}",
        "{\"schema\":{},\"payload\":" + payload + "}",
        payload,
        "",
        "{\"schema\":"));
    for (int cut = 0; cut < line.length(); cut += 97) {
      variants.add(line.substring(0, cut));
    }
    for (String v : variants) {
      agrees(v);
    }
  }

  @Test
  void theCacheIsBounded() throws IOException {
    String line = golden().get(0);
    for (int i = 0; i < DebeziumJson.MAX_SCHEMAS + 40; i++) {
      String event = line.replace("legacy.public.traps.Envelope", "legacy.public.traps" + i + ".Envelope");
      if (i % 50 == 0) {
        agrees(event);
      } else {
        DebeziumJson.parse(event);
        DebeziumJson.parse(event.getBytes(StandardCharsets.UTF_8));
      }
    }
    assertThat(DebeziumJson.cachedSchemas(false)).isLessThanOrEqualTo(DebeziumJson.MAX_SCHEMAS);
    assertThat(DebeziumJson.cachedSchemas(true)).isLessThanOrEqualTo(DebeziumJson.MAX_SCHEMAS);
    agrees(line); // evicted or not, still read alike
  }
}
