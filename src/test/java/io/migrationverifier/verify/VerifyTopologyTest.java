package io.migrationverifier.verify;

import static io.migrationverifier.config.Side.SOURCE;
import static io.migrationverifier.config.Side.TARGET;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.testutil.Configs;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

/** DESIGN section 4, scenario by scenario, under TopologyTestDriver with explicit event times. */
class VerifyTopologyTest {
  static final long W = 1_000; // window
  static final long T = 1_700_000_000_000L;

  static VerifierConfig config() {
    return Configs.withTables("""
        tables:
          - name: orders
            key: [id]
            columns:
              - {name: total, type: decimal}
          - name: readings
            key: [id]
            columns:
              - {name: value, type: float, tolerance: 0.01}
        """, "verify: {window: 1s, stall-threshold: 10s}");
  }

  @Test
  void eachDiscrepancyKindIsReportedOnceWithItsDetail() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      h.put(SOURCE, "orders", "1", T, "total", "10")                 // never reaches the target
          .put(TARGET, "orders", "2", T, "total", "5")               // only in the target
          .put(SOURCE, "orders", "3", T, "total", "7", "note", "a")
          .put(TARGET, "orders", "3", T + 10, "total", "7", "note", "b"); // wrong value
      h.watermarks(T + W - 1);
      assertThat(h.readDiscrepancies()).as("nothing before the window has passed on both sides").isEmpty();
      h.watermarks(T + W + 10);
      List<JsonNode> out = h.readDiscrepancies();
      assertThat(out).extracting(d -> d.get("key").get("id").asText() + ":" + d.get("kind").asText())
          .containsExactlyInAnyOrder("1:MISSING_IN_TARGET", "2:UNEXPECTED_IN_TARGET", "3:VALUE_MISMATCH");
      JsonNode mismatch = out.stream().filter(d -> d.get("kind").asText().equals("VALUE_MISMATCH")).findFirst().get();
      assertThat(mismatch.get("fields")).hasSize(1);
      assertThat(mismatch.get("fields").get(0).get("name").asText()).isEqualTo("note");
      assertThat(mismatch.get("fields").get(0).get("source").asText()).isEqualTo("a");
      assertThat(mismatch.get("fields").get(0).get("target").asText()).isEqualTo("b");
      assertThat(mismatch.get("divergedSince").asLong()).isEqualTo(T);
      assertThat(mismatch.get("detectedAt").asLong()).isEqualTo(T + W);
      assertThat(mismatch.get("detector").asText()).isEqualTo("stream");
      JsonNode missing = out.stream().filter(d -> d.get("kind").asText().equals("MISSING_IN_TARGET")).findFirst().get();
      assertThat(missing.get("source").get("total").asText()).isEqualTo("10");
      assertThat(missing.get("target").isNull()).isTrue();
      h.watermarks(T + 100 * W);
      assertThat(h.readDiscrepancies()).as("reported once").isEmpty();
    }
  }

  @Test
  void catchUpAfterAnOutageReportsNothingThatWasNotReallyThere() {
    // A backlog of correct changes, consumed long after their commit times, source side first in
    // full, then the target side: a verifier that trusted the wall clock would flood MISSING_IN_TARGET.
    try (VerifyHarness h = new VerifyHarness(config())) {
      h.driver.advanceWallClockTime(Duration.ofDays(3));
      for (int i = 0; i < 200; i++) {
        h.put(SOURCE, "orders", "k" + i, T + i * 50L, "total", Integer.toString(i));
        if (i % 20 == 0) {
          h.watermark(SOURCE, T + i * 50L);
        }
      }
      h.watermark(SOURCE, T + 200 * 50L + 5 * W);
      for (int i = 0; i < 200; i++) {
        h.put(TARGET, "orders", "k" + i, T + i * 50L + 300, "total", Integer.toString(i));
        if (i % 20 == 0) {
          h.watermark(TARGET, T + i * 50L);
        }
      }
      h.watermark(TARGET, T + 200 * 50L + 5 * W);
      assertThat(h.readDiscrepancies()).isEmpty();
      assertThat(h.readHealth()).as("the target trailed by more than the threshold while the source backlog ran ahead, then caught up").isNotEmpty()
          .extracting(e -> e.get("kind").asText()).containsExactly("SIDE_STALLED", "SIDE_RECOVERED");
    }
  }

  @Test
  void aSnapshotBaselineTakenLaterOnOneSideIsNotADiscrepancy() {
    try (VerifyHarness h = new VerifyHarness(config(), VerifyListener.NONE, false)) {
      // the source capture started (snapshot at T, watermark held there) an hour before the target's
      h.watermark(SOURCE, T);
      for (int i = 0; i < 20; i++) {
        h.put(SOURCE, "orders", "k" + i, T, "total", "1");
      }
      h.watermark(SOURCE, T + 3_600_000);
      h.watermark(TARGET, T + 3_600_000);
      for (int i = 0; i < 20; i++) {
        h.put(TARGET, "orders", "k" + i, T + 3_600_000, "total", i == 7 ? "2" : "1");
      }
      h.put(SOURCE, "orders", "only-source", T + 3_600_000 + 5, "total", "1");
      h.watermarks(T + 3_600_000 + 10 * W);
      // a real difference at the baseline is still reported, one window after both streams began
      assertThat(h.readDiscrepancies())
          .extracting(d -> d.get("key").get("id").asText() + ":" + d.get("kind").asText() + "@" + d.get("divergedSince"))
          .containsExactlyInAnyOrder("k7:VALUE_MISMATCH@" + (T + 3_600_000), "only-source:MISSING_IN_TARGET@"
              + (T + 3_600_000 + 5));
    }
  }

  @Test
  void wholeSecondCommitTimesOfMariaDbGetAGraceSecond() {
    // MariaDB's binlog says 12:00:00.000 for a commit at 12:00:00.900: a copy 1.3 s later on a
    // millisecond side must not look 2.2 s late against a 2 s window.
    VerifierConfig mariaTarget = Configs.withTargetDialect("mariadb", "tables:\n  - {name: orders, key: [id]}\n",
        "verify: {window: 2s}");
    try (VerifyHarness h = new VerifyHarness(mariaTarget)) {
      h.put(SOURCE, "orders", "2", T, "total", "1"); // never copied: still reported, within a second more
      h.put(TARGET, "orders", "1", T, "total", "1").put(SOURCE, "orders", "1", T + 2_183, "total", "1");
      h.watermarks(T + 10_000);
      assertThat(h.readDiscrepancies()).singleElement().satisfies(d -> {
        assertThat(d.get("key").get("id").asText()).isEqualTo("2");
        assertThat(d.get("detectedAt").asLong()).isEqualTo(T + 2_000 + 999);
      });
    }
  }

  @Test
  void noReportWhileTheOtherSidesWatermarkLags() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      h.put(SOURCE, "orders", "1", T, "total", "1");
      h.watermark(SOURCE, T + 50 * W).watermark(TARGET, T + W - 1);
      assertThat(h.readDiscrepancies()).as("the target may still deliver its copy").isEmpty();
      h.put(TARGET, "orders", "1", T + W - 1, "total", "1").watermark(TARGET, T + 50 * W);
      assertThat(h.readDiscrepancies()).as("the copy came within the window").isEmpty();
    }
  }

  @Test
  void lateFixIsResolvedAndAFixCommittedAfterTheDeadlineIsReportedEvenIfConsumedBefore() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      // the target's fix (T + 3W) is consumed before either watermark passed the deadline (T + W)
      h.put(SOURCE, "orders", "1", T, "total", "1");
      h.put(TARGET, "orders", "1", T + 3 * W, "total", "1");
      h.watermarks(T + 5 * W);
      List<JsonNode> out = h.readDiscrepancies();
      assertThat(out).extracting(d -> d.get("kind").asText()).containsExactly("MISSING_IN_TARGET", "RESOLVED");
      JsonNode resolved = out.get(1);
      assertThat(resolved.get("resolves").asText()).isEqualTo(out.get(0).get("id").asText());
      assertThat(resolved.get("resolvedAt").asLong()).isEqualTo(T + 3 * W);
      assertThat(resolved.get("openForMs").asLong()).isEqualTo(3 * W);
      assertThat(resolved.get("resolution").asText()).isEqualTo("target-change");
      assertThat(resolved.get("id").asText()).isNotEqualTo(out.get(0).get("id").asText());
    }
  }

  @Test
  void aFixCommittedExactlyAtTheDeadlineIsInTime() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      h.put(SOURCE, "orders", "1", T, "total", "1").put(TARGET, "orders", "1", T + W, "total", "1");
      h.watermarks(T + 10 * W);
      assertThat(h.readDiscrepancies()).isEmpty();
    }
  }

  @Test
  void aFlappingKeyReportsAtMostOncePerDisagreement() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      // disagreement 1: T .. T+3W, with the value changing kinds while it lasts
      h.put(SOURCE, "orders", "1", T, "total", "1");
      h.put(TARGET, "orders", "1", T + 100, "total", "2");
      h.put(TARGET, "orders", "1", T + 200, "total", "3");
      h.delete(TARGET, "orders", "1", T + 1_500);
      h.put(TARGET, "orders", "1", T + 3 * W, "total", "1");
      // short flaps within the window: never reported
      for (int i = 0; i < 5; i++) {
        long t = T + 4 * W + i * 2 * W;
        h.put(SOURCE, "orders", "1", t, "total", "x" + i);
        h.put(TARGET, "orders", "1", t + W / 2, "total", "x" + i);
      }
      // disagreement 2, long
      h.put(SOURCE, "orders", "1", T + 20 * W, "total", "final");
      h.watermarks(T + 30 * W);
      List<JsonNode> out = h.readDiscrepancies();
      assertThat(out).extracting(d -> d.get("kind").asText())
          .containsExactly("VALUE_MISMATCH", "RESOLVED", "VALUE_MISMATCH");
      // the kind is the state at t0 + window in event time: target held "3" then
      assertThat(out.get(0).get("target").get("total").asText()).isEqualTo("3");
      assertThat(out.get(0).get("divergedSince").asLong()).isEqualTo(T);
      assertThat(out.get(2).get("divergedSince").asLong()).isEqualTo(T + 20 * W);
    }
  }

  @Test
  void duplicateAndReplayedEventsChangeNothing() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      var c1 = VerifyHarness.event(SOURCE, "orders", "1", io.migrationverifier.event.Op.CREATE,
          io.migrationverifier.canonical.CanonicalRow.of(VerifyHarness.row("id", "1", "total", "1")), T, "p01");
      var d1 = VerifyHarness.event(SOURCE, "orders", "1", io.migrationverifier.event.Op.DELETE, null, T + 100, "p02");
      var t1 = VerifyHarness.event(TARGET, "orders", "1", io.migrationverifier.event.Op.CREATE,
          io.migrationverifier.canonical.CanonicalRow.of(VerifyHarness.row("id", "1", "total", "1")), T + 10, "q01");
      var t2 = VerifyHarness.event(TARGET, "orders", "1", io.migrationverifier.event.Op.DELETE, null, T + 110, "q02");
      h.send(SOURCE, c1).send(SOURCE, c1).send(SOURCE, d1).send(TARGET, t1).send(TARGET, t2);
      h.watermarks(T + 5 * W);
      // capture restarted from an old offset and replays everything, long after the fact
      h.send(SOURCE, c1).send(SOURCE, d1).send(TARGET, t1).send(TARGET, t2);
      h.watermarks(T + 50 * W);
      assertThat(h.readDiscrepancies()).isEmpty();
      assertThat(h.keyStateEntries()).as("deleted on both sides: no state left").isZero();
    }
  }

  @Test
  void deletesOnBothSidesClearTheKeysState() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      for (int i = 0; i < 50; i++) {
        h.put(SOURCE, "orders", "k" + i, T + i, "total", "1").put(TARGET, "orders", "k" + i, T + i + 5, "total", "1");
      }
      h.watermarks(T + 2 * W);
      assertThat(h.keyStateEntries()).isEqualTo(50);
      for (int i = 0; i < 50; i++) {
        h.delete(SOURCE, "orders", "k" + i, T + 3 * W + i).delete(TARGET, "orders", "k" + i, T + 3 * W + i + 7);
      }
      h.watermarks(T + 10 * W);
      assertThat(h.keyStateEntries()).isZero();
      assertThat(h.readDiscrepancies()).isEmpty();
    }
  }

  @Test
  void idleDatabasesWithOnlyHeartbeatsStillReportWithinWindowPlusOneHeartbeat() {
    long heartbeat = 200;
    try (VerifyHarness h = new VerifyHarness(config())) {
      h.put(SOURCE, "orders", "1", T, "total", "1");
      long wm = T;
      while (h.readDiscrepancies().isEmpty()) {
        wm += heartbeat; // heartbeats: watermarks advance while no data changes
        h.watermarks(wm);
        assertThat(wm).isLessThanOrEqualTo(T + W + heartbeat);
      }
      assertThat(wm).isGreaterThanOrEqualTo(T + W);
    }
  }

  @Test
  void aStalledSideIsAHealthSignalNotAFloodOfDiscrepancies() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      h.watermarks(T);
      for (int i = 0; i < 100; i++) {
        h.put(SOURCE, "orders", "k" + i, T + i * 100L, "total", "1");
        h.watermark(SOURCE, T + i * 100L);
      }
      h.watermark(SOURCE, T + 20_000); // the target capture is down: its watermark stays at T
      assertThat(h.readDiscrepancies()).isEmpty();
      List<JsonNode> health = h.readHealth();
      assertThat(health).hasSize(1);
      assertThat(health.get(0).get("kind").asText()).isEqualTo("SIDE_STALLED");
      assertThat(health.get(0).get("side").asText()).isEqualTo("target");
      assertThat(health.get(0).get("lagMs").asLong()).isGreaterThan(10_000);
      // the target capture comes back with its backlog: all copies were there after all
      for (int i = 0; i < 100; i++) {
        h.put(TARGET, "orders", "k" + i, T + i * 100L + 20, "total", "1");
      }
      h.watermark(TARGET, T + 20_000);
      assertThat(h.readDiscrepancies()).isEmpty();
      assertThat(h.readHealth()).extracting(e -> e.get("kind").asText()).containsExactly("SIDE_RECOVERED");
    }
  }

  @Test
  void malformedInputGoesToTheDeadLetterTopicWithHeadersAndProcessingGoesOn() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      byte[] key = "{\"table\":\"orders\",\"key\":{\"id\":\"1\"}}".getBytes(StandardCharsets.UTF_8);
      h.raw(SOURCE, key, "not json".getBytes(StandardCharsets.UTF_8));
      h.raw(SOURCE, key, new byte[] {(byte) 0xff, (byte) 0xfe, 0x00});
      h.raw(SOURCE, key, null);
      h.raw(SOURCE, "{\"table\":\"nope\",\"key\":{\"id\":\"1\"}}".getBytes(StandardCharsets.UTF_8),
          "{\"v\":1,\"side\":\"source\",\"table\":\"nope\",\"key\":{\"id\":\"1\"},\"op\":\"c\",\"row\":{\"id\":\"1\"},\"ts\":1,\"pos\":\"1\"}"
              .getBytes(StandardCharsets.UTF_8));
      h.raw(TARGET, key,
          "{\"v\":1,\"side\":\"source\",\"table\":\"orders\",\"key\":{\"id\":\"1\"},\"op\":\"c\",\"row\":{\"id\":\"1\"},\"ts\":1,\"pos\":\"1\"}"
              .getBytes(StandardCharsets.UTF_8));
      h.raw(SOURCE, null,
          "{\"v\":1,\"side\":\"source\",\"table\":\"orders\",\"key\":{\"id\":\"1\"},\"op\":\"c\",\"row\":{\"id\":\"1\"},\"ts\":1,\"pos\":\"1\"}"
              .getBytes(StandardCharsets.UTF_8));
      h.raw(SOURCE, "{\"table\":\"orders\",\"key\":{\"id\":\"2\"}}".getBytes(StandardCharsets.UTF_8),
          "{\"v\":1,\"side\":\"source\",\"table\":\"orders\",\"key\":{\"id\":\"1\"},\"op\":\"c\",\"row\":{\"id\":\"1\"},\"ts\":1,\"pos\":\"1\"}"
              .getBytes(StandardCharsets.UTF_8));
      h.raw(SOURCE, key, "{\"v\":2,\"side\":\"source\",\"watermark\":5}".getBytes(StandardCharsets.UTF_8));
      List<TestRecord<byte[], byte[]>> dead = h.dlq.readRecordsToList();
      assertThat(dead).hasSize(8);
      for (TestRecord<byte[], byte[]> r : dead) {
        assertThat(r.headers().lastHeader(DeadLetters.EXCEPTION)).isNotNull();
        assertThat(r.headers().lastHeader(DeadLetters.MESSAGE)).isNotNull();
        assertThat(r.headers().lastHeader(DeadLetters.STACKTRACE)).isNotNull();
        assertThat(r.headers().lastHeader(DeadLetters.PARTITION)).isNotNull();
        assertThat(r.headers().lastHeader(DeadLetters.OFFSET)).isNotNull();
      }
      assertThat(header(dead.get(0), DeadLetters.TOPIC)).isEqualTo("test.changes.source");
      assertThat(header(dead.get(0), DeadLetters.MESSAGE)).contains("not valid JSON");
      assertThat(dead.get(0).value()).isEqualTo("not json".getBytes(StandardCharsets.UTF_8));
      assertThat(header(dead.get(2), DeadLetters.MESSAGE)).contains("tombstone");
      assertThat(header(dead.get(3), DeadLetters.MESSAGE)).contains("unknown table \"nope\"");
      assertThat(header(dead.get(4), DeadLetters.MESSAGE)).contains("arrived on the target change topic");
      assertThat(header(dead.get(5), DeadLetters.MESSAGE)).contains("null record key");
      assertThat(header(dead.get(6), DeadLetters.MESSAGE)).contains("does not match");
      assertThat(header(dead.get(7), DeadLetters.MESSAGE)).contains("\"v\" must be 1");
      // and the verifier still works
      h.put(SOURCE, "orders", "9", T, "total", "1").watermarks(T + 2 * W);
      assertThat(h.readDiscrepancies()).hasSize(1);
    }
  }

  @Test
  void toleranceRulesApplyInTheStream() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      h.put(SOURCE, "readings", "1", T, "value", "1.000").put(TARGET, "readings", "1", T + 1, "value", "1.005");
      h.put(SOURCE, "readings", "2", T, "value", "1.000").put(TARGET, "readings", "2", T + 1, "value", "1.5");
      h.watermarks(T + 5 * W);
      assertThat(h.readDiscrepancies()).extracting(d -> d.get("key").get("id").asText()).containsExactly("2");
    }
  }

  @Test
  void discrepancyIdsAndContentAreDeterministicAcrossRuns() {
    List<String> first = runScenario();
    List<String> second = runScenario();
    assertThat(first).isNotEmpty().isEqualTo(second);
  }

  private List<String> runScenario() {
    try (VerifyHarness h = new VerifyHarness(config())) {
      h.put(SOURCE, "orders", "1", T, "total", "1").put(TARGET, "orders", "2", T, "total", "1");
      h.watermarks(T + 3 * W);
      h.driver.advanceWallClockTime(Duration.ofMinutes(7)); // wall clock moves only emittedAt
      h.put(TARGET, "orders", "1", T + 4 * W, "total", "1").watermarks(T + 9 * W);
      return h.readDiscrepancies().stream().map(d -> {
        ((com.fasterxml.jackson.databind.node.ObjectNode) d).remove("emittedAt");
        return d.toString();
      }).toList();
    }
  }

  private static String header(TestRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return new String(h.value(), StandardCharsets.UTF_8);
  }
}
