package io.migrationverifier.bench;

import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.Watermark;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Change events and watermarks as the two captures write them (DESIGN section 3), without
 * databases: for measuring the verify role alone (state size, memory, soak). A row has
 * {@link #COLUMNS} columns, about {@value #ROW_BYTES} bytes of canonical JSON. Each side's events
 * are produced in commit order (time and position increase), so the watermarks below are true.
 */
public final class SyntheticChanges {
  public static final String TABLE = "orders";
  public static final int COLUMNS = 10;
  /** Approximate canonical JSON size of a row ({@code {"amount":"...",...}}), checked by {@link #rowJsonBytes}. */
  public static final int ROW_BYTES = 200;

  private final VerifierConfig config;
  private final KafkaProducer<byte[], byte[]> producer;
  private final int partitions;
  private final Map<Side, Long> pos = new EnumMap<>(Map.of(Side.SOURCE, 0L, Side.TARGET, 0L));
  private final List<Future<RecordMetadata>> unchecked = new ArrayList<>();

  public SyntheticChanges(VerifierConfig config, KafkaProducer<byte[], byte[]> producer, int partitions) {
    this.config = config;
    this.producer = producer;
    this.partitions = partitions;
  }

  /**
   * A deployment of the one table of {@link #row} (default canonical rules), window 1 s, the
   * default exactly_once_v2, commits every 100 ms: the verify role as the measurements run it.
   */
  public static VerifierConfig config(String name, int partitions, Path stateDir) {
    return config(name, partitions, stateDir, "full");
  }

  /** @param state the table's {@code state}: {@code full} or {@code hash-only} */
  public static VerifierConfig config(String name, int partitions, Path stateDir, String state) {
    return ConfigLoader.parse("""
        name: %s
        kafka: {bootstrap-servers: embedded, partitions: %d}
        source: {type: postgres, database: legacy, user: verifier}
        target: {type: postgres, database: modern, user: verifier}
        verify: {window: 1s, stall-threshold: 1h, commit-interval: 100ms, state-dir: '%s'}
        tables:
          - name: %s
            key: [id]
            state: %s
        """.formatted(name, partitions, stateDir, TABLE, state), variable -> null);
  }

  /** Row {@code id} in version {@code version}; {@code variant} != 0 makes one column differ (a fault). */
  public static CanonicalRow row(long id, long version, int variant) {
    Map<String, String> r = new TreeMap<>();
    r.put("id", Long.toString(id));
    r.put("customer_id", Long.toString(id % 100_003));
    r.put("amount", (id % 10_000) + "." + String.format("%02d", version % 100));
    r.put("currency", "EUR");
    r.put("status", variant == 0 ? "status-" + (version % 7) : "status-corrupt-" + variant);
    r.put("note", "order note number " + id + " version " + version);
    r.put("created_at", "2026-01-01T00:00:00." + String.format("%06d", id % 1_000_000) + "Z");
    r.put("updated_at", "2026-06-01T12:00:00." + String.format("%06d", version % 1_000_000) + "Z");
    r.put("paid", (version & 1) == 0 ? "true" : "false");
    r.put("sku", "SKU-" + Long.toHexString(id * 2654435761L & 0xffffffffL));
    return CanonicalRow.of(r);
  }

  /** The canonical JSON size of a row: what a change event's {@code row} field takes. */
  public static int rowJsonBytes(CanonicalRow row) {
    int n = 2; // braces
    for (Map.Entry<String, String> e : row.values().entrySet()) {
      n += e.getKey().length() + e.getValue().length() + 6; // quotes, colon, comma
    }
    return n - 1;
  }

  /** An upsert (or a delete, row null) of one key on one side at commit time {@code ts}. */
  public void change(Side side, long id, CanonicalRow row, long ts) {
    String p = String.format("%020d", pos.merge(side, 1L, Long::sum));
    ChangeEvent e = ChangeEvent.of(side, TABLE, new TreeMap<>(Map.of("id", Long.toString(id))),
        row == null ? Op.DELETE : Op.UPDATE, row, ts, p);
    unchecked.add(producer.send(new ProducerRecord<>(config.topics().changes(side), e.canonicalKey().toBytes(),
        EventCodec.encode(e))));
  }

  /** The same change on both sides, the target's {@code lagMs} later: agreeing after the lag. */
  public void mirrored(long id, CanonicalRow row, long ts, long lagMs) {
    change(Side.SOURCE, id, row, ts);
    change(Side.TARGET, id, row, ts + lagMs);
  }

  /** A watermark of one side on every partition (null key), after that side's changes up to {@code wm}. */
  public void watermark(Side side, long wm) {
    byte[] value = EventCodec.encode(new Watermark(side, wm));
    for (int p = 0; p < partitions; p++) {
      unchecked.add(producer.send(new ProducerRecord<>(config.topics().changes(side), p, null, value)));
    }
  }

  /** Waits for every send so far: a lost event would make any figure meaningless. */
  public void check() throws Exception {
    producer.flush();
    for (Future<RecordMetadata> f : unchecked) {
      f.get();
    }
    unchecked.clear();
  }

  /** Drops the completed sends from the list (a long run must not keep millions of futures). */
  public void checkCompleted() throws Exception {
    List<Future<RecordMetadata>> left = new ArrayList<>();
    for (Future<RecordMetadata> f : unchecked) {
      if (f.isDone()) {
        f.get();
      } else {
        left.add(f);
      }
    }
    unchecked.clear();
    unchecked.addAll(left);
  }
}
