package io.migrationverifier.ops;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.repair.OpsKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The discrepancies open now, from the compacted {@code <name>.discrepancies}: the latest record per
 * record key decides (the topic is keyed per row, so a row's records stay in one partition, in
 * order). A {@code MISSING_IN_TARGET}, {@code UNEXPECTED_IN_TARGET} or {@code VALUE_MISMATCH} record
 * opens (or replaces) the row's discrepancy; {@code RESOLVED} or a tombstone closes it.
 */
public final class OpenDiscrepancies {
  private static final Logger LOG = LoggerFactory.getLogger(OpenDiscrepancies.class);
  /** Newest first; ties in a stable order so that equal boards print alike. */
  private static final Comparator<Discrepancy> NEWEST_FIRST = Comparator.comparingLong(Discrepancy::detectedAt)
      .reversed().thenComparing(Discrepancy::table).thenComparing(d -> d.key().toString());

  private final Map<String, Discrepancy> byKey = new HashMap<>();
  private int malformed;

  /**
   * Applies one record of the topic, in the topic's order. A value that cannot be read (or a record
   * without key whose value cannot name its row) is counted in {@link #malformed()} and skipped.
   */
  public void apply(byte[] key, byte[] value) {
    if (value == null) {
      if (key == null) {
        count();
      } else {
        synchronized (this) {
          byKey.remove(new String(key, StandardCharsets.UTF_8));
        }
      }
      return;
    }
    Discrepancy d;
    try {
      d = RepairEvents.decodeDiscrepancy(value);
    } catch (RuntimeException e) {
      // MalformedEventException, or whatever a hostile value provokes: the board never stops for one record
      count();
      return;
    }
    // the verifier always keys by row; should a writer not, the row named in the value is the key it meant
    String k = key != null ? new String(key, StandardCharsets.UTF_8)
        : new String(CanonicalKey.of(d.table(), d.key()).toBytes(), StandardCharsets.UTF_8);
    synchronized (this) {
      if (d.kind() == DiscrepancyKind.RESOLVED) {
        byKey.remove(k);
      } else {
        byKey.put(k, d);
      }
    }
  }

  private synchronized void count() {
    malformed++;
  }

  /** The open discrepancies, newest {@code detectedAt} first. */
  public synchronized List<Discrepancy> open() {
    List<Discrepancy> out = new ArrayList<>(byKey.values());
    out.sort(NEWEST_FIRST);
    return out;
  }

  /** Records that could not be read and were skipped. */
  public synchronized int malformed() {
    return malformed;
  }

  /**
   * Reads {@code <name>.discrepancies} from the beginning to its end now (read_committed, like every
   * reader of the verifier's transactional output). A topic that does not exist yet gives an empty board.
   *
   * @throws OpsKafka.KafkaUnavailableException the broker did not answer
   */
  public static OpenDiscrepancies readAll(VerifierConfig config, String bootstrap) {
    OpenDiscrepancies board = new OpenDiscrepancies();
    Coverage.readTopic(config, bootstrap, config.topics().discrepancies(), "open-discrepancies",
        r -> board.apply(r.key(), r.value()));
    return board;
  }

  /** Starts a {@link Follower}: reads the topic from the beginning, then keeps following it. */
  public static Follower follow(VerifierConfig config, String bootstrap) {
    return new Follower(config, bootstrap);
  }

  /**
   * Keeps a board current on a daemon thread. It reads {@code <name>.discrepancies} from the
   * beginning and then follows it; {@link #caughtUp()} turns true once it has read what the topic
   * held when it started (an empty topic: at once). A broker that is away, or a topic that does not
   * exist yet, is logged and retried; the board keeps what it has meanwhile. {@link #close()}
   * returns within a few seconds.
   */
  public static final class Follower implements AutoCloseable {
    private static final Duration RETRY = Duration.ofSeconds(2);
    private static final Duration POLL = Duration.ofMillis(500);

    private final VerifierConfig config;
    private final String bootstrap;
    private final String topic;
    private final OpenDiscrepancies board = new OpenDiscrepancies();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Thread thread;
    /** Where the next record of each partition is; kept across reconnections so nothing is read twice. */
    private final Map<TopicPartition, Long> positions = new HashMap<>();
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private volatile boolean caughtUp;

    private Follower(VerifierConfig config, String bootstrap) {
      this.config = config;
      this.bootstrap = bootstrap;
      this.topic = config.topics().discrepancies();
      thread = new Thread(this::run, "open-discrepancies-" + config.name());
      thread.setDaemon(true);
      thread.start();
    }

    /** The board; it changes as records arrive. */
    public OpenDiscrepancies board() {
      return board;
    }

    /** True once everything the topic held when following started has been applied. */
    public boolean caughtUp() {
      return caughtUp;
    }

    private void run() {
      Map<TopicPartition, Long> target = null;
      boolean failing = false;
      while (closed.getCount() > 0) {
        try (KafkaConsumer<byte[], byte[]> c = OpsKafka.consumer(config, bootstrap, null, "open-discrepancies")) {
          consumer = c;
          if (closed.getCount() == 0) {
            return; // closed while the consumer was being created: its wakeup went nowhere
          }
          List<TopicPartition> parts = partitions(c);
          if (parts.isEmpty()) {
            if (!failing) {
              LOG.warn("{} does not exist yet (the verify role creates it): waiting for it", topic);
              failing = true;
            }
            pause();
            continue;
          }
          c.assign(parts);
          for (TopicPartition tp : parts) {
            Long at = positions.get(tp);
            if (at == null) {
              c.seekToBeginning(List.of(tp));
            } else {
              c.seek(tp, at);
            }
          }
          if (target == null) {
            target = c.endOffsets(parts);
          }
          if (failing) {
            LOG.info("following {} on {} again", topic, bootstrap);
            failing = false;
          }
          while (closed.getCount() > 0) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
              board.apply(r.key(), r.value());
            }
            for (TopicPartition tp : parts) {
              positions.put(tp, c.position(tp));
            }
            if (!caughtUp && target.entrySet().stream()
                .allMatch(e -> positions.getOrDefault(e.getKey(), 0L) >= e.getValue())) {
              caughtUp = true;
            }
          }
        } catch (WakeupException e) {
          return; // close()
        } catch (KafkaException e) {
          // a broker away (timeouts), a topic deleted and recreated, an authorization change: start over
          if (!failing) {
            LOG.warn("following {} on {}: {}; retrying every {} s", topic, bootstrap, e.toString(), RETRY.toSeconds());
            failing = true;
          }
          pause();
        } finally {
          consumer = null;
        }
      }
    }

    private List<TopicPartition> partitions(KafkaConsumer<byte[], byte[]> c) {
      List<PartitionInfo> infos = c.partitionsFor(topic);
      List<TopicPartition> out = new ArrayList<>();
      if (infos != null) {
        infos.forEach(p -> out.add(new TopicPartition(topic, p.partition())));
      }
      return out;
    }

    private void pause() {
      try {
        closed.await(RETRY.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closed.countDown();
      }
    }

    @Override
    public void close() {
      closed.countDown();
      KafkaConsumer<byte[], byte[]> c = consumer;
      if (c != null) {
        try {
          c.wakeup();
        } catch (RuntimeException e) {
          LOG.debug("wakeup of a consumer being closed: {}", e.toString());
        }
      }
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (thread.isAlive()) {
        LOG.warn("the follower of {} did not stop within 10 s", topic);
      }
    }
  }
}
