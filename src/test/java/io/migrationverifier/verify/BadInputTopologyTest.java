package io.migrationverifier.verify;

import static io.migrationverifier.config.Side.SOURCE;
import static io.migrationverifier.config.Side.TARGET;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.OversizeValues;
import io.migrationverifier.testutil.Configs;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Issue 7, point 5 on the verifier's side: every kind of bad input on the change topics has one
 * documented outcome (a dead letter with headers, a metric through {@link VerifyListener}, a log
 * line), and the other keys and tables go on being verified. Fixed wall clock, explicit event times.
 */
class BadInputTopologyTest {
  static final long W = 1_000; // window
  static final long T = 1_700_000_000_000L;
  static final long STALL = 10_000;
  static final String SOURCE_TOPIC = "test.changes.source";
  static final String TARGET_TOPIC = "test.changes.target";

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

  /** What {@code ops/Metrics} would count, per call of the listener. */
  static final class Counts implements VerifyListener {
    final Map<String, AtomicLong> malformedByTopic = new ConcurrentHashMap<>();
    final List<String> reasons = new CopyOnWriteArrayList<>();
    final List<Long> lateBy = new CopyOnWriteArrayList<>();
    final AtomicLong duplicates = new AtomicLong();
    final List<Long> converged = new CopyOnWriteArrayList<>();
    final List<String> stalls = new CopyOnWriteArrayList<>();

    @Override
    public void malformed(String topic, String reason) {
      malformedByTopic.computeIfAbsent(topic, t -> new AtomicLong()).incrementAndGet();
      reasons.add(reason);
    }

    @Override
    public void lateChange(Side side, long lateByMs) {
      lateBy.add(lateByMs);
    }

    @Override
    public void duplicateIgnored(Side side) {
      duplicates.incrementAndGet();
    }

    @Override
    public void converged(String table, long disagreedForMs) {
      converged.add(disagreedForMs);
    }

    @Override
    public void stalled(int partition, Side side, boolean stalled) {
      stalls.add(side.id() + ":" + stalled);
    }

    long malformed(String topic) {
      AtomicLong n = malformedByTopic.get(topic);
      return n == null ? 0 : n.get();
    }
  }

  private final Logger processorLog = (Logger) LoggerFactory.getLogger(VerifyProcessor.class);
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

  @BeforeEach
  void captureLog() {
    logged.start();
    processorLog.addAppender(logged);
  }

  @AfterEach
  void releaseLog() {
    processorLog.detachAppender(logged);
  }

  private List<String> warnings() {
    return logged.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
        .map(ILoggingEvent::getFormattedMessage).toList();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] key(String table, String id) {
    return utf8("{\"table\":\"" + table + "\",\"key\":{\"id\":\"" + id + "\"}}");
  }

  static byte[] change(String side, String table, String keyJson, String rowJson, long ts, String pos) {
    return utf8("{\"v\":1,\"side\":\"" + side + "\",\"table\":\"" + table + "\",\"key\":" + keyJson
        + ",\"op\":\"u\",\"row\":" + rowJson + ",\"ts\":" + ts + ",\"pos\":\"" + pos + "\"}");
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  static String header(TestRecord<byte[], byte[]> r, String name) {
    return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
  }

  /** The bad records of the contract, each with the words its dead letter's message must contain. */
  record Bad(Side side, byte[] key, byte[] value, String says) {}

  static List<Bad> badRecords() {
    byte[] k = key("orders", "100");
    List<Bad> bad = new ArrayList<>();
    bad.add(new Bad(SOURCE, k, utf8("not json at all"), "not valid JSON"));
    bad.add(new Bad(SOURCE, k, new byte[] {0x00, (byte) 0x80, (byte) 0xff, 0x13, 0x37}, "not valid JSON"));
    bad.add(new Bad(TARGET, k, utf8("{\"v\":1,\"side\":\"target\",\"table\":\"orders\",\"key\":{\"id\":\"100\""),
        "not valid JSON")); // cut off
    bad.add(new Bad(TARGET, k, utf8("[1,2,3]"), "not a JSON object"));
    // a string with bytes that are not UTF-8 (0xC3 0x28: a lead byte without its continuation)
    String[] around = new String(change("source", "orders", "{\"id\":\"100\"}", "{\"id\":\"100\",\"note\":\"X\"}",
        T, "9"), StandardCharsets.UTF_8).split("X");
    bad.add(new Bad(SOURCE, k, concat(utf8(around[0]), new byte[] {(byte) 0xc3, 0x28}, utf8(around[1])),
        "Invalid UTF-8"));
    bad.add(new Bad(SOURCE, k, null, "tombstone"));
    bad.add(new Bad(TARGET, null, null, "tombstone"));
    bad.add(new Bad(SOURCE, key("invoices", "1"),
        change("source", "invoices", "{\"id\":\"1\"}", "{\"id\":\"1\"}", T, "9"), "unknown table \"invoices\""));
    bad.add(new Bad(SOURCE, null, change("source", "orders", "{\"id\":\"100\"}", "{\"id\":\"100\"}", T, "9"),
        "null record key"));
    bad.add(new Bad(TARGET, utf8("{\"table\":\"orders\",\"key\":{\"order_no\":\"100\"}}"),
        change("target", "orders", "{\"order_no\":\"100\"}", "{\"order_no\":\"100\"}", T, "9"),
        "are not its configured key [id]"));
    bad.add(new Bad(TARGET, utf8("{\"table\":\"orders\",\"key\":{\"id\":null}}"),
        change("target", "orders", "{\"id\":null}", "{\"id\":null}", T, "9"), "null column"));
    bad.add(new Bad(SOURCE, utf8("{\"table\":\"orders\",\"key\":{\"id\":\"\\udc00\"}}"),
        change("source", "orders", "{\"id\":\"\\udc00\"}", "{\"id\":\"\\udc00\"}", T, "9"),
        "\"key.id\" holds an unpaired UTF-16 surrogate"));
    bad.add(new Bad(TARGET, k, change("source", "orders", "{\"id\":\"100\"}", "{\"id\":\"100\"}", T, "9"),
        "arrived on the target change topic"));
    bad.add(new Bad(SOURCE, k, utf8("{\"v\":1,\"side\":\"source\",\"table\":\"orders\",\"key\":{\"id\":\"100\"},"
        + "\"op\":\"u\",\"row\":{\"id\":\"100\"},\"ts\":\"yesterday\",\"pos\":\"9\"}"), "\"ts\""));
    return bad;
  }

  @Test
  void everyBadRecordIsDeadLetteredCountedAndLoggedWhileOtherKeysAndTablesAreStillVerified() {
    Counts counts = new Counts();
    try (VerifyHarness h = new VerifyHarness(config(), counts, true)) {
      List<Bad> bad = badRecords();
      // good traffic between the bad records: agreeing rows, one real fault per table
      int i = 0;
      for (Bad b : bad) {
        h.raw(b.side(), b.key(), b.value());
        h.put(SOURCE, "orders", "ok" + i, T + i, "total", "1." + i).put(TARGET, "orders", "ok" + i, T + i + 5,
            "total", "1." + i);
        h.put(SOURCE, "readings", "r" + i, T + i, "value", "2.000").put(TARGET, "readings", "r" + i, T + i + 5,
            "value", "2.004");
        i++;
      }
      h.put(SOURCE, "orders", "lost", T + 50, "total", "9");
      h.put(SOURCE, "readings", "off", T + 50, "value", "1.0").put(TARGET, "readings", "off", T + 55, "value", "1.5");
      h.watermarks(T + 10 * W);

      assertThat(h.readDiscrepancies()).as("only the real faults, in both tables")
          .extracting(d -> d.get("table").asText() + "/" + d.get("key").get("id").asText() + ":" + d.get("kind").asText())
          .containsExactlyInAnyOrder("orders/lost:MISSING_IN_TARGET", "readings/off:VALUE_MISMATCH");

      List<TestRecord<byte[], byte[]>> dead = h.dlq.readRecordsToList();
      assertThat(dead).hasSize(bad.size());
      for (int j = 0; j < bad.size(); j++) {
        Bad b = bad.get(j);
        TestRecord<byte[], byte[]> r = dead.get(j);
        assertThat(header(r, DeadLetters.MESSAGE)).as("dead letter %d", j).contains(b.says());
        assertThat(header(r, DeadLetters.EXCEPTION)).isEqualTo("io.migrationverifier.event.MalformedEventException");
        assertThat(header(r, DeadLetters.TOPIC)).isEqualTo(b.side() == SOURCE ? SOURCE_TOPIC : TARGET_TOPIC);
        assertThat(header(r, DeadLetters.PARTITION)).isEqualTo("0");
        assertThat(Long.parseLong(header(r, DeadLetters.OFFSET))).isNotNegative();
        assertThat(header(r, DeadLetters.STACKTRACE)).contains("MalformedEventException");
        assertThat(r.value()).as("the original value, unchanged").isEqualTo(b.value());
        assertThat(r.key()).as("the original key, unchanged").isEqualTo(b.key());
      }
      long onSource = bad.stream().filter(b -> b.side() == SOURCE).count();
      assertThat(counts.malformed(SOURCE_TOPIC)).isEqualTo(onSource);
      assertThat(counts.malformed(TARGET_TOPIC)).isEqualTo(bad.size() - onSource);
      assertThat(warnings()).hasSize(bad.size()).allSatisfy(w -> assertThat(w)
          .contains("does not follow the change-event contract and went to the changes dead-letter topic"));
      assertThat(warnings().get(0)).startsWith("record " + SOURCE_TOPIC + "-0@").contains("not valid JSON");
    }
  }

  @Test
  void anUnpairedSurrogateInAValueIsComparedAsItsEscapeNotAsTheQuestionMarkItWouldBeStoredAs() {
    // Hashed or stored as UTF-8, "a" + U+D800 + "b" is "a?b": the target's broken value would agree, and the
    // hash its writer computed says so too. Spelled as its escape, it is compared for what it is.
    try (VerifyHarness h = new VerifyHarness(config(), new Counts(), true)) {
      String broken = "{\"id\":\"%s\",\"note\":\"a\\ud800b\"}";
      String writersHash = CanonicalRow.of(Map.of("id", "1", "note", "a?b")).hash();
      h.put(SOURCE, "orders", "1", T, "note", "a?b");
      h.raw(TARGET, key("orders", "1"), utf8("{\"v\":1,\"side\":\"target\",\"table\":\"orders\",\"key\":{\"id\":\"1\"},"
          + "\"op\":\"u\",\"row\":" + broken.formatted("1") + ",\"hash\":\"" + writersHash + "\",\"ts\":" + (T + 5)
          + ",\"pos\":\"1\"}"));
      // the same broken text on both sides agrees
      h.raw(SOURCE, key("orders", "2"), change("source", "orders", "{\"id\":\"2\"}", broken.formatted("2"), T, "2"));
      h.raw(TARGET, key("orders", "2"), change("target", "orders", "{\"id\":\"2\"}", broken.formatted("2"), T + 5, "2"));
      h.watermarks(T + 5 * W);
      assertThat(h.dlq.readRecordsToList()).isEmpty();
      assertThat(h.readDiscrepancies()).singleElement().satisfies(d -> {
        assertThat(d.get("key").get("id").asText()).isEqualTo("1");
        assertThat(d.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
        assertThat(d.get("fields").get(0).get("source").asText()).isEqualTo("a?b");
        assertThat(d.get("fields").get(0).get("target").asText()).isEqualTo("a\\uD800b");
      });
    }
  }

  @Test
  void aFloodOfBadRecordsIsCountedInFullButLoggedOnlyAtFirstThenEveryThousandth() {
    Counts counts = new Counts();
    try (VerifyHarness h = new VerifyHarness(config(), counts, true)) {
      for (int i = 0; i < 2_500; i++) {
        h.raw(SOURCE, key("orders", "1"), utf8("garbage " + i));
      }
      h.put(SOURCE, "orders", "2", T, "total", "1").watermarks(T + 5 * W);
      assertThat(counts.malformed(SOURCE_TOPIC)).isEqualTo(2_500);
      assertThat(h.dlq.readRecordsToList()).hasSize(2_500);
      assertThat(warnings()).hasSize(BadInputLog.FIRST + 2);
      assertThat(warnings().get(BadInputLog.FIRST)).contains("[1000 so far in this task");
      assertThat(h.readDiscrepancies()).hasSize(1);
    }
  }

  @Test
  void aBadRecordTooLargeToBeSentAgainWithHeadersIsCutInItsDeadLetter() {
    try (VerifyHarness h = new VerifyHarness(config(), new Counts(), true)) {
      byte[] huge = new byte[1_040_000];
      Arrays.fill(huge, (byte) 'x');
      h.raw(SOURCE, key("orders", "1"), huge);
      TestRecord<byte[], byte[]> r = h.dlq.readRecord();
      assertThat(header(r, DeadLetters.VALUE_CUT)).isEqualTo(key("orders", "1").length + ",1040000");
      assertThat(r.key()).isEqualTo(key("orders", "1"));
      assertThat(r.key().length + r.value().length).isLessThanOrEqualTo(VerifyProcessor.MAX_DEAD_LETTER_BYTES);
      assertThat(r.value()).isEqualTo(Arrays.copyOf(huge, r.value().length));
    }
  }

  @Test
  void aChangeFarBehindTheWatermarksIsAppliedAtTheFrontierCountedAndLogged() {
    Counts counts = new Counts();
    try (VerifyHarness h = new VerifyHarness(config(), counts, true)) {
      h.put(SOURCE, "orders", "1", T, "total", "1").put(TARGET, "orders", "1", T + 5, "total", "1");
      h.watermarks(T + 60 * W);
      // committed (by its side's clock) an hour before what both captures promised was complete
      long frontier = T + 60 * W;
      h.put(TARGET, "orders", "1", T - 3_600_000, "total", "2");
      h.put(SOURCE, "orders", "2", frontier + 10, "total", "5").put(TARGET, "orders", "2", frontier + 20, "total", "5");
      h.watermarks(frontier + 5 * W);
      assertThat(counts.lateBy).containsExactly(frontier - (T - 3_600_000));
      assertThat(h.readDiscrepancies()).singleElement().satisfies(d -> {
        assertThat(d.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
        assertThat(d.get("key").get("id").asText()).isEqualTo("1");
        assertThat(d.get("divergedSince").asLong()).as("starts where it was applied").isEqualTo(frontier);
        assertThat(d.get("detectedAt").asLong()).isEqualTo(frontier + W);
      });
      assertThat(warnings()).singleElement().satisfies(w -> assertThat(w)
          .startsWith("late target change of orders {id=1}")
          .contains((frontier - (T - 3_600_000)) + " ms before partition 0's watermarks")
          .contains("applied at " + frontier));
      assertThat(h.dlq.readRecordsToList()).as("a late change is compared, not dead-lettered").isEmpty();
    }
  }

  // ---- clock skew between the databases --------------------------------------------------------
  //
  // Event times are each database's own commit clock. With the target's clock ahead of the source's
  // by s, a copy that really trails its source write by L carries a target time L + s later. The
  // verifier judges event times only, so a copy counts as in time iff -window <= L + s <= window
  // (a copy seemingly committed before its source write disagrees from that copy's time on).

  static final long L = 300; // the real replication lag of the copies below

  /** Source writes at T + 10 i, each copied L later by the real clock, stamped with the target's skewed clock. */
  static List<JsonNode> mirrorWithSkew(VerifyHarness h, long skew, int rows) {
    for (int i = 0; i < rows; i++) {
      h.put(SOURCE, "orders", "n" + i, T + 10 * i, "total", "1");
      h.put(TARGET, "orders", "n" + i, T + 10 * i + L + skew, "total", "1");
    }
    // the watermarks too run on each side's own clock
    h.watermark(SOURCE, T + 30 * W).watermark(TARGET, T + 30 * W + skew);
    return h.readDiscrepancies();
  }

  /** Both captures started long before the skewed history, so no copy predates a side's stream. */
  static VerifyHarness skewHarness(VerifyListener listener) {
    VerifyHarness h = new VerifyHarness(config(), listener, false);
    h.watermarks(T - 100 * W);
    return h;
  }

  @Test
  void skewWithinTheWindowReportsNothingAndShowsInTheConvergenceLag() {
    // a copy seemingly committed before its source write disagrees from the copy to the original
    for (long skew : new long[] {W - L, 0, -L, -(W + L)}) {
      Counts counts = new Counts();
      try (VerifyHarness h = skewHarness(counts)) {
        assertThat(mirrorWithSkew(h, skew, 5)).as("skew %d ms", skew).isEmpty();
        assertThat(counts.converged).as("skew %d ms", skew).hasSize(5)
            .allSatisfy(d -> assertThat(d).isEqualTo(Math.abs(L + skew)));
      }
    }
  }

  @Test
  void targetClockAheadBeyondTheWindowReportsEachCopyMissingThenResolved() {
    long skew = W - L + 1; // the copy seems to come 1 ms after the deadline
    try (VerifyHarness h = skewHarness(new Counts())) {
      List<JsonNode> out = mirrorWithSkew(h, skew, 3);
      assertThat(out).extracting(d -> d.get("key").get("id").asText() + ":" + d.get("kind").asText())
          .containsExactlyInAnyOrder("n0:MISSING_IN_TARGET", "n1:MISSING_IN_TARGET", "n2:MISSING_IN_TARGET",
              "n0:RESOLVED", "n1:RESOLVED", "n2:RESOLVED");
      JsonNode resolved = out.stream().filter(d -> d.get("kind").asText().equals("RESOLVED")).findFirst().get();
      assertThat(resolved.get("openForMs").asLong()).isEqualTo(L + skew);
      assertThat(resolved.get("resolution").asText()).isEqualTo("target-change");
    }
  }

  @Test
  void targetClockBehindBeyondTheWindowReportsEachCopyUnexpectedOrMismatchedThenResolved() {
    long skew = -(W + L) - 1; // the copy seems to come 1 ms more than a window before its source write
    try (VerifyHarness h = skewHarness(new Counts())) {
      // an existing row, created in agreement, then updated on both sides
      h.put(SOURCE, "orders", "u", T - 20 * W, "total", "1").put(TARGET, "orders", "u", T - 20 * W, "total", "1");
      h.put(SOURCE, "orders", "u", T + 500, "total", "2").put(TARGET, "orders", "u", T + 500 + L + skew, "total", "2");
      List<JsonNode> out = mirrorWithSkew(h, skew, 2);
      assertThat(out).extracting(d -> d.get("key").get("id").asText() + ":" + d.get("kind").asText())
          .containsExactlyInAnyOrder("n0:UNEXPECTED_IN_TARGET", "n1:UNEXPECTED_IN_TARGET", "u:VALUE_MISMATCH",
              "n0:RESOLVED", "n1:RESOLVED", "u:RESOLVED");
      assertThat(out).filteredOn(d -> d.get("kind").asText().equals("RESOLVED"))
          .allSatisfy(d -> assertThat(d.get("resolution").asText()).isEqualTo("source-change"))
          .allSatisfy(d -> assertThat(d.get("openForMs").asLong()).isEqualTo(-(L + skew)));
    }
  }

  @Test
  void skewBeyondTheStallThresholdAlsoFlagsTheSideWhoseClockIsBehindAsStalled() {
    Counts counts = new Counts();
    long skew = STALL + 1;
    try (VerifyHarness h = new VerifyHarness(config(), counts, true)) {
      // idle databases: heartbeats only, each stamped by its own clock
      h.watermark(SOURCE, T + W).watermark(TARGET, T + W + skew);
      assertThat(h.readHealth()).singleElement().satisfies(e -> {
        assertThat(e.get("kind").asText()).isEqualTo("SIDE_STALLED");
        assertThat(e.get("side").asText()).isEqualTo("source");
        assertThat(e.get("lagMs").asLong()).isEqualTo(skew);
      });
      assertThat(counts.stalls).containsExactly("source:true");
      assertThat(h.readDiscrepancies()).isEmpty();
    }
  }

  // ---- rows too large for one Kafka record -----------------------------------------------------

  static JsonNode parse(byte[] json) {
    try {
      return VerifyHarness.JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static String big(char c, int n) {
    char[] a = new char[n];
    Arrays.fill(a, c);
    return new String(a);
  }

  /** A change event as capture sends a row too large for one record: long values cut, the full row's hash. */
  static ChangeEvent cutEvent(Side side, String id, Map<String, String> full, long ts, String pos) {
    return new ChangeEvent(side, "orders", new TreeMap<>(Map.of("id", id)), Op.UPDATE,
        CanonicalRow.of(OversizeValues.cut(full, OversizeValues.FIRST_CUT_CHARS)), CanonicalRow.of(full).hash(), ts,
        pos);
  }

  @Test
  void rowsCutForSizeAreStillComparedByTheFullRowsHash() {
    String blob = big('b', 2_000_000);
    Map<String, String> full = new TreeMap<>(Map.of("id", "1", "total", "1", "doc", blob));
    Map<String, String> differsAtTheEnd = new TreeMap<>(Map.of("id", "2", "total", "1", "doc", blob + "!"));
    try (VerifyHarness h = new VerifyHarness(config(), new Counts(), true)) {
      h.send(SOURCE, cutEvent(SOURCE, "1", full, T, h.nextPos(SOURCE)));
      h.send(TARGET, cutEvent(TARGET, "1", full, T + 5, h.nextPos(TARGET)));
      Map<String, String> source2 = new TreeMap<>(differsAtTheEnd);
      source2.put("doc", blob);
      h.send(SOURCE, cutEvent(SOURCE, "2", source2, T, h.nextPos(SOURCE)));
      h.send(TARGET, cutEvent(TARGET, "2", differsAtTheEnd, T + 5, h.nextPos(TARGET)));
      h.watermarks(T + 5 * W);
      List<JsonNode> out = h.readDiscrepancies();
      assertThat(out).singleElement().satisfies(d -> {
        assertThat(d.get("key").get("id").asText()).isEqualTo("2");
        assertThat(d.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
        assertThat(d.get("fields")).singleElement().satisfies(f -> {
          assertThat(f.get("name").asText()).isEqualTo("doc");
          assertThat(f.get("source").asText()).contains("…[cut: 2000000 chars, hash ");
          assertThat(f.get("target").asText()).contains("…[cut: 2000001 chars, hash ");
        });
      });
    }
  }

  @Test
  void aDiscrepancyOfTwoLargeRowsIsSentWithItsLongValuesCut() {
    // each row fits in a record; both together, and the field diff, do not
    String a = big('a', 400_000);
    String b = big('a', 399_999) + "b";
    try (VerifyHarness h = new VerifyHarness(config(), new Counts(), true)) {
      h.put(SOURCE, "orders", "1", T, "total", "1", "doc", a).put(TARGET, "orders", "1", T + 5, "total", "1", "doc", b);
      h.watermarks(T + 5 * W);
      List<TestRecord<byte[], byte[]>> out = h.discrepancies.readRecordsToList();
      assertThat(out).hasSize(1);
      assertThat(out.get(0).value().length).isLessThanOrEqualTo(VerifyProcessor.MAX_EVENT_BYTES);
      JsonNode d = parse(out.get(0).value());
      assertThat(d.get("kind").asText()).isEqualTo(DiscrepancyKind.VALUE_MISMATCH.name());
      assertThat(d.get("source").get("doc").asText()).startsWith("aaaa").contains("…[cut: 400000 chars");
      assertThat(d.get("source").get("total").asText()).isEqualTo("1");
      assertThat(d.get("fields").get(0).get("source").asText())
          .isNotEqualTo(d.get("fields").get(0).get("target").asText());
      assertThat(warnings()).singleElement().satisfies(w -> assertThat(w).contains("sent with long values cut"));
    }
  }
}
