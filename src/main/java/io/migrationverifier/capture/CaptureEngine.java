package io.migrationverifier.capture;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.TableCanonicalizer;
import io.migrationverifier.config.CaptureSettings;
import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.OversizeValues;
import io.migrationverifier.event.Watermark;
import io.migrationverifier.ops.Coverage;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Capture of one side: a Debezium embedded engine whose change events are canonicalized into
 * normalized change events (DESIGN section 3) and produced to {@code <name>.changes.<side>},
 * followed by watermarks to every partition.
 *
 * <p>At-least-once: Debezium offsets of a batch are acknowledged only after Kafka acknowledged
 * every record of it (and the watermark after them). A crash re-delivers from the last
 * acknowledged offset; the verifier recognizes the duplicates by position.
 *
 * <p>Watermarks: commit times are made monotonic per side ({@code ts = max(commit time, last)});
 * after each batch the watermark is the last commit time minus 1 ms (a later change may share
 * that millisecond, or that second on MariaDB). While the initial snapshot runs, rows are stamped
 * with the snapshot's start (database clock) and the watermark stays just before it. When the
 * database is idle, the heartbeat row's own change (written by {@link Heartbeat}) moves it.
 *
 * <p>Coverage: when an initial snapshot completes, one record per configured table goes to
 * {@code <name>.coverage} ({@link Coverage}), after Kafka acknowledged the snapshot's rows and before
 * Debezium's offsets of that batch are: {@code gate} then counts those tables as compared in full.
 */
public final class CaptureEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CaptureEngine.class);

  private final VerifierConfig config;
  private final Side side;
  private final DatabaseSettings db;
  private final String topic;
  private final String dlqTopic;
  private final Path stateDir;
  private final KafkaProducer<byte[], byte[]> producer;
  /**
   * The most bytes of key and value one record may hold: the producer's max.request.size less room
   * for the record's overhead and headers. A larger record would fail its send, and a failed send
   * stops the capture (and fails again after every restart).
   */
  private final int maxRecordBytes;
  private final Canonicalizer canonicalizer;
  /** Hash-only tables (logical names) found at start without full before-images: none is sent for them. */
  private volatile Set<String> withoutBeforeImages = Set.of();
  private final Map<String, TableCanonicalizer> byQualifiedName = new HashMap<>();
  private final String heartbeatTable;
  private final PositionTracker positions;
  private final CaptureListener listener;
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();
  private volatile boolean closing;
  private final ExecutorService executor;
  private DebeziumEngine<ChangeEvent<String, String>> engine;
  private Heartbeat heartbeat;
  private int partitions;

  /** The highest PostgreSQL LSN Kafka acknowledged, as last written to {@link ResumeCheck#ACKED_LSN_FILE}. */
  private long ackedLsn;
  private long lastTs = Long.MIN_VALUE;
  private long emittedWatermark = Long.MIN_VALUE;
  private long snapshotTs = Long.MIN_VALUE;
  private boolean snapshotting;
  /** The start of a snapshot whose completion earns coverage records; null when none is running. */
  private Long coveredSnapshotStart;
  /** Rows the running snapshot delivered, per logical table. */
  private final Map<String, Long> snapshotRows = new HashMap<>();

  public CaptureEngine(VerifierConfig config, Side side, String bootstrapServers, CaptureListener listener) {
    this.config = config;
    this.side = side;
    this.db = config.database(side);
    this.topic = config.topics().changes(side);
    this.dlqTopic = config.topics().changesDlq();
    this.stateDir = config.verify().stateDir().resolve("capture-" + side.id());
    this.listener = listener == null ? CaptureListener.NONE : listener;
    this.canonicalizer = Canonicalizer.forConfig(config);
    for (TableConfig t : config.tables()) {
      byQualifiedName.put(qualify(t.physicalTable(side)), canonicalizer.table(side, t.name()).orElseThrow());
    }
    this.heartbeatTable = config.capture().heartbeatEnabled() ? qualify(config.capture().heartbeatTable()) : null;
    this.positions = new PositionTracker(db.dialect());
    Properties p = new Properties();
    config.kafka().properties().forEach(p::setProperty);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, config.name() + "-capture-" + side.id());
    producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    maxRecordBytes = Integer.parseInt(p.getProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "1048576").trim())
        - 32 * 1024;
    executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "capture-" + side.id());
      t.setDaemon(true);
      return t;
    });
  }

  private void warnAboutBeforeImages() {
    Map<String, String> hashOnly = new TreeMap<>();
    for (TableConfig t : config.tables()) {
      if (t.hashOnly()) {
        hashOnly.put(t.name(), qualify(t.physicalTable(side)));
      }
    }
    if (hashOnly.isEmpty()) {
      return;
    }
    try (Connection c = Jdbc.connect(db)) {
      Map<String, String> lacking = BeforeImageCheck.lacking(c, db, side.id(), hashOnly);
      new java.util.LinkedHashSet<>(lacking.values()).forEach(w -> LOG.warn("{}", w));
      withoutBeforeImages = Set.copyOf(lacking.keySet());
    } catch (SQLException e) {
      // advice only: an unreachable database is Debezium's to report, with its own retries
      LOG.warn("capture {}: could not check the before-images of the hash-only tables {}: {}", side.id(),
          hashOnly.keySet(), e.getMessage());
    }
  }

  /** {@code schema.table} as Debezium names it: PostgreSQL defaults to {@code public}, MariaDB to the database. */
  String qualify(String table) {
    if (table.contains(".")) {
      return table;
    }
    return (db.dialect() == Dialect.POSTGRES ? "public" : db.database()) + "." + table;
  }

  public Side side() {
    return side;
  }

  /** Completes when the engine stops: normally after {@link #close()}, exceptionally when it failed. */
  public CompletableFuture<Void> stopped() {
    return stopped;
  }

  public void start() throws IOException, InterruptedException {
    Files.createDirectories(stateDir);
    Path offsets = stateDir.resolve("offsets.dat");
    boolean fresh = !Files.exists(offsets) || Files.size(offsets) == 0;
    if (!fresh) {
      // Debezium would resume silently past a hole (a dropped slot is recreated at "now")
      try {
        ResumeCheck.verify(db, side.id(), db.properties().getOrDefault("slot.name", CaptureNames.slot(config, side)),
            stateDir, offsets);
      } catch (ResumeCheck.LostChangesException e) {
        // a refusal is a capture failure like any other: the pipeline (and `run`) stop on it with this message
        LOG.error("{}", e.getMessage());
        stopped.completeExceptionally(e);
        return;
      }
      // the file only grows: a restart's first batch may hold older LSNs (a transaction that began earlier)
      ackedLsn = ResumeCheck.readAckedLsn(stateDir).orElse(0L);
    }
    partitions = producer.partitionsFor(topic).size();
    warnAboutBeforeImages();
    List<String> include = new ArrayList<>(byQualifiedName.keySet());
    if (heartbeatTable != null) {
      heartbeat = new Heartbeat(db, heartbeatTable, config.name(), config.capture().heartbeatInterval());
      heartbeat.ensureTable();
      include.add(heartbeatTable);
    }
    long dbNow = Heartbeat.databaseNow(db);
    boolean snapshot = fresh && config.capture().snapshot().equals("initial");
    // Snapshot rows (also of a snapshot Debezium restarts after an interrupted one) are stamped
    // with this start time, read from the database clock that commit times come from.
    snapshotTs = dbNow;
    if (fresh) {
      // The stream begins here: the verifier takes a side's first watermark as its baseline.
      lastTs = dbNow;
      snapshotting = snapshot;
      coveredSnapshotStart = snapshot ? dbNow : null;
      waitFor(emitWatermark(dbNow - 1));
    }
    Properties props = debeziumProperties(offsets, include, snapshot);
    LOG.info("capture {}: starting {} engine on {}:{}/{} for {} (snapshot: {}, state in {})", side.id(),
        db.dialect().id(), db.host(), db.port(), db.database(), include, snapshot, stateDir);
    engine = DebeziumEngine.create(Json.class)
        .using(props)
        .notifying(this::handleBatch)
        .using((success, message, error) -> {
          if (success || closing) {
            // Closing, Debezium's async engine can still report a poll it could not hand to its
            // already terminated executor (RejectedExecutionException): our stop, not a failure.
            if (!success) {
              LOG.debug("capture {}: engine reported while closing: {}", side.id(), message, error);
            }
            stopped.complete(null);
          } else {
            stopped.completeExceptionally(error != null ? error
                : new IllegalStateException("capture " + side.id() + " stopped: " + message));
          }
        })
        .build();
    executor.execute(engine);
    if (heartbeat != null) {
      heartbeat.start();
    }
  }

  private Properties debeziumProperties(Path offsets, List<String> include, boolean snapshot) {
    String engineName = config.name() + "-" + side.id();
    List<String> patterns = include.stream().map(t -> t.replace(".", "\\.")).toList();
    Properties p;
    if (db.dialect() == Dialect.POSTGRES) {
      String slot = CaptureNames.slot(config, side);
      p = DebeziumSettings.postgres(engineName, db.host(), db.port(), db.database(), db.user(), db.password().reveal(),
          slot, slot, offsets, patterns);
    } else {
      p = DebeziumSettings.mariadb(engineName, db.host(), db.port(), db.database(), db.user(), db.password().reveal(),
          CaptureNames.serverId(config, side), offsets, stateDir.resolve("schema-history.dat"), patterns);
    }
    p.setProperty("snapshot.mode", snapshot ? "initial" : "no_data");
    db.properties().forEach(p::setProperty); // the operator's passthrough wins
    // driver.sslmode configures every connection of the side (ours in Jdbc and Debezium's); Debezium
    // reads database.sslmode first, so our "disable" default must not shadow the operator's choice.
    if (db.dialect() == Dialect.POSTGRES && db.properties().containsKey("driver.sslmode")
        && !db.properties().containsKey("database.sslmode")) {
      p.remove("database.sslmode");
    }
    return p;
  }

  private void handleBatch(List<ChangeEvent<String, String>> records,
      DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer) throws InterruptedException {
    List<Future<RecordMetadata>> sends = new ArrayList<>(records.size() + partitions);
    int changes = 0;
    long batchLsn = 0;
    boolean snapshotCompleted = false;
    for (ChangeEvent<String, String> r : records) {
      if (r.value() == null || r.destination() == null || r.destination().startsWith("__debezium")) {
        continue; // tombstones and Debezium's own heartbeats carry no row change
      }
      DebeziumChange ch;
      try {
        ch = DebeziumJson.parse(r.value());
      } catch (IOException | RuntimeException e) {
        sends.add(deadLetter(r, e));
        continue;
      }
      if (db.dialect() == Dialect.POSTGRES && ch.source() != null) {
        batchLsn = Math.max(batchLsn, ResumeCheck.maxLsn(ch.source()));
      }
      String table = ch.schemaOrDatabase() + "." + ch.table();
      boolean snapshotRow = isSnapshot(ch);
      if (snapshotRow && !snapshotting && lastTs < snapshotTs) {
        snapshotting = true; // a snapshot Debezium (re)started on its own
        // it reads every configured table again (it resumes an interrupted initial snapshot), so it
        // covers them as a fresh one would; under `never` it is not ours to vouch for
        coveredSnapshotStart = config.capture().snapshot().equals(CaptureSettings.SNAPSHOT_INITIAL) ? snapshotTs
            : null;
        snapshotRows.clear();
      }
      long ts = snapshotRow ? snapshotTs : Math.max(ch.commitTs(), lastTs);
      if (!snapshotRow) {
        lastTs = ts;
        if (snapshotting) {
          snapshotting = false; // streaming started: the snapshot is complete
          snapshotCompleted = true;
        }
      } else if ("last".equals(ch.source().path("snapshot").asText())) {
        snapshotting = false;
        snapshotCompleted = true;
      }
      if (table.equals(heartbeatTable)) {
        listener.heartbeat(side, ts);
        continue;
      }
      TableCanonicalizer tc = byQualifiedName.get(table);
      if (tc == null) {
        continue; // a table the include list let through but config does not compare
      }
      try {
        CanonicalRow row = tc.row(ch.image(), ch.types());
        CanonicalKey key = tc.key(row);
        Op op = ch.op();
        io.migrationverifier.event.ChangeEvent ev = io.migrationverifier.event.ChangeEvent.of(side, tc.table().name(),
            key.key(), op, op == Op.DELETE ? null : row, ts, positions.position(ch));
        if (tc.table().hashOnly()) {
          ev = ev.withBefore(beforeImage(tc, ch, row));
        }
        byte[] keyBytes = key.toBytes();
        byte[] value = EventCodec.encode(ev);
        if (keyBytes.length + value.length > maxRecordBytes && ev.before() != null) {
          // the before-image only enriches reports: drop it before cutting the row itself
          ev = ev.withBefore(null);
          value = EventCodec.encode(ev);
        }
        if (keyBytes.length + value.length > maxRecordBytes) {
          value = oversize(r, ev, keyBytes, value.length, sends);
        }
        sends.add(producer.send(new ProducerRecord<>(topic, keyBytes, value)));
        changes++;
        if (snapshotRow) {
          snapshotRows.merge(tc.table().name(), 1L, Long::sum);
        }
      } catch (RuntimeException e) {
        sends.add(deadLetter(r, e));
      }
    }
    if (!snapshotting && lastTs != Long.MIN_VALUE && lastTs - 1 > emittedWatermark) {
      sends.addAll(emitWatermark(lastTs - 1));
    }
    waitFor(sends);
    if (snapshotCompleted) {
      if (coveredSnapshotStart != null) {
        recordCoverage(coveredSnapshotStart);
      }
      coveredSnapshotStart = null;
      snapshotRows.clear();
    }
    if (batchLsn > ackedLsn) {
      // before Debezium may confirm these LSNs to the slot: a slot found ahead of this file on
      // restart was not advanced by this capture
      try {
        ResumeCheck.writeAckedLsn(stateDir, batchLsn);
      } catch (IOException e) {
        throw new IllegalStateException("capture " + side.id() + ": cannot write " + stateDir.resolve(
            ResumeCheck.ACKED_LSN_FILE) + " (" + e.getMessage() + "); stopping without acknowledging the batch", e);
      }
      ackedLsn = batchLsn;
    }
    for (ChangeEvent<String, String> r : records) {
      committer.markProcessed(r);
    }
    committer.markBatchFinished();
    listener.batch(side, changes, emittedWatermark);
  }

  /** Flushes and checks every send: a record Kafka did not acknowledge stops the capture, unacknowledged. */
  private void waitFor(List<Future<RecordMetadata>> sends) throws InterruptedException {
    producer.flush();
    for (Future<RecordMetadata> f : sends) {
      try {
        f.get();
      } catch (ExecutionException e) {
        // Nothing of this batch is acknowledged to Debezium: it is delivered again after a restart.
        throw new IllegalStateException("capture " + side.id() + ": Kafka did not acknowledge a record of "
            + topic + "; stopping without acknowledging the batch", e.getCause());
      }
    }
  }

  /**
   * Writes a coverage record per configured table for the snapshot that just completed, and waits
   * for Kafka's answer. A failure is logged and the capture goes on: the record is evidence for
   * {@code gate}, not data the verifier needs, and without it the gate stays closed for those tables
   * (asking for an audit) rather than opening wrongly; stopping the capture instead would stall the
   * verification of every table for a missing piece of bookkeeping (a likely cause being an ACL
   * that lacks the newer topic). Kafka down altogether stops the capture anyway, through the
   * change records.
   */
  private void recordCoverage(long startedAt) throws InterruptedException {
    String coverageTopic = config.topics().coverage();
    long now = System.currentTimeMillis();
    Map<String, Future<RecordMetadata>> sends = new LinkedHashMap<>();
    for (TableConfig t : config.tables()) {
      Coverage.Entry e = Coverage.Entry.snapshot(t.name(), side, startedAt, now,
          snapshotRows.getOrDefault(t.name(), 0L));
      sends.put(t.name(), producer.send(Coverage.record(config, e)));
    }
    producer.flush();
    List<String> failed = new ArrayList<>();
    Throwable cause = null;
    for (Map.Entry<String, Future<RecordMetadata>> s : sends.entrySet()) {
      try {
        s.getValue().get();
      } catch (ExecutionException e) {
        failed.add(s.getKey());
        cause = e.getCause();
      }
    }
    if (failed.isEmpty()) {
      LOG.info("capture {}: initial snapshot complete ({} rows by table: {}); recorded on {}", side.id(),
          snapshotRows.values().stream().mapToLong(Long::longValue).sum(), snapshotRows, coverageTopic);
    } else {
      LOG.error("capture {}: initial snapshot complete, but Kafka did not acknowledge its coverage record on {} for"
          + " tables {} ({}). Capture goes on; `gate` will not count these tables as compared in full: let this"
          + " process write to {} (ACL?) and run `audit --table <table>` for each of them", side.id(), coverageTopic,
          failed, cause, coverageTopic);
    }
  }

  private static boolean isSnapshot(DebeziumChange ch) {
    if (ch.op() != Op.READ || ch.source() == null) {
      return false;
    }
    String s = ch.source().path("snapshot").asText("false");
    return !s.equals("false") && !s.equals("incremental");
  }

  private List<Future<RecordMetadata>> emitWatermark(long wm) {
    byte[] value = EventCodec.encode(new Watermark(side, wm));
    List<Future<RecordMetadata>> out = new ArrayList<>(partitions);
    for (int p = 0; p < partitions; p++) {
      out.add(producer.send(new ProducerRecord<>(topic, p, null, value)));
    }
    emittedWatermark = wm;
    return out;
  }

  /**
   * The canonical row before an update or delete, for a {@code state: hash-only} table (the
   * verifier takes the other side's row from it when the change breaks agreement); null when the
   * database gave none or the start-up check found it gives no full ones. Anything else partial is
   * passed on as it is: the verifier uses an image only when it hashes to what the other side holds.
   */
  private CanonicalRow beforeImage(TableCanonicalizer tc, DebeziumChange ch, CanonicalRow row) {
    if (withoutBeforeImages.contains(tc.table().name())) {
      return null;
    }
    if (ch.op() == Op.DELETE) {
      return row; // a delete's row image is its before-image
    }
    if (ch.op() != Op.UPDATE || ch.before() == null || ch.before().isEmpty()) {
      return null;
    }
    try {
      return tc.row(ch.before(), ch.types());
    } catch (RuntimeException e) {
      // only an aid to reporting: a value the canonicalizer cannot read must not cost the change itself
      LOG.debug("capture {}: before-image of {} not canonical, left out: {}", side.id(), tc.table().name(), e.toString());
      return null;
    }
  }

  /**
   * A row too large for one record still gets compared: its long values are cut (marked, so
   * different values stay different) while the event keeps the full row's hash, so agreement is
   * still decided on the whole row. A copy goes to the dead-letter topic (header {@code
   * RecordTooLargeException}) and is counted, because field diffs and comparison rules of this
   * row now see cut values.
   */
  private byte[] oversize(ChangeEvent<String, String> r, io.migrationverifier.event.ChangeEvent ev, byte[] keyBytes,
      int fullBytes, List<Future<RecordMetadata>> sends) {
    byte[] value = null;
    for (int chars = OversizeValues.FIRST_CUT_CHARS; ; chars /= 2) {
      value = EventCodec.encode(new io.migrationverifier.event.ChangeEvent(ev.side(), ev.table(), ev.key(), ev.op(),
          ev.row() == null ? null : CanonicalRow.of(OversizeValues.cut(ev.row().values(), chars)), ev.hash(), ev.ts(),
          ev.pos()));
      if (keyBytes.length + value.length <= maxRecordBytes || chars == 0) {
        break;
      }
    }
    RecordTooLargeException e = new RecordTooLargeException("change event of " + ev.table() + " " + ev.key() + " (pos "
        + ev.pos() + ") is " + (keyBytes.length + fullBytes) + " bytes, over the " + maxRecordBytes + " that fit in"
        + " max.request.size: sent to " + topic + " with long values cut to " + value.length + " bytes (still"
        + " compared by the full row's hash; field diffs and column rules see the cut values)");
    LOG.warn("capture {}: {}", side.id(), e.getMessage());
    listener.deadLettered(side, e);
    RecordHeaders h = new RecordHeaders();
    h.add(DeadLetters.EXCEPTION, e.getClass().getName().getBytes(StandardCharsets.UTF_8));
    h.add(DeadLetters.MESSAGE, e.getMessage().getBytes(StandardCharsets.UTF_8));
    h.add(DeadLetters.TOPIC, ("debezium:" + r.destination()).getBytes(StandardCharsets.UTF_8));
    h.add(DeadLetters.CAPTURE_SIDE, side.id().getBytes(StandardCharsets.UTF_8));
    h.add(DeadLetters.COMPARED, "true".getBytes(StandardCharsets.UTF_8));
    sends.add(producer.send(new ProducerRecord<>(dlqTopic, null, keyBytes, value, h)));
    return value;
  }

  private Future<RecordMetadata> deadLetter(ChangeEvent<String, String> r, Exception e) {
    LOG.warn("capture {}: a change event could not be canonicalized and goes to {}: {}", side.id(), dlqTopic,
        e.getMessage());
    listener.deadLettered(side, e);
    RecordHeaders h = new RecordHeaders();
    h.add(DeadLetters.EXCEPTION, e.getClass().getName().getBytes(StandardCharsets.UTF_8));
    h.add(DeadLetters.MESSAGE, String.valueOf(e.getMessage()).getBytes(StandardCharsets.UTF_8));
    h.add(DeadLetters.STACKTRACE, DeadLetters.stackTrace(e).getBytes(StandardCharsets.UTF_8));
    // not a Kafka record yet: the Debezium destination and the side say where it came from
    h.add(DeadLetters.TOPIC, ("debezium:" + r.destination()).getBytes(StandardCharsets.UTF_8));
    h.add(DeadLetters.CAPTURE_SIDE, side.id().getBytes(StandardCharsets.UTF_8));
    byte[] key = r.key() == null ? null : r.key().getBytes(StandardCharsets.UTF_8);
    byte[] value = r.value().getBytes(StandardCharsets.UTF_8);
    int keyLength = key == null ? 0 : key.length;
    if (keyLength + value.length > maxRecordBytes - DeadLetters.MAX_TRACE_BYTES) {
      // sent whole, a huge row that failed canonicalization would fail its send and stop the capture
      h.add(DeadLetters.VALUE_CUT, (keyLength + "," + value.length).getBytes(StandardCharsets.UTF_8));
      value = java.util.Arrays.copyOf(value, Math.max(0, maxRecordBytes - DeadLetters.MAX_TRACE_BYTES - keyLength));
    }
    return producer.send(new ProducerRecord<>(dlqTopic, null, key, value, h));
  }

  @Override
  public void close() {
    closing = true;
    if (heartbeat != null) {
      heartbeat.close();
    }
    if (engine != null) {
      try {
        engine.close();
      } catch (IOException | RuntimeException e) {
        // an engine that already failed refuses to close again; the rest must still be released
        LOG.warn("capture {}: engine close: {}", side.id(), e.getMessage());
      }
    }
    executor.shutdown();
    try {
      if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
        LOG.warn("capture {}: engine did not stop within 30 s", side.id());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(java.time.Duration.ofSeconds(10));
    stopped.complete(null);
  }
}
