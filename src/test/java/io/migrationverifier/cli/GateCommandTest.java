package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gate's verdict on plain values (no Kafka), and its command line. */
class GateCommandTest {
  static final long NOW = 1_700_000_000_000L;
  static final Path CFG = Path.of("gate.yaml");
  static final VerifierConfig C = Configs.parse("""
      name: shop
      kafka: {bootstrap-servers: "broker:9092", partitions: 2}
      source: {type: postgres, database: legacy, user: verifier, password: pw}
      target: {type: postgres, database: modern, user: verifier, password: pw}
      tables:
        - {name: orders, key: [id]}
        - {name: items, key: [id]}
      """);
  static final Set<String> TOPICS = Set.of("shop.discrepancies", "shop.changes.source", "shop.changes.target",
      "shop.coverage");
  static final GateCommand.Limits DEFAULTS = new GateCommand.Limits(0, null, 120_000);

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

  static GateCommand.Verdict verdict(GateCommand.Limits l, Set<String> topics, Coverage c, OpenDiscrepancies b,
      List<SideWatermark> w) {
    return GateCommand.Verdict.evaluate(C, CFG, l, topics, c, b, w, done(w), NOW);
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

    assertThat(verdict(new GateCommand.Limits(3, null, 120_000), TOPICS, c, b, current()).open())
        .as("3 allowed, no age limit").isTrue();
    assertThat(verdict(new GateCommand.Limits(3, 3 * 3_600_000L, 120_000), TOPICS, c, b, current()).open())
        .as("3 allowed, none older than 3 h").isTrue();
    GateCommand.Verdict old = verdict(new GateCommand.Limits(3, 600_000L, 120_000), TOPICS, c, b, current());
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
        new OpenDiscrepancies(), current(), p, NOW);
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
        new OpenDiscrepancies(), current(), p, NOW).open()).isTrue();
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
        source: {type: postgres, database: legacy, user: verifier, password: pw}
        target: {type: postgres, database: modern, user: verifier, password: pw}
        tables:
          - {name: orders, key: [id]}
        """.formatted(port));
    CliTest.Run bad = CliTest.run("gate", "--config", f.toString(), "--max-age", "soon");
    assertThat(bad.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(bad.err()).contains("--max-age: \"soon\" is not a duration");
    CliTest.Run neg = CliTest.run("gate", "--config", f.toString(), "--max-open", "-1");
    assertThat(neg.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(neg.err()).contains("--max-open: -1 must be 0 or more");
    CliTest.Run help = CliTest.run("gate", "--help");
    assertThat(help.out()).contains("--max-lag", "default 2m", "4 gate closed");

    CliTest.Run down = CliTest.run("gate", "--config", f.toString());
    assertThat(down.code()).isEqualTo(ExitCodes.FAILURE);
    assertThat(down.err()).contains("gate: cannot reach Kafka at 127.0.0.1:" + port, "no answer within 10 s");
  }
}
