package io.migrationverifier.verify;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.canonical.Hash128;
import io.migrationverifier.canonical.RowComparator;
import io.migrationverifier.config.Side;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.ChangeRecord;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.HealthEvent;
import io.migrationverifier.event.MalformedEventException;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.OversizeValues;
import io.migrationverifier.event.PiiMasker;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.event.Watermark;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The watermark-confirmed comparison of one partition of both change topics (DESIGN section 4).
 *
 * <p>Changes are not applied when they arrive: they wait in {@code verify-pending}, ordered by
 * (event time, side, arrival), until the watermarks of BOTH sides have passed them. They are
 * then applied in event-time order, interleaved with the deadlines ({@code t0 + window}) that
 * fall between them. The outcome is therefore that of a sequential model over the merged history
 * sorted by event time, whatever the order in which the two topics happen to be consumed, and
 * whatever the wall clock says: a disagreement is reported when it still holds at its deadline in
 * event time, and its kind is the state at that instant.
 *
 * <p><b>Repairs.</b> Records of {@code <name>.repairs.log} (the repair role's applied repairs,
 * co-partitioned with the change topics) are not part of the history: they only decide whether a
 * {@code RESOLVED} event reads {@code "repaired"} rather than {@code "target-change"}. Ids, kinds,
 * times and which events are emitted stay a function of the two change histories alone. The latest
 * non-undo repair of a key is kept in {@code verify-repairs} from the moment its log record is
 * consumed (not in event-time order); when a target change brings a reported key back into
 * agreement, it was a repair if the kept repair answered that discrepancy ({@code discrepancyId})
 * or the change is the write the repair made (same canonical hash, or a delete for a repair that
 * deleted). An undo clears the kept repair: its own write reverts the repair's.
 *
 * <p>Caveat: the label relies on the log record being consumed before the repair's target change
 * is applied. In practice it is: the repair produces the record right after its commit, while the
 * change first goes through the target's capture and then waits in {@code verify-pending} until
 * both sides' watermarks pass its commit time; when topics are re-read from the start, Kafka
 * Streams picks a task's next record among those fetched by record timestamp, and the log
 * record's (produced right after the commit) is normally earlier than the captured change's.
 * A log record that still comes too late only leaves the label at {@code "target-change"}.
 *
 * <p>Bound of {@code verify-repairs}: at most one repair per key, dropped when its write is
 * applied, when the key agrees again otherwise, on an undo, or at the latest once both watermarks
 * have passed {@code appliedAt + }{@link #REPAIR_EXPIRY_MS} (by then its write, committed before
 * {@code appliedAt}, has been applied; the margin absorbs clock skew between the repair's host and
 * the target database). It therefore holds at most the repairs logged during the last
 * (verifier's event-time lag + {@value #REPAIR_EXPIRY_MS} ms), however long a key stays unchanged.
 */
final class VerifyProcessor implements Processor<byte[], byte[], byte[], byte[]> {
  /** Dead-letter messages are cut to this (they may quote the bad input). */
  private static final int MAX_MESSAGE_CHARS = 4096;
  private static final Logger LOG = LoggerFactory.getLogger(VerifyProcessor.class);
  private static final byte[] EMPTY = new byte[0];
  private static final Bytes META_KEY = Bytes.wrap("meta".getBytes(StandardCharsets.UTF_8));
  private static final int BATCH = 256;
  /**
   * The largest discrepancy event sent as is: below the producer's default max.request.size
   * (1 MiB) with room for the record's overhead.
   */
  static final int MAX_EVENT_BYTES = 900 * 1024;
  /** The most of a bad record's key and value a dead letter keeps (its headers add up to ~10 KiB). */
  static final int MAX_DEAD_LETTER_BYTES = 900 * 1024;
  static final int MAX_DEAD_LETTER_KEY_BYTES = 16 * 1024;
  /** Above every key of the time-ordered stores (8 time bytes, then a JSON record key or side byte). */
  private static final Bytes END = Bytes.wrap(new byte[] {-1, -1, -1, -1, -1, -1, -1, -1, -1});
  /**
   * How far both watermarks must be past a repair's {@code appliedAt} before it is forgotten
   * unused. Generous on purpose: only skew between the repair's wall clock and the target's commit
   * times has to fit in it, and the cost is a few minutes more of kept repairs.
   */
  static final long REPAIR_EXPIRY_MS = 5 * 60_000L;
  /**
   * {@code verify-repairs} holds two key spaces: the repair of a key under the record key itself
   * (JSON, so its first byte is '{'), and an expiry index under this byte, then the 8-byte
   * sortable {@code appliedAt}, then the record key, so expired repairs are found without a scan.
   */
  private static final byte EXPIRY_PREFIX = 0;
  private static final Bytes EXPIRY_FIRST = Bytes.wrap(new byte[] {EXPIRY_PREFIX});
  private static final Bytes EXPIRY_END = Bytes.wrap(new byte[] {EXPIRY_PREFIX + 1});
  /** Values of a RESOLVED event's {@code resolution}. */
  static final String RESOLUTION_SOURCE = "source-change";
  static final String RESOLUTION_TARGET = "target-change";
  static final String RESOLUTION_REPAIRED = "repaired";

  private final String sourceTopic;
  private final String targetTopic;
  private final String repairsLogTopic;
  private final Map<String, VerifyTopology.TableRules> tables;
  private final long stallMs;
  private final VerifyListener listener;
  /** Bad input can come by the million (a misconfigured producer): logged in full only at first. */
  private final BadInputLog badInputLog = new BadInputLog();
  /** Applied to each emitted discrepancy only; the stores keep the exact rows they compare. */
  private final PiiMasker pii;

  private ProcessorContext<byte[], byte[]> ctx;
  private KeyValueStore<Bytes, byte[]> keyState;
  private KeyValueStore<Bytes, byte[]> pending;
  private KeyValueStore<Bytes, byte[]> deadlines;
  private KeyValueStore<Bytes, byte[]> metaStore;
  private KeyValueStore<Bytes, byte[]> repairs;
  /**
   * False only when {@code verify-repairs} is known to be empty: spares a store lookup per applied
   * change in deployments (or stretches) without repairs.
   */
  private boolean repairsKept = true;
  private PartitionMeta meta;
  private int partition;
  /** A lower bound of the earliest deadline in the index; MIN when unknown. Saves a seek per change. */
  private long deadlineHint = Long.MIN_VALUE;
  /**
   * Where the next scans start: every buffered change before {@code pendingLow} and every deadline
   * before {@code deadlineLow} has been processed. The record cache keeps deleted entries until
   * the next commit; scanning from the start would walk all of them on every watermark.
   * In memory only: after a restart the scans start from the beginning once.
   */
  private long pendingLow = Long.MIN_VALUE;
  private long deadlineLow = Long.MIN_VALUE;

  VerifyProcessor(String sourceTopic, String targetTopic, String repairsLogTopic,
      Map<String, VerifyTopology.TableRules> tables, long stallMs, VerifyListener listener) {
    this(sourceTopic, targetTopic, repairsLogTopic, tables, stallMs, listener, PiiMasker.NONE);
  }

  VerifyProcessor(String sourceTopic, String targetTopic, String repairsLogTopic,
      Map<String, VerifyTopology.TableRules> tables, long stallMs, VerifyListener listener, PiiMasker pii) {
    this.pii = pii;
    this.sourceTopic = sourceTopic;
    this.targetTopic = targetTopic;
    this.repairsLogTopic = repairsLogTopic;
    this.tables = tables;
    this.stallMs = stallMs;
    this.listener = listener;
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    ctx = context;
    keyState = context.getStateStore(VerifyTopology.KEY_STATE_STORE);
    pending = context.getStateStore(VerifyTopology.PENDING_STORE);
    deadlines = context.getStateStore(VerifyTopology.DEADLINE_STORE);
    metaStore = context.getStateStore(VerifyTopology.META_STORE);
    repairs = context.getStateStore(VerifyTopology.REPAIRS_STORE);
    repairsKept = anyRepairKept();
    meta = PartitionMeta.decode(metaStore.get(META_KEY));
    partition = context.taskId().partition();
    deadlineHint = Long.MIN_VALUE;
    countPending(+1); // restored disagreements are this instance's now
  }

  @Override
  public void close() {
    try {
      countPending(-1);
    } catch (RuntimeException e) {
      // a task closed dirty (its stores already gone): the gauge may then over-count, never fail the close
      LOG.warn("pending disagreements of partition {} not counted out (verifier_disagreements_pending may"
          + " over-count until restart): {}", partition, e.toString());
    }
    listener.partitionClosed(partition);
  }

  /** Reports every pending disagreement of this task's store to the listener, counted in or out. */
  private void countPending(int sign) {
    Map<String, Integer> byTable = new HashMap<>();
    try (KeyValueIterator<Bytes, byte[]> it = deadlines.all()) {
      while (it.hasNext()) {
        byTable.merge(tableOfDeadline(it.next().key.get()), 1, Integer::sum);
      }
    }
    byTable.forEach((table, n) -> listener.pendingChanged(table, sign * n));
  }

  private static String tableOfDeadline(byte[] deadlineKey) {
    return CanonicalKey.parse(Arrays.copyOfRange(deadlineKey, 8, deadlineKey.length)).table();
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    String topic = ctx.recordMetadata().map(RecordMetadata::topic).orElse("");
    Side side = topic.equals(sourceTopic) ? Side.SOURCE : topic.equals(targetTopic) ? Side.TARGET : null;
    try {
      if (side == null && topic.equals(repairsLogTopic)) {
        onRepairLogged(decodeRepairLog(record.value()), record.key());
        return;
      }
      if (side == null) {
        throw new MalformedEventException("record from unexpected topic " + topic);
      }
      ChangeRecord cr = EventCodec.decodeChange(record.value());
      if (cr.getClass() == Watermark.class) {
        onWatermark(side, (Watermark) cr);
      } else {
        onChange(side, (ChangeEvent) cr, record.key());
      }
    } catch (MalformedEventException e) {
      deadLetter(record, topic, e);
    }
  }

  // ---- arrival -----------------------------------------------------------------------------

  private void onChange(Side side, ChangeEvent e, byte[] recordKey) {
    if (e.side() != side) {
      throw new MalformedEventException("event says side \"" + e.side().id() + "\" but arrived on the "
          + side.id() + " change topic");
    }
    if (recordKey == null) {
      throw new MalformedEventException("change event with a null record key (only watermarks have null keys)");
    }
    VerifyTopology.TableRules rules = tables.get(e.table());
    if (rules == null) {
      throw new MalformedEventException("unknown table \"" + e.table() + "\"; configured tables: " + tables.keySet());
    }
    if (!rules.keyColumns().equals(e.key().keySet())) {
      // another key would be another row, one the other side never has: a false MISSING report
      throw new MalformedEventException("key columns " + e.key().keySet() + " of table \"" + e.table()
          + "\" are not its configured key " + new java.util.TreeSet<>(rules.keyColumns()));
    }
    byte[] stateKey = stateKey(e.canonicalKey(), recordKey);
    int i = PartitionMeta.i(side);
    // A side's changes reach a partition in commit order; anything at or before the last accepted
    // position is a replay (capture restarted from an older offset) and changes nothing.
    if (meta.lastPos[i] != null && e.pos().compareTo(meta.lastPos[i]) <= 0) {
      listener.duplicateIgnored(side);
      return;
    }
    meta.lastPos[i] = e.pos();
    // Keep a side's buffered order equal to its commit order even if its clock stepped back.
    long t = Math.max(e.ts(), meta.lastTs[i]);
    boolean late = meta.frontier != PartitionMeta.NONE && t <= meta.frontier;
    if (late) {
      // The capture promised (by a watermark) that nothing at or before the frontier was still to
      // come. Apply it now rather than rewrite history; it starts its disagreement now.
      listener.lateChange(side, meta.frontier - e.ts());
      if (badInputLog.due("late")) {
        LOG.warn("late {} change of {} {} (pos {}, committed at {}): {} ms before partition {}'s watermarks, which"
            + " promised nothing earlier was still to come; applied at {} instead (the {} capture's clock or"
            + " position order is off){}", side.id(), e.table(), e.key(), e.pos(), e.ts(), meta.frontier - e.ts(),
            partition, meta.frontier, side.id(), badInputLog.suffix("late"));
      }
      t = meta.frontier;
    }
    meta.lastTs[i] = t;
    long seq = ++meta.seq[i];
    pending.put(pendingKey(t, side, seq), PendingChange.encode(stateKey, e, rules.hashOnly()));
    if (late) {
      drain();
    }
    saveMeta();
  }

  /**
   * The key state is keyed by the canonical bytes; a record key that is the same key in other
   * bytes is accepted, one of another key is not (it may sit in another key's partition).
   */
  private static byte[] stateKey(CanonicalKey fromEvent, byte[] recordKey) {
    byte[] stateKey = fromEvent.toBytes();
    if (!Arrays.equals(stateKey, recordKey)) {
      CanonicalKey fromRecord;
      try {
        fromRecord = CanonicalKey.parse(recordKey);
      } catch (IllegalArgumentException ex) {
        throw new MalformedEventException(ex.getMessage(), ex);
      }
      if (!fromRecord.equals(fromEvent)) {
        throw new MalformedEventException("record key " + fromRecord + " does not match the event's table and key "
            + fromEvent);
      }
    }
    return stateKey;
  }

  private static RepairLogEntry decodeRepairLog(byte[] value) {
    try {
      return RepairEvents.decodeRepairLog(value);
    } catch (MalformedEventException e) {
      throw e;
    } catch (RuntimeException e) {
      // whatever the decoder trips over in a foreign record must dead-letter it, not stop the task
      throw new MalformedEventException("unreadable repair log entry: " + e, e);
    }
  }

  /** Keeps the latest repair of a key for {@link #apply}; nothing about the key's state changes here. */
  private void onRepairLogged(RepairLogEntry e, byte[] recordKey) {
    if (recordKey == null) {
      throw new MalformedEventException("repair log entry with a null record key");
    }
    if (!tables.containsKey(e.table())) {
      throw new MalformedEventException("unknown table \"" + e.table() + "\"; configured tables: " + tables.keySet());
    }
    byte[] stateKey = stateKey(CanonicalKey.of(e.table(), e.key()), recordKey);
    Bytes key = Bytes.wrap(stateKey);
    RepairMark old = repairsKept ? RepairMark.decode(repairs.get(key)) : null;
    if (e.isUndo()) {
      // the undo's own write reverts the repair's: that write, if still to come, repairs nothing
      if (old != null) {
        forgetRepair(key, old);
      }
      return;
    }
    if (meta.frontier != PartitionMeta.NONE && saturatedAdd(e.appliedAt(), REPAIR_EXPIRY_MS) < meta.frontier) {
      return; // its write was applied long ago (a re-read log): kept, it would only wait to expire
    }
    RepairMark mark = RepairMark.of(e);
    if (old != null) {
      repairs.delete(expiryKey(old.appliedAt(), stateKey));
    }
    repairs.put(key, mark.encode());
    repairs.put(expiryKey(mark.appliedAt(), stateKey), EMPTY);
    repairsKept = true;
  }

  private void onWatermark(Side side, Watermark w) {
    if (w.side() != side) {
      throw new MalformedEventException("watermark says side \"" + w.side().id() + "\" but arrived on the "
          + side.id() + " change topic");
    }
    int i = PartitionMeta.i(side);
    if (w.watermark() <= meta.watermark[i]) {
      return; // watermarks never go back; an older one says nothing new
    }
    meta.watermark[i] = w.watermark();
    if (meta.firstWatermark[i] == PartitionMeta.NONE) {
      meta.firstWatermark[i] = w.watermark();
    }
    listener.watermark(partition, side, w.watermark());
    checkStalls();
    drain();
    saveMeta();
  }

  // ---- the merged history, in event-time order --------------------------------------------

  private void drain() {
    long w = meta.both();
    if (w == PartitionMeta.NONE) {
      return;
    }
    byte[] upper = new byte[17];
    Bin.putSortableLong(upper, 0, w);
    Arrays.fill(upper, 8, 17, (byte) 0xff);
    Bytes from = Bytes.wrap(timeKey(pendingLow));
    Bytes to = Bytes.wrap(upper);
    while (true) {
      List<KeyValue<Bytes, byte[]>> batch = new ArrayList<>(BATCH);
      try (KeyValueIterator<Bytes, byte[]> it = pending.range(from, to)) {
        while (it.hasNext() && batch.size() < BATCH) {
          batch.add(it.next());
        }
      }
      if (batch.isEmpty()) {
        break;
      }
      for (KeyValue<Bytes, byte[]> kv : batch) {
        byte[] k = kv.key.get();
        long t = Bin.getSortableLong(k, 0);
        // deadlines strictly before this change fire first: a fix committed exactly at t0 + window
        // is in time, anything later is not
        fireDeadlinesBefore(t);
        apply(Side.values()[k[8]], t, PendingChange.decode(kv.value));
        pending.delete(kv.key);
      }
      from = Bytes.wrap(timeKey(Bin.getSortableLong(batch.get(batch.size() - 1).key.get(), 0)));
    }
    fireDeadlinesBefore(w == Long.MAX_VALUE ? w : w + 1);
    if (w > meta.frontier) {
      meta.frontier = w;
    }
    // a late change is buffered at the frontier (= w), so the next scan starts there
    pendingLow = Math.max(pendingLow, w);
    expireRepairs(w);
  }

  /** The 8-byte, order-preserving prefix of keys of time {@code t}: every key of time >= t sorts at or after it. */
  private static byte[] timeKey(long t) {
    byte[] k = new byte[8];
    Bin.putSortableLong(k, 0, t);
    return k;
  }

  private void apply(Side side, long t, PendingChange c) {
    VerifyTopology.TableRules rules = tables.get(c.table());
    if (rules == null) {
      // the table was removed from the config while changes of it were buffered
      listener.malformed(side == Side.SOURCE ? sourceTopic : targetTopic, "buffered change of unconfigured table");
      return;
    }
    Bytes key = Bytes.wrap(c.stateKey());
    KeyState s = KeyState.decode(keyState.get(key));
    s.set(side, c.op() != Op.DELETE, c.hash(), c.row());
    listener.changeApplied(c.table(), side);
    // any table: a key left by hash-only state keeps its null rows after a switch back to full
    completeRows(s, side, c);
    boolean agree = agrees(s, rules.comparator());
    // only a target change can be a repair's write, and only agreement makes a kept repair moot
    RepairMark repair = repairsKept && (side == Side.TARGET || agree) ? RepairMark.decode(repairs.get(key)) : null;
    boolean repairsWrite = repair != null && side == Side.TARGET && repair.wrote(c.op() == Op.DELETE, c.hash());
    if (!agree) {
      if (!s.disagreeing()) {
        // Before both sides' streams began (each side's first watermark: its snapshot's start),
        // a side's silence is not evidence: a baseline taken later on one side is not a discrepancy.
        s.t0 = Math.max(t, Math.max(meta.firstWatermark[0], meta.firstWatermark[1]));
        s.deadline = saturatedAdd(s.t0, rules.windowMs());
        deadlines.put(deadlineKey(s.deadline, c.stateKey()), EMPTY);
        listener.pendingChanged(c.table(), 1);
        if (deadlineHint != Long.MIN_VALUE) {
          deadlineHint = Math.min(deadlineHint, s.deadline);
        }
      }
    } else if (s.disagreeing()) {
      if (s.reported) {
        boolean repaired = side == Side.TARGET && repair != null && (repairsWrite || repair.answers(s.openId));
        emitResolved(c.stateKey(), c.table(), s, t,
            repaired ? RESOLUTION_REPAIRED : side == Side.TARGET ? RESOLUTION_TARGET : RESOLUTION_SOURCE);
      } else {
        if (c.op() != Op.READ) {
          // two snapshots taken at different moments are not the target trailing the source
          listener.converged(c.table(), t - s.t0);
        }
        deadlines.delete(deadlineKey(s.deadline, c.stateKey()));
        listener.pendingChanged(c.table(), -1);
      }
      s.clearDisagreement();
    }
    if (repair != null && (repairsWrite || agree)) {
      // used, or its write came without a discrepancy to resolve, or the key agrees without it:
      // either way nothing later can be this repair's doing
      forgetRepair(key, repair);
    }
    if (rules.hashOnly() && agree) {
      // the point of hash-only: an agreeing key costs its hash, not its row
      s.sourceRow = null;
      s.targetRow = null;
    }
    if (s.empty()) {
      keyState.delete(key); // deleted on both sides: nothing left to remember
    } else {
      keyState.put(key, s.encode());
    }
  }

  /**
   * Fills in a row the state does not hold (a hash-only table's agreeing key, or one such a table
   * left behind when it was switched back to full). A side whose row is not held has not
   * changed since the key last agreed, so it still holds what the changing side held just before
   * this change: the change's before-image, taken only when it hashes to that side's hash (a
   * database without full before-images, or a snapshot read, leaves the row unknown, and the report
   * says so). When the key agrees, the rows are equal and either stands for the other.
   */
  private static void completeRows(KeyState s, Side side, PendingChange c) {
    Side other = side.other();
    boolean otherPresent = other == Side.SOURCE ? s.sourcePresent : s.targetPresent;
    SortedMap<String, String> otherRow = other == Side.SOURCE ? s.sourceRow : s.targetRow;
    if (!otherPresent || otherRow != null) {
      return;
    }
    String otherHash = other == Side.SOURCE ? s.sourceHash : s.targetHash;
    SortedMap<String, String> found = null;
    if (c.row() != null && otherHash != null && otherHash.equals(c.hash())) {
      found = c.row(); // equal hashes: equal canonical rows
    } else if (c.before() != null && CanonicalRow.of(c.before()).hash().equals(otherHash)) {
      found = c.before();
    }
    if (found != null) {
      if (other == Side.SOURCE) {
        s.sourceRow = found;
      } else {
        s.targetRow = found;
      }
    }
  }

  /** The sides present whose row the state does not hold (hash-only tables): named in the report. */
  private static List<String> rowsNotKept(KeyState s) {
    List<String> sides = new ArrayList<>(2);
    if (s.sourcePresent && s.sourceRow == null) {
      sides.add(Side.SOURCE.id());
    }
    if (s.targetPresent && s.targetRow == null) {
      sides.add(Side.TARGET.id());
    }
    return sides;
  }

  private static boolean agrees(KeyState s, RowComparator comparator) {
    if (!s.sourcePresent && !s.targetPresent) {
      return true;
    }
    if (s.sourcePresent != s.targetPresent) {
      return false;
    }
    if (s.sourceHash != null && s.sourceHash.equals(s.targetHash)) {
      return true;
    }
    // Hashes differ: tolerances and custom comparators may still call the rows equal (and equal
    // rows from a writer that hashes differently are still equal).
    return s.sourceRow != null && s.targetRow != null && comparator.equivalent(s.sourceRow, s.targetRow);
  }

  private void fireDeadlinesBefore(long t) {
    if ((deadlineHint != Long.MIN_VALUE && deadlineHint >= t) || t <= deadlineLow) {
      return; // nothing can be due: before deadlineLow everything has fired already
    }
    Bytes to = Bytes.wrap(timeKey(t)); // keys are 8 bytes + record key, so every key of time t sorts after it
    Bytes from = Bytes.wrap(timeKey(deadlineLow));
    while (true) {
      List<byte[]> due = new ArrayList<>(BATCH);
      try (KeyValueIterator<Bytes, byte[]> it = deadlines.range(from, to)) {
        while (it.hasNext() && due.size() < BATCH) {
          due.add(it.next().key.get());
        }
      }
      if (due.isEmpty()) {
        break;
      }
      for (byte[] dk : due) {
        fire(Bin.getSortableLong(dk, 0), Arrays.copyOfRange(dk, 8, dk.length));
        deadlines.delete(Bytes.wrap(dk));
        listener.pendingChanged(tableOfDeadline(dk), -1);
      }
      from = Bytes.wrap(timeKey(Bin.getSortableLong(due.get(due.size() - 1), 0)));
    }
    // every deadline before t has fired; those created from now on are later than t
    deadlineLow = Math.max(deadlineLow, t);
    try (KeyValueIterator<Bytes, byte[]> it = deadlines.range(Bytes.wrap(timeKey(deadlineLow)), END)) {
      deadlineHint = it.hasNext() ? Bin.getSortableLong(it.next().key.get(), 0) : Long.MAX_VALUE;
    }
  }

  private void fire(long deadline, byte[] stateKey) {
    Bytes key = Bytes.wrap(stateKey);
    byte[] raw = keyState.get(key);
    if (raw == null) {
      return;
    }
    KeyState s = KeyState.decode(raw);
    if (!s.disagreeing() || s.reported || s.deadline != deadline) {
      return; // superseded: the disagreement this deadline belonged to is over
    }
    CanonicalKey ck = CanonicalKey.parse(stateKey);
    VerifyTopology.TableRules rules = tables.get(ck.table());
    DiscrepancyKind kind = s.kindNow();
    List<FieldDiff> fields = kind == DiscrepancyKind.VALUE_MISMATCH && s.sourceRow != null && s.targetRow != null
        && rules != null
        ? rules.comparator().diff(CanonicalRow.of(s.sourceRow), CanonicalRow.of(s.targetRow))
        : List.of();
    s.reported = true;
    s.openId = discrepancyId(stateKey, s.t0, "open");
    s.reportedKind = kind;
    s.detectedAt = deadline;
    keyState.put(key, s.encode());
    Discrepancy d = pii.mask(new Discrepancy(s.openId, kind, ck.table(), ck.key(), Discrepancy.DETECTOR_STREAM, s.t0,
        deadline, s.sourcePresent ? s.sourceRow : null, s.targetPresent ? s.targetRow : null, fields, null, null, null,
        null, ctx.currentSystemTimeMs(), rowsNotKept(s)));
    emit(VerifyTopology.DISCREPANCY_SINK, stateKey, EventCodec.encode(d), null);
    listener.reported(ck.table(), kind);
  }

  private void emitResolved(byte[] stateKey, String table, KeyState s, long t, String resolution) {
    CanonicalKey ck = CanonicalKey.parse(stateKey);
    Discrepancy d = pii.mask(new Discrepancy(discrepancyId(stateKey, s.t0, "resolved"), DiscrepancyKind.RESOLVED,
        table, ck.key(), Discrepancy.DETECTOR_STREAM, s.t0, s.detectedAt, s.sourcePresent ? s.sourceRow : null,
        s.targetPresent ? s.targetRow : null, List.of(), s.openId, t,
        resolution, t - s.t0, ctx.currentSystemTimeMs(), rowsNotKept(s)));
    emit(VerifyTopology.DISCREPANCY_SINK, stateKey, EventCodec.encode(d), null);
    listener.resolved(table, t - s.t0);
  }

  // ---- kept repairs --------------------------------------------------------------------------

  private void forgetRepair(Bytes key, RepairMark mark) {
    repairs.delete(key);
    repairs.delete(expiryKey(mark.appliedAt(), key.get()));
  }

  /**
   * Drops the repairs whose write must have been applied by now (both watermarks past
   * {@code appliedAt + REPAIR_EXPIRY_MS}) without having been matched: a write the log record came
   * too late for, or one that never produced a change event.
   */
  private void expireRepairs(long w) {
    if (!repairsKept) {
      return;
    }
    if (w > Long.MIN_VALUE + REPAIR_EXPIRY_MS) {
      // exclusive of appliedAt == cutoff: the expiry key of time t sorts after the bare prefix of t
      Bytes to = expiryKey(w - REPAIR_EXPIRY_MS, EMPTY);
      while (true) {
        List<byte[]> due = new ArrayList<>(BATCH);
        try (KeyValueIterator<Bytes, byte[]> it = repairs.range(EXPIRY_FIRST, to)) {
          while (it.hasNext() && due.size() < BATCH) {
            due.add(it.next().key.get());
          }
        }
        if (due.isEmpty()) {
          break;
        }
        for (byte[] ek : due) {
          Bytes key = Bytes.wrap(Arrays.copyOfRange(ek, 9, ek.length));
          RepairMark mark = RepairMark.decode(repairs.get(key));
          // the index entry of a replaced repair is deleted with it; this guards a stale one anyway
          if (mark != null && mark.appliedAt() == Bin.getSortableLong(ek, 1)) {
            repairs.delete(key);
          }
          repairs.delete(Bytes.wrap(ek));
        }
      }
    }
    repairsKept = anyRepairKept();
  }

  private boolean anyRepairKept() {
    try (KeyValueIterator<Bytes, byte[]> it = repairs.range(EXPIRY_FIRST, EXPIRY_END)) {
      return it.hasNext();
    }
  }

  private static Bytes expiryKey(long appliedAt, byte[] stateKey) {
    byte[] k = new byte[9 + stateKey.length];
    k[0] = EXPIRY_PREFIX;
    Bin.putSortableLong(k, 1, appliedAt);
    System.arraycopy(stateKey, 0, k, 9, stateKey.length);
    return Bytes.wrap(k);
  }

  /** Deterministic: reprocessing the same histories gives the same ids, so consumers can de-duplicate. */
  static String discrepancyId(byte[] stateKey, long t0, String what) {
    byte[] suffix = (":" + t0 + ":" + what).getBytes(StandardCharsets.UTF_8);
    byte[] all = Arrays.copyOf(stateKey, stateKey.length + suffix.length);
    System.arraycopy(suffix, 0, all, stateKey.length, suffix.length);
    String h = Hash128.hex(all);
    return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-"
        + h.substring(20, 32);
  }

  // ---- side health --------------------------------------------------------------------------

  private void checkStalls() {
    for (Side x : Side.values()) {
      int xi = PartitionMeta.i(x);
      int oi = PartitionMeta.i(x.other());
      if (meta.watermark[oi] == PartitionMeta.NONE) {
        continue;
      }
      long base = meta.watermark[xi] != PartitionMeta.NONE ? meta.watermark[xi] : meta.firstWatermark[oi];
      long lag = meta.watermark[oi] - base;
      boolean stalledNow = lag > stallMs;
      if (stalledNow != meta.stalled[xi]) {
        meta.stalled[xi] = stalledNow;
        HealthEvent h = new HealthEvent(stalledNow ? HealthEvent.SIDE_STALLED : HealthEvent.SIDE_RECOVERED, x.id(),
            partition, meta.watermark[xi] == PartitionMeta.NONE ? null : meta.watermark[xi], meta.watermark[oi], lag,
            ctx.currentSystemTimeMs());
        emit(VerifyTopology.HEALTH_SINK, EventCodec.healthKey(x.id(), partition), EventCodec.encode(h), null);
        listener.stalled(partition, x, stalledNow);
      }
    }
  }

  // ---- output and errors ------------------------------------------------------------------

  private void deadLetter(Record<byte[], byte[]> record, String topic, Exception e) {
    Headers headers = new RecordHeaders(record.headers().toArray());
    RecordMetadata md = ctx.recordMetadata().orElse(null);
    byte[] key = record.key();
    byte[] value = record.value();
    // the original's own headers travel along: they count against the room left for key and value
    int budget = MAX_DEAD_LETTER_BYTES;
    for (var h : record.headers()) {
      budget -= h.key().length() + (h.value() == null ? 0 : h.value().length);
    }
    budget = Math.max(MAX_DEAD_LETTER_KEY_BYTES, budget);
    if ((key == null ? 0 : key.length) + (value == null ? 0 : value.length) > budget) {
      // the broker took it, but with our headers it may not fit again, and a failed send stops the verifier
      headers.add(DeadLetters.VALUE_CUT, ((key == null ? 0 : key.length) + "," + (value == null ? 0 : value.length))
          .getBytes(StandardCharsets.UTF_8));
      key = key == null || key.length <= MAX_DEAD_LETTER_KEY_BYTES ? key : Arrays.copyOf(key, MAX_DEAD_LETTER_KEY_BYTES);
      if (value != null) {
        value = Arrays.copyOf(value, Math.max(0, Math.min(value.length, budget - (key == null ? 0 : key.length))));
      }
    }
    headers.add(DeadLetters.EXCEPTION, e.getClass().getName().getBytes(StandardCharsets.UTF_8));
    // messages quote the input (keys, table names): a huge key must not make the dead letter too big to send
    String message = String.valueOf(e.getMessage());
    headers.add(DeadLetters.MESSAGE, (message.length() > MAX_MESSAGE_CHARS ? message.substring(0, MAX_MESSAGE_CHARS)
        + "…[cut: " + message.length() + " chars]" : message).getBytes(StandardCharsets.UTF_8));
    headers.add(DeadLetters.STACKTRACE, DeadLetters.stackTrace(e).getBytes(StandardCharsets.UTF_8));
    headers.add(DeadLetters.TOPIC, topic.getBytes(StandardCharsets.UTF_8));
    headers.add(DeadLetters.PARTITION, String.valueOf(md == null ? -1 : md.partition()).getBytes(StandardCharsets.UTF_8));
    headers.add(DeadLetters.OFFSET, String.valueOf(md == null ? -1 : md.offset()).getBytes(StandardCharsets.UTF_8));
    ctx.forward(new Record<>(key, value, record.timestamp(), headers), VerifyTopology.DLQ_SINK);
    listener.malformed(topic, e.getMessage());
    if (badInputLog.due(topic)) {
      LOG.warn("record {}-{}@{} does not follow the change-event contract and went to the changes dead-letter topic"
          + " (not compared; everything else goes on): {}{}", topic, md == null ? -1 : md.partition(),
          md == null ? -1 : md.offset(), e.getMessage(), badInputLog.suffix(topic));
    }
  }

  private void emit(String sink, byte[] key, byte[] value, Headers headers) {
    if (sink.equals(VerifyTopology.DISCREPANCY_SINK) && value.length > MAX_EVENT_BYTES) {
      // Two large rows in one event would exceed the producer's max.request.size, and a send that
      // fails stops the verifier: their long values are cut (marked, still telling values apart).
      byte[] fit = OversizeValues.fitDiscrepancy(value, MAX_EVENT_BYTES);
      LOG.warn("discrepancy of {} is {} bytes, over {}: sent with long values cut ({} bytes)",
          new String(key, StandardCharsets.UTF_8), value.length, MAX_EVENT_BYTES, fit.length);
      value = fit;
    }
    ctx.forward(new Record<>(key, value, ctx.currentSystemTimeMs(), headers), sink);
  }

  private void saveMeta() {
    metaStore.put(META_KEY, meta.encode());
  }

  private static Bytes pendingKey(long t, Side side, long seq) {
    byte[] k = new byte[17];
    Bin.putSortableLong(k, 0, t);
    k[8] = (byte) side.ordinal();
    Bin.putSortableLong(k, 9, seq);
    return Bytes.wrap(k);
  }

  private static Bytes deadlineKey(long deadline, byte[] stateKey) {
    byte[] k = new byte[8 + stateKey.length];
    Bin.putSortableLong(k, 0, deadline);
    System.arraycopy(stateKey, 0, k, 8, stateKey.length);
    return Bytes.wrap(k);
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }
}
