package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.kafka.EmbeddedKafka;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tail} through the command line on a real broker: the human format with the field diff,
 * --json lines equal to the records, the table and kind filters, where reading starts, malformed
 * records reported and skipped, Ctrl-C and SIGTERM ending with exit 0, and the exit codes.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TailCommandIT {
  @TempDir
  static Path dir;
  static EmbeddedKafka kafka;

  @BeforeAll
  static void start() {
    kafka = EmbeddedKafka.start(0, dir.resolve("kafka"));
  }

  @AfterAll
  static void stop() {
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void replaysFormatsFiltersAndSkipsMalformedRecords() throws Exception {
    Path f = TailRun.configFile(dir, "taila", kafka.bootstrapServers());
    VerifierConfig c = TailRun.ensureTopics(f);
    Discrepancy mismatch = TailRun.mismatch("orders", 42, "10.5", "11.5");
    Discrepancy missing = TailRun.missing("orders", 7, "3.25");
    Discrepancy unexpected = TailRun.unexpected("items", 9, "1");
    Discrepancy resolved = TailRun.resolved(mismatch);
    Discrepancy itemsMismatch = TailRun.mismatch("items", 42, "1", "2");
    List<Discrepancy> all = List.of(mismatch, missing, unexpected, resolved, itemsMismatch);
    TailRun.produce(c, List.of(TailRun.record(c, mismatch), TailRun.record(c, missing),
        TailRun.malformed(c, "orders", 42), TailRun.tombstone(c, "orders", 7), TailRun.record(c, unexpected), TailRun.record(c, resolved),
        TailRun.record(c, itemsMismatch)));

    // human format, whole topic, then stop at its end
    TailRun text = TailRun.run("--config", f.toString(), "--from-beginning", "--no-follow");
    assertThat(text.awaitExit()).as(text.err()).isEqualTo(ExitCodes.OK);
    String out = text.out();
    assertThat(out).contains(
        "2025-11-24T16:00:47Z VALUE_MISMATCH orders {id=42} detector=stream diverged 5.0s before detection (since"
            + " 2025-11-24T16:00:42Z) id=" + mismatch.id(),
        "    amount  source \"10.5\"  target \"11.5\"",
        "MISSING_IN_TARGET orders {id=7} detector=audit diverged 2.5s before detection",
        "    source row (no row in the target):", "      amount  \"3.25\"", "      note    \"only in source\"",
        "UNEXPECTED_IN_TARGET items {id=9} detector=check", "    target row (no row in the source):",
        "      note    \"only in target\"",
        "RESOLVED orders {id=42} detector=stream resolved by a target change after 12.3s open (diverged since"
            + " 2025-11-24T16:00:42Z) id=" + resolved.id() + " resolves=" + mismatch.id());
    assertThat(out).doesNotContain("\u001b[");
    // per key the topic's order: the mismatch before its resolution
    assertThat(out.indexOf(resolved.id())).isGreaterThan(out.indexOf("id=" + mismatch.id()));
    // the malformed record is reported once; the tombstone (a purged row) is no event and no error
    assertThat(text.err().lines().filter(l -> l.contains("malformed"))).singleElement().asString()
        .contains("not valid JSON: Unexpected end-of-input", "[line: 1, column: 26]",
            "; value: \"{\\\"v\\\":1,\\\"kind\\\":\\\"SOMETHING\\\"\"")
        .doesNotContain("REDACTED");
    assertThat(text.err()).containsPattern("tail: skipped a malformed record at taila\\.discrepancies partition \\d"
        + " offset \\d+: ").contains("tail: stopped (end of the topic); 5 events");

    // --json: the records exactly, one per line; --idle-timeout ends a followed replay
    TailRun json = TailRun.run("--config", f.toString(), "--from-beginning", "--json", "--idle-timeout", "1500ms");
    assertThat(json.awaitExit()).as(json.err()).isEqualTo(ExitCodes.OK);
    List<String> lines = json.out().lines().toList();
    assertThat(lines).hasSize(5);
    assertThat(lines.stream().map(l -> RepairEvents.decodeDiscrepancy(l.getBytes(StandardCharsets.UTF_8))))
        .containsExactlyInAnyOrderElementsOf(all);
    assertThat(lines).contains(new String(EventCodec.encode(resolved),
        StandardCharsets.UTF_8));
    assertThat(json.err()).contains("tail: stopped (nothing new for 1500ms)", "skipped a malformed record");

    // filters: tables and kinds, repeatable or comma-separated, kinds case-insensitive
    TailRun items = TailRun.run("--config", f.toString(), "--from-beginning", "--no-follow", "--json", "--table",
        "items", "--kind", "value-mismatch,unexpected_in_target");
    assertThat(ids(items)).containsExactlyInAnyOrder(unexpected.id(), itemsMismatch.id());
    TailRun kinds = TailRun.run("--config", f.toString(), "--from-beginning", "--no-follow", "--json", "--kind",
        "resolved", "--kind", "MISSING_IN_TARGET", "-t", "orders,items");
    assertThat(ids(kinds)).containsExactlyInAnyOrder(resolved.id(), missing.id());

    // colours only when asked (stdout is not a terminal here)
    TailRun colored = TailRun.run("--config", f.toString(), "--from-beginning", "--no-follow", "--color=always",
        "--kind", "VALUE_MISMATCH", "--table", "orders");
    assertThat(colored.out()).contains("\u001b[1m\u001b[33mVALUE_MISMATCH\u001b[0m",
        "source \u001b[32m\"10.5\"\u001b[0m", "target \u001b[31m\"11.5\"\u001b[0m");
  }

  private static List<String> ids(TailRun r) {
    assertThat(r.awaitExit()).as(r.err()).isEqualTo(ExitCodes.OK);
    return r.out().lines().map(l -> RepairEvents.decodeDiscrepancy(l.getBytes(StandardCharsets.UTF_8)).id())
        .toList();
  }

  @Test
  void startsAtTheEndByDefaultAndStopsOnASignal() throws Exception {
    Path f = TailRun.configFile(dir, "tailb", kafka.bootstrapServers());
    VerifierConfig c = TailRun.ensureTopics(f);
    Discrepancy old = TailRun.mismatch("orders", 1, "1", "2");
    TailRun.produce(c, List.of(TailRun.record(c, old)));

    Discrepancy first = TailRun.missing("orders", 2, "5");
    Discrepancy second = TailRun.mismatch("items", 3, "7", "8");
    try (TailRun tail = TailRun.start("--config", f.toString(), "--json", "--max-events", "2").awaitReady()) {
      assertThat(tail.err()).contains("tail: following tailb.discrepancies (2 partitions) from the end; Ctrl-C stops");
      TailRun.produce(c, List.of(TailRun.record(c, first), TailRun.record(c, second)));
      assertThat(tail.awaitExit()).as(tail.err()).isEqualTo(ExitCodes.OK);
      assertThat(ids(tail)).containsExactlyInAnyOrder(first.id(), second.id());
      assertThat(tail.err()).contains("tail: stopped (--max-events 2 reached); 2 events");
    }

    // a signal (Ctrl-C, SIGTERM): a clean stop with exit 0
    try (TailRun tail = TailRun.start("--config", f.toString()).awaitReady()) {
      Discrepancy third = TailRun.unexpected("orders", 4, "9");
      TailRun.produce(c, List.of(TailRun.record(c, third)));
      await().atMost(Duration.ofSeconds(30))
          .until(() -> tail.out().contains(third.id()));
      assertThat(tail.interrupt()).isEqualTo(ExitCodes.OK);
      assertThat(tail.err()).contains("tail: stopped (signal); 1 event");
      assertThat(tail.out()).doesNotContain(old.id(), first.id());
    }
  }

  @Test
  void sigtermOrAClosedStdoutEndAStandaloneTailWithExitZero() throws Exception {
    Path f = TailRun.configFile(dir, "tailc", kafka.bootstrapServers());
    VerifierConfig c = TailRun.ensureTopics(f);
    // to files: a pipe read while the process exits can lose its last lines ("Stream closed")
    Path out = dir.resolve("tailc.out");
    Path err = dir.resolve("tailc.err");
    Process p = tailProcess(f).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try {
      awaitReady(p, err);
      Discrepancy d = TailRun.missing("orders", 1, "2");
      TailRun.produce(c, List.of(TailRun.record(c, d)));
      await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(out).contains(d.id()));
      p.destroy(); // SIGTERM
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(Files.readString(err)).isEqualTo(ExitCodes.OK);
      assertThat(Files.readString(err)).contains("tail: following tailc.discrepancies",
          "tail: stopped (signal); 1 event");
    } finally {
      p.destroyForcibly();
    }

    // `tail | head -1`: once the reader is gone, the next event ends the tail
    Path err2 = dir.resolve("tailc2.err");
    Process q = tailProcess(f).redirectError(err2.toFile()).start();
    try {
      q.getInputStream().close();
      awaitReady(q, err2);
      TailRun.produce(c, List.of(TailRun.record(c, TailRun.missing("orders", 2, "3"))));
      assertThat(q.waitFor(30, TimeUnit.SECONDS)).as(Files.readString(err2)).isTrue();
      assertThat(q.exitValue()).as(Files.readString(err2)).isEqualTo(ExitCodes.OK);
      assertThat(Files.readString(err2)).contains("tail: stopped (stdout closed); 1 event");
    } finally {
      q.destroyForcibly();
    }
  }

  private static ProcessBuilder tailProcess(Path config) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "io.migrationverifier.cli.Main",
        "tail", "--config", config.toString());
  }

  /** The signal handlers are installed before the ready line: signal (or produce) only after it. */
  private static void awaitReady(Process p, Path err) {
    await().atMost(Duration.ofSeconds(60)).until(() -> !p.isAlive() || Files.readString(err)
        .contains("tail: following"));
    assertThat(p.isAlive()).as("tail runs").isTrue();
  }

  @Test
  void badArgumentsExitTwoAndAnUnreachableBrokerExitsOne() throws Exception {
    Path f = TailRun.configFile(dir, "taild", kafka.bootstrapServers());
    for (String[] bad : List.of(new String[] {"--kind", "oops"}, new String[] {"--table", "nope"},
        new String[] {"--idle-timeout", "soon"}, new String[] {"--max-events", "0"},
        new String[] {"--color", "purple"}, new String[] {"--webhook", "ftp://x/y"},
        new String[] {"--webhook", "http://127.0.0.1:1/x", "--json"})) {
      List<String> args = new ArrayList<>(List.of("--config", f.toString()));
      args.addAll(List.of(bad));
      TailRun r = TailRun.run(args.toArray(String[]::new));
      assertThat(r.awaitExit()).as(String.join(" ", bad) + ": " + r.err()).isEqualTo(ExitCodes.INVALID);
      assertThat(r.err()).as(String.join(" ", bad)).contains(bad[0].startsWith("--json") ? "--json" : bad[0]);
    }
    assertThat(TailRun.run("--config", f.toString(), "--kind", "oops").err())
        .contains("--kind: \"oops\" is not a discrepancy kind");
    assertThat(TailRun.run("--config", f.toString(), "--table", "nope").err())
        .contains("--table: unknown table \"nope\"; configured: [orders, items]");

    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    Path down = TailRun.configFile(dir, "taile", "127.0.0.1:" + closed);
    TailRun r = TailRun.run("--config", down.toString());
    assertThat(r.awaitExit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).contains("tail: cannot reach Kafka at 127.0.0.1:" + closed, "start the broker or fix the"
        + " address");
  }
}
