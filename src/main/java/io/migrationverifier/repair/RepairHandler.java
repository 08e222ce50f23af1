package io.migrationverifier.repair;

import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.RepairEvents;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Turns one request record (a discrepancy event from the discrepancy topic, the retry topic or
 * the DLQ) into what must be produced: the repair log entry, a review record, a retry or a dead
 * letter. The repair role and {@code dlq replay} share it; they differ only in whether transient
 * failures go to the retry topic (role) or straight back to the DLQ (replay).
 */
public final class RepairHandler {

  /** How a request ended. */
  public enum Verdict {
    /** Finished: repaired, consistent, reviewed, skipped or not for repair. */
    DONE,
    /** Failed transiently: a retry record was produced. */
    RETRY,
    /** Failed for good or out of attempts: a DLQ record was produced. */
    DEAD,
    /** A database is unreachable: nothing was produced, the request must be handled again later. */
    OUTAGE
  }

  /**
   * @param outcome DONE after the engine ran (null when the record was not for repair: RESOLVED, detect-only)
   * @param error   RETRY, DEAD, OUTAGE: the failure
   */
  public record Handled(Verdict verdict, RepairEngine.Outcome outcome, String table, Throwable error,
      List<ProducerRecord<byte[], byte[]>> out) {}

  private final VerifierConfig config;
  private final RepairEngine engine;
  private final LongSupplier clock;
  private final boolean retryTopic;

  public RepairHandler(VerifierConfig config, RepairEngine engine, LongSupplier clock, boolean retryTopic) {
    this.config = config;
    this.engine = engine;
    this.clock = clock;
    this.retryTopic = retryTopic;
  }

  public Handled handle(ConsumerRecord<byte[], byte[]> rec, String originLabel) {
    return handleBatch(List.of(rec), originLabel).get(0);
  }

  /**
   * Handles several requests, their writes batched in one transaction where the fence allows
   * ({@link RepairEngine#repairBatch}). Results are in record order.
   *
   * @param originLabel what asked (null = the discrepancy's own detector)
   */
  public List<Handled> handleBatch(List<ConsumerRecord<byte[], byte[]>> recs, String originLabel) {
    Handled[] out = new Handled[recs.size()];
    Discrepancy[] ds = new Discrepancy[recs.size()];
    List<Integer> toRepair = new ArrayList<>();
    List<RepairEngine.Request> requests = new ArrayList<>();
    for (int i = 0; i < recs.size(); i++) {
      ConsumerRecord<byte[], byte[]> rec = recs.get(i);
      Discrepancy d;
      try {
        d = RepairEvents.decodeDiscrepancy(rec.value());
      } catch (RuntimeException e) {
        out[i] = dead(rec, null, e, "permanent");
        continue;
      }
      ds[i] = d;
      if (d.kind() == DiscrepancyKind.RESOLVED
          || config.table(d.table()).map(t -> !t.repair().enabled()).orElse(false)) {
        out[i] = new Handled(Verdict.DONE, null, d.table(), null, List.of());
        continue;
      }
      toRepair.add(i);
      requests.add(new RepairEngine.Request(d.table(), d.key(), d, originLabel == null ? d.detector() : originLabel));
    }
    List<RepairEngine.Result> results = requests.isEmpty() ? List.of() : engine.repairBatch(requests);
    for (int r = 0; r < results.size(); r++) {
      int i = toRepair.get(r);
      RepairEngine.Result res = results.get(r);
      if (res.failure() != null) {
        out[i] = failed(recs.get(i), ds[i], res.failure());
      } else {
        List<ProducerRecord<byte[], byte[]>> produce = outputs(config, recs.get(i).key(), ds[i], res.outcome(),
            clock.getAsLong());
        if (engine.logsBeforeCommit()) {
          // already recorded before the write committed
          produce = produce.stream().filter(p -> !p.topic().equals(config.topics().repairsLog())).toList();
        }
        out[i] = new Handled(Verdict.DONE, res.outcome(), ds[i].table(), null, produce);
      }
    }
    return List.of(out);
  }

  /** The records an outcome produces: its repair log entry, or its review record. */
  public static List<ProducerRecord<byte[], byte[]>> outputs(VerifierConfig config, byte[] key, Discrepancy d,
      RepairEngine.Outcome o, long now) {
    List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>(1);
    if (o.status() == RepairEngine.Status.APPLIED) {
      out.add(new ProducerRecord<>(config.topics().repairsLog(), key, RepairEvents.encode(o.log())));
    } else if (o.status() == RepairEngine.Status.REVIEW) {
      out.add(new ProducerRecord<>(config.topics().review(), key, RepairEvents.encodeReview(d, d.table(), d.key(),
          o.policy(), o.reason(), o.source(), o.target(), now)));
    }
    return out;
  }

  private Handled failed(ConsumerRecord<byte[], byte[]> rec, Discrepancy d, Exception e) {
    Failures.Kind kind = Failures.classify(e);
    if (kind == Failures.Kind.OUTAGE) {
      return new Handled(Verdict.OUTAGE, null, d.table(), e, List.of());
    }
    long attempts = RepairHeaders.number(rec.headers(), RepairHeaders.ATTEMPTS, 0) + 1;
    if (kind == Failures.Kind.PERMANENT) {
      return dead(rec, d, e, "permanent");
    }
    if (!retryTopic || attempts >= config.repair().maxAttempts()) {
      return dead(rec, d, e, retryTopic ? "attempts-spent" : "transient");
    }
    long now = clock.getAsLong();
    Headers h = carried(rec, e, attempts, now);
    RepairHeaders.put(h, RepairHeaders.NOT_BEFORE, now + config.repair().delayBefore((int) attempts + 1).toMillis());
    return new Handled(Verdict.RETRY, null, d.table(), e,
        List.of(new ProducerRecord<>(config.topics().repairsRetry(), null, rec.key(), rec.value(), h)));
  }

  private Handled dead(ConsumerRecord<byte[], byte[]> rec, Discrepancy d, Exception e, String why) {
    long now = clock.getAsLong();
    long attempts = RepairHeaders.number(rec.headers(), RepairHeaders.ATTEMPTS, 0) + 1;
    Headers h = carried(rec, e, attempts, now);
    h.remove(RepairHeaders.NOT_BEFORE);
    RepairHeaders.put(h, RepairHeaders.FAILURE_KIND, why);
    RepairHeaders.put(h, DeadLetters.STACKTRACE, DeadLetters.stackTrace(e));
    if (rec.topic().equals(config.topics().repairsDlq())) {
      RepairHeaders.put(h, RepairHeaders.REPLAYS, RepairHeaders.number(rec.headers(), RepairHeaders.REPLAYS, 0) + 1);
    }
    return new Handled(Verdict.DEAD, null, d == null ? null : d.table(), e,
        List.of(new ProducerRecord<>(config.topics().repairsDlq(), null, rec.key(), rec.value(), h)));
  }

  /**
   * The headers a failed request carries on: its origin (the first topic it was read from, kept
   * across retries and replays), attempts, first and last failure, and the exception.
   */
  private Headers carried(ConsumerRecord<byte[], byte[]> rec, Exception e, long attempts, long now) {
    Headers in = rec.headers();
    Headers h = new RecordHeaders();
    boolean original = RepairHeaders.text(in, DeadLetters.TOPIC) == null;
    RepairHeaders.put(h, DeadLetters.TOPIC, original ? rec.topic() : RepairHeaders.text(in, DeadLetters.TOPIC));
    RepairHeaders.put(h, DeadLetters.PARTITION,
        original ? Integer.toString(rec.partition()) : RepairHeaders.text(in, DeadLetters.PARTITION));
    RepairHeaders.put(h, DeadLetters.OFFSET,
        original ? Long.toString(rec.offset()) : RepairHeaders.text(in, DeadLetters.OFFSET));
    RepairHeaders.put(h, RepairHeaders.ATTEMPTS, attempts);
    RepairHeaders.put(h, RepairHeaders.FIRST_FAILURE, RepairHeaders.number(in, RepairHeaders.FIRST_FAILURE, now));
    RepairHeaders.put(h, RepairHeaders.LAST_FAILURE, now);
    RepairHeaders.put(h, DeadLetters.EXCEPTION, e.getClass().getName());
    RepairHeaders.put(h, DeadLetters.MESSAGE, e.getMessage() == null ? e.toString() : e.getMessage());
    String replays = RepairHeaders.text(in, RepairHeaders.REPLAYS);
    if (replays != null) {
      RepairHeaders.put(h, RepairHeaders.REPLAYS, replays);
    }
    return h;
  }
}
