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
import io.migrationverifier.ops.Coverage;
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

  @Test
  void coverageRecordsOfBothKindsConform() throws Exception {
    assertValid("coverage.schema.json", JSON.readTree(Coverage.encode(
        Coverage.Entry.snapshot("orders", SOURCE, T, T + 2_000, 1234))));
    assertValid("coverage.schema.json", JSON.readTree(Coverage.encode(
        Coverage.Entry.snapshot("orders", TARGET, T, T + 2_000, 0))));
    JsonNode audit = JSON.readTree(Coverage.encode(Coverage.Entry.audit("orders", T, T + 9_000, 1000, 999, 1, "key")));
    assertValid("coverage.schema.json", audit);
    assertThat(audit.has("side") && audit.get("side").isNull()).as("an audit's side is null").isTrue();
    // and it rejects what the gate would not count
    assertThat(schema("coverage.schema.json").validate(JSON.readTree(
        "{\"v\":1,\"table\":\"orders\",\"kind\":\"snapshot\",\"side\":null,\"startedAt\":1,\"completedAt\":2,"
            + "\"rows\":3}"))).as("a snapshot without side").isNotEmpty();
    assertThat(schema("coverage.schema.json").validate(JSON.readTree(
        "{\"v\":1,\"table\":\"orders\",\"kind\":\"audit\",\"side\":null,\"startedAt\":1,\"completedAt\":2}")))
        .as("an audit without its counts").isNotEmpty();
  }

  @Test
  void everySchemaInTheJarIsPublishedInTopologyDocs() throws Exception {
    try (var files = java.nio.file.Files.list(java.nio.file.Path.of("src/main/resources/schemas"))) {
      assertThat(files.map(f -> f.getFileName().toString()).toList())
          .as("schemas shipped in the jar but not listed in TopologyDocs.SCHEMAS (so not in topology-docs/)")
          .containsExactlyInAnyOrderElementsOf(TopologyDocs.SCHEMAS);
    }
  }
}
