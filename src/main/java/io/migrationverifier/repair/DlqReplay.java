package io.migrationverifier.repair;

import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.Hash128;
import io.migrationverifier.check.KeyCheck;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.repair.spi.Conflict;
import io.migrationverifier.repair.spi.ConflictResolver;
import io.migrationverifier.repair.spi.Decision;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code dlq replay} (DESIGN section 5): each matching DLQ entry goes through the same
 * {@link RepairHandler} as the repair role, which re-reads both rows before anything is written,
 * with {@code retryTopic=false}: an entry that fails again goes back to the DLQ (its headers, its
 * attempts and a replay count carried on), not to the retry topic.
 *
 * <p><b>Idempotent.</b> A repaired entry replayed again finds both rows agreeing: "already
 * consistent", nothing written.
 *
 * <p><b>Resumable.</b> Progress is the committed offsets of a consumer group per deployment and
 * filter set ({@link #groupId}), committed after each batch whose outputs were flushed and
 * acknowledged, so an interrupted replay continues where it stopped and a replay with other
 * filters has its own progress. Entries a filter passes over stay in the DLQ (it is append-only).
 * Within a partition, progress never passes an entry newer than {@code --until}: it may match a
 * later replay with the same filters. The end is fixed at the start: entries dead-lettered again
 * by this replay are appended after it and left for the next one.
 *
 * <p><b>Database outage.</b> The replay stops at the entry that met it (nothing produced for it,
 * progress kept up to the entry before) and reports it.
 */
public final class DlqReplay {
  /** Entries per batch: outputs flushed and acknowledged, then progress committed. */
  private static final int BATCH = 100;

  /**
   * @param limit at most this many matching entries (null = all)
   */
  public record Options(DlqFilter filter, Integer limit, boolean dryRun, boolean fromBeginning) {}

  /** The counts a replay prints; all of matching entries except {@code skippedByFilter}. */
  public static final class Summary {
    public String group;
    public boolean topicExists = true;
    public long matched;
    public long replayed;
    public long repaired;
    public long consistent;
    public long review;
    /** The policy decided to leave it, or the table is detect-only now, or the request was RESOLVED. */
    public long notRepaired;
    public long failedAgain;
    public long skippedByFilter;
    /** Limit reached with matching entries left. */
    public boolean limitReached;
    /** Dry run: what would happen. */
    public long wouldRepair;
    public long wouldFail;
    /** Set when the replay stopped because a database is unreachable. */
    public String outage;

    public boolean failed() {
      return failedAgain > 0 || wouldFail > 0 || outage != null;
    }
  }

  private final VerifierConfig config;
  private final String bootstrap;
  private final PrintWriter out;

  public DlqReplay(VerifierConfig config, String bootstrap, PrintWriter out) {
    this.config = config;
    this.bootstrap = bootstrap;
    this.out = out;
  }

  /** The consumer group holding a replay's progress: per deployment and filter set. */
  public static String groupId(String name, DlqFilter filter) {
    String h = Hash128.hex(filter.text().getBytes(StandardCharsets.UTF_8)).substring(0, 12);
    return name + ".dlq-replay." + (filter.isEmpty() ? "all" : h);
  }

  public Summary run(Options o) {
    Summary s = new Summary();
    s.group = groupId(config.name(), o.filter());
    String topic = config.topics().repairsDlq();
    try (Admin admin = OpsKafka.admin(config, bootstrap)) {
      List<TopicPartition> parts = OpsKafka.partitions(admin, topic, bootstrap);
      if (parts.isEmpty()) {
        s.topicExists = false;
        return s;
      }
      if (!o.dryRun()) {
        OpsKafka.ensureTopics(admin, config, bootstrap); // outputs go to repairs.log and review
      }
      Canonicalizer canonicalizer = Canonicalizer.forConfig(config);
      try (KafkaConsumer<byte[], byte[]> consumer = OpsKafka.consumer(config, bootstrap, s.group, "dlq-replay");
          RepairEngine engine = RepairEngine.open(config, canonicalizer);
          KafkaProducer<byte[], byte[]> producer = o.dryRun() ? null
              : OpsKafka.producer(config, bootstrap, "dlq-replay")) {
        consumer.assign(parts);
        Map<TopicPartition, Long> ends = consumer.endOffsets(parts);
        if (o.fromBeginning()) {
          consumer.seekToBeginning(parts);
        } else {
          Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new HashSet<>(parts));
          for (TopicPartition tp : parts) {
            OffsetAndMetadata c = committed.get(tp);
            if (c != null) {
              consumer.seek(tp, c.offset());
            } else {
              consumer.seekToBeginning(List.of(tp));
            }
          }
        }
        new Run(o, s, consumer, producer, engine, canonicalizer).go(parts, ends);
      }
    }
    return s;
  }

  /** One replay's state; batches follow the consumer's polls. */
  private final class Run {
    final Options o;
    final Summary s;
    final KafkaConsumer<byte[], byte[]> consumer;
    final KafkaProducer<byte[], byte[]> producer;
    final RepairEngine engine;
    final RepairHandler handler;
    final KeyCheck keyCheck;
    final Resolvers resolvers;
    final Map<TopicPartition, Long> next = new HashMap<>();
    final List<Future<RecordMetadata>> sends = new ArrayList<>();
    boolean stop;
    int sinceCommit;

    Run(Options o, Summary s, KafkaConsumer<byte[], byte[]> consumer, KafkaProducer<byte[], byte[]> producer,
        RepairEngine engine, Canonicalizer canonicalizer) {
      this.o = o;
      this.s = s;
      this.consumer = consumer;
      this.producer = producer;
      this.engine = engine;
      this.handler = new RepairHandler(config, engine, System::currentTimeMillis, false);
      this.keyCheck = new KeyCheck(canonicalizer, engine.reader());
      this.resolvers = o.dryRun() ? Resolvers.forConfig(config) : null;
    }

    void go(List<TopicPartition> parts, Map<TopicPartition, Long> ends) {
      OpsKafka.readToEnd(consumer, parts, ends, rec -> {
        if (stop) {
          return false;
        }
        boolean more = one(rec, new TopicPartition(rec.topic(), rec.partition()));
        if (++sinceCommit >= BATCH) {
          commit();
        }
        return more && !stop;
      });
      commit();
    }

    /** @return false to stop reading this partition */
    boolean one(ConsumerRecord<byte[], byte[]> rec, TopicPartition tp) {
      DlqReader.Entry e = DlqReader.Entry.of(rec);
      // Failure times are not ordered within a partition (several instances write the DLQ, each
      // stamping its own failure time), so an entry past --until is just one that does not match.
      if (!o.filter().matches(e)) {
        s.skippedByFilter++;
        next.put(tp, rec.offset() + 1);
        return true;
      }
      if (o.limit() != null && s.matched >= o.limit()) {
        s.limitReached = true;
        stop = true;
        return false;
      }
      s.matched++;
      if (o.dryRun()) {
        dryRun(e);
        return !stop;
      }
      RepairHandler.Handled h = handler.handle(rec, "replay");
      if (h.verdict() == RepairHandler.Verdict.OUTAGE) {
        s.matched--;
        s.outage = OpsKafka.message(h.error());
        stop = true;
        return false;
      }
      s.replayed++;
      for (ProducerRecord<byte[], byte[]> r : h.out()) {
        sends.add(producer.send(r));
      }
      next.put(tp, rec.offset() + 1);
      String what;
      if (h.verdict() == RepairHandler.Verdict.DEAD) {
        s.failedAgain++;
        what = "failed again, back to " + config.topics().repairsDlq() + ": " + shortError(h.error());
      } else if (h.outcome() == null) {
        s.notRepaired++;
        what = "not repaired: " + (DiscrepancyKind.RESOLVED.name().equals(e.kind())
            ? "not a repair request (RESOLVED)" : "table " + e.table() + " is detect-only (repair.enabled is false)");
      } else {
        RepairEngine.Outcome oc = h.outcome();
        switch (oc.status()) {
          case APPLIED -> {
            s.repaired++;
            what = "repaired (" + oc.log().action() + ", " + oc.policy() + ")";
          }
          case CONSISTENT -> {
            s.consistent++;
            what = "already consistent";
          }
          case REVIEW -> {
            s.review++;
            what = "sent to review (" + config.topics().review() + "): " + oc.reason();
          }
          default -> {
            s.notRepaired++;
            what = "not repaired: " + oc.status().name().toLowerCase() + (oc.reason() == null ? ""
                : " (" + oc.reason() + ")");
          }
        }
      }
      line(e, what);
      return true;
    }

    void dryRun(DlqReader.Entry e) {
      String what;
      try {
        Discrepancy d = RepairEvents.decodeDiscrepancy(e.record().value());
        Optional<TableConfig> t = config.table(d.table());
        if (d.kind() == DiscrepancyKind.RESOLVED) {
          what = "would do nothing: not a repair request (RESOLVED)";
          s.notRepaired++;
        } else if (t.isPresent() && !t.get().repair().enabled()) {
          what = "would do nothing: table " + d.table() + " is detect-only (repair.enabled is false)";
          s.notRepaired++;
        } else {
          KeyCheck.Result r = keyCheck.check(d.table(), d.key());
          if (r.consistent()) {
            what = "already consistent: nothing to write";
            s.consistent++;
          } else {
            SortedMap<String, String> src = r.source() == null ? null : new TreeMap<>(r.source().values());
            SortedMap<String, String> tgt = r.target() == null ? null : new TreeMap<>(r.target().values());
            ConflictResolver resolver = resolvers.forTable(d.table()).orElseThrow();
            Decision dec = resolver.resolve(new Conflict(d.table(), r.key().key(), src, tgt, d.kind().name()));
            switch (dec.action()) {
              case WRITE -> {
                s.wouldRepair++;
                what = "would repair: " + r.verdict() + ", " + RepairLogEntry.action(tgt, dec.row())
                    + " by " + t.map(x -> x.repair().policy().id()).orElse("?");
              }
              case REVIEW -> {
                s.review++;
                what = "would go to review: " + dec.reason();
              }
              default -> {
                s.notRepaired++;
                what = "would skip: " + dec.reason();
              }
            }
          }
        }
      } catch (Exception ex) {
        if (Failures.classify(ex) == Failures.Kind.OUTAGE) {
          s.matched--;
          s.outage = OpsKafka.message(ex);
          stop = true;
          return;
        }
        s.wouldFail++;
        what = "would fail: " + shortError(ex);
      }
      line(e, what);
    }

    void commit() {
      if (o.dryRun()) {
        return;
      }
      OpsKafka.awaitSends(producer, sends, "the replay's outputs (" + config.topics().repairsLog() + ", "
          + config.topics().review() + ", " + config.topics().repairsDlq() + ")");
      if (next.isEmpty()) {
        return;
      }
      Map<TopicPartition, OffsetAndMetadata> c = new HashMap<>();
      next.forEach((tp, off) -> c.put(tp, new OffsetAndMetadata(off)));
      consumer.commitSync(c);
      next.clear();
      sinceCommit = 0;
    }

    void line(DlqReader.Entry e, String what) {
      out.printf("  %s %s %s %s: %s%n", e.position(), e.table(), e.key() == null ? "?" : e.key(), e.kind(), what);
    }
  }

  static String shortError(Throwable e) {
    String m = OpsKafka.message(e);
    int nl = m.indexOf('\n');
    return nl >= 0 ? m.substring(0, nl).strip() : m;
  }
}
