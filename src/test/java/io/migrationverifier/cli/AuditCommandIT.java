package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.audit.Audit;
import io.migrationverifier.audit.KeyRange;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.ops.OpenDiscrepancies;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code audit} through the command line on a real PostgreSQL and broker: the summary, the events
 * on the discrepancy topic (detector audit), --json, --repair through the repair path with its
 * log on Kafka, the embedded-broker case, resume after an interrupted run, and the exit codes.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AuditCommandIT {
  private static final String TABLES = """
      audit: {segment-rows: 500, bisect-rows: 50}
      tables:
        - name: items
          key: [id]
          window: 200ms
          repair: {enabled: true}
        - name: quiet
          key: [id]
          window: 200ms
      """;

  @Test
  void auditReportsPublishesRepairsAndResumes(@TempDir Path dir) throws Exception {
    try (OpsItSupport env = new OpsItSupport(dir)) {
      Path f = env.configFile("aud", TABLES);
      VerifierConfig c = OpsItSupport.load(f);
      for (String db : List.of("legacy", "modern")) {
        env.sql(db, "CREATE TABLE items (id BIGINT PRIMARY KEY, amount NUMERIC(10,2), note TEXT)",
            "INSERT INTO items SELECT g, g, 'n' || g FROM generate_series(1, 3000) g",
            "CREATE TABLE quiet (id INT PRIMARY KEY, v TEXT)",
            "INSERT INTO quiet SELECT g, 'v' FROM generate_series(1, 100) g");
      }
      env.sql("modern", "UPDATE items SET note = 'wrong' WHERE id = 42", "DELETE FROM items WHERE id = 2500",
          "INSERT INTO items VALUES (9999, 1, 'extra')");

      CliTest.Run plain = CliTest.run("audit", "--config", f.toString(), "--hashing", "jvm");
      assertThat(plain.code()).as(plain.out() + plain.err()).isEqualTo(ExitCodes.DIFFERENT);
      assertThat(plain.out()).contains("source rows", "differing", "rows/s")
          .containsPattern("items\\s+jvm\\s+3000\\s+3000\\s+\\d+\\s+[1-3]\\s+1\\s+1\\s+1\\s")
          .containsPattern("quiet\\s+jvm\\s+100\\s+100\\s+1\\s+0\\s+0\\s+0\\s+0\\s")
          .contains("VALUE_MISMATCH items {id=42} columns [note]", "3 differences written to aud.discrepancies");
      assertThat(plain.err()).containsPattern("audit items: segments \\d+/\\d+, 6000 rows, \\d+ rows/s");
      List<ConsumerRecord<byte[], byte[]>> events = env.read(c, c.topics().discrepancies());
      assertThat(events).hasSize(3);
      assertThat(events).extracting(r -> new String(r.key(), StandardCharsets.UTF_8)).containsExactlyInAnyOrder(
          "{\"table\":\"items\",\"key\":{\"id\":\"42\"}}", "{\"table\":\"items\",\"key\":{\"id\":\"2500\"}}",
          "{\"table\":\"items\",\"key\":{\"id\":\"9999\"}}");
      assertThat(events).allMatch(r -> new String(r.value(), StandardCharsets.UTF_8)
          .contains("\"detector\":\"audit\""));
      assertThat(OpenDiscrepancies.readAll(c, env.kafka.bootstrapServers()).openCount()).as("what `gate` sees")
          .isEqualTo(3);

      // --metrics-port: progress as Prometheus gauges while the audit runs
      List<String> scraped = new java.util.concurrent.CopyOnWriteArrayList<>();
      AuditCommand.testListener = new Audit.Listener() {
        @Override
        public void segmentDone(String table, int done, KeyRange range) {
          if (scraped.isEmpty() && table.equals("items")) {
            scraped.add(metricsNow());
          }
        }
      };
      CliTest.Run withMetrics;
      try {
        withMetrics = CliTest.run("audit", "--config", f.toString(), "--table", "items", "--hashing", "jvm",
            "--metrics-port", Integer.toString(METRICS_PORT));
      } finally {
        AuditCommand.testListener = null;
      }
      assertThat(withMetrics.code()).as(withMetrics.out() + withMetrics.err()).isEqualTo(ExitCodes.DIFFERENT);
      assertThat(withMetrics.err()).contains("metrics: http://127.0.0.1:" + METRICS_PORT + "/metrics");
      assertThat(scraped).hasSize(1);
      assertThat(scraped.get(0)).containsPattern("verifier_audit_segments_done\\{table=\"items\"} [1-9]")
          .containsPattern("verifier_audit_rows\\{table=\"items\"} [1-9]")
          .contains("jvm_memory_used_bytes");

      CliTest.Run json = CliTest.run("audit", "--config", f.toString(), "--table", "items", "--json",
          "--hashing", "jvm");
      assertThat(json.code()).as(json.err()).isEqualTo(ExitCodes.DIFFERENT);
      JsonNode j = new ObjectMapper().readTree(json.out());
      assertThat(j.get("differences").asInt()).isEqualTo(3);
      JsonNode t = j.get("tables").get(0);
      assertThat(t.get("table").asText()).isEqualTo("items");
      assertThat(t.get("hashing").asText()).isEqualTo("jvm");
      assertThat(t.get("differences").get("MISSING_IN_TARGET").asInt()).isEqualTo(1);
      assertThat(t.get("discrepancies")).hasSize(3);
      assertThat(t.get("sourceRows").asLong()).isEqualTo(3000);

      // interrupted after 2 segments: exit 1, then --resume finishes with the same differences
      AuditCommand.testListener = new Audit.Listener() {
        @Override
        public void segmentDone(String table, int done, KeyRange range) {
          if (done == 2) {
            throw new IllegalStateException("simulated crash");
          }
        }
      };
      CliTest.Run killed;
      try {
        killed = CliTest.run("audit", "--config", f.toString(), "--table", "items", "--hashing", "jvm");
      } finally {
        AuditCommand.testListener = null;
      }
      assertThat(killed.code()).isEqualTo(ExitCodes.FAILURE);
      assertThat(killed.err()).contains("simulated crash", "audit --resume");
      CliTest.Run resumed = CliTest.run("audit", "--config", f.toString(), "--table", "items", "--resume",
          "--hashing", "jvm");
      assertThat(resumed.code()).as(resumed.err()).isEqualTo(ExitCodes.DIFFERENT);
      assertThat(resumed.err()).contains("resuming after 2 segments");
      assertThat(resumed.out()).contains("resumed: 2 segments", "VALUE_MISMATCH items {id=42}",
          "MISSING_IN_TARGET items {id=2500}", "UNEXPECTED_IN_TARGET items {id=9999}");

      // every table: the second one fails after the first one's findings were delivered; --resume
      // audits only what is left, so the first table's findings are not reported twice
      int before = env.read(c, c.topics().discrepancies()).size();
      AuditCommand.testListener = new Audit.Listener() {
        @Override
        public void segmentDone(String table, int done, KeyRange range) {
          if (table.equals("quiet")) {
            throw new IllegalStateException("simulated crash in quiet");
          }
        }
      };
      CliTest.Run secondFails;
      try {
        secondFails = CliTest.run("audit", "--config", f.toString(), "--hashing", "jvm");
      } finally {
        AuditCommand.testListener = null;
      }
      assertThat(secondFails.code()).as(secondFails.err()).isEqualTo(ExitCodes.FAILURE);
      assertThat(env.read(c, c.topics().discrepancies())).hasSize(before + 3);
      CliTest.Run rest = CliTest.run("audit", "--config", f.toString(), "--hashing", "jvm", "--resume");
      assertThat(rest.code()).as(rest.out() + rest.err()).isEqualTo(ExitCodes.OK);
      assertThat(rest.err()).contains("table items: audited and delivered by the interrupted run");
      assertThat(env.read(c, c.topics().discrepancies())).as("nothing reported twice").hasSize(before + 3);

      // --repair: through the repair path; logged with origin audit; afterwards nothing differs
      CliTest.Run repaired = CliTest.run("audit", "--config", f.toString(), "--table", "items", "--repair",
          "--hashing", "jvm");
      assertThat(repaired.code()).as(repaired.out() + repaired.err()).isEqualTo(ExitCodes.OK);
      assertThat(repaired.out()).contains("repair APPLIED (source-wins)");
      assertThat(env.value("modern", "items", 42, "note")).isEqualTo("n42");
      assertThat(env.value("modern", "items", 2500, "note")).isEqualTo("n2500");
      assertThat(env.value("modern", "items", 9999, "note")).isEqualTo("<absent>");
      List<ConsumerRecord<byte[], byte[]>> log = env.read(c, c.topics().repairsLog());
      assertThat(log).hasSize(3);
      RepairLogEntry e = RepairEvents.decodeRepairLog(log.get(0).value());
      assertThat(e.origin()).isEqualTo("audit");
      // each repaired finding is closed by a RESOLVED (repaired) of its own: `gate` no longer sees them open
      List<Discrepancy> resolved = env.read(c, c.topics().discrepancies()).stream()
          .map(r -> RepairEvents.decodeDiscrepancy(r.value())).filter(d -> d.kind() == DiscrepancyKind.RESOLVED)
          .toList();
      assertThat(resolved).hasSize(3).allSatisfy(d -> {
        assertThat(d.detector()).isEqualTo("audit");
        assertThat(d.resolution()).isEqualTo("repaired");
        assertThat(d.resolves()).isNotNull();
      });
      assertThat(resolved).extracting(d -> d.key().get("id")).containsExactlyInAnyOrder("42", "2500", "9999");
      assertThat(OpenDiscrepancies.readAll(c, env.kafka.bootstrapServers()).openCount()).isZero();
      CliTest.Run clean = CliTest.run("audit", "--config", f.toString(), "--hashing", "jvm");
      assertThat(clean.code()).as(clean.out() + clean.err()).isEqualTo(ExitCodes.OK);

      // embedded broker: nothing goes to Kafka, the events are printed
      env.sql("modern", "UPDATE quiet SET v = 'w' WHERE id = 7");
      Path embedded = env.configFile("aud", TABLES, 0, "{bootstrap-servers: embedded, embedded-port: 0}");
      CliTest.Run emb = CliTest.run("audit", "--config", embedded.toString(), "--table", "quiet", "--hashing", "jvm");
      assertThat(emb.code()).isEqualTo(ExitCodes.DIFFERENT);
      assertThat(emb.out()).contains("kafka.bootstrap-servers is embedded: nothing was written",
          "aud.discrepancies: {", "\"detector\":\"audit\"");

      // invalid command lines: 2
      assertThat(CliTest.run("audit", "--config", f.toString(), "--segments", "bogus").code())
          .isEqualTo(ExitCodes.INVALID);
      CliTest.Run unknown = CliTest.run("audit", "--config", f.toString(), "--table", "nope");
      assertThat(unknown.code()).isEqualTo(ExitCodes.INVALID);
      assertThat(unknown.err()).contains("unknown table \"nope\"");
    }
  }

  private static final int METRICS_PORT = freePort();

  private static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** GET /metrics of the running audit. */
  private static String metricsNow() {
    try {
      return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + METRICS_PORT + "/metrics")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    } catch (java.io.IOException | InterruptedException e) {
      return "scrape failed: " + e;
    }
  }
}
