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
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
 *
 * <p>Bounded for the process it runs in (the status page shares a JVM with capture, verify and
 * repair, and weeks before cutover a half-filled target can hold millions of open rows): every open
 * row costs a compact entry (its table, kind and detection time), counts per table and kind are kept
 * as records arrive, and only the {@value #RETAINED} newest discrepancies are kept whole, rows and
 * field diffs included, for the page.
 */
public final class OpenDiscrepancies {
  private static final Logger LOG = LoggerFactory.getLogger(OpenDiscrepancies.class);
  /** Open discrepancies kept whole (the page lists at most 200). */
  public static final int RETAINED = 1000;

  /** One table's open discrepancies: counts by kind and the oldest detection time (null when none is open). */
  public record TableSummary(String table, Map<DiscrepancyKind, Integer> byKind, int open, Long oldestDetectedAt) {}

  /** What is remembered of every open row; {@code key} is the record key, shared with the map's key. */
  private record Entry(String table, DiscrepancyKind kind, long detectedAt, String key) {}

  /** Newest first; ties by record key so that equal boards list alike. */
  private static final Comparator<Entry> NEWEST_FIRST = Comparator.comparingLong(Entry::detectedAt).reversed()
      .thenComparing(Entry::key);

  private final Map<String, Entry> byKey = new HashMap<>();
  private final Map<String, Counts> tables = new HashMap<>();
  private final TreeMap<Entry, Discrepancy> newest = new TreeMap<>(NEWEST_FIRST);
  private int malformed;

  /** Per table: open rows by kind, and detection times as a multiset (its first key is the oldest). */
  private static final class Counts {
    final Map<DiscrepancyKind, Integer> byKind = new EnumMap<>(DiscrepancyKind.class);
    final TreeMap<Long, Integer> detected = new TreeMap<>();
    int open;

    void add(Entry e, int sign) {
      open += sign;
      byKind.merge(e.kind(), sign, Integer::sum);
      byKind.remove(e.kind(), 0);
      detected.merge(e.detectedAt(), sign, Integer::sum);
      detected.remove(e.detectedAt(), 0);
    }
  }

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
          close(new String(key, StandardCharsets.UTF_8));
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
      close(k);
      if (d.kind() != DiscrepancyKind.RESOLVED) {
        Entry e = new Entry(d.table(), d.kind(), d.detectedAt(), k);
        byKey.put(k, e);
        tables.computeIfAbsent(e.table(), t -> new Counts()).add(e, 1);
        newest.put(e, d);
        if (newest.size() > RETAINED) {
          newest.pollLastEntry(); // the oldest: its counts stay, its rows are let go
        }
      }
    }
  }

  private void close(String key) {
    Entry e = byKey.remove(key);
    if (e != null) {
      Counts c = tables.get(e.table());
      c.add(e, -1);
      if (c.open == 0) {
        tables.remove(e.table());
      }
      newest.remove(e);
    }
  }

  private synchronized void count() {
    malformed++;
  }

  /**
   * The newest open discrepancies, whole, newest {@code detectedAt} first: all of them up to
   * {@value #RETAINED}, else the newest ones kept ({@link #openCount()} says how many are open).
   */
  public synchronized List<Discrepancy> open() {
    return new ArrayList<>(newest.values());
  }

  /** How many rows have an open discrepancy. */
  public synchronized int openCount() {
    return byKey.size();
  }

  /** Per table with open discrepancies: the counts by kind and the oldest detection time. */
  public synchronized Map<String, TableSummary> summary() {
    Map<String, TableSummary> out = new TreeMap<>();
    tables.forEach((t, c) -> out.put(t, new TableSummary(t, Map.copyOf(c.byKind), c.open,
        c.detected.isEmpty() ? null : c.detected.firstKey())));
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
        } catch (KafkaException | IllegalStateException e) {
          // a broker away (timeouts), a topic deleted and recreated, an authorization change: start over
          // (anything else escaping would end the thread and freeze the board: it is logged below)
          if (!failing) {
            LOG.warn("following {} on {}: {}; retrying every {} s", topic, bootstrap, e.toString(), RETRY.toSeconds());
            failing = true;
          }
          pause();
        } catch (RuntimeException e) {
          LOG.error("following {} failed: {}; starting over in {} s", topic, e.toString(), RETRY.toSeconds(), e);
          failing = true;
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
