package io.migrationverifier.repair;

import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.RepairSettings;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code repair} role: a consumer group ({@code <name>.repair}; more instances share the
 * partitions) on {@code <name>.discrepancies} and {@code <name>.repairs.retry}.
 *
 * <p><b>Delivery.</b> At least once: a batch's outputs (repair log, review, retry, DLQ records)
 * are flushed and every send checked before its offsets are committed. A request handled twice
 * after a crash is harmless: the engine re-reads both rows and finds them consistent.
 *
 * <p><b>Retries without blocking other keys.</b> A transient failure is re-queued on the retry
 * topic with a not-before time (exponential backoff) and the role moves on. A retry record whose
 * time has not come pauses only its retry partition until then (retries of one partition are
 * handled in order; the discrepancy topic keeps flowing).
 *
 * <p><b>Outage.</b> When a database is unreachable the request is not spent: every partition is
 * rewound to its first unhandled record and paused, the role probes both databases every
 * {@code repair.outage-probe-interval} (still polling, so it keeps its partitions) and resumes
 * when both answer. An outage therefore never floods the DLQ.
 *
 * <p><b>Rate limit.</b> Per table, a token bucket, spent only by requests that will be repaired;
 * a partition whose next request is over its table's rate is paused until a token is due (other
 * partitions go on), never by sleeping past the consumer's poll interval.
 */
public final class RepairWorker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RepairWorker.class);
  private static final Duration POLL = Duration.ofMillis(200);
  /** Longest sleep for a rate limit inside a batch; longer waits rewind and poll again. */
  private static final long MAX_INLINE_WAIT_NANOS = 200_000_000L;
  /** Requests whose fenced writes share one target transaction. */
  private static final int CHUNK = 100;

  private final VerifierConfig config;
  private final RepairEngine engine;
  private final RepairHandler handler;
  private final RepairListener listener;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final LongSupplier clock;
  private final Map<String, RateLimiter> limiters = new HashMap<>();
  /**
   * Partitions paused until an epoch ms: a retry partition until its head record's not-before
   * time, any partition whose head request is over its table's rate.
   */
  private final Map<TopicPartition, Long> delayed = new HashMap<>();
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();
  private final Thread thread;
  private volatile boolean running = true;
  private boolean outage;
  private long outageSince;
  private volatile State state = State.STARTING;

  public enum State { STARTING, RUNNING, PAUSED_OUTAGE, STOPPED }

  public RepairWorker(VerifierConfig config, String bootstrapServers, RepairListener listener) {
    this(config, bootstrapServers, RepairEngine.open(config, Canonicalizer.forConfig(config)), listener);
  }

  RepairWorker(VerifierConfig config, String bootstrapServers, RepairEngine engine, RepairListener listener) {
    this.config = config;
    this.engine = engine;
    this.listener = listener == null ? RepairListener.NONE : listener;
    this.clock = System::currentTimeMillis;
    this.handler = new RepairHandler(config, engine, clock, true);
    this.consumer = new KafkaConsumer<>(consumerProps(config, bootstrapServers), new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
    this.producer = new KafkaProducer<>(producerProps(config, bootstrapServers, "repair"), new ByteArraySerializer(),
        new ByteArraySerializer());
    engine.logBeforeCommit(this::recordLog);
    long now = System.nanoTime();
    for (TableConfig t : config.tables()) {
      limiters.put(t.name(), new RateLimiter(t.repair().effectiveRateLimit(config.repair()), now));
    }
    this.thread = new Thread(this::run, config.name() + "-repair");
    this.thread.setDaemon(true);
  }

  static Properties consumerProps(VerifierConfig config, String bootstrapServers) {
    Properties p = new Properties();
    config.kafka().properties().forEach(p::setProperty);
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, RepairSettings.groupId(config.name()));
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // The verifier writes discrepancies in exactly-once transactions: read only committed ones.
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
    return p;
  }

  public static Properties producerProps(VerifierConfig config, String bootstrapServers, String client) {
    Properties p = new Properties();
    config.kafka().properties().forEach(p::setProperty);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, config.name() + "-" + client);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    return p;
  }

  /**
   * The repair log entries of a transaction, acknowledged by Kafka before the transaction commits.
   * An entry whose write then fails to commit is a phantom: harmless, since an undo is fenced by
   * its after-image (which the target then does not hold) and the verifier's mark of it expires.
   */
  private void recordLog(List<io.migrationverifier.event.RepairLogEntry> entries) {
    List<Future<RecordMetadata>> sends = new ArrayList<>(entries.size());
    for (io.migrationverifier.event.RepairLogEntry e : entries) {
      sends.add(producer.send(new ProducerRecord<>(config.topics().repairsLog(),
          io.migrationverifier.canonical.CanonicalKey.of(e.table(), e.key()).toBytes(),
          io.migrationverifier.event.RepairEvents.encode(e))));
    }
    producer.flush();
    try {
      for (Future<RecordMetadata> f : sends) {
        f.get();
      }
    } catch (ExecutionException e) {
      throw new RepairEngine.LogUnavailableException("cannot write " + config.topics().repairsLog() + ": "
          + e.getCause() + "; the repairs were rolled back", e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RepairEngine.LogUnavailableException("interrupted while writing " + config.topics().repairsLog(),
          e);
    }
  }

  public void start() {
    thread.start();
  }

  /** Completes when the role stops; exceptionally when it failed. */
  public CompletableFuture<Void> stopped() {
    return stopped;
  }

  public State state() {
    return state;
  }

  private void run() {
    try {
      consumer.subscribe(List.of(config.topics().discrepancies(), config.topics().repairsRetry()),
          new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
              partitions.forEach(delayed::remove);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
              if (outage) {
                consumer.pause(partitions);
              }
            }
          });
      state = State.RUNNING;
      while (running) {
        if (outage) {
          probe();
        }
        resumeDue();
        ConsumerRecords<byte[], byte[]> records = consumer.poll(outage ? config.repair().outageProbeInterval() : POLL);
        if (!records.isEmpty()) {
          handleBatch(records);
        }
      }
      state = State.STOPPED;
      stopped.complete(null);
    } catch (WakeupException e) {
      state = State.STOPPED;
      stopped.complete(null);
    } catch (Throwable e) {
      state = State.STOPPED;
      LOG.error("repair role failed: {}", e.toString(), e);
      stopped.completeExceptionally(e);
    } finally {
      try {
        consumer.close(Duration.ofSeconds(10));
      } catch (RuntimeException e) {
        LOG.warn("closing the repair consumer: {}", e.toString());
      }
      producer.close(Duration.ofSeconds(10));
      engine.close();
    }
  }

  private void handleBatch(ConsumerRecords<byte[], byte[]> records) throws Exception {
    Map<TopicPartition, Long> next = new HashMap<>();
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    Set<TopicPartition> stoppedPartitions = new HashSet<>();
    boolean rewindAll = false;
    String retryTopic = config.topics().repairsRetry();
    // 1. What may run now: retries whose time has come, within each table's rate.
    List<ConsumerRecord<byte[], byte[]>> ready = new ArrayList<>();
    for (TopicPartition tp : records.partitions()) {
      for (ConsumerRecord<byte[], byte[]> rec : records.records(tp)) {
        if (tp.topic().equals(retryTopic)) {
          long notBefore = RepairHeaders.number(rec.headers(), RepairHeaders.NOT_BEFORE, 0);
          if (notBefore > clock.getAsLong()) {
            delayed.put(tp, notBefore);
            stoppedPartitions.add(tp);
            break; // later retries of this partition wait behind it; other partitions go on
          }
        }
        String table = repairCandidate(rec);
        if (table != null) {
          long waitMs = acquire(table);
          if (waitMs > 0) {
            // Over this table's rate: only this partition waits; other tables' partitions go on.
            delayed.put(tp, clock.getAsLong() + waitMs);
            stoppedPartitions.add(tp);
            break;
          }
        }
        ready.add(rec);
      }
    }
    // 2. Handled in chunks whose fenced writes share one transaction.
    Set<TopicPartition> blocked = new HashSet<>();
    for (int from = 0; from < ready.size() && !outage; from += CHUNK) {
      List<ConsumerRecord<byte[], byte[]>> chunk = ready.subList(from, Math.min(ready.size(), from + CHUNK));
      List<RepairHandler.Handled> handled = handler.handleBatch(chunk, null);
      for (int k = 0; k < chunk.size(); k++) {
        ConsumerRecord<byte[], byte[]> rec = chunk.get(k);
        RepairHandler.Handled h = handled.get(k);
        TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
        if (h.verdict() == RepairHandler.Verdict.OUTAGE) {
          enterOutage(h.error());
          blocked.add(tp); // this request and the ones after it in its partition are handled again
          continue;
        }
        if (blocked.contains(tp) && (h.outcome() == null || h.outcome().status() != RepairEngine.Status.APPLIED)) {
          // handled again after the outage: its retry / DLQ / review record would be written twice
          continue;
        }
        for (ProducerRecord<byte[], byte[]> out : h.out()) {
          sends.add(producer.send(out));
        }
        report(h);
        if (!blocked.contains(tp)) {
          next.put(tp, rec.offset() + 1);
        }
      }
    }
    rewindAll |= outage;
    producer.flush();
    for (Future<RecordMetadata> f : sends) {
      try {
        f.get();
      } catch (ExecutionException e) {
        // Nothing is committed: the batch is handled again (its repairs are then found consistent).
        throw new IllegalStateException("cannot write repair outputs to Kafka: " + e.getCause(), e.getCause());
      }
    }
    Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
    next.forEach((tp, off) -> commit.put(tp, new OffsetAndMetadata(off)));
    if (!commit.isEmpty()) {
      try {
        consumer.commitSync(commit);
      } catch (CommitFailedException | RebalanceInProgressException e) {
        // The partitions moved to another member (or this one took too long): they are handled
        // again there from the last commit, and found consistent. Nothing is lost.
        LOG.warn("repair: offsets not committed ({}); the requests will be handled again", e.toString());
        return;
      }
    }
    // Rewind whatever was not handled so the next poll returns it again.
    for (TopicPartition tp : records.partitions()) {
      if (rewindAll || stoppedPartitions.contains(tp)) {
        Long n = next.get(tp);
        consumer.seek(tp, n != null ? n : records.records(tp).get(0).offset());
      }
    }
    if (!stoppedPartitions.isEmpty()) {
      consumer.pause(stoppedPartitions);
    }
  }

  /** Takes a token of the table's limiter, sleeping briefly if one is near; else how many ms to wait. */
  private long acquire(String table) throws InterruptedException {
    RateLimiter l = limiters.get(table);
    if (l == null) {
      return 0;
    }
    long wait = l.tryAcquire(System.nanoTime());
    if (wait == 0) {
      return 0;
    }
    if (wait <= MAX_INLINE_WAIT_NANOS) {
      Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
      wait = l.tryAcquire(System.nanoTime());
    }
    return wait == 0 ? 0 : Math.max(1, wait / 1_000_000L);
  }

  /** The table of a request that will be repaired (and so spends a token); null for anything else. */
  private String repairCandidate(ConsumerRecord<byte[], byte[]> rec) {
    try {
      io.migrationverifier.event.Discrepancy d = io.migrationverifier.event.RepairEvents.decodeDiscrepancy(
          rec.value());
      if (d.kind() == io.migrationverifier.event.DiscrepancyKind.RESOLVED) {
        return null;
      }
      return config.table(d.table()).filter(t -> t.repair().enabled()).map(TableConfig::name).orElse(null);
    } catch (RuntimeException e) {
      return null; // the handler dead-letters what it cannot read
    }
  }

  private void report(RepairHandler.Handled h) {
    switch (h.verdict()) {
      case DONE -> {
        if (h.outcome() != null) {
          listener.outcome(h.table(), h.outcome().status());
          if (h.outcome().status() == RepairEngine.Status.APPLIED) {
            LOG.debug("repaired {} {}", h.table(), h.outcome().log().key());
          }
        }
      }
      case RETRY -> {
        LOG.info("repair of a {} row failed ({}); retrying later", h.table(), h.error().toString());
        listener.retried(h.table(), 0, h.error());
      }
      case DEAD -> {
        LOG.warn("repair of a {} row dead-lettered to {}: {}", h.table(), config.topics().repairsDlq(),
            h.error().toString());
        listener.deadLettered(h.table(), h.error());
      }
      default -> { }
    }
  }

  private void enterOutage(Throwable cause) {
    if (!outage) {
      outage = true;
      outageSince = System.currentTimeMillis();
      state = State.PAUSED_OUTAGE;
      LOG.warn("repair paused: a database is unreachable ({}); probing every {}", cause.toString(),
          config.repair().outageProbeInterval());
      listener.paused(cause.toString());
    }
    consumer.pause(consumer.assignment());
  }

  private void probe() {
    if (engine.reachable(Side.TARGET) && engine.reachable(Side.SOURCE)) {
      outage = false;
      state = State.RUNNING;
      long paused = System.currentTimeMillis() - outageSince;
      Set<TopicPartition> resume = new HashSet<>(consumer.assignment());
      resume.removeAll(delayed.keySet());
      consumer.resume(resume);
      LOG.info("repair resumed after {} ms: both databases answer", paused);
      listener.resumed(paused);
    }
  }

  private void resumeDue() {
    if (delayed.isEmpty() || outage) {
      return;
    }
    long now = clock.getAsLong();
    List<TopicPartition> due = new ArrayList<>();
    delayed.forEach((tp, t) -> {
      if (t <= now) {
        due.add(tp);
      }
    });
    due.forEach(delayed::remove);
    due.retainAll(consumer.assignment());
    if (!due.isEmpty()) {
      consumer.resume(due);
    }
  }

  @Override
  public void close() {
    running = false;
    if (thread.isAlive() && Thread.currentThread() != thread) {
      consumer.wakeup();
      try {
        thread.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    } else if (!thread.isAlive() && state == State.STARTING) {
      consumer.close(Duration.ofSeconds(5));
      producer.close(Duration.ofSeconds(5));
      engine.close();
    }
  }
}
