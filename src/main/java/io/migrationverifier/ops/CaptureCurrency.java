package io.migrationverifier.ops;

import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.ChangeRecord;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.MalformedEventException;
import io.migrationverifier.event.Watermark;
import io.migrationverifier.repair.OpsKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * How current each capture is: the newest watermark record in every partition of both change
 * topics, read from the partition's tail. A watermark says "every change of this side committed at or
 * before this time is in this partition", so {@code now - watermark} is how far that capture trails
 * its database (heartbeats keep it moving while the database is idle).
 *
 * <p>Bounded: each {@link #read()} looks at the last {@value #STEP} records of a partition, and when
 * they hold no watermark (a burst of changes, or a capture that stopped emitting them), further back
 * in doubling steps, at most {@value #MAX_SCAN} records. Later reads look only at what was appended
 * since: the newest watermark found before stays valid until a newer one appears (a capture's
 * watermarks only grow), so it is kept when the new records hold none. A partition with no watermark
 * within reach reads as null.
 */
public final class CaptureCurrency implements AutoCloseable {
  public static final int STEP = 1000;
  public static final long MAX_SCAN = 64_000;

  /** The newest watermark of {@code side} in {@code partition} (epoch ms), or null when none was found. */
  public record SideWatermark(Side side, int partition, Long watermark) {}

  /** What an earlier read established: the newest watermark below {@code scannedTo}. */
  private record Known(Long watermark, long scannedTo) {}

  private final VerifierConfig config;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<TopicPartition, Known> known = new HashMap<>();

  private CaptureCurrency(VerifierConfig config, String bootstrap) {
    this.config = config;
    this.consumer = OpsKafka.consumer(config, bootstrap, null, "capture-currency");
  }

  /** Keeps one consumer open until {@link #close()}; call {@link #read()} as often as needed. */
  public static CaptureCurrency open(VerifierConfig config, String bootstrap) {
    return new CaptureCurrency(config, bootstrap);
  }

  /**
   * The newest watermark per side and partition, sources first, by partition. A change topic that
   * does not exist contributes no entry.
   *
   * @throws org.apache.kafka.common.KafkaException the broker did not answer in time
   *     ({@link OpsKafka.KafkaUnavailableException} when it stopped answering mid-read)
   */
  public synchronized List<SideWatermark> read() {
    List<TopicPartition> all = new ArrayList<>();
    Map<TopicPartition, Side> sides = new HashMap<>();
    for (Side side : Side.values()) {
      String topic = config.topics().changes(side);
      List<PartitionInfo> infos = consumer.partitionsFor(topic, OpsKafka.TIMEOUT);
      if (infos == null) {
        continue;
      }
      infos.stream().map(PartitionInfo::partition).sorted().forEach(p -> {
        TopicPartition tp = new TopicPartition(topic, p);
        all.add(tp);
        sides.put(tp, side);
      });
    }
    if (all.isEmpty()) {
      return List.of();
    }
    // Offsets are asked for assigned partitions only: for one that is not, a read_committed consumer
    // logs a WARN ("Not updating last stable offset ... no longer assigned") per partition and call.
    // So every partition stays assigned from one read to the next, and pausing picks what is fetched.
    if (!consumer.assignment().equals(new HashSet<>(all))) {
      consumer.assign(all);
    }
    consumer.pause(all);
    Map<TopicPartition, Long> begin = consumer.beginningOffsets(all, OpsKafka.TIMEOUT);
    Map<TopicPartition, Long> end = consumer.endOffsets(all, OpsKafka.TIMEOUT);

    Map<TopicPartition, Long> floor = new HashMap<>();
    Map<TopicPartition, Long> hi = new HashMap<>();
    for (TopicPartition tp : all) {
      Known k = known.get(tp);
      floor.put(tp, Math.max(begin.get(tp), k == null ? 0 : k.scannedTo()));
      hi.put(tp, end.get(tp));
    }
    Map<TopicPartition, Long> found = new HashMap<>();
    long span = STEP;
    long scanned = 0;
    List<TopicPartition> pending = all.stream().filter(tp -> hi.get(tp) > floor.get(tp)).toList();
    while (!pending.isEmpty()) {
      long take = Math.min(span, MAX_SCAN - scanned);
      Map<TopicPartition, Long> lo = new HashMap<>();
      for (TopicPartition tp : pending) {
        lo.put(tp, Math.max(floor.get(tp), hi.get(tp) - take));
      }
      consumer.pause(all); // readToEnd resumes the partitions it reads
      pending.forEach(tp -> consumer.seek(tp, lo.get(tp)));
      Map<TopicPartition, Long> window = new HashMap<>();
      pending.forEach(tp -> window.put(tp, hi.get(tp)));
      OpsKafka.readToEnd(consumer, pending, window, OpsKafka.all(r -> {
        if (r.key() != null) {
          return; // only watermarks have a null key
        }
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        try {
          ChangeRecord c = EventCodec.decodeChange(r.value());
          if (c instanceof Watermark w && w.side() == sides.get(tp)) {
            found.put(tp, w.watermark()); // offset order: the last one read is the newest
          }
        } catch (MalformedEventException e) {
          // not a watermark we can read; the verifier dead-letters it, here it just does not count
        }
      }));
      scanned += take;
      long s = scanned;
      List<TopicPartition> next = new ArrayList<>();
      for (TopicPartition tp : pending) {
        hi.put(tp, lo.get(tp));
        if (!found.containsKey(tp) && lo.get(tp) > floor.get(tp) && s < MAX_SCAN) {
          next.add(tp);
        }
      }
      pending = next;
      span *= 2;
    }
    consumer.pause(all);

    List<SideWatermark> out = new ArrayList<>();
    for (TopicPartition tp : all) {
      Known k = known.get(tp);
      Long wm = found.containsKey(tp) ? found.get(tp) : k == null ? null : k.watermark();
      known.put(tp, new Known(wm, end.get(tp)));
      out.add(new SideWatermark(sides.get(tp), tp.partition(), wm));
    }
    return out;
  }

  @Override
  public synchronized void close() {
    consumer.close(Duration.ofSeconds(5));
  }
}
