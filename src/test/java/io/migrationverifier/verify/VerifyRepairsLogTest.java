package io.migrationverifier.verify;

import static io.migrationverifier.config.Side.SOURCE;
import static io.migrationverifier.config.Side.TARGET;
import static io.migrationverifier.verify.VerifyTopologyTest.T;
import static io.migrationverifier.verify.VerifyTopologyTest.W;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.RepairLogEntry;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

/**
 * {@code <name>.repairs.log} as the verifier's third input: it only turns the {@code resolution}
 * of a RESOLVED event from {@code target-change} into {@code repaired}, and forgets what it kept.
 */
class VerifyRepairsLogTest {

  @Test
  void theRepairsLogFeedsTheVerifyProcessorInTheSubTopologyOfTheChangeTopics() {
    var config = VerifyTopologyTest.config();
    TopologyDescription d = VerifyTopology.build(config).describe();
    // one sub-topology = one task per partition number for all three topics: co-partitioned
    assertThat(d.subtopologies()).singleElement().satisfies(sub -> {
      TopologyDescription.Processor verify = sub.nodes().stream()
          .filter(n -> n.name().equals(VerifyTopology.VERIFY_NODE)).map(TopologyDescription.Processor.class::cast)
          .findFirst().orElseThrow();
      assertThat(verify.predecessors()).extracting(TopologyDescription.Node::name).containsExactlyInAnyOrder(
          VerifyTopology.SOURCE_NODE, VerifyTopology.TARGET_NODE, VerifyTopology.REPAIRS_LOG_NODE);
      assertThat(verify.stores()).contains(VerifyTopology.REPAIRS_STORE);
      assertThat(sub.nodes()).filteredOn(n -> n.name().equals(VerifyTopology.REPAIRS_LOG_NODE)).singleElement()
          .satisfies(n -> assertThat(((TopologyDescription.Source) n).topicSet())
              .containsExactly(config.topics().repairsLog()));
    });
  }

  /** Key 1 of orders: the source holds total 10, the target 7 from T + 10, reported one window later. */
  private static String reportedMismatch(VerifyHarness h) {
    h.put(SOURCE, "orders", "1", T, "total", "10").put(TARGET, "orders", "1", T + 10, "total", "7");
    h.watermarks(T + W + 10);
    List<JsonNode> out = h.readDiscrepancies();
    assertThat(out).extracting(d -> d.get("kind").asText()).containsExactly("VALUE_MISMATCH");
    return out.get(0).get("id").asText();
  }

  private static SortedMap<String, String> row(String id, String total) {
    return total == null ? null : new TreeMap<>(Map.of("id", id, "total", total));
  }

  /** A repair of orders {@code id} from {@code before} to {@code after} totals (null: no row). */
  private static RepairLogEntry repair(String repairId, String id, String discrepancyId, String before, String after,
      long appliedAt) {
    return new RepairLogEntry(repairId, RepairLogEntry.action(row(id, before), row(id, after)), "orders",
        new TreeMap<>(Map.of("id", id)), discrepancyId, discrepancyId == null ? "audit" : "stream", "source-wins",
        row(id, before), row(id, after), appliedAt, null);
  }

  private static JsonNode onlyResolved(VerifyHarness h) {
    List<JsonNode> out = h.readDiscrepancies();
    assertThat(out).extracting(d -> d.get("kind").asText()).containsExactly("RESOLVED");
    return out.get(0);
  }

  @Test
  void aRepairThatAnsweredTheOpenDiscrepancyResolvesItAsRepaired() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      String open = reportedMismatch(h);
      h.repairLogged(repair("r1", "1", open, "7", "10", T + 2 * W));
      assertThat(h.repairStoreEntries()).as("the repair and its expiry index entry").isEqualTo(2);
      h.put(TARGET, "orders", "1", T + 2 * W, "total", "10");
      h.watermarks(T + 5 * W);
      JsonNode resolved = onlyResolved(h);
      assertThat(resolved.get("resolution").asText()).isEqualTo("repaired");
      assertThat(resolved.get("resolves").asText()).isEqualTo(open);
      assertThat(resolved.get("resolvedAt").asLong()).isEqualTo(T + 2 * W);
      SchemaConformanceTest.assertValid("discrepancy.schema.json", resolved);
      assertThat(h.repairStoreEntries()).as("used, so forgotten").isZero();
    }
  }

  @Test
  void withoutARepairLogEntryTheSameFixIsATargetChange() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      reportedMismatch(h);
      h.put(TARGET, "orders", "1", T + 2 * W, "total", "10");
      h.watermarks(T + 5 * W);
      assertThat(onlyResolved(h).get("resolution").asText()).isEqualTo("target-change");
    }
  }

  @Test
  void aRepairWithoutDiscrepancyIdIsRecognisedByTheHashOfTheRowItWrote() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      reportedMismatch(h);
      h.repairLogged(repair("r1", "1", null, "7", "10", T + 2 * W));
      h.put(TARGET, "orders", "1", T + 2 * W, "total", "10");
      h.watermarks(T + 5 * W);
      assertThat(onlyResolved(h).get("resolution").asText()).isEqualTo("repaired");
      assertThat(h.repairStoreEntries()).isZero();
    }
  }

  @Test
  void aRepairThatDeletedIsRecognisedByTheDelete() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      h.put(TARGET, "orders", "2", T, "total", "5");
      h.watermarks(T + W + 10);
      assertThat(h.readDiscrepancies()).extracting(d -> d.get("kind").asText()).containsExactly("UNEXPECTED_IN_TARGET");
      h.repairLogged(repair("r1", "2", null, "5", null, T + 2 * W));
      h.delete(TARGET, "orders", "2", T + 2 * W);
      h.watermarks(T + 5 * W);
      assertThat(onlyResolved(h).get("resolution").asText()).isEqualTo("repaired");
      assertThat(h.repairStoreEntries()).isZero();
    }
  }

  @Test
  void aTargetChangeThatIsNotTheRepairsWriteAndAnswersNoOpenIdStaysATargetChange() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      reportedMismatch(h);
      // a repair of an older disagreement of the key, whose write is not the one that fixes it
      h.repairLogged(repair("r0", "1", "00000000-0000-0000-0000-000000000000", "7", "8", T + 2 * W));
      h.put(TARGET, "orders", "1", T + 2 * W, "total", "10");
      h.watermarks(T + 5 * W);
      assertThat(onlyResolved(h).get("resolution").asText()).isEqualTo("target-change");
      assertThat(h.repairStoreEntries()).as("the key agrees again: the repair can explain nothing later").isZero();
    }
  }

  @Test
  void anUndoClearsTheKeptRepair() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      String open = reportedMismatch(h);
      h.repairLogged(repair("r1", "1", open, "7", "10", T + 2 * W));
      RepairLogEntry r1 = repair("r1", "1", open, "7", "10", T + 2 * W);
      h.repairLogged(new RepairLogEntry("u1", RepairLogEntry.action(r1.after(), r1.before()), "orders", r1.key(), null,
          "undo", null, r1.after(), r1.before(), T + 3 * W, "r1"));
      assertThat(h.repairStoreEntries()).isZero();
      h.put(TARGET, "orders", "1", T + 2 * W, "total", "10");
      h.watermarks(T + 5 * W);
      assertThat(onlyResolved(h).get("resolution").asText()).isEqualTo("target-change");
    }
  }

  @Test
  void aSourceChangeThatResolvesItIsASourceChangeAndForgetsTheRepair() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      String open = reportedMismatch(h);
      h.repairLogged(repair("r1", "1", open, "7", "10", T + 2 * W));
      h.put(SOURCE, "orders", "1", T + 2 * W, "total", "7");
      h.watermarks(T + 5 * W);
      assertThat(onlyResolved(h).get("resolution").asText()).isEqualTo("source-change");
      assertThat(h.repairStoreEntries()).isZero();
    }
  }

  @Test
  void theRepairOfAKeyThatWasNeverReportedIsDroppedWhenItsWriteIsApplied() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      // an audit found key 3 wrong before the stream's window passed; its repair lands within the window
      h.put(SOURCE, "orders", "3", T, "total", "1").put(TARGET, "orders", "3", T + 10, "total", "2");
      h.repairLogged(repair("r3", "3", null, "2", "1", T + 100));
      h.put(TARGET, "orders", "3", T + 100, "total", "1");
      h.watermarks(T + 5 * W);
      assertThat(h.readDiscrepancies()).isEmpty();
      assertThat(h.repairStoreEntries()).isZero();
    }
  }

  @Test
  void aRepairWhoseWriteNeverShowsUpExpiresOnceBothWatermarksPassItsMargin() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      h.put(SOURCE, "orders", "4", T, "total", "1").put(TARGET, "orders", "4", T + 10, "total", "1");
      h.watermarks(T + W);
      h.repairLogged(repair("r4", "4", null, "1", "2", T + 100)); // its write's change is lost (or came earlier)
      h.watermarks(T + 100 + VerifyProcessor.REPAIR_EXPIRY_MS);
      assertThat(h.repairStoreEntries()).as("not yet past appliedAt + margin").isEqualTo(2);
      h.watermark(SOURCE, T + 101 + VerifyProcessor.REPAIR_EXPIRY_MS);
      assertThat(h.repairStoreEntries()).as("the target watermark has not passed it").isEqualTo(2);
      h.watermark(TARGET, T + 101 + VerifyProcessor.REPAIR_EXPIRY_MS);
      assertThat(h.repairStoreEntries()).isZero();
      // a re-read log record that old is not kept at all
      h.repairLogged(repair("r5", "4", null, "1", "2", T + 100));
      assertThat(h.repairStoreEntries()).isZero();
      assertThat(h.readDiscrepancies()).isEmpty();
    }
  }

  @Test
  void theRepairsLogChangesNothingButTheResolutionLabel() {
    List<JsonNode> with = labelScenario(true);
    List<JsonNode> without = labelScenario(false);
    assertThat(with).extracting(d -> d.get("kind").asText() + ":" + d.path("resolution").asText())
        .containsExactly("VALUE_MISMATCH:", "MISSING_IN_TARGET:", "RESOLVED:repaired", "RESOLVED:target-change",
            "VALUE_MISMATCH:", "RESOLVED:source-change", "VALUE_MISMATCH:");
    assertThat(without).extracting(d -> d.path("resolution").asText())
        .containsExactly("", "", "target-change", "target-change", "", "source-change", "");
    assertThat(strip(with)).isEqualTo(strip(without));
  }

  private List<JsonNode> labelScenario(boolean logRepairs) {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      h.put(SOURCE, "orders", "1", T, "total", "10").put(TARGET, "orders", "1", T + 10, "total", "7");
      h.put(SOURCE, "orders", "2", T, "total", "1");
      h.watermarks(T + W + 10);
      if (logRepairs) {
        h.repairLogged(repair("r1", "1", null, "7", "10", T + 2 * W));
      }
      h.put(TARGET, "orders", "1", T + 2 * W, "total", "10");
      h.put(TARGET, "orders", "2", T + 2 * W, "total", "1");
      h.watermarks(T + 3 * W);
      h.put(SOURCE, "orders", "1", T + 4 * W, "total", "11");
      h.watermarks(T + 6 * W);
      if (logRepairs) {
        // logged after the key was reported again, but the source moved back before the write landed
        h.repairLogged(repair("r2", "1", null, "10", "11", T + 7 * W));
      }
      h.put(SOURCE, "orders", "1", T + 6 * W + 500, "total", "10");
      h.put(TARGET, "orders", "1", T + 7 * W, "total", "11");
      h.watermarks(T + 9 * W);
      return h.readDiscrepancies();
    }
  }

  private static List<String> strip(List<JsonNode> events) {
    return events.stream().map(d -> {
      ObjectNode o = d.deepCopy();
      o.remove("emittedAt");
      o.remove("resolution");
      return o.toString();
    }).toList();
  }

  @Test
  void malformedRepairLogRecordsGoToTheDeadLetterTopicAndProcessingGoesOn() {
    try (VerifyHarness h = new VerifyHarness(VerifyTopologyTest.config())) {
      byte[] key = "{\"table\":\"orders\",\"key\":{\"id\":\"1\"}}".getBytes(StandardCharsets.UTF_8);
      String valid = "{\"v\":1,\"id\":\"r\",\"action\":\"update\",\"table\":\"orders\",\"key\":{\"id\":\"1\"},"
          + "\"after\":{\"id\":\"1\",\"total\":\"10\"},\"appliedAt\":" + (T + 2 * W) + "}";
      h.rawRepairLog(key, "not json".getBytes(StandardCharsets.UTF_8));
      h.rawRepairLog(key, null);
      h.rawRepairLog(key, "{\"v\":2}".getBytes(StandardCharsets.UTF_8));
      h.rawRepairLog(key, valid.replace("\"appliedAt\":" + (T + 2 * W), "\"appliedAt\":null")
          .getBytes(StandardCharsets.UTF_8));
      h.rawRepairLog(key, valid.replace("\"id\":\"r\",", "").getBytes(StandardCharsets.UTF_8));
      h.rawRepairLog(key, valid.replace("\"table\":\"orders\"", "\"table\":\"nope\"").getBytes(StandardCharsets.UTF_8));
      h.rawRepairLog(null, valid.getBytes(StandardCharsets.UTF_8));
      h.rawRepairLog("{\"table\":\"orders\",\"key\":{\"id\":\"2\"}}".getBytes(StandardCharsets.UTF_8),
          valid.getBytes(StandardCharsets.UTF_8));
      h.rawRepairLog(key, valid.replace("{\"id\":\"1\",\"total\":\"10\"}", "[1]").getBytes(StandardCharsets.UTF_8));
      List<TestRecord<byte[], byte[]>> dead = h.dlq.readRecordsToList();
      assertThat(dead).hasSize(9);
      for (TestRecord<byte[], byte[]> r : dead) {
        for (String name : List.of(DeadLetters.EXCEPTION, DeadLetters.MESSAGE, DeadLetters.STACKTRACE,
            DeadLetters.PARTITION, DeadLetters.OFFSET)) {
          assertThat(r.headers().lastHeader(name)).as(name).isNotNull();
        }
        assertThat(header(r, DeadLetters.TOPIC)).isEqualTo("test.repairs.log");
      }
      assertThat(dead.get(0).value()).isEqualTo("not json".getBytes(StandardCharsets.UTF_8));
      assertThat(header(dead.get(0), DeadLetters.MESSAGE)).contains("not valid JSON");
      assertThat(header(dead.get(1), DeadLetters.MESSAGE)).contains("null value");
      assertThat(header(dead.get(2), DeadLetters.MESSAGE)).contains("\"v\" must be 1");
      assertThat(header(dead.get(3), DeadLetters.MESSAGE)).contains("appliedAt");
      assertThat(header(dead.get(4), DeadLetters.MESSAGE)).contains("\"id\" is missing");
      assertThat(header(dead.get(5), DeadLetters.MESSAGE)).contains("unknown table \"nope\"");
      assertThat(header(dead.get(6), DeadLetters.MESSAGE)).contains("null record key");
      assertThat(header(dead.get(7), DeadLetters.MESSAGE)).contains("does not match");
      assertThat(header(dead.get(8), DeadLetters.MESSAGE)).contains("\"after\" must be an object");
      assertThat(h.repairStoreEntries()).isZero();
      // and the verifier, repairs log included, still works
      String open = reportedMismatch(h);
      h.rawRepairLog(key, valid.replace("\"id\":\"r\",", "\"id\":\"r\",\"discrepancyId\":\"" + open + "\",")
          .getBytes(StandardCharsets.UTF_8));
      h.put(TARGET, "orders", "1", T + 2 * W, "total", "10");
      h.watermarks(T + 5 * W);
      assertThat(onlyResolved(h).get("resolution").asText()).isEqualTo("repaired");
      assertThat(h.dlq.isEmpty()).isTrue();
    }
  }

  private static String header(TestRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return new String(h.value(), StandardCharsets.UTF_8);
  }
}
