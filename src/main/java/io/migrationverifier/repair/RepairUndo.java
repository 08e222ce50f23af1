package io.migrationverifier.repair;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code repair undo} (DESIGN section 5): writes the before-images of applied repairs back, newest
 * first (so a key repaired twice returns to what it held before the first), each fenced by its
 * after-image: only where the target still holds what the repair wrote. Every undo is logged to
 * {@code <name>.repairs.log} as an entry of its own ({@code undoes} = the repair's id), which also
 * keeps a second undo over the same range from undoing it again.
 */
public final class RepairUndo {

  /**
   * @param since repairs applied at or after this epoch ms
   * @param table only this logical table (null = all)
   */
  public record Options(long since, String table, boolean dryRun) {}

  public static final class Summary {
    public boolean topicExists = true;
    /** Log entries read. */
    public long read;
    public long unreadable;
    /** Applied repairs in range that no earlier undo reverted. */
    public long candidates;
    public long alreadyUndone;
    public long undone;
    public long skippedChanged;
    public long failed;
    /** Set when undo stopped because a database is unreachable. */
    public String outage;
  }

  private record Logged(RepairLogEntry entry, int partition, long offset) {}

  private final VerifierConfig config;
  private final String bootstrap;
  private final PrintWriter out;

  public RepairUndo(VerifierConfig config, String bootstrap, PrintWriter out) {
    this.config = config;
    this.bootstrap = bootstrap;
    this.out = out;
  }

  public Summary run(Options o) {
    Summary s = new Summary();
    String topic = config.topics().repairsLog();
    List<Logged> applied = new ArrayList<>();
    Set<String> undoneIds = new HashSet<>();
    try (Admin admin = OpsKafka.admin(config, bootstrap)) {
      List<TopicPartition> parts = OpsKafka.partitions(admin, topic, bootstrap);
      if (parts.isEmpty()) {
        s.topicExists = false;
        return s;
      }
      try (KafkaConsumer<byte[], byte[]> c = OpsKafka.consumer(config, bootstrap, null, "repair-undo")) {
        c.assign(parts);
        c.seekToBeginning(parts);
        OpsKafka.readToEnd(c, parts, c.endOffsets(parts), OpsKafka.all(rec -> {
          s.read++;
          RepairLogEntry e;
          try {
            e = RepairEvents.decodeRepairLog(rec.value());
          } catch (RuntimeException ex) {
            s.unreadable++;
            out.printf("  skipped unreadable %s entry p%d@%d: %s%n", topic, rec.partition(), rec.offset(),
                ex.getMessage());
            return;
          }
          if (e.isUndo()) {
            undoneIds.add(e.undoes());
          } else {
            applied.add(new Logged(e, rec.partition(), rec.offset()));
          }
        }));
      }
    }
    List<Logged> todo = new ArrayList<>();
    for (Logged l : applied) {
      RepairLogEntry e = l.entry();
      if (e.appliedAt() < o.since() || o.table() != null && !o.table().equals(e.table())) {
        continue;
      }
      if (undoneIds.contains(e.id())) {
        s.alreadyUndone++;
        continue;
      }
      todo.add(l);
    }
    s.candidates = todo.size();
    // Newest first by log offset: the repairs of one key share a partition, where the offset is
    // their true order (appliedAt is a wall clock of whichever instance wrote it, and may step).
    todo.sort(Comparator.comparingInt(Logged::partition).thenComparing(
        Comparator.comparingLong(Logged::offset).reversed()));
    if (todo.isEmpty()) {
      return s;
    }
    try (RepairEngine engine = RepairEngine.open(config, Canonicalizer.forConfig(config));
        KafkaProducer<byte[], byte[]> producer = o.dryRun() ? null
            : OpsKafka.producer(config, bootstrap, "repair-undo")) {
      List<Future<RecordMetadata>> sends = new ArrayList<>();
      Map<CanonicalKey, Optional<CanonicalRow>> simulated = new HashMap<>();
      for (Logged l : todo) {
        RepairLogEntry e = l.entry();
        String what;
        try {
          if (o.dryRun()) {
            // As the real run would see it: an earlier (newer) undo of the same key changed the row.
            CanonicalKey k = CanonicalKey.of(e.table(), e.key());
            Optional<CanonicalRow> now = simulated.containsKey(k) ? simulated.get(k)
                : engine.reader().read(Side.TARGET, e.table(), e.key());
            if (now.equals(Optional.ofNullable(e.after()).map(CanonicalRow::of))) {
              simulated.put(k, Optional.ofNullable(e.before()).map(CanonicalRow::of));
              s.undone++;
              what = "would undo: " + RepairLogEntry.action(e.after(), e.before());
            } else {
              s.skippedChanged++;
              what = "would skip: target changed since the repair";
            }
          } else {
            Optional<RepairLogEntry> u = engine.undo(e);
            if (u.isPresent()) {
              s.undone++;
              sends.add(producer.send(new ProducerRecord<>(topic, CanonicalKey.of(e.table(), e.key()).toBytes(),
                  RepairEvents.encode(u.get()))));
              what = "undone: " + u.get().action() + " (undo " + u.get().id() + ")";
            } else {
              s.skippedChanged++;
              what = "skipped: target changed since the repair";
            }
          }
        } catch (Exception ex) {
          if (Failures.classify(ex) == Failures.Kind.OUTAGE) {
            s.outage = OpsKafka.message(ex);
            break;
          }
          s.failed++;
          what = "failed: " + DlqReplay.shortError(ex);
        }
        out.printf("  %s %s %s applied %s (%s, %s, %s): %s%n", e.id(), e.table(), e.key(),
            OpsTime.format(e.appliedAt()), e.action(), e.origin(), e.policy(), what);
        if (sends.size() >= 100) {
          OpsKafka.awaitSends(producer, sends, "undo entries to " + topic);
        }
      }
      if (producer != null) {
        OpsKafka.awaitSends(producer, sends, "undo entries to " + topic);
      }
    }
    return s;
  }
}
