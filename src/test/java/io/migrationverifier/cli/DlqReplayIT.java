package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.repair.DlqFilter;
import io.migrationverifier.repair.DlqReplay;
import io.migrationverifier.repair.RepairEngine;
import io.migrationverifier.repair.RepairHandler;
import io.migrationverifier.repair.RepairHeaders;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dlq list} and {@code dlq replay} through the command line, on a real PostgreSQL and a real
 * broker. The dead letters are made the way the repair role makes them: {@link RepairHandler} meets
 * a permanent failure (the target's CHECK constraint refuses the source's value) and its DLQ
 * records, headers and all, are produced to {@code <name>.repairs.dlq}.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DlqReplayIT {
  private static final String TABLES = """
      tables:
        - name: %s
          key: [id]
          repair: {enabled: true}
      """;

  @TempDir
  static Path dir;
  static OpsItSupport env;

  @BeforeAll
  static void start() throws Exception {
    env = new OpsItSupport(dir);
  }

  @AfterAll
  static void stop() throws Exception {
    if (env != null) {
      env.close();
    }
  }

  /** Source rows with negative amounts; the target refuses them (CHECK amount > 0). */
  private static void tables(String table) throws Exception {
    env.sql("legacy", "CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, amount NUMERIC(10,2), note TEXT)",
        "INSERT INTO " + table + " VALUES (1, -1, 'a'), (2, -2, 'b'), (3, -3, 'c'), (4, -4, 'd')");
    env.sql("modern", "CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, amount NUMERIC(10,2) CONSTRAINT "
        + table + "_positive CHECK (amount > 0), note TEXT)", "INSERT INTO " + table + " VALUES (4, 4, 'd')");
  }

  /** Rows 1-3 missing in the target, row 4 a value mismatch: each repair fails on the constraint. */
  private static void deadLetter(VerifierConfig c, String table) throws Exception {
    List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (RepairEngine engine = RepairEngine.open(c, Canonicalizer.forConfig(c))) {
      RepairHandler handler = new RepairHandler(c, engine, System::currentTimeMillis, true);
      for (int id = 1; id <= 4; id++) {
        RepairHandler.Handled h = handler.handle(OpsItSupport.discrepancy(c, id == 4 ? DiscrepancyKind.VALUE_MISMATCH
            : DiscrepancyKind.MISSING_IN_TARGET, table, id, id), null);
        assertThat(h.verdict()).as("row %d", id).isEqualTo(RepairHandler.Verdict.DEAD);
        out.addAll(h.out());
      }
    }
    env.produce(c, out);
  }

  private static long repairsLogged(VerifierConfig c) {
    return env.read(c, c.topics().repairsLog()).size();
  }

  @Test
  void replaysAfterTheCauseIsFixedIdempotentlyAndResumably() throws Exception {
    Path f = env.configFile("dlqa", TABLES.formatted("items"));
    VerifierConfig c = OpsItSupport.load(f);
    env.ensureTopics(c);
    tables("items");
    deadLetter(c, "items");

    List<ConsumerRecord<byte[], byte[]>> dlq = env.read(c, c.topics().repairsDlq());
    assertThat(dlq).hasSize(4);
    ConsumerRecord<byte[], byte[]> first = dlq.get(0);
    assertThat(RepairHeaders.text(first.headers(), RepairHeaders.FAILURE_KIND)).isEqualTo("permanent");
    assertThat(RepairHeaders.text(first.headers(), DeadLetters.TOPIC)).isEqualTo(c.topics().discrepancies());
    assertThat(RepairHeaders.text(first.headers(), DeadLetters.MESSAGE)).contains("items_positive");

    // list: counts by table, kind and error
    CliTest.Run list = CliTest.run("dlq", "list", "--config", f.toString());
    assertThat(list.code()).as(list.err()).isEqualTo(ExitCodes.OK);
    assertThat(list.out()).contains("dlqa.repairs.dlq: 4 entries, 4 matching", "by table:", "4  items",
        "3  MISSING_IN_TARGET", "1  VALUE_MISMATCH", "4  PSQLException: ERROR: new row for relation \"items\" violates"
            + " check constraint \"items_positive\"", "not yet replayed by `dlq replay` with these filters: 4");
    CliTest.Run json = CliTest.run("dlq", "list", "--config", f.toString(), "--kind", "value-mismatch", "--json");
    assertThat(json.code()).as(json.err()).isEqualTo(ExitCodes.OK);
    JsonNode j = new ObjectMapper().readTree(json.out());
    assertThat(j.get("total").asLong()).isEqualTo(4);
    assertThat(j.get("matched").asLong()).isEqualTo(1);
    assertThat(j.get("byKind").get("VALUE_MISMATCH").asLong()).isEqualTo(1);
    assertThat(j.get("oldest").asText()).endsWith("Z");

    // dry run: reads both rows, says what would happen, writes nothing (no rows, no records, no progress)
    CliTest.Run dry = CliTest.run("dlq", "replay", "--config", f.toString(), "--dry-run");
    assertThat(dry.code()).as(dry.out() + dry.err()).isEqualTo(ExitCodes.OK);
    assertThat(dry.out()).contains("dry run: nothing is written", "would repair: MISSING_IN_TARGET, insert by"
        + " source-wins", "would repair: VALUE_MISMATCH, update by source-wins");
    assertThat(dry.out()).containsPattern("would repair\\s+4");
    assertThat(env.count("modern", "items")).isEqualTo(1);
    assertThat(env.read(c, c.topics().repairsDlq())).hasSize(4);
    assertThat(repairsLogged(c)).isZero();
    assertThat(env.groupOffsets(c, DlqReplay.groupId("dlqa", DlqFilter.NONE))).isEmpty();

    // the cause is still there: the replayed entry fails again and goes back to the DLQ, counted
    CliTest.Run again = CliTest.run("dlq", "replay", "--config", f.toString(), "--kind", "VALUE_MISMATCH");
    assertThat(again.code()).as(again.out() + again.err()).isEqualTo(ExitCodes.FAILURE);
    assertThat(again.out()).containsPattern("failed again\\s+1").containsPattern("skipped by filter\\s+3");
    List<ConsumerRecord<byte[], byte[]>> dlq5 = env.read(c, c.topics().repairsDlq());
    assertThat(dlq5).hasSize(5);
    ConsumerRecord<byte[], byte[]> back = dlq5.stream().filter(r -> RepairHeaders.number(r.headers(),
        RepairHeaders.REPLAYS, 0) == 1).findFirst().orElseThrow();
    assertThat(RepairHeaders.number(back.headers(), RepairHeaders.ATTEMPTS, 0)).isEqualTo(2);
    assertThat(RepairHeaders.text(back.headers(), DeadLetters.TOPIC)).isEqualTo(c.topics().discrepancies());
    assertThat(RepairEvents.decodeDiscrepancy(back.value()).key()).containsEntry("id", "4");

    // fix the cause
    env.sql("modern", "ALTER TABLE items DROP CONSTRAINT items_positive");

    // resumable: one entry, then the rest from where it stopped
    CliTest.Run one = CliTest.run("dlq", "replay", "--config", f.toString(), "--limit", "1");
    assertThat(one.code()).as(one.out() + one.err()).isEqualTo(ExitCodes.OK);
    assertThat(one.out()).containsPattern("matched\\s+1").containsPattern("repaired\\s+1")
        .contains("stopped at --limit 1");
    assertThat(repairsLogged(c)).isEqualTo(1);

    CliTest.Run rest = CliTest.run("dlq", "replay", "--config", f.toString());
    assertThat(rest.code()).as(rest.out() + rest.err()).isEqualTo(ExitCodes.OK);
    // the 3 originals left and the copy that failed again; row 4's copy finds it repaired already
    assertThat(rest.out()).containsPattern("matched\\s+4").containsPattern("repaired\\s+3")
        .containsPattern("already consistent\\s+1").containsPattern("failed again\\s+0");
    for (int id = 1; id <= 4; id++) {
      assertThat(env.value("modern", "items", id, "amount")).isEqualTo("-" + id + ".00");
    }
    List<ConsumerRecord<byte[], byte[]>> log = env.read(c, c.topics().repairsLog());
    assertThat(log).hasSize(4);
    RepairLogEntry entry = RepairEvents.decodeRepairLog(log.get(0).value());
    assertThat(entry.origin()).isEqualTo("replay");
    assertThat(entry.undoes()).isNull();

    // nothing left for this filter set
    CliTest.Run none = CliTest.run("dlq", "replay", "--config", f.toString());
    assertThat(none.code()).isEqualTo(ExitCodes.OK);
    assertThat(none.out()).containsPattern("matched\\s+0");

    // idempotent: replaying every entry again finds every row consistent and writes nothing
    CliTest.Run all = CliTest.run("dlq", "replay", "--config", f.toString(), "--from-beginning");
    assertThat(all.code()).as(all.out() + all.err()).isEqualTo(ExitCodes.OK);
    assertThat(all.out()).containsPattern("matched\\s+5").containsPattern("already consistent\\s+5")
        .containsPattern("repaired\\s+0");
    assertThat(repairsLogged(c)).isEqualTo(4);
    assertThat(env.read(c, c.topics().repairsDlq())).hasSize(5);

    CliTest.Run after = CliTest.run("dlq", "list", "--config", f.toString());
    assertThat(after.out()).contains("5 entries", "failed again after a replay: 1",
        "not yet replayed by `dlq replay` with these filters: 0");
  }

  @Test
  void filtersSelectByTableKindAndTimeAndKeepTheirOwnProgress() throws Exception {
    Path f = env.configFile("dlqb", TABLES.formatted("things") + """
          - name: others
            key: [id]
            repair: {enabled: true}
        """);
    VerifierConfig c = OpsItSupport.load(f);
    env.ensureTopics(c);
    tables("things");
    tables("others");
    deadLetter(c, "things");
    deadLetter(c, "others");
    env.sql("modern", "ALTER TABLE things DROP CONSTRAINT things_positive",
        "ALTER TABLE others DROP CONSTRAINT others_positive");

    // a time range in the future matches nothing; an instant in the past everything of the table
    CliTest.Run future = CliTest.run("dlq", "replay", "--config", f.toString(), "--since",
        "2999-01-01T00:00:00Z");
    assertThat(future.code()).isEqualTo(ExitCodes.OK);
    assertThat(future.out()).containsPattern("matched\\s+0").containsPattern("skipped by filter\\s+8");

    CliTest.Run things = CliTest.run("dlq", "replay", "--config", f.toString(), "--table", "things", "--kind",
        "MISSING_IN_TARGET", "--since", "1h", "--until", "2999-01-01T00:00:00Z");
    assertThat(things.code()).as(things.out() + things.err()).isEqualTo(ExitCodes.OK);
    assertThat(things.out()).containsPattern("repaired\\s+3").containsPattern("skipped by filter\\s+5");
    assertThat(env.value("modern", "things", 4, "amount")).isEqualTo("4.00"); // VALUE_MISMATCH: not selected
    assertThat(env.count("modern", "others")).isEqualTo(1);

    // another filter set has its own progress: the things entries are still there for it
    CliTest.Run rest = CliTest.run("dlq", "replay", "--config", f.toString());
    assertThat(rest.code()).as(rest.out() + rest.err()).isEqualTo(ExitCodes.OK);
    assertThat(rest.out()).containsPattern("matched\\s+8").containsPattern("repaired\\s+5")
        .containsPattern("already consistent\\s+3");

    // bad arguments: exit 2 with a message naming the option
    CliTest.Run badTime = CliTest.run("dlq", "list", "--config", f.toString(), "--since", "yesterday");
    assertThat(badTime.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(badTime.err()).contains("--since: \"yesterday\" is neither an ISO-8601 instant");
    CliTest.Run badKind = CliTest.run("dlq", "replay", "--config", f.toString(), "--kind", "oops");
    assertThat(badKind.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(badKind.err()).contains("--kind: \"oops\" is not a discrepancy kind");
    CliTest.Run badTable = CliTest.run("dlq", "replay", "--config", f.toString(), "--table", "nope");
    assertThat(badTable.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(badTable.err()).contains("--table: unknown table \"nope\"");
    CliTest.Run badLimit = CliTest.run("dlq", "replay", "--config", f.toString(), "--limit", "0");
    assertThat(badLimit.code()).isEqualTo(ExitCodes.INVALID);
  }

  @Test
  void aDatabaseOutageStopsTheReplayWithExitOneAndKeepsTheProgress() throws Exception {
    Path f = env.configFile("dlqc", TABLES.formatted("stuff"));
    VerifierConfig c = OpsItSupport.load(f);
    env.ensureTopics(c);
    tables("stuff");
    deadLetter(c, "stuff");
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort(); // nothing listens there once closed
    }
    Path down = env.configFile("dlqc", TABLES.formatted("stuff"), closed, null);
    CliTest.Run r = CliTest.run("dlq", "replay", "--config", down.toString());
    assertThat(r.code()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).contains("dlq replay stopped: a database is unreachable", "run the same command again");
    assertThat(env.read(c, c.topics().repairsDlq())).as("nothing dead-lettered by the outage").hasSize(4);
    assertThat(env.groupOffsets(c, DlqReplay.groupId("dlqc", DlqFilter.NONE))).isEmpty();

    env.sql("modern", "ALTER TABLE stuff DROP CONSTRAINT stuff_positive");
    CliTest.Run ok = CliTest.run("dlq", "replay", "--config", f.toString());
    assertThat(ok.code()).as(ok.out() + ok.err()).isEqualTo(ExitCodes.OK);
    assertThat(ok.out()).containsPattern("repaired\\s+4");
  }
}
