package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.ops.Coverage;
import io.migrationverifier.ops.OpenDiscrepancies;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.PipelineFixture.Probe;
import io.migrationverifier.runtime.Role;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
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
          - {name: orders, key: [id]}
          - {name: items, key: [id]}
        """.formatted(env.kafka.bootstrapServers(), env.pg.port(), env.pg.port(), dir.resolve("state")));
    config = OpsItSupport.load(file);
  }

  @AfterAll
  void stop() throws Exception {
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
  @Order(5)
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
}
