package io.migrationverifier.ops;

import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.MalformedEventException;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.OpsKafka.KafkaUnavailableException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Reads {@code <name>.discrepancies} for the operator consumers ({@code tail}, the webhook poster):
 * every partition assigned (no group rebalancing, so a slow webhook never gets the reader kicked out
 * of a group), records decoded, handed over one by one in offset order per partition.
 *
 * <p>With a consumer group the group only stores progress: the offset after a record is committed
 * once the listener has returned for it (after each poll batch and when the feed stops), never for a
 * record whose listener threw. A restart therefore resumes after the last handled record; a crash
 * between handling and committing hands the batch over again (at least once).
 */
public final class DiscrepancyFeed implements AutoCloseable {
  /** Where reading starts in partitions without committed group offsets. */
  public enum Start { BEGINNING, END }

  /** Why {@link #run} returned. */
  public enum Stopped {
    /** {@link #stop()} was called (Ctrl-C, SIGTERM). */
    STOPPED,
    /** The listener asked to stop (e.g. enough events). */
    LISTENER,
    /** Not following: the end offsets taken at the start were reached. */
    END,
    /** Nothing new for the idle timeout. */
    IDLE
  }

  /**
   * @param group       null: no progress kept; else committed offsets decide where each partition resumes
   * @param follow      false: stop at the end offsets taken when reading starts
   * @param idleTimeout null: none; else stop after this long without a record
   */
  public record Options(Start start, String group, boolean follow, Duration idleTimeout) {}

  /** One record of the topic, decoded. */
  public record Event(int partition, long offset, byte[] key, byte[] value, Discrepancy discrepancy) {}

  /** What the feed hands over; called on the thread of {@link #run}. */
  public interface Listener {
    /** Positioned on every partition: records appended from now on will be seen. */
    default void ready(Map<TopicPartition, Long> positions) {}

    /**
     * A well-formed discrepancy. Throwing stops the feed without committing this record.
     *
     * @return false to stop after this record
     */
    boolean event(Event e);

    /** A record that is not a discrepancy event: reported, then skipped (committed like any other). */
    void malformed(int partition, long offset, byte[] value, String problem);
  }

  private static final Duration POLL = Duration.ofMillis(200);

  private final String topic;
  private final String bootstrap;
  private final Options options;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final List<TopicPartition> partitions;
  private final Map<TopicPartition, Long> handled = new HashMap<>();
  private volatile boolean stopping;

  private DiscrepancyFeed(String topic, String bootstrap, Options options, KafkaConsumer<byte[], byte[]> consumer,
      List<TopicPartition> partitions) {
    this.topic = topic;
    this.bootstrap = bootstrap;
    this.options = options;
    this.consumer = consumer;
    this.partitions = partitions;
  }

  /**
   * Connects: creates the deployment's topics when missing (as {@code run} would, so the feed can
   * start before the verifier) and assigns every partition of the discrepancy topic.
   *
   * @param probe how long the broker may take to answer before the command gives up
   * @throws KafkaUnavailableException the broker cannot be reached
   */
  public static DiscrepancyFeed open(VerifierConfig config, String bootstrap, Options options, String client,
      Duration probe) {
    String topic = config.topics().discrepancies();
    List<TopicPartition> partitions;
    try (Admin admin = OpsKafka.admin(config, bootstrap, probe)) {
      OpsKafka.ensureTopics(admin, config, bootstrap, probe);
      partitions = OpsKafka.partitions(admin, topic, bootstrap);
    }
    KafkaConsumer<byte[], byte[]> consumer = OpsKafka.consumer(config, bootstrap, options.group(), client);
    consumer.assign(partitions);
    return new DiscrepancyFeed(topic, bootstrap, options, consumer, partitions);
  }

  public String topic() {
    return topic;
  }

  public List<TopicPartition> partitions() {
    return partitions;
  }

  /** Thread-safe: makes {@link #run} return {@link Stopped#STOPPED} soon, committing what was handled. */
  public void stop() {
    stopping = true;
    consumer.wakeup();
  }

  /**
   * Reads until stopped. Positions first (committed offsets of the group, else the start), so that
   * {@link Listener#ready} means "from here on nothing is missed".
   *
   * @throws KafkaUnavailableException the broker does not answer while positioning or committing
   */
  public Stopped run(Listener listener) {
    Stopped result;
    try {
      result = read(listener);
    } catch (RuntimeException e) {
      // the records handled before the failure are done: keep them, the failed one is not committed
      try {
        commit();
      } catch (RuntimeException c) {
        e.addSuppressed(c);
      }
      throw e;
    }
    try {
      commit();
    } catch (WakeupException e) {
      // a stop() after reading ended leaves a pending wakeup: it only interrupted this commit
      commit();
    }
    return result;
  }

  private Stopped read(Listener listener) {
    try {
      Map<TopicPartition, Long> positions = position();
      Map<TopicPartition, Long> ends = options.follow() ? null : new HashMap<>(consumer.endOffsets(partitions));
      listener.ready(positions);
      long lastRecord = System.nanoTime();
      while (!stopping) {
        if (ends != null) {
          ends.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
          if (ends.isEmpty()) {
            return Stopped.END;
          }
        }
        if (options.idleTimeout() != null && System.nanoTime() - lastRecord >= options.idleTimeout().toNanos()) {
          return Stopped.IDLE;
        }
        ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
        if (!records.isEmpty()) {
          lastRecord = System.nanoTime();
        }
        for (ConsumerRecord<byte[], byte[]> r : records) {
          if (!hand(listener, r)) {
            return Stopped.LISTENER;
          }
        }
        commit();
      }
      return Stopped.STOPPED;
    } catch (WakeupException e) {
      return Stopped.STOPPED;
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw new KafkaUnavailableException("Kafka at " + bootstrap + " (kafka.bootstrap-servers) did not answer"
          + " while reading " + topic + ": " + e.getMessage(), e);
    }
  }

  private Map<TopicPartition, Long> position() {
    Map<TopicPartition, Long> positions = new HashMap<>();
    Map<TopicPartition, OffsetAndMetadata> committed = options.group() == null ? Map.of()
        : consumer.committed(new HashSet<>(partitions));
    for (TopicPartition tp : partitions) {
      OffsetAndMetadata o = committed.get(tp);
      if (o != null) {
        consumer.seek(tp, o.offset());
      } else if (options.start() == Start.BEGINNING) {
        consumer.seekToBeginning(List.of(tp));
      } else {
        consumer.seekToEnd(List.of(tp));
      }
      // seekTo* is lazy: resolve now, or records appended before the first poll would be skipped
      positions.put(tp, consumer.position(tp));
    }
    return positions;
  }

  private boolean hand(Listener listener, ConsumerRecord<byte[], byte[]> r) {
    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
    if (r.value() == null) {
      // a tombstone (an operator purging a row from the compacted topic) is not an event
      handled.put(tp, r.offset() + 1);
      return true;
    }
    Discrepancy d;
    try {
      d = RepairEvents.decodeDiscrepancy(r.value());
    } catch (MalformedEventException e) {
      listener.malformed(r.partition(), r.offset(), r.value(), e.getMessage());
      handled.put(tp, r.offset() + 1);
      return true;
    }
    boolean more = listener.event(new Event(r.partition(), r.offset(), r.key(), r.value(), d));
    handled.put(tp, r.offset() + 1);
    return more;
  }

  private void commit() {
    if (options.group() == null || handled.isEmpty()) {
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    handled.forEach((tp, o) -> offsets.put(tp, new OffsetAndMetadata(o)));
    try {
      consumer.commitSync(offsets, OpsKafka.TIMEOUT);
    } catch (WakeupException e) {
      throw e; // a stop(), not a failure: the caller commits again
    } catch (KafkaException e) {
      throw new KafkaUnavailableException("cannot save the progress of group " + options.group() + " on "
          + bootstrap + ": " + e.getMessage(), e);
    }
    handled.clear();
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(5));
  }
}
