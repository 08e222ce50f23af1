package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.repair.RepairEngine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code repair undo} through the command line on a real PostgreSQL and broker: repairs are made by
 * {@link RepairEngine} and logged to {@code <name>.repairs.log} as the repair role logs them; undo
 * must restore their before-images newest first, skip rows changed since, log each undo, and never
 * undo a repair twice.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RepairUndoIT {

  @Test
  void undoRestoresBeforeImagesNewestFirstAndSkipsRowsChangedSince(@TempDir Path dir) throws Exception {
    try (OpsItSupport env = new OpsItSupport(dir)) {
      Path f = env.configFile("undo", """
          tables:
            - name: items
              key: [id]
              repair: {enabled: true}
          """);
      VerifierConfig c = OpsItSupport.load(f);
      env.ensureTopics(c);
      env.sql("legacy", "CREATE TABLE items (id BIGINT PRIMARY KEY, note TEXT)",
          "INSERT INTO items VALUES (1, 's1'), (2, 's2'), (3, 's3'), (4, 's4'), (5, 'B')");
      env.sql("modern", "CREATE TABLE items (id BIGINT PRIMARY KEY, note TEXT)",
          "INSERT INTO items VALUES (1, 't1'), (2, 't2'), (4, 't4'), (5, 'A'), (6, 't6')");

      List<RepairLogEntry> logged = new ArrayList<>();
      try (RepairEngine engine = RepairEngine.open(c, Canonicalizer.forConfig(c))) {
        for (long id : new long[] {1, 2, 3, 4, 5, 6}) {
          RepairEngine.Outcome o = engine.repair("items", Map.of("id", Long.toString(id)), null, "stream");
          assertThat(o.status()).as("row %d", id).isEqualTo(RepairEngine.Status.APPLIED);
          RepairLogEntry e = o.log();
          if (id == 4) { // repaired long before the undo's range
            e = new RepairLogEntry(e.id(), e.action(), e.table(), e.key(), e.discrepancyId(), e.origin(), e.policy(),
                e.before(), e.after(), e.appliedAt() - 3 * 3600_000L, null);
          }
          logged.add(e);
        }
        // row 5 changed by hand after its repair, then repaired again: undo must go back to 'C', not 'A'
        env.sql("modern", "UPDATE items SET note = 'C' WHERE id = 5");
        RepairEngine.Outcome again = engine.repair("items", Map.of("id", "5"), null, "stream");
        assertThat(again.status()).isEqualTo(RepairEngine.Status.APPLIED);
        logged.add(again.log());
      }
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (RepairLogEntry e : logged) {
        records.add(new ProducerRecord<>(c.topics().repairsLog(), CanonicalKey.of(e.table(), e.key()).toBytes(),
            RepairEvents.encode(e)));
      }
      env.produce(c, records);
      env.sql("modern", "UPDATE items SET note = 'hand' WHERE id = 2"); // changed since its repair

      CliTest.Run dry = CliTest.run("repair", "undo", "--config", f.toString(), "--since", "1h", "--dry-run");
      assertThat(dry.code()).as(dry.out() + dry.err()).isEqualTo(ExitCodes.OK);
      assertThat(dry.out()).containsPattern("repairs in range\\s+6").containsPattern("would undo\\s+4")
          .containsPattern("would skip\\s+2");
      assertThat(env.value("modern", "items", 1, "note")).isEqualTo("s1");
      assertThat(env.read(c, c.topics().repairsLog())).hasSize(7);

      CliTest.Run undo = CliTest.run("repair", "undo", "--config", f.toString(), "--since", "1h");
      assertThat(undo.code()).as(undo.out() + undo.err()).isEqualTo(ExitCodes.OK);
      assertThat(undo.out()).containsPattern("undone\\s+4").containsPattern("skipped\\s+2")
          .containsPattern("failed\\s+0").contains("skipped: target changed since the repair");
      assertThat(env.value("modern", "items", 1, "note")).isEqualTo("t1"); // update undone
      assertThat(env.value("modern", "items", 2, "note")).isEqualTo("hand"); // changed since: left alone
      assertThat(env.value("modern", "items", 3, "note")).isEqualTo("<absent>"); // insert undone
      assertThat(env.value("modern", "items", 4, "note")).isEqualTo("s4"); // before --since
      assertThat(env.value("modern", "items", 5, "note")).isEqualTo("C"); // newest first
      assertThat(env.value("modern", "items", 6, "note")).isEqualTo("t6"); // delete undone

      List<RepairLogEntry> log = env.read(c, c.topics().repairsLog()).stream()
          .map(r -> RepairEvents.decodeRepairLog(r.value())).toList();
      List<RepairLogEntry> undos = log.stream().filter(RepairLogEntry::isUndo).toList();
      assertThat(undos).hasSize(4).allSatisfy(u -> assertThat(u.origin()).isEqualTo("undo"));
      Set<String> undoneIds = undos.stream().map(RepairLogEntry::undoes).collect(Collectors.toSet());
      assertThat(undoneIds).containsExactlyInAnyOrder(logged.get(0).id(), logged.get(2).id(), logged.get(5).id(),
          logged.get(6).id());
      RepairLogEntry undoOf3 = undos.stream().filter(u -> u.undoes().equals(logged.get(2).id())).findFirst()
          .orElseThrow();
      assertThat(undoOf3.action()).isEqualTo("delete");
      assertThat(undoOf3.after()).isNull();

      // a second undo over the same range undoes nothing twice
      CliTest.Run twice = CliTest.run("repair", "undo", "--config", f.toString(), "--since", "1h", "--table",
          "items");
      assertThat(twice.code()).as(twice.out() + twice.err()).isEqualTo(ExitCodes.OK);
      assertThat(twice.out()).containsPattern("repairs in range\\s+2\\s+\\(4 more already undone")
          .containsPattern("undone\\s+0");
      assertThat(env.read(c, c.topics().repairsLog())).hasSize(11);

      CliTest.Run badTable = CliTest.run("repair", "undo", "--config", f.toString(), "--since", "1h", "--table", "x");
      assertThat(badTable.code()).isEqualTo(ExitCodes.INVALID);
      assertThat(badTable.err()).contains("--table: unknown table \"x\"");
      CliTest.Run noSince = CliTest.run("repair", "undo", "--config", f.toString());
      assertThat(noSince.code()).isEqualTo(ExitCodes.INVALID);
      assertThat(noSince.err()).contains("--since");
    }
  }
}
