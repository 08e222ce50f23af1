package io.migrationverifier.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.MalformedEventException;
import io.migrationverifier.repair.OpsKafka;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * {@code <name>.coverage} (schema {@code topology-docs/coverage.schema.json}): the evidence that a
 * table was compared in full, which {@code gate} requires before a cutover. The stream alone compares
 * only rows that changed; a table counts as compared in full once both captures of this deployment
 * completed their initial snapshot of it (every row went through the verifier), or once an
 * {@code audit} of it completed and its findings were delivered.
 *
 * <p>Compacted, one partition. Record key {@code {"table":"orders","kind":"snapshot","side":"source"}}
 * or {@code {"table":"orders","kind":"audit"}}: the latest snapshot per side and the latest audit per
 * table are kept.
 */
public final class Coverage {
  public static final int VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How a table was compared in full. */
  public enum Kind {
    SNAPSHOT("snapshot"),
    AUDIT("audit");

    private final String id;

    Kind(String id) {
      this.id = id;
    }

    public String id() {
      return id;
    }

    static Kind fromId(String id) {
      for (Kind k : values()) {
        if (k.id.equals(id)) {
          return k;
        }
      }
      return null;
    }
  }

  /**
   * One coverage record.
   *
   * @param side        the captured side of a snapshot; null for an audit (it reads both databases)
   * @param startedAt   snapshot: its consistent point on the database clock (the time its rows are
   *                    stamped with); audit: when this run began the table (a resumed audit: when it resumed)
   * @param completedAt when it completed (wall clock of the process that wrote the record)
   * @param rows        snapshot: rows of this table the snapshot delivered; null for an audit
   * @param sourceRows  audit: rows compared on the source; null for a snapshot
   * @param targetRows  audit: rows compared on the target; null for a snapshot
   * @param differences audit: confirmed differences found (before any {@code --repair}); null for a snapshot
   * @param segmentation audit: {@code key} or {@code time:<column>}; null for a snapshot
   */
  public record Entry(String table, Kind kind, Side side, long startedAt, long completedAt, Long rows,
      Long sourceRows, Long targetRows, Integer differences, String segmentation) {

    public static Entry snapshot(String table, Side side, long startedAt, long completedAt, long rows) {
      return new Entry(table, Kind.SNAPSHOT, side, startedAt, completedAt, rows, null, null, null, null);
    }

    public static Entry audit(String table, long startedAt, long completedAt, long sourceRows, long targetRows,
        int differences, String segmentation) {
      return new Entry(table, Kind.AUDIT, null, startedAt, completedAt, null, sourceRows, targetRows, differences,
          segmentation);
    }
  }

  private final Map<String, Entry> latest = new HashMap<>();
  private int malformed;
  private boolean exists = true;

  // ---- encoding ----------------------------------------------------------------------------------

  /** The record key: table, kind and (snapshots) side, in this order, so equal coverage has equal bytes. */
  public static byte[] key(Entry e) {
    ObjectNode k = JSON.createObjectNode();
    k.put("table", e.table());
    k.put("kind", e.kind().id());
    if (e.side() != null) {
      k.put("side", e.side().id());
    }
    return k.toString().getBytes(StandardCharsets.UTF_8);
  }

  public static ObjectNode toJson(Entry e) {
    ObjectNode o = JSON.createObjectNode();
    o.put("v", VERSION);
    o.put("table", e.table());
    o.put("kind", e.kind().id());
    o.put("side", e.side() == null ? null : e.side().id());
    o.put("startedAt", e.startedAt());
    o.put("completedAt", e.completedAt());
    if (e.kind() == Kind.SNAPSHOT) {
      o.put("rows", e.rows());
    } else {
      o.put("sourceRows", e.sourceRows());
      o.put("targetRows", e.targetRows());
      o.put("differences", e.differences());
      o.put("segmentation", e.segmentation());
    }
    return o;
  }

  public static byte[] encode(Entry e) {
    return toJson(e).toString().getBytes(StandardCharsets.UTF_8);
  }

  public static ProducerRecord<byte[], byte[]> record(VerifierConfig config, Entry e) {
    return new ProducerRecord<>(config.topics().coverage(), key(e), encode(e));
  }

  /** Reads a value as {@link #encode} writes it; throws {@link MalformedEventException} saying what is wrong. */
  public static Entry decode(byte[] value) {
    if (value == null) {
      throw new MalformedEventException("null value (tombstone)");
    }
    JsonNode n;
    try {
      n = JSON.readTree(value);
    } catch (IOException e) {
      throw new MalformedEventException("not JSON: " + e.getMessage(), e);
    }
    if (n == null || !n.isObject()) {
      throw new MalformedEventException("value is not a JSON object");
    }
    if (n.path("v").asInt(-1) != VERSION) {
      throw new MalformedEventException("\"v\" must be " + VERSION + " (got " + n.get("v") + ")");
    }
    String table = n.path("table").asText("");
    if (!n.path("table").isTextual() || table.isEmpty()) {
      throw new MalformedEventException("\"table\" must be a non-empty string");
    }
    Kind kind = Kind.fromId(n.path("kind").asText(""));
    if (kind == null) {
      throw new MalformedEventException("\"kind\" must be snapshot or audit (got " + n.get("kind") + ")");
    }
    Side side = Side.fromId(n.path("side").asText(""));
    if (kind == Kind.SNAPSHOT && side == null) {
      throw new MalformedEventException("a snapshot's \"side\" must be source or target (got " + n.get("side") + ")");
    }
    for (String f : List.of("startedAt", "completedAt")) {
      if (!n.path(f).canConvertToLong()) {
        throw new MalformedEventException("\"" + f + "\" must be epoch milliseconds (got " + n.get(f) + ")");
      }
    }
    return new Entry(table, kind, kind == Kind.AUDIT ? null : side, n.get("startedAt").asLong(),
        n.get("completedAt").asLong(), longOrNull(n, "rows"), longOrNull(n, "sourceRows"),
        longOrNull(n, "targetRows"), n.hasNonNull("differences") ? n.get("differences").asInt() : null,
        n.hasNonNull("segmentation") ? n.get("segmentation").asText() : null);
  }

  private static Long longOrNull(JsonNode n, String field) {
    return n.hasNonNull(field) ? n.get(field).asLong() : null;
  }

  // ---- reading -------------------------------------------------------------------------------

  /** Applies one record; the latest per record key wins, a tombstone forgets it, unreadable ones are counted. */
  public synchronized void apply(byte[] key, byte[] value) {
    if (key == null) {
      malformed++;
      return;
    }
    String k = new String(key, StandardCharsets.UTF_8);
    if (value == null) {
      latest.remove(k);
      return;
    }
    try {
      latest.put(k, decode(value));
    } catch (MalformedEventException e) {
      malformed++;
    }
  }

  /** The latest completed snapshot of {@code table} by the capture of {@code side}. */
  public synchronized Optional<Entry> snapshot(String table, Side side) {
    return find(table, Kind.SNAPSHOT, side);
  }

  /** The latest completed audit of {@code table}. */
  public synchronized Optional<Entry> audit(String table) {
    return find(table, Kind.AUDIT, null);
  }

  private Optional<Entry> find(String table, Kind kind, Side side) {
    return Optional.ofNullable(latest.get(new String(key(new Entry(table, kind, side, 0, 0, null, null, null, null,
        null)), StandardCharsets.UTF_8)));
  }

  /**
   * Since when {@code table} counts as compared in full: the start of its latest coverage, i.e. the
   * later of its latest audit's start and (when both sides recorded one) the earlier of its two
   * snapshots' starts; null when it was never compared in full. A change the verifier could not
   * compare after this moment (dead-lettered) voids it.
   */
  public synchronized Long comparedSince(String table) {
    Optional<Entry> s = snapshot(table, Side.SOURCE);
    Optional<Entry> t = snapshot(table, Side.TARGET);
    Long bySnapshots = s.isPresent() && t.isPresent() ? Math.min(s.get().startedAt(), t.get().startedAt()) : null;
    Long byAudit = audit(table).map(Entry::startedAt).orElse(null);
    if (bySnapshots == null || byAudit == null) {
      return bySnapshots == null ? byAudit : bySnapshots;
    }
    return Math.max(bySnapshots, byAudit);
  }

  /** Records that could not be read (skipped). */
  public synchronized int malformed() {
    return malformed;
  }

  /** False when {@code <name>.coverage} does not exist (nothing of this version ever ran against the cluster). */
  public synchronized boolean exists() {
    return exists;
  }

  /** Reads the change events on {@code <name>.changes.dlq} (see {@link ChangeDeadLetters}) from the beginning to its end now. */
  public static ChangeDeadLetters readDeadLetters(VerifierConfig config, String bootstrap) {
    ChangeDeadLetters d = new ChangeDeadLetters(config);
    d.exists = readTopic(config, bootstrap, config.topics().changesDlq(), "gate-changes-dlq",
        r -> d.add(r.key(), r.headers(), r.timestamp()));
    return d;
  }

  /**
   * The change events on {@code <name>.changes.dlq}: the capture could not read a Debezium event, or
   * the verifier could not read a change record (or its table is not configured). Such a change was
   * never compared, so a table counts as compared in full again only with coverage that started
   * after its newest one ({@link Coverage#comparedSince}): an audit started later reads the rows as
   * they are now. Each record is attributed to a configured table by its key when that is a row's
   * record key ({@code {"table":..,"key":..}}: the verifier keeps the change's key), else by the
   * Debezium destination the capture names in its {@code __streams.errors.topic} header
   * ({@code debezium:<name>-<side>.<schema or database>.<table>}); the record timestamp says when.
   */
  public static final class ChangeDeadLetters {
    private final VerifierConfig config;
    private final Map<String, List<Long>> byTable = new TreeMap<>();
    private final List<Long> unattributed = new ArrayList<>();
    private boolean exists = true;

    public ChangeDeadLetters(VerifierConfig config) {
      this.config = config;
    }

    public void add(byte[] key, Headers headers, long timestamp) {
      if (headers != null && headers.lastHeader(DeadLetters.COMPARED) != null) {
        return; // a copy kept for information: the change itself was compared
      }
      String table = attribute(config, key, headers);
      (table == null ? unattributed : byTable.computeIfAbsent(table, t -> new ArrayList<>())).add(timestamp);
    }

    /** The configured table a dead letter is about, or null when neither its key nor its headers say. */
    public static String attribute(VerifierConfig config, byte[] key, Headers headers) {
      if (key != null) {
        try {
          String table = CanonicalKey.parse(key).table();
          if (configured(config, table)) {
            return table;
          }
        } catch (RuntimeException e) {
          // not a row's record key (a capture's dead letter keeps Debezium's key): try the headers
        }
      }
      String sideId = header(headers, DeadLetters.CAPTURE_SIDE);
      String topic = header(headers, DeadLetters.TOPIC);
      Side side = sideId == null ? null : Side.fromId(sideId);
      String prefix = side == null ? null : "debezium:" + config.name() + "-" + side.id() + ".";
      if (prefix == null || topic == null || !topic.startsWith(prefix)) {
        return null;
      }
      String qualified = topic.substring(prefix.length());
      List<String> matches = config.tables().stream().filter(t -> {
        String physical = t.physicalTable(side);
        return physical.equals(qualified) || !physical.contains(".") && qualified.endsWith("." + physical)
            && qualified.indexOf('.') == qualified.length() - physical.length() - 1;
      }).map(TableConfig::name).toList();
      return matches.size() == 1 ? matches.get(0) : null;
    }

    private static boolean configured(VerifierConfig config, String table) {
      return config.tables().stream().anyMatch(t -> t.name().equals(table));
    }

    private static String header(Headers headers, String name) {
      Header h = headers == null ? null : headers.lastHeader(name);
      return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** False when {@code <name>.changes.dlq} does not exist. */
    public boolean exists() {
      return exists;
    }

    /** Dead letters of {@code table} written at or after {@code since} (epoch ms; null: all of them). */
    public int of(String table, Long since) {
      return count(byTable.getOrDefault(table, List.of()), since);
    }

    /** The newest dead letter of {@code table}, or null. */
    public Long newest(String table) {
      return byTable.getOrDefault(table, List.of()).stream().max(Long::compare).orElse(null);
    }

    /** Dead letters no table could be named for, written at or after {@code since} (null: all). */
    public int unattributed(Long since) {
      return count(unattributed, since);
    }

    /** The newest dead letter no table could be named for, or null. */
    public Long newestUnattributed() {
      return unattributed.stream().max(Long::compare).orElse(null);
    }

    private static int count(List<Long> timestamps, Long since) {
      return (int) timestamps.stream().filter(t -> since == null || t >= since).count();
    }
  }

  /** Reads {@code <name>.coverage} from the beginning to its end now. */
  public static Coverage readAll(VerifierConfig config, String bootstrap) {
    Coverage c = new Coverage();
    boolean found = readTopic(config, bootstrap, config.topics().coverage(), "gate-coverage",
        r -> c.apply(r.key(), r.value()));
    synchronized (c) {
      c.exists = found;
    }
    return c;
  }

  /**
   * Reads every partition of {@code topic} from the beginning to the end offsets taken now, with the
   * bounded waits of the operator commands ({@link OpsKafka}).
   *
   * @return false when the topic does not exist (nothing was read)
   * @throws OpsKafka.KafkaUnavailableException the broker did not answer
   */
  public static boolean readTopic(VerifierConfig config, String bootstrap, String topic, String client,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    try (Admin admin = OpsKafka.admin(config, bootstrap);
        KafkaConsumer<byte[], byte[]> consumer = OpsKafka.consumer(config, bootstrap, null, client)) {
      List<TopicPartition> parts = OpsKafka.partitions(admin, topic, bootstrap);
      if (parts.isEmpty()) {
        return false;
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      OpsKafka.readToEnd(consumer, parts, consumer.endOffsets(parts), OpsKafka.all(each));
      return true;
    }
  }
}
