package io.migrationverifier.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.ops.CaptureCurrency;
import io.migrationverifier.ops.Coverage;
import io.migrationverifier.ops.OpenDiscrepancies;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.PipelineFixture.Probe;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.verify.TopologyDocs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * {@code gate} against a real PostgreSQL-to-PostgreSQL deployment on an in-process broker. One
 * deployment goes through a cutover's life, each step a test in order: closed before anything
 * compared (and an audit covering one table), open once both initial snapshots are recorded, closed
 * by an open discrepancy until it resolves, closed by a stalled capture or a stopped verify role until
 * it runs again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GateIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration AWAIT = Duration.ofSeconds(60);

  private Path dir;
  private OpsItSupport env;
  private Path file;
  private VerifierConfig config;
  /** The two captures; the verify role runs apart so that it can be stopped alone. */
  private Pipeline pipeline;
  private Pipeline verify;
  private final Probe probe = new Probe();
  /** The Kafka consumer logs here when asked for offsets of a partition it has not assigned. */
  private static final String OFFSET_FETCHER = "org.apache.kafka.clients.consumer.internals.OffsetFetcherUtils";
  private final ListAppender<ILoggingEvent> offsetWarnings = new ListAppender<>();

  record Run(int code, String out, String err) {}

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("gate-it");
    env = new OpsItSupport(dir);
    for (String db : List.of("legacy", "modern")) {
      env.sql(db, "CREATE TABLE orders (id BIGINT PRIMARY KEY, status TEXT)",
          "INSERT INTO orders VALUES (1, 'paid'), (2, 'new'), (3, 'shipped')",
          "CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT)",
          "INSERT INTO items VALUES (1, 'one'), (2, 'two')",
          "ALTER TABLE orders REPLICA IDENTITY FULL", "ALTER TABLE items REPLICA IDENTITY FULL");
    }
    file = Files.writeString(dir.resolve("gate.yaml"), """
        name: gate
        kafka: {bootstrap-servers: "%s", partitions: 2}
        source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: postgres, password: ""}
        target: {type: postgres, host: 127.0.0.1, port: %d, database: modern, user: postgres, password: ""}
        verify: {window: 1s, commit-interval: 100ms, state-dir: "%s"}
        capture: {heartbeat-interval: 200ms}
        http: {enabled: false}
        tables:
          - {name: orders, key: [id], window: 30s}
          - {name: items, key: [id]}
        """.formatted(env.kafka.bootstrapServers(), env.pg.port(), env.pg.port(), dir.resolve("state")));
    config = OpsItSupport.load(file);
    offsetWarnings.start();
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(OFFSET_FETCHER)).addAppender(offsetWarnings);
  }

  @AfterAll
  void stop() throws Exception {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(OFFSET_FETCHER)).detachAppender(offsetWarnings);
    if (verify != null) {
      verify.close();
    }
    if (pipeline != null) {
      pipeline.close();
    }
    if (env != null) {
      env.close();
    }
  }

  /** A command as Main runs it, with its own output streams (the pipeline's threads log meanwhile). */
  static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new Main());
    cl.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.INVALID);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  Run gate(String... extra) {
    String[] args = new String[extra.length + 3];
    args[0] = "gate";
    args[1] = "--config";
    args[2] = file.toString();
    System.arraycopy(extra, 0, args, 3, extra.length);
    Run r = cli(args);
    assertThat(r.code()).as("gate ran: " + r).isIn(ExitCodes.OK, GateCommand.CLOSED);
    return r;
  }

  /** Runs the gate until {@code done} accepts its answer; returns that answer. */
  Run awaitGate(java.util.function.Predicate<Run> done, String... extra) {
    AtomicReference<Run> last = new AtomicReference<>();
    await().atMost(AWAIT).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
      for (Pipeline p : new Pipeline[] {pipeline, verify}) {
        if (p != null && p.failure().isCompletedExceptionally()) {
          p.failure().join(); // a role failed: say so instead of waiting for the gate in vain
        }
      }
      Run r = gate(extra);
      last.set(r);
      assertThat(done.test(r)).as("gate answer: %s", r).isTrue();
    });
    return last.get();
  }

  @Test
  @Order(1)
  void closedBeforeAnythingComparedAndAnAuditCoversItsTable() throws Exception {
    env.ensureTopics(config);
    try (Admin admin = OpsKafka.admin(config, env.kafka.bootstrapServers())) {
      TopicDescription d = admin.describeTopics(List.of("gate.coverage")).allTopicNames().get().get("gate.coverage");
      assertThat(d.partitions()).hasSize(1);
      ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, "gate.coverage");
      assertThat(admin.describeConfigs(List.of(r)).all().get().get(r).get(TopicConfig.CLEANUP_POLICY_CONFIG).value())
          .isEqualTo("compact");
    }
    Run closed = gate();
    assertThat(closed.code()).isEqualTo(GateCommand.CLOSED);
    assertThat(closed.out()).contains("gate gate: CLOSED",
        "orders was never compared in full: no initial snapshot of it was recorded on either side",
        "run `audit --config " + file + " --table orders`",
        "items was never compared in full",
        "capture-source has written no watermark to partitions 0, 1 of gate.changes.source",
        "capture-target has written no watermark to partitions 0, 1 of gate.changes.target",
        "is its capture running?");

    Run audit = cli("audit", "--config", file.toString(), "--table", "orders");
    assertThat(audit.code()).as(audit.toString()).isEqualTo(ExitCodes.OK);
    Coverage coverage = Coverage.readAll(config, env.kafka.bootstrapServers());
    Coverage.Entry a = coverage.audit("orders").orElseThrow();
    assertThat(a.sourceRows()).isEqualTo(3);
    assertThat(a.targetRows()).isEqualTo(3);
    assertThat(a.differences()).isZero();
    assertThat(a.segmentation()).isEqualTo("key");
    assertThat(a.completedAt()).isGreaterThanOrEqualTo(a.startedAt());
    assertThat(coverage.audit("items")).isEmpty();

    Run json = gate("--json");
    assertThat(json.code()).isEqualTo(GateCommand.CLOSED);
    JsonNode v = JSON.readTree(json.out());
    assertThat(v.get("gate").asText()).isEqualTo("closed");
    assertThat(v.get("tables").get(0).get("compared").asBoolean()).as("orders, by its audit").isTrue();
    assertThat(v.get("tables").get(0).get("audit").get("kind").asText()).isEqualTo("audit");
    assertThat(v.get("tables").get(1).get("compared").asBoolean()).as("items").isFalse();
    assertThat(v.get("reasons")).extracting(r -> r.get("check").asText() + ":" + r.get("table").asText(null))
        .contains("coverage:items").doesNotContain("coverage:orders");
  }

  @Test
  @Order(2)
  void opensOnceBothInitialSnapshotsAreRecorded() throws Exception {
    verify = Pipeline.start(config, EnumSet.of(Role.VERIFY), env.kafka.bootstrapServers(), probe, probe);
    pipeline = Pipeline.start(config, EnumSet.of(Role.CAPTURE_SOURCE, Role.CAPTURE_TARGET),
        env.kafka.bootstrapServers(), probe, probe);
    Run open = awaitGate(r -> r.code() == ExitCodes.OK);
    assertThat(open.out()).contains("gate gate: OPEN", "open discrepancies: 0 (--max-open 0)")
        .containsPattern("items +compared in full by initial snapshots")
        .containsPattern("orders +compared in full by initial snapshots \\(.*\\) and audit");
    Coverage coverage = Coverage.readAll(config, env.kafka.bootstrapServers());
    for (Side s : Side.values()) {
      assertThat(coverage.snapshot("orders", s).orElseThrow().rows()).as("orders rows, " + s).isEqualTo(3);
      assertThat(coverage.snapshot("items", s).orElseThrow().rows()).as("items rows, " + s).isEqualTo(2);
    }
    assertThat(coverage.malformed()).isZero();
    // the status page keeps one reader and reads every few seconds: later reads see newer watermarks
    try (CaptureCurrency currency = CaptureCurrency.open(config, env.kafka.bootstrapServers())) {
      List<CaptureCurrency.SideWatermark> first = currency.read();
      assertThat(first).hasSize(4).allMatch(w -> w.watermark() != null);
      await().atMost(AWAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
        List<CaptureCurrency.SideWatermark> now = currency.read();
        for (int i = 0; i < first.size(); i++) {
          if (now.get(i).watermark() <= first.get(i).watermark()) {
            return false;
          }
        }
        return true;
      });
    }
    String me = Thread.currentThread().getName();
    assertThat(offsetWarnings.list).filteredOn(e -> e.getThreadName().equals(me)).extracting(ILoggingEvent::getFormattedMessage)
        .as("the gate's reads keep their partitions assigned: no \"no longer assigned\" WARN per partition and read")
        .isEmpty();
  }

  @Test
  @Order(3)
  void anOpenDiscrepancyClosesItUntilItResolves() throws Exception {
    env.sql("modern", "INSERT INTO items VALUES (99, 'ghost')");
    Run closed = awaitGate(r -> r.code() == GateCommand.CLOSED);
    assertThat(closed.out()).contains("1 open discrepancy in items (1 UNEXPECTED_IN_TARGET), oldest ",
        "(1 open in all, more than --max-open 0): see `tail --config " + file + " --from-beginning --table items`");

    assertThat(gate("--max-open", "1").code()).as("one allowed").isEqualTo(ExitCodes.OK);
    Run old = gate("--max-open", "1", "--max-age", "1ms");
    assertThat(old.code()).isEqualTo(GateCommand.CLOSED);
    assertThat(old.out()).contains("older than --max-age 1 ms").doesNotContain("more than --max-open");
    assertThat(gate("--max-open", "1", "--max-age", "1h").code()).isEqualTo(ExitCodes.OK);

    try (OpenDiscrepancies.Follower f = OpenDiscrepancies.follow(config, env.kafka.bootstrapServers())) {
      await().atMost(AWAIT).until(f::caughtUp);
      assertThat(f.board().open()).extracting(Discrepancy::table, d -> d.key().get("id"), d -> d.kind().name())
          .containsExactly(org.assertj.core.groups.Tuple.tuple("items", "99", "UNEXPECTED_IN_TARGET"));
      assertThat(OpenDiscrepancies.readAll(config, env.kafka.bootstrapServers()).open())
          .extracting(Discrepancy::id).containsExactly(f.board().open().get(0).id());

      env.sql("legacy", "INSERT INTO items VALUES (99, 'ghost')"); // the source gets it too: agreement
      await().atMost(AWAIT).until(() -> f.board().open().isEmpty());
    }
    awaitGate(r -> r.code() == ExitCodes.OK);
  }

  @Test
  @Order(4)
  void aDisagreementWithinItsWindowClosesItUntilItConverges() throws Exception {
    env.sql("modern", "INSERT INTO orders VALUES (50, 'target only')");
    Run closed = awaitGate(r -> r.code() == GateCommand.CLOSED);
    assertThat(closed.out()).contains("1 key of orders disagrees and is still within their window (1 in all, more"
        + " than --max-pending 0): wait one window (verify.window: 30 s for orders) for them to converge or be"
        + " reported", "disagreements within their window: 1 (--max-pending 0)")
        .containsPattern("orders +compared in full .*; open: 0; pending: 1").doesNotContain("open discrepancy in");
    assertThat(gate("--max-pending", "1").code()).as("one allowed").isEqualTo(ExitCodes.OK);

    env.sql("legacy", "INSERT INTO orders VALUES (50, 'target only')");
    Run open = awaitGate(r -> r.code() == ExitCodes.OK);
    assertThat(open.out()).contains("disagreements within their window: 0");
    assertThat(OpenDiscrepancies.readAll(config, env.kafka.bootstrapServers()).openCount())
        .as("it converged within its window: never reported").isZero();
  }

  @Test
  @Order(5)
  void aStalledCaptureClosesItUntilItRunsAgain() throws Exception {
    pipeline.stopCapture(Side.TARGET);
    Run closed = awaitGate(r -> r.code() == GateCommand.CLOSED, "--max-lag", "2s");
    assertThat(closed.out()).containsPattern("capture-target is \\d+ s behind in partitions 0, 1 of"
        + " gate.changes.target \\(newest watermark .*, --max-lag 2 s\\): is its capture running\\?")
        .doesNotContain("capture-source is");
    JsonNode v = JSON.readTree(gate("--max-lag", "2s", "--json").out());
    assertThat(v.get("captures")).anySatisfy(c -> {
      assertThat(c.get("side").asText()).isEqualTo("target");
      assertThat(c.get("current").asBoolean()).isFalse();
      assertThat(c.get("lagMs").asLong()).isGreaterThan(2_000);
    });

    Coverage.Entry snapshot = Coverage.readAll(config, env.kafka.bootstrapServers()).snapshot("items", Side.TARGET)
        .orElseThrow();
    pipeline.restartCapture(Side.TARGET, probe);
    Run open = awaitGate(r -> r.code() == ExitCodes.OK, "--max-lag", "2s");
    assertThat(open.out()).contains("gate gate: OPEN");
    assertThat(Coverage.readAll(config, env.kafka.bootstrapServers()).snapshot("items", Side.TARGET))
        .as("a restarted capture resumes without a snapshot, so it records none").hasValue(snapshot);
    assertThat(probe.anomalies).isEmpty();
  }

  @Test
  @Order(6)
  void aStoppedVerifyRoleClosesItUntilItRunsAgain() throws Exception {
    verify.close();
    verify = null;
    Run closed = awaitGate(r -> r.code() == GateCommand.CLOSED, "--max-lag", "2s");
    assertThat(closed.out()).containsPattern("the verify role \\(gate.verify\\) is \\d+ s behind in partitions 0, 1"
        + " of gate.changes.source \\(--max-lag 2 s\\): until it catches up, discrepancies may be unreported")
        .contains("of gate.changes.target").doesNotContain("capture-source is", "capture-target is");

    verify = Pipeline.start(config, EnumSet.of(Role.VERIFY), env.kafka.bootstrapServers(), probe, probe);
    awaitGate(r -> r.code() == ExitCodes.OK, "--max-lag", "2s");
    assertThat(probe.anomalies).isEmpty();
  }

  @Test
  @Order(7)
  void anUnreadableDiscrepancyRecordClosesItUntilSuperseded() throws Exception {
    byte[] key = CanonicalKey.of("items", new TreeMap<>(Map.of("id", "77"))).toBytes();
    env.produce(config, List.of(new ProducerRecord<>("gate.discrepancies", key, "{not json".getBytes(UTF_8))));
    Run closed = gate();
    assertThat(closed.code()).isEqualTo(GateCommand.CLOSED);
    assertThat(closed.out()).containsPattern("1 record of gate.discrepancies cannot be read \\(partition \\d offset"
        + " \\d+\\): a discrepancy in it would be invisible");
    JsonNode v = JSON.readTree(gate("--json").out());
    assertThat(v.get("malformedDiscrepancyRecords").asInt()).isEqualTo(1);

    env.produce(config, List.of(new ProducerRecord<>("gate.discrepancies", key, null))); // a tombstone supersedes it
    assertThat(gate().code()).isEqualTo(ExitCodes.OK);
  }

  @Test
  @Order(8)
  void anAuditResolvesAFindingItNowFindsConsistent() throws Exception {
    // an earlier audit's finding, since fixed in a way the stream never saw (the row agrees now)
    TreeMap<String, String> id1 = new TreeMap<>(Map.of("id", "1"));
    long then = System.currentTimeMillis() - 60_000;
    Discrepancy found = new Discrepancy(UUID.randomUUID().toString(), DiscrepancyKind.VALUE_MISMATCH, "items", id1,
        Discrepancy.DETECTOR_AUDIT, then, then, new TreeMap<>(Map.of("id", "1", "label", "one")), null, List.of(),
        null, null, null, null, then);
    env.produce(config, List.of(new ProducerRecord<>("gate.discrepancies", CanonicalKey.of("items", id1).toBytes(),
        EventCodec.encode(found))));
    Run closed = gate();
    assertThat(closed.code()).isEqualTo(GateCommand.CLOSED);
    assertThat(closed.out()).contains("1 open discrepancy in items (1 VALUE_MISMATCH)");

    Run audit = cli("audit", "--config", file.toString(), "--table", "items");
    assertThat(audit.code()).as(audit.toString()).isEqualTo(ExitCodes.OK);
    assertThat(audit.out()).contains("table items: 1 open discrepancy found consistent by this audit: RESOLVED"
        + " (audit)");
    JsonNode resolved = env.read(config, "gate.discrepancies").stream().filter(r -> r.value() != null)
        .map(r -> new String(r.value(), UTF_8)).filter(v -> v.contains("\"RESOLVED\"") && v.contains(found.id()))
        .map(GateIT::readTree).findFirst().orElseThrow();
    assertThat(resolved.get("detector").asText()).isEqualTo("audit");
    assertThat(resolved.get("resolution").asText()).isEqualTo("audit");
    assertThat(resolved.get("resolves").asText()).isEqualTo(found.id());
    assertThat(JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
        .getSchema(TopologyDocs.schema("discrepancy.schema.json")).validate(resolved)).isEmpty();
    awaitGate(r -> r.code() == ExitCodes.OK);
  }

  @Test
  @Order(9)
  void deadLetteredChangesCloseItUntilAnAuditStartedAfterThem() throws Exception {
    // the verify role cannot read these: it dead-letters them with their record keys
    byte[] item5 = CanonicalKey.of("items", new TreeMap<>(Map.of("id", "5"))).toBytes();
    env.produce(config, List.of(new ProducerRecord<>("gate.changes.source", item5, "garbage".getBytes(UTF_8)),
        new ProducerRecord<>("gate.changes.target", null, "garbage, no key".getBytes(UTF_8))));
    Run closed = awaitGate(r -> r.out().contains("could not be attributed") && r.out().contains("of items went to"));
    assertThat(closed.code()).isEqualTo(GateCommand.CLOSED);
    assertThat(closed.out()).containsPattern("1 change event of items went to gate.changes.dlq \\(newest .*\\) since"
        + " its latest comparison in full started")
        .contains("then run `audit --config " + file + " --table items`",
            "1 change event on gate.changes.dlq (newest ", "`audit --config " + file + "`")
        .containsPattern("items +NOT compared in full \\(1 change dead-lettered since");

    Run audit = cli("audit", "--config", file.toString());
    assertThat(audit.code()).as(audit.toString()).isEqualTo(ExitCodes.OK);
    Run open = awaitGate(r -> r.code() == ExitCodes.OK);
    assertThat(open.out()).containsPattern("items +compared in full by initial snapshots .* and audit");
    assertThat(probe.anomalies).as("the verify role's view of them").hasSize(2)
        .allMatch(a -> a.startsWith("malformed record on gate.changes."));
  }

  private static JsonNode readTree(String value) {
    try {
      return JSON.readTree(value);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
