package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check --repair} through the command line on a real PostgreSQL and broker: the exit codes
 * (0 consistent or repaired, 3 different and not repaired, 1 failure, 2 invalid), the repair of a
 * detect-only table on explicit request, the repair log entry and the review record on Kafka, and
 * the embedded-broker case where nothing goes to Kafka.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CheckRepairIT {
  private static final String TABLES = """
      tables:
        - name: items
          key: [id]
        - name: reviewed
          key: [id]
          repair: {policy: manual}
      """;

  @Test
  void checkRepairFixesARowLogsItAndExitsPerTheDocumentedCodes(@TempDir Path dir) throws Exception {
    try (OpsItSupport env = new OpsItSupport(dir)) {
      Path f = env.configFile("chk", TABLES);
      VerifierConfig c = OpsItSupport.load(f);
      for (String db : List.of("legacy", "modern")) {
        env.sql(db, "CREATE TABLE items (id BIGINT PRIMARY KEY, amount NUMERIC(10,2), note TEXT)",
            "CREATE TABLE reviewed (id BIGINT PRIMARY KEY, note TEXT)",
            "INSERT INTO reviewed VALUES (1, '" + db + "')");
      }
      env.sql("legacy", "INSERT INTO items VALUES (1, 10.50, 'right'), (2, 2, 'missing')");
      env.sql("modern", "INSERT INTO items VALUES (1, 99, 'wrong')");

      // no --repair: different -> 3, nothing written
      CliTest.Run plain = CliTest.run("check", "--config", f.toString(), "--table", "items", "--key", "id=1");
      assertThat(plain.code()).isEqualTo(ExitCodes.DIFFERENT);
      assertThat(plain.out()).contains("VALUE_MISMATCH", "amount  source='10.5'  target='99'");

      // --repair on a detect-only table: repaired with its policy (source-wins), logged, exit 0
      CliTest.Run fixed = CliTest.run("check", "--config", f.toString(), "--table", "items", "--key", "id=1",
          "--repair");
      assertThat(fixed.code()).as(fixed.out() + fixed.err()).isEqualTo(ExitCodes.OK);
      assertThat(fixed.out()).contains("VALUE_MISMATCH", "repair: APPLIED (update by source-wins",
          "logged to chk.repairs.log");
      assertThat(env.value("modern", "items", 1, "note")).isEqualTo("right");
      assertThat(env.value("modern", "items", 1, "amount")).isEqualTo("10.50");
      List<ConsumerRecord<byte[], byte[]>> log = env.read(c, c.topics().repairsLog());
      assertThat(log).hasSize(1);
      RepairLogEntry e = RepairEvents.decodeRepairLog(log.get(0).value());
      assertThat(e.origin()).isEqualTo("check");
      assertThat(e.before()).containsEntry("note", "wrong");
      assertThat(e.after()).containsEntry("note", "right");
      assertThat(new String(log.get(0).key(), java.nio.charset.StandardCharsets.UTF_8))
          .isEqualTo("{\"table\":\"items\",\"key\":{\"id\":\"1\"}}");

      CliTest.Run now = CliTest.run("check", "--config", f.toString(), "--table", "items", "--key", "id=1",
          "--repair");
      assertThat(now.code()).isEqualTo(ExitCodes.OK);
      assertThat(now.out()).contains("CONSISTENT", "repair: nothing to do (consistent)");
      assertThat(env.read(c, c.topics().repairsLog())).hasSize(1);

      // --json: the answer of POST /check; a missing row inserted
      CliTest.Run json = CliTest.run("check", "--config", f.toString(), "--table", "items", "--key", "id=2",
          "--repair", "--json");
      assertThat(json.code()).as(json.out() + json.err()).isEqualTo(ExitCodes.OK);
      JsonNode j = new ObjectMapper().readTree(json.out());
      assertThat(j.get("verdict").asText()).isEqualTo("MISSING_IN_TARGET");
      assertThat(j.get("repair").get("status").asText()).isEqualTo("APPLIED");
      assertThat(j.get("repair").get("logged").asBoolean()).isTrue();
      assertThat(j.get("repair").get("log").get("action").asText()).isEqualTo("insert");
      assertThat(env.value("modern", "items", 2, "note")).isEqualTo("missing");

      // policy manual: not repaired, sent to review, exit 3
      CliTest.Run review = CliTest.run("check", "--config", f.toString(), "--table", "reviewed", "--key", "id=1",
          "--repair");
      assertThat(review.code()).as(review.out() + review.err()).isEqualTo(ExitCodes.DIFFERENT);
      assertThat(review.out()).contains("repair: REVIEW (manual)", "sent to chk.review");
      assertThat(env.value("modern", "reviewed", 1, "note")).isEqualTo("modern");
      List<ConsumerRecord<byte[], byte[]>> reviews = env.read(c, c.topics().review());
      assertThat(reviews).hasSize(1);
      assertThat(new String(reviews.get(0).value(), java.nio.charset.StandardCharsets.UTF_8))
          .contains("\"policy\":\"manual\"", "\"kind\":\"VALUE_MISMATCH\"");

      // invalid key: 2
      CliTest.Run bad = CliTest.run("check", "--config", f.toString(), "--table", "items", "--key", "nope=1",
          "--repair");
      assertThat(bad.code()).isEqualTo(ExitCodes.INVALID);
      assertThat(bad.err()).contains("--key: table \"items\" is keyed by [id]");

      // Kafka unreachable: nothing written, 1
      env.sql("modern", "UPDATE items SET note = 'drift' WHERE id = 1");
      int closed;
      try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
        closed = s.getLocalPort();
      }
      Path noKafka = env.configFile("chk", TABLES, 0, "{bootstrap-servers: \"127.0.0.1:" + closed + "\"}");
      CliTest.Run down = CliTest.run("check", "--config", noKafka.toString(), "--table", "items", "--key", "id=1",
          "--repair");
      assertThat(down.code()).isEqualTo(ExitCodes.FAILURE);
      assertThat(down.err()).contains("cannot reach Kafka at 127.0.0.1:" + closed, "nothing was written");
      assertThat(env.value("modern", "items", 1, "note")).isEqualTo("drift");

      // embedded broker: repaired, nothing goes to Kafka, the log entry is printed instead
      Path embedded = env.configFile("chk", TABLES, 0, "{bootstrap-servers: embedded, embedded-port: 0}");
      CliTest.Run emb = CliTest.run("check", "--config", embedded.toString(), "--table", "items", "--key", "id=1",
          "--repair");
      assertThat(emb.code()).as(emb.out() + emb.err()).isEqualTo(ExitCodes.OK);
      assertThat(emb.out()).contains("repair: APPLIED", "kafka.bootstrap-servers is embedded: nothing was written"
          + " to Kafka", "chk.repairs.log: {\"v\":1");
      assertThat(env.value("modern", "items", 1, "note")).isEqualTo("right");
      assertThat(env.read(c, c.topics().repairsLog())).hasSize(2);
    }
  }
}
