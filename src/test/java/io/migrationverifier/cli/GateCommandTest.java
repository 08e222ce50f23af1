package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.ops.CaptureCurrency.SideWatermark;
import io.migrationverifier.ops.Coverage;
import io.migrationverifier.ops.OpenDiscrepancies;
import io.migrationverifier.testutil.Configs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gate's verdict on plain values (no Kafka), and its command line. */
class GateCommandTest {
  static final long NOW = 1_700_000_000_000L;
  static final Path CFG = Path.of("gate.yaml");
  static final VerifierConfig C = Configs.parse("""
      name: shop
      kafka: {bootstrap-servers: "broker:9092", partitions: 2}
      source: {type: postgres, database: legacy, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
      target: {type: postgres, database: modern, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
      tables:
        - {name: orders, key: [id]}
        - {name: items, key: [id]}
      """);
  static final Set<String> TOPICS = Set.of("shop.discrepancies", "shop.changes.source", "shop.changes.target",
      "shop.coverage");
  static final GateCommand.Limits DEFAULTS = new GateCommand.Limits(0, null, 120_000, 0);

  static Coverage covered(String... tablesBySnapshot) {
    Coverage c = new Coverage();
    for (String t : tablesBySnapshot) {
      for (Side s : Side.values()) {
        put(c, Coverage.Entry.snapshot(t, s, NOW - 3_600_000, NOW - 3_500_000, 10));
      }
    }
    return c;
  }

  static void put(Coverage c, Coverage.Entry e) {
    c.apply(Coverage.key(e), Coverage.encode(e));
  }

  static List<SideWatermark> current() {
    List<SideWatermark> out = new ArrayList<>();
    for (Side s : Side.values()) {
      for (int p = 0; p < 2; p++) {
        out.add(new SideWatermark(s, p, NOW - 800));
      }
    }
    return out;
  }

  /** Open discrepancies from (kind, table, id, age in ms) quadruples. */
  static OpenDiscrepancies board(Object... kindTableIdAge) {
    OpenDiscrepancies b = new OpenDiscrepancies();
    for (int i = 0; i < kindTableIdAge.length; i += 4) {
      TreeMap<String, String> key = new TreeMap<>(Map.of("id", kindTableIdAge[i + 2].toString()));
      String table = (String) kindTableIdAge[i + 1];
      long detectedAt = NOW - (Long) kindTableIdAge[i + 3];
      Discrepancy d = new Discrepancy("d" + i, (DiscrepancyKind) kindTableIdAge[i], table, key,
          Discrepancy.DETECTOR_STREAM, detectedAt - 1_000, detectedAt, null, null, List.of(), null, null, null, null,
          detectedAt);
      b.apply(CanonicalKey.of(table, key).toBytes(), EventCodec.encode(d));
    }
    return b;
  }

  /** The verify role has processed everything of these partitions. */
  static List<GateCommand.VerifyProgress> done(List<SideWatermark> w) {
    return w.stream().map(x -> new GateCommand.VerifyProgress(x.side(), x.partition(), 100L, 100, 0)).toList();
  }

  static final GateCommand.Pending NONE_PENDING = new GateCommand.Pending(Map.of(), "shop.verify-verify-deadlines-changelog",
      true);

  static GateCommand.Board readable(OpenDiscrepancies b) {
    return new GateCommand.Board(b, List.of());
  }

  static Coverage.ChangeDeadLetters noDeadLetters() {
    return new Coverage.ChangeDeadLetters(C);
  }

  static GateCommand.Verdict verdict(GateCommand.Limits l, Set<String> topics, Coverage c, OpenDiscrepancies b,
      List<SideWatermark> w) {
    return GateCommand.Verdict.evaluate(C, CFG, l, topics, c, noDeadLetters(), readable(b), NONE_PENDING, w, done(w),
        NOW);
  }

  static String text(GateCommand.Verdict v) {
    StringWriter s = new StringWriter();
    v.print(new PrintWriter(s));
    return s.toString();
  }

  @Test
  void openWhenEverythingIsComparedNothingIsOpenAndCapturesAreCurrent() throws Exception {
    Coverage c = covered("orders");
    put(c, Coverage.Entry.audit("items", NOW - 60_000, NOW - 30_000, 100, 100, 0, "key"));
    GateCommand.Verdict v = verdict(DEFAULTS, TOPICS, c, new OpenDiscrepancies(), current());
    assertThat(v.reasons()).isEmpty();
    assertThat(v.open()).isTrue();
    String out = text(v);
    assertThat(out).contains("gate shop: OPEN", "orders", "compared in full by initial snapshots",
        "items", "compared in full by audit", "open discrepancies: 0 (--max-open 0)", "watermark");
    JsonNode j = new ObjectMapper().readTree(v.json());
    assertThat(j.get("gate").asText()).isEqualTo("open");
    assertThat(j.get("exitCode").asInt()).isZero();
    assertThat(j.get("tables")).hasSize(2);
    assertThat(j.get("tables").get(1).get("audit").get("sourceRows").asLong()).isEqualTo(100);
    assertThat(j.get("captures")).hasSize(4);
  }

  @Test
  void aTableWithoutBothSnapshotsOrAnAuditClosesItNamingTheAudit() {
    Coverage c = covered("items");
    put(c, Coverage.Entry.snapshot("orders", Side.SOURCE, NOW - 10_000, NOW - 5_000, 3));
    GateCommand.Verdict v = verdict(DEFAULTS, TOPICS, c, new OpenDiscrepancies(), current());
    assertThat(v.open()).isFalse();
    assertThat(v.reasons()).singleElement().satisfies(r -> {
      assertThat(r.check()).isEqualTo("coverage");
      assertThat(r.table()).isEqualTo("orders");
      assertThat(r.message()).contains("initial snapshot of the target was not recorded",
          "run `audit --config gate.yaml --table orders`");
    });
    // nothing at all recorded: both tables
    GateCommand.Verdict none = verdict(DEFAULTS, TOPICS, new Coverage(), new OpenDiscrepancies(), current());
    assertThat(none.reasons()).extracting(GateCommand.Reason::table).containsExactly("orders", "items");
    assertThat(text(none)).contains("CLOSED (2 reasons)", "NOT compared in full");
  }

  @Test
  void openDiscrepanciesCountAgainstMaxOpenAndMaxAge() {
    Coverage c = covered("orders", "items");
    OpenDiscrepancies b = board(DiscrepancyKind.VALUE_MISMATCH, "orders", 1L, 7_200_000L,
        DiscrepancyKind.VALUE_MISMATCH, "orders", 2L, 60_000L,
        DiscrepancyKind.MISSING_IN_TARGET, "orders", 3L, 5_000L);
    GateCommand.Verdict closed = verdict(DEFAULTS, TOPICS, c, b, current());
    assertThat(closed.reasons()).singleElement().satisfies(r -> assertThat(r.message()).isEqualTo(
        "3 open discrepancies in orders (1 MISSING_IN_TARGET, 2 VALUE_MISMATCH), oldest 2 h (3 open in all, more"
            + " than --max-open 0): see `tail --config gate.yaml --from-beginning --table orders`"));

    assertThat(verdict(new GateCommand.Limits(3, null, 120_000, 0), TOPICS, c, b, current()).open())
        .as("3 allowed, no age limit").isTrue();
    assertThat(verdict(new GateCommand.Limits(3, 3 * 3_600_000L, 120_000, 0), TOPICS, c, b, current()).open())
        .as("3 allowed, none older than 3 h").isTrue();
    GateCommand.Verdict old = verdict(new GateCommand.Limits(3, 600_000L, 120_000, 0), TOPICS, c, b, current());
    assertThat(old.reasons()).singleElement().satisfies(r -> assertThat(r.message())
        .contains("oldest 2 h (older than --max-age 10 min)"));
  }

  @Test
  void aStaleOrSilentCaptureClosesItPerSideAndPartition() {
    Coverage c = covered("orders", "items");
    List<SideWatermark> w = new ArrayList<>(current());
    w.set(3, new SideWatermark(Side.TARGET, 1, NOW - 15 * 60_000));
    w.set(0, new SideWatermark(Side.SOURCE, 0, null));
    GateCommand.Verdict v = verdict(DEFAULTS, TOPICS, c, new OpenDiscrepancies(), w);
    assertThat(v.reasons()).extracting(GateCommand.Reason::check).containsExactly("capture", "capture");
    assertThat(v.reasons().get(0).message()).startsWith("capture-source has written no watermark to partition 0 of"
        + " shop.changes.source");
    assertThat(v.reasons().get(1).message()).startsWith("capture-target is 15 min behind in partition 1 of"
        + " shop.changes.target").contains("--max-lag 2 min", "is its capture running?");
    assertThat(v.reasons().get(1).partitions()).containsExactly(1);
    assertThat(text(v)).contains("capture target partition 1   watermark", "15 min ago: BEHIND", "no watermark");
  }

  @Test
  void missingTopicsMeanRolesThatNeverRan() {
    GateCommand.Verdict v = verdict(DEFAULTS, Set.of(), covered("orders", "items"), new OpenDiscrepancies(),
        List.of());
    assertThat(v.reasons()).extracting(GateCommand.Reason::message).anySatisfy(m -> assertThat(m)
        .startsWith("shop.discrepancies does not exist: the verify role has never run"))
        .anySatisfy(m -> assertThat(m).startsWith("shop.changes.source does not exist: capture-source has never run"))
        .anySatisfy(m -> assertThat(m).startsWith("shop.changes.target does not exist: capture-target has never run"));
  }

  @Test
  void aVerifyRoleThatIsDownOrBehindClosesIt() {
    List<GateCommand.VerifyProgress> p = new ArrayList<>(done(current()));
    p.set(0, new GateCommand.VerifyProgress(Side.SOURCE, 0, null, 40, 0));
    p.set(3, new GateCommand.VerifyProgress(Side.TARGET, 1, 10L, 500, 5 * 60_000));
    GateCommand.Verdict v = GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, covered("orders", "items"),
        noDeadLetters(), readable(new OpenDiscrepancies()), NONE_PENDING, current(), p, NOW);
    assertThat(v.reasons()).extracting(GateCommand.Reason::check).containsExactly("verify", "verify");
    assertThat(v.reasons().get(0).message()).isEqualTo("the verify role (shop.verify) has not processed any of"
        + " partition 0 of shop.changes.source: is it running? Start `run --config gate.yaml` (or with --roles verify)");
    assertThat(v.reasons().get(1).message()).startsWith("the verify role (shop.verify) is 5 min behind in partition 1"
        + " of shop.changes.target (--max-lag 2 min)");
    assertThat(text(v)).contains("verify  source partition 0   nothing processed",
        "verify  target partition 1   490 records to process, the oldest written 5 min ago");
    // an empty partition it never read is no reason
    p.set(0, new GateCommand.VerifyProgress(Side.SOURCE, 0, null, 0, 0));
    p.set(3, new GateCommand.VerifyProgress(Side.TARGET, 1, 10L, 500, 1_000));
    assertThat(GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, covered("orders", "items"),
        noDeadLetters(), readable(new OpenDiscrepancies()), NONE_PENDING, current(), p, NOW).open()).isTrue();
  }

  @Test
  void disagreementsWithinTheirWindowCloseItBeyondMaxPending() {
    Coverage c = covered("orders", "items");
    GateCommand.Pending pending = new GateCommand.Pending(new TreeMap<>(Map.of("orders", 2)),
        "shop.verify-verify-deadlines-changelog", true);
    List<SideWatermark> w = current();
    GateCommand.Verdict v = GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, c, noDeadLetters(),
        readable(new OpenDiscrepancies()), pending, w, done(w), NOW);
    assertThat(v.reasons()).singleElement().satisfies(r -> {
      assertThat(r.check()).isEqualTo("pending");
      assertThat(r.table()).isEqualTo("orders");
      assertThat(r.message()).isEqualTo("2 keys of orders disagree and are still within their window (2 in all, more"
          + " than --max-pending 0): wait one window (verify.window: 30 s for orders) for them to converge or be"
          + " reported");
    });
    assertThat(text(v)).contains("disagreements within their window: 2 (--max-pending 0)")
        .containsPattern("orders +compared in full .*; open: 0; pending: 2");
    assertThat(GateCommand.Verdict.evaluate(C, CFG, new GateCommand.Limits(0, null, 120_000, 2), TOPICS, c,
        noDeadLetters(), readable(new OpenDiscrepancies()), pending, w, done(w), NOW).open()).as("2 allowed").isTrue();

    // the verify role never started: its changelog is missing, and that is a reason of its own
    GateCommand.Verdict never = GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, c, noDeadLetters(),
        readable(new OpenDiscrepancies()), new GateCommand.Pending(Map.of(), "shop.verify-verify-deadlines-changelog",
            false), w, done(w), NOW);
    assertThat(never.reasons()).singleElement().satisfies(r -> assertThat(r.message()).startsWith(
        "shop.verify-verify-deadlines-changelog does not exist: the verify role (shop.verify) has never started"));
    assertThat(GateCommand.deadlineChangelog(C)).isEqualTo("shop.verify-verify-deadlines-changelog");
  }

  static Headers captureHeaders(Side side, String destination) {
    Headers h = new RecordHeaders();
    h.add(DeadLetters.TOPIC, ("debezium:" + destination).getBytes(StandardCharsets.UTF_8));
    h.add(DeadLetters.CAPTURE_SIDE, side.id().getBytes(StandardCharsets.UTF_8));
    return h;
  }

  @Test
  void deadLettersAreAttributedByRecordKeyOrDebeziumDestination() {
    byte[] ordersKey = CanonicalKey.of("orders", new TreeMap<>(Map.of("id", "7"))).toBytes();
    assertThat(Coverage.ChangeDeadLetters.attribute(C, ordersKey, new RecordHeaders())).isEqualTo("orders");
    assertThat(Coverage.ChangeDeadLetters.attribute(C, CanonicalKey.of("gone", new TreeMap<>(Map.of("id", "1")))
        .toBytes(), null)).as("not a configured table").isNull();
    byte[] debeziumKey = "{\"id\":7}".getBytes(StandardCharsets.UTF_8);
    assertThat(Coverage.ChangeDeadLetters.attribute(C, debeziumKey, captureHeaders(Side.SOURCE,
        "shop-source.public.items"))).isEqualTo("items");
    assertThat(Coverage.ChangeDeadLetters.attribute(C, debeziumKey, captureHeaders(Side.TARGET,
        "shop-target.public.orders"))).isEqualTo("orders");
    assertThat(Coverage.ChangeDeadLetters.attribute(C, debeziumKey, captureHeaders(Side.TARGET,
        "shop-source.public.orders"))).as("another side's prefix").isNull();
    assertThat(Coverage.ChangeDeadLetters.attribute(C, debeziumKey, captureHeaders(Side.SOURCE,
        "shop-source.public.customers"))).as("not configured").isNull();
    assertThat(Coverage.ChangeDeadLetters.attribute(C, null, null)).isNull();
  }

  @Test
  void deadLetteredChangesVoidCoverageThatStartedBeforeThem() {
    Coverage c = covered("orders", "items"); // snapshots started at NOW - 1 h
    Coverage.ChangeDeadLetters d = noDeadLetters();
    byte[] ordersKey = CanonicalKey.of("orders", new TreeMap<>(Map.of("id", "7"))).toBytes();
    d.add(ordersKey, new RecordHeaders(), NOW - 7_200_000); // before the snapshots: compared by them
    List<SideWatermark> w = current();
    assertThat(GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, c, d, readable(new OpenDiscrepancies()),
        NONE_PENDING, w, done(w), NOW).open()).isTrue();

    d.add(ordersKey, new RecordHeaders(), NOW - 60_000);
    d.add(ordersKey, new RecordHeaders(), NOW - 30_000);
    GateCommand.Verdict v = GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, c, d,
        readable(new OpenDiscrepancies()), NONE_PENDING, w, done(w), NOW);
    assertThat(v.reasons()).singleElement().satisfies(r -> {
      assertThat(r.check()).isEqualTo("coverage");
      assertThat(r.table()).isEqualTo("orders");
      assertThat(r.message()).startsWith("2 change events of orders went to shop.changes.dlq (newest ")
          .contains("since its latest comparison in full started", "then run `audit --config gate.yaml --table"
              + " orders`");
    });
    assertThat(v.tables().get(0).compared()).isFalse();
    assertThat(text(v)).contains("NOT compared in full (2 changes dead-lettered since initial snapshots");

    // an audit that started after them compares the table in full again
    put(c, Coverage.Entry.audit("orders", NOW - 20_000, NOW - 10_000, 3, 3, 0, "key"));
    assertThat(GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, c, d, readable(new OpenDiscrepancies()),
        NONE_PENDING, w, done(w), NOW).open()).isTrue();

    // one nobody can attribute closes the gate until every table's coverage started after it
    d.add(null, new RecordHeaders(), NOW - 15_000);
    GateCommand.Verdict u = GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, c, d,
        readable(new OpenDiscrepancies()), NONE_PENDING, w, done(w), NOW);
    assertThat(u.reasons()).singleElement().satisfies(r -> {
      assertThat(r.check()).isEqualTo("dlq");
      assertThat(r.message()).startsWith("1 change event on shop.changes.dlq (newest ")
          .contains("could not be attributed to a configured table", "`audit --config gate.yaml`");
    });
    put(c, Coverage.Entry.audit("items", NOW - 5_000, NOW - 1_000, 2, 2, 0, "key"));
    assertThat(GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, c, d, readable(new OpenDiscrepancies()),
        NONE_PENDING, w, done(w), NOW).reasons()).as("orders' audit started before it").hasSize(1);
    put(c, Coverage.Entry.audit("orders", NOW - 5_000, NOW - 1_000, 3, 3, 0, "key"));
    assertThat(GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, c, d, readable(new OpenDiscrepancies()),
        NONE_PENDING, w, done(w), NOW).reasons()).as("orders' audit started after it, items' too").isEmpty();
  }

  @Test
  void unreadableDiscrepancyRecordsCloseIt() throws Exception {
    List<SideWatermark> w = current();
    GateCommand.Board b = new GateCommand.Board(new OpenDiscrepancies(), List.of(new GateCommand.At(0, 17),
        new GateCommand.At(0, 18), new GateCommand.At(1, 4)));
    GateCommand.Verdict v = GateCommand.Verdict.evaluate(C, CFG, DEFAULTS, TOPICS, covered("orders", "items"),
        noDeadLetters(), b, NONE_PENDING, w, done(w), NOW);
    assertThat(v.reasons()).singleElement().satisfies(r -> {
      assertThat(r.check()).isEqualTo("unreadable");
      assertThat(r.partitions()).containsExactly(0, 1);
      assertThat(r.message()).startsWith("3 records of shop.discrepancies cannot be read (partition 0 offsets 17, 18;"
          + " partition 1 offset 4): a discrepancy in them would be invisible")
          .contains("--partition 0 --offset 17");
    });
    JsonNode j = new ObjectMapper().readTree(v.json());
    assertThat(j.get("malformedDiscrepancyRecords").asInt()).isEqualTo(3);
    assertThat(j.get("unreadableDiscrepancyRecords").get(2).get("offset").asLong()).isEqualTo(4);
  }

  @Test
  void ages() {
    assertThat(GateCommand.age(800)).isEqualTo("800 ms");
    assertThat(GateCommand.age(12_345)).isEqualTo("12 s");
    assertThat(GateCommand.age(15 * 60_000 + 5)).isEqualTo("15 min");
    assertThat(GateCommand.age(9_000_000)).isEqualTo("2.5 h");
    assertThat(GateCommand.age(3 * 86_400_000L)).isEqualTo("3 d");
  }

  @Test
  void invalidArgumentsExitTwoAndAnUnreachableBrokerExitsOne(@TempDir Path dir) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path f = Files.writeString(dir.resolve("g.yaml"), """
        name: shop
        kafka: {bootstrap-servers: "127.0.0.1:%d"}
        source: {type: postgres, database: legacy, user: verifier, password: "${file:%2$s}"}
        target: {type: postgres, database: modern, user: verifier, password: "${file:%2$s}"}
        tables:
          - {name: orders, key: [id]}
        """.formatted(port, Configs.secretFile(Configs.PASSWORD))); // the CLI in this JVM reads System.getenv
    CliTest.Run bad = CliTest.run("gate", "--config", f.toString(), "--max-age", "soon");
    assertThat(bad.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(bad.err()).contains("--max-age: \"soon\" is not a duration");
    CliTest.Run neg = CliTest.run("gate", "--config", f.toString(), "--max-open", "-1");
    assertThat(neg.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(neg.err()).contains("--max-open: -1 must be 0 or more");
    CliTest.Run negPending = CliTest.run("gate", "--config", f.toString(), "--max-pending", "-1");
    assertThat(negPending.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(negPending.err()).contains("--max-pending: -1 must be 0 or more");
    CliTest.Run help = CliTest.run("gate", "--help");
    assertThat(help.out()).contains("--max-lag", "default 2m", "4 gate closed");

    CliTest.Run down = CliTest.run("gate", "--config", f.toString());
    assertThat(down.code()).isEqualTo(ExitCodes.FAILURE);
    assertThat(down.err()).contains("gate: cannot reach Kafka at 127.0.0.1:" + port, "no answer within 10 s");
  }
}
