package io.migrationverifier.verify;

import static io.migrationverifier.config.Side.SOURCE;
import static io.migrationverifier.config.Side.TARGET;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.Watermark;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The JSON Schemas in topology-docs describe what the code really writes. */
class SchemaConformanceTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final long T = 1_700_000_000_000L;

  static JsonSchema schema(String name) {
    return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(TopologyDocs.schema(name));
  }

  static void assertValid(String schema, JsonNode event) {
    assertThat(schema(schema).validate(event)).as(schema + " vs " + event).isEmpty();
  }

  @Test
  void changeAndWatermarkEventsConform() throws Exception {
    var upsert = VerifyHarness.event(SOURCE, "orders", "1", Op.UPDATE,
        CanonicalRow.of(VerifyHarness.row("id", "1", "total", "1.8")), T, "00000000000000000042");
    var delete = VerifyHarness.event(TARGET, "orders", "1", Op.DELETE, null, T, "00000000000000000043");
    assertValid("change-event.schema.json", JSON.readTree(EventCodec.encode(upsert)));
    assertValid("change-event.schema.json", JSON.readTree(EventCodec.encode(delete)));
    assertValid("watermark.schema.json", JSON.readTree(EventCodec.encode(new Watermark(SOURCE, T))));
    // and the schema rejects what the verifier would dead-letter
    assertThat(schema("change-event.schema.json").validate(JSON.readTree("{\"v\":1,\"side\":\"left\"}"))).isNotEmpty();
  }

  @Test
  void discrepancyAndHealthEventsOfEveryKindConform() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      h.put(SOURCE, "orders", "1", T, "total", "1")
          .put(TARGET, "orders", "2", T, "total", "1")
          .put(SOURCE, "orders", "3", T, "total", "1").put(TARGET, "orders", "3", T, "total", "2");
      h.watermarks(T + 5_000);
      h.put(TARGET, "orders", "1", T + 6_000, "total", "1");
      h.watermark(SOURCE, T + 30_000).watermark(TARGET, T + 30_000);
      h.watermark(SOURCE, T + 60_000);
      List<JsonNode> out = h.readDiscrepancies();
      assertThat(out).extracting(d -> d.get("kind").asText())
          .contains("MISSING_IN_TARGET", "UNEXPECTED_IN_TARGET", "VALUE_MISMATCH", "RESOLVED");
      out.forEach(d -> assertValid("discrepancy.schema.json", d));
      List<JsonNode> health = h.readHealth();
      assertThat(health).isNotEmpty();
      health.forEach(e -> assertValid("health-event.schema.json", e));
    }
  }
}
