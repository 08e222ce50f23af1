package io.migrationverifier.repair;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.RepairEvents;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads {@code <name>.repairs.dlq} (DESIGN section 3, DLQ record: the value is the original
 * request, the headers say where it came from and how it failed) for {@code dlq list}.
 */
public final class DlqReader {
  /** Shown for an entry whose value or key cannot be read. */
  public static final String UNREADABLE = "(unreadable)";
  private static final int MAX_MESSAGE = 100;

  private DlqReader() {}

  /**
   * One dead letter.
   *
   * @param table    logical table (from the value, else the record key), or {@link #UNREADABLE}
   * @param kind     the discrepancy kind of the request, or {@link #UNREADABLE}
   * @param key      the row key, null when unreadable
   * @param failedAt the last failure (when it was dead-lettered), epoch ms; the record time when the header is missing
   */
  public record Entry(ConsumerRecord<byte[], byte[]> record, String table, String kind,
      SortedMap<String, String> key, long failedAt, long firstFailedAt, String exception, String message,
      String failureKind, long attempts, long replays) {

    public static Entry of(ConsumerRecord<byte[], byte[]> rec) {
      String table = UNREADABLE;
      String kind = UNREADABLE;
      SortedMap<String, String> key = null;
      try {
        Discrepancy d = RepairEvents.decodeDiscrepancy(rec.value());
        table = d.table();
        kind = d.kind().name();
        key = d.key();
      } catch (RuntimeException e) {
        try {
          CanonicalKey k = CanonicalKey.parse(rec.key());
          table = k.table();
          key = k.key();
        } catch (RuntimeException ignored) {
          // neither value nor key readable: listed as unreadable
        }
      }
      var h = rec.headers();
      long failed = RepairHeaders.number(h, RepairHeaders.LAST_FAILURE, rec.timestamp());
      return new Entry(rec, table, kind, key, failed, RepairHeaders.number(h, RepairHeaders.FIRST_FAILURE, failed),
          RepairHeaders.text(h, DeadLetters.EXCEPTION), RepairHeaders.text(h, DeadLetters.MESSAGE),
          RepairHeaders.text(h, RepairHeaders.FAILURE_KIND), RepairHeaders.number(h, RepairHeaders.ATTEMPTS, 0),
          RepairHeaders.number(h, RepairHeaders.REPLAYS, 0));
    }

    /** Exception class (simple name) and the first line of its message, shortened: entries group by it. */
    public String error() {
      String cls = exception == null ? "unknown" : exception.substring(exception.lastIndexOf('.') + 1);
      if (message == null || message.isBlank()) {
        return cls;
      }
      String m = message.strip();
      int nl = m.indexOf('\n');
      if (nl >= 0) {
        m = m.substring(0, nl).strip();
      }
      if (m.length() > MAX_MESSAGE) {
        m = m.substring(0, MAX_MESSAGE - 3) + "...";
      }
      return cls + ": " + m;
    }

    /** {@code p0@12}: partition and offset. */
    public String position() {
      return "p" + record.partition() + "@" + record.offset();
    }
  }

  /**
   * What {@code dlq list} prints: counts of the entries that match the filter.
   *
   * @param exists       false when the DLQ topic does not exist yet
   * @param total        every entry read
   * @param pending      matching entries after the saved progress of {@code dlq replay} with the same filters
   * @param replayGroup  that replay's consumer group
   */
  public record Listing(boolean exists, long total, long matched, Map<String, Long> byTable,
      Map<String, Long> byKind, Map<String, Long> byError, Long oldest, Long newest, long replayedAgain,
      long pending, String replayGroup) {}

  public static Listing list(VerifierConfig config, String bootstrap, DlqFilter filter) {
    String topic = config.topics().repairsDlq();
    String group = DlqReplay.groupId(config.name(), filter);
    try (Admin admin = OpsKafka.admin(config, bootstrap)) {
      List<TopicPartition> parts = OpsKafka.partitions(admin, topic, bootstrap);
      if (parts.isEmpty()) {
        return new Listing(false, 0, 0, Map.of(), Map.of(), Map.of(), null, null, 0, 0, group);
      }
      Map<TopicPartition, Long> saved = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
      try (KafkaConsumer<byte[], byte[]> c = OpsKafka.consumer(config, bootstrap, group, "dlq-list")) {
        Set<TopicPartition> set = new HashSet<>(parts);
        Map<TopicPartition, OffsetAndMetadata> committed = c.committed(set);
        committed.forEach((tp, o) -> {
          if (o != null) {
            saved.put(tp, o.offset());
          }
        });
      }
      try (KafkaConsumer<byte[], byte[]> c = OpsKafka.consumer(config, bootstrap, null, "dlq-list")) {
        c.assign(parts);
        c.seekToBeginning(parts);
        Map<TopicPartition, Long> ends = c.endOffsets(parts);
        long[] n = new long[5]; // total, matched, replayed-again, pending
        long[] range = {Long.MAX_VALUE, Long.MIN_VALUE};
        Map<String, Long> byTable = new TreeMap<>();
        Map<String, Long> byKind = new TreeMap<>();
        Map<String, Long> byError = new TreeMap<>();
        OpsKafka.readToEnd(c, parts, ends, OpsKafka.all(rec -> {
          n[0]++;
          Entry e = Entry.of(rec);
          if (!filter.matches(e)) {
            return;
          }
          n[1]++;
          byTable.merge(e.table(), 1L, Long::sum);
          byKind.merge(e.kind(), 1L, Long::sum);
          byError.merge(e.error(), 1L, Long::sum);
          range[0] = Math.min(range[0], e.failedAt());
          range[1] = Math.max(range[1], e.failedAt());
          if (e.replays() > 0) {
            n[2]++;
          }
          Long s = saved.get(new TopicPartition(rec.topic(), rec.partition()));
          if (s == null || rec.offset() >= s) {
            n[3]++;
          }
        }));
        return new Listing(true, n[0], n[1], byTable, byKind, byError, n[1] == 0 ? null : range[0],
            n[1] == 0 ? null : range[1], n[2], n[3], group);
      }
    }
  }

  /** Sorted by count, largest first, then by name. */
  public static List<Map.Entry<String, Long>> ranked(Map<String, Long> counts) {
    List<Map.Entry<String, Long>> l = new ArrayList<>(counts.entrySet());
    l.sort(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
    return l;
  }
}
