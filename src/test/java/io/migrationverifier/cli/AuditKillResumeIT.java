package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.audit.AuditCheckpoint;
import io.migrationverifier.testutil.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5, "resume after the audit process is killed": an {@code audit} in its own JVM is killed
 * with SIGKILL in the middle of a throttled scan (no shutdown hook, no catch block runs), and
 * {@code audit --resume} then continues from the checkpoint the dead process left and reports
 * exactly the planted differences: those found before the kill (carried over in the checkpoint as
 * suspects, their segments not scanned again) and those after it, none twice.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AuditKillResumeIT {
  private static final int ROWS = 300_000;
  private static final int SEGMENT_ROWS = 5_000;
  /** Both sides counted: 2 x 300k rows at this rate is ~10 s of scan, long enough to kill it midway. */
  private static final int MAX_ROWS_PER_SECOND = 60_000;

  @Test
  void resumesAfterSigkillWithExactlyThePlantedDifferences(@TempDir Path dir) throws Exception {
    try (PostgresServer pg = PostgresServer.start()) {
      for (String db : List.of("legacy", "modern")) {
        pg.createDatabase(db);
        sql(pg, db, "CREATE TABLE items (id BIGINT PRIMARY KEY, amount NUMERIC(10,2), note TEXT)",
            "INSERT INTO items SELECT g, g % 1000, 'n' || g FROM generate_series(1, " + ROWS + ") g",
            "ANALYZE items");
      }
      // early ones (in the first segments, found before the kill) and late ones (found by the resumed run)
      sql(pg, "modern", "UPDATE items SET note = 'wrong' WHERE id = 1234",
          "DELETE FROM items WHERE id = 7001",
          "UPDATE items SET amount = -1 WHERE id = 250017",
          "DELETE FROM items WHERE id = 299999",
          "INSERT INTO items VALUES (" + (ROWS + 500) + ", 1, 'extra')");
      List<String> planted = List.of("VALUE_MISMATCH 1234", "MISSING_IN_TARGET 7001", "VALUE_MISMATCH 250017",
          "MISSING_IN_TARGET 299999", "UNEXPECTED_IN_TARGET " + (ROWS + 500));

      Path stateDir = dir.resolve("state");
      Path config = Files.writeString(dir.resolve("audit.yaml"), """
          name: killed
          kafka: {bootstrap-servers: embedded, embedded-port: 0}
          source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: postgres, password: ""}
          target: {type: postgres, host: 127.0.0.1, port: %d, database: modern, user: postgres, password: ""}
          verify: {state-dir: "%s"}
          http: {enabled: false}
          audit: {segment-rows: %d, max-rows-per-second: %d}
          tables:
            - name: items
              key: [id]
              window: 200ms
          """.formatted(pg.port(), pg.port(), stateDir, SEGMENT_ROWS, MAX_ROWS_PER_SECOND));
      Path checkpointFile = AuditCheckpoint.file(stateDir, "items");
      int totalSegments = ROWS / SEGMENT_ROWS;

      Path log = dir.resolve("killed-audit.log");
      Process audit = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
          System.getProperty("java.class.path"), Main.class.getName(), "audit", "--config", config.toString(),
          "--table", "items", "--hashing", "jvm")
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      try {
        // past the early differences (ids < 7500 lie in the first two segments), well before the end
        Awaitility.await("a checkpoint of the audit in the child JVM past segment 4 (its output is in " + log + ")")
            .atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofMillis(50))
            // the checkpoint is replaced by an atomic move, so it is never read half-written
            .until(() -> AuditCheckpoint.read(checkpointFile).map(c -> c.segmentsDone() >= 4).orElse(false)
                || !audit.isAlive());
        assertThat(audit.isAlive()).as("the audit ended before it could be killed:\n" + read(log)).isTrue();
        audit.destroyForcibly();
        assertThat(audit.waitFor(30, TimeUnit.SECONDS)).as("the killed audit is gone").isTrue();
      } finally {
        audit.destroyForcibly();
      }
      String killedOutput = read(log);
      assertThat(audit.exitValue()).as(killedOutput).isEqualTo(128 + 9);
      assertThat(killedOutput).as("killed before it printed a summary").doesNotContain("source rows", "VALUE_MISMATCH");

      AuditCheckpoint left = AuditCheckpoint.read(checkpointFile).orElseThrow(() -> new AssertionError(
          "no checkpoint " + checkpointFile + " after the kill:\n" + killedOutput));
      assertThat(left.scanDone()).as("killed midway, not after the scan").isFalse();
      assertThat(left.segmentsDone()).isBetween(4, totalSegments - 2);
      assertThat(left.suspects()).extracting(s -> s.kind() + " " + s.key().key().get("id"))
          .containsExactlyInAnyOrder("VALUE_MISMATCH 1234", "MISSING_IN_TARGET 7001");

      long t0 = System.nanoTime();
      CliTest.Run resumed = CliTest.run("audit", "--config", config.toString(), "--table", "items", "--resume",
          "--hashing", "jvm", "--json");
      long resumeMs = (System.nanoTime() - t0) / 1_000_000;
      String context = "killed run:\n" + killedOutput + "\nresumed run (" + resumeMs + " ms):\n" + resumed.err()
          + "\n" + resumed.out();
      assertThat(resumed.code()).as(context).isEqualTo(ExitCodes.DIFFERENT);
      assertThat(resumed.err()).as(context).contains("table items: resuming after " + left.segmentsDone()
          + " segments with 2 suspects");

      JsonNode json = new ObjectMapper().readTree(resumed.out());
      JsonNode t = json.get("tables").get(0);
      assertThat(t.get("segmentsResumed").asInt()).as(context).isEqualTo(left.segmentsDone()).isPositive();
      assertThat(t.get("sourceRows").asLong()).as("every source row counted once across both runs")
          .isEqualTo(ROWS);
      assertThat(t.get("targetRows").asLong()).isEqualTo(ROWS - 2 + 1);
      List<String> found = new ArrayList<>();
      for (JsonNode d : t.get("discrepancies")) {
        assertThat(d.get("detector").asText()).isEqualTo("audit");
        found.add(d.get("kind").asText() + " " + d.get("key").get("id").asText());
      }
      assertThat(found).as(context).containsExactlyInAnyOrderElementsOf(planted);
      assertThat(json.get("differences").asInt()).isEqualTo(planted.size());
      assertThat(json.get("unsent")).hasSize(planted.size());
      assertThat(checkpointFile).as("a finished audit removes its checkpoint").doesNotExist();
    }
  }

  private static void sql(PostgresServer pg, String db, String... statements) throws Exception {
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      for (String q : statements) {
        s.execute(q);
      }
    }
  }

  private static String read(Path f) throws Exception {
    return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
  }
}
