package io.migrationverifier.event;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.verify.VerifyStreamsConfig;
import io.migrationverifier.verify.VerifyTopology;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The verify topology under TopologyTestDriver, the same history with and without
 * {@code pii}: the same discrepancies are detected (kinds, ids, keys, differing columns), the
 * masked run shows {@code ***} and {@code hmac:...} where the plain one shows the values, and a
 * change only in a masked column is still detected and resolved (the stores compare exact values).
 */
class PiiMaskingTopologyTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final long T = 1_700_000_000_000L;
  static final long W = 1_000;
  static final String KEY = "topology-test-pii-key-0123";

  static VerifierConfig config(boolean pii) {
    String email = pii ? ", pii: hash" : "";
    String phone = pii ? ", pii: mask" : "";
    return ConfigLoader.parse("""
        name: shop
        source: {type: postgres, database: legacy, user: verifier}
        target: {type: postgres, database: modern, user: verifier}
        verify: {window: 1s, stall-threshold: 10s%s}
        tables:
          - name: customers
            key: [id]
            columns:
              - {name: email%s}
              - {name: phone%s}
        """.formatted(pii ? ", pii-key: \"${env:PII_KEY}\"" : "", email, phone), Map.of("PII_KEY", KEY)::get);
  }

  /** One history: a value mismatch in a hashed column, a masked-only mismatch, a missing row, and a fix. */
  static List<JsonNode> run(VerifierConfig config, Path dir) throws IOException {
    Properties p = VerifyStreamsConfig.properties(config, "ttd:9092");
    p.put("state.dir", Files.createTempDirectory(dir, "state").toString());
    try (TopologyTestDriver driver = new TopologyTestDriver(VerifyTopology.build(config), p,
        Instant.parse("2030-01-01T00:00:00Z"))) {
      ByteArraySerializer ser = new ByteArraySerializer();
      TestInputTopic<byte[], byte[]> src = driver.createInputTopic(config.topics().changes(Side.SOURCE), ser, ser);
      TestInputTopic<byte[], byte[]> tgt = driver.createInputTopic(config.topics().changes(Side.TARGET), ser, ser);
      TestOutputTopic<byte[], byte[]> out = driver.createOutputTopic(config.topics().discrepancies(),
          new ByteArrayDeserializer(), new ByteArrayDeserializer());
      int[] pos = {0};
      java.util.function.BiConsumer<TestInputTopic<byte[], byte[]>, ChangeEvent> send = (topic, e) ->
          topic.pipeInput(new TestRecord<>(e.canonicalKey().toBytes(), EventCodec.encode(e)));
      java.util.function.LongConsumer watermarks = wm -> {
        src.pipeInput(new TestRecord<>(null, EventCodec.encode(new Watermark(Side.SOURCE, wm))));
        tgt.pipeInput(new TestRecord<>(null, EventCodec.encode(new Watermark(Side.TARGET, wm))));
      };
      watermarks.accept(T - 1);
      send.accept(src, put(Side.SOURCE, "1", T, "ann@example.com", "+33 1 23 45", ++pos[0]));
      send.accept(tgt, put(Side.TARGET, "1", T + 5, "ann@example.org", "+33 1 23 45", ++pos[0]));
      send.accept(src, put(Side.SOURCE, "2", T, "bob@example.com", "+44 20 7946", ++pos[0]));
      send.accept(tgt, put(Side.TARGET, "2", T + 5, "bob@example.com", "+44 20 0000", ++pos[0]));
      send.accept(src, put(Side.SOURCE, "3", T, "cy@example.com", "+1 555 0100", ++pos[0]));
      watermarks.accept(T + W + 10);
      // the masked-only difference is fixed on the target: RESOLVED, which needs the exact stored rows
      send.accept(tgt, put(Side.TARGET, "2", T + 2 * W, "bob@example.com", "+44 20 7946", ++pos[0]));
      watermarks.accept(T + 4 * W);
      List<JsonNode> events = new ArrayList<>();
      for (byte[] v : out.readValuesToList()) {
        events.add(JSON.readTree(v));
      }
      return events;
    }
  }

  static ChangeEvent put(Side side, String id, long ts, String email, String phone, int pos) {
    Map<String, String> row = new TreeMap<>(Map.of("id", id, "email", email, "phone", phone));
    return ChangeEvent.of(side, "customers", new TreeMap<>(Map.of("id", id)), Op.UPDATE, CanonicalRow.of(row), ts,
        String.format("%020d", pos));
  }

  static JsonNode find(List<JsonNode> events, String id, String kind) {
    return events.stream().filter(e -> e.get("key").get("id").asText().equals(id) && e.get("kind").asText()
        .equals(kind)).findFirst().orElseThrow(() -> new AssertionError("no " + kind + " for " + id + " in " + events));
  }

  @Test
  void maskedDiscrepanciesAreDetectedExactlyLikePlainOnes(@TempDir Path dir) throws Exception {
    List<JsonNode> plain = run(config(false), dir);
    List<JsonNode> masked = run(config(true), dir);

    assertThat(masked).extracting(e -> e.get("id").asText() + " " + e.get("kind").asText() + " "
            + e.get("key") + " " + e.get("fields").findValuesAsText("name"))
        .as("detection is unchanged").isEqualTo(plain.stream().map(e -> e.get("id").asText() + " "
            + e.get("kind").asText() + " " + e.get("key") + " " + e.get("fields").findValuesAsText("name")).toList());
    assertThat(plain).extracting(e -> e.get("key").get("id").asText() + ":" + e.get("kind").asText())
        .containsExactlyInAnyOrder("1:VALUE_MISMATCH", "2:VALUE_MISMATCH", "3:MISSING_IN_TARGET", "2:RESOLVED");

    JsonNode email = find(masked, "1", "VALUE_MISMATCH");
    assertThat(email.get("fields")).hasSize(1);
    assertThat(email.get("fields").get(0).get("source").asText()).matches("hmac:[0-9a-f]{32}");
    assertThat(email.get("fields").get(0).get("target").asText()).matches("hmac:[0-9a-f]{32}")
        .isNotEqualTo(email.get("fields").get(0).get("source").asText());
    assertThat(email.get("source").get("phone").asText()).isEqualTo("***");
    assertThat(email.get("source").get("id").asText()).isEqualTo("1");

    JsonNode phone = find(masked, "2", "VALUE_MISMATCH");
    assertThat(phone.get("fields").get(0).get("name").asText()).isEqualTo("phone");
    assertThat(phone.get("fields").get(0).get("source").asText()).isEqualTo("***");
    assertThat(phone.get("source").get("email").asText()).as("equal values hash equally")
        .isEqualTo(phone.get("target").get("email").asText()).startsWith("hmac:");
    assertThat(find(masked, "2", "RESOLVED").get("target").get("phone").asText()).isEqualTo("***");

    String all = masked.toString();
    for (String secret : List.of("ann@", "bob@", "cy@", "+33", "+44", "+1 555")) {
      assertThat(all).as("no masked value in any emitted discrepancy").doesNotContain(secret);
    }
    assertThat(plain.toString()).contains("ann@example.com", "+44 20 0000");
  }
}
