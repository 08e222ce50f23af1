package io.migrationverifier.audit;

import io.migrationverifier.audit.AuditCheckpoint.Suspect;
import io.migrationverifier.audit.SegmentHasher.Summary;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.CanonicalizationException;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.Hash128;
import io.migrationverifier.canonical.RowComparator;
import io.migrationverifier.canonical.TableCanonicalizer;
import io.migrationverifier.check.KeyCheck;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.AuditSettings;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.PiiMasker;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongSupplier;

/**
 * The batch audit of one table (DESIGN section 6): cuts the table into segments (key ranges sampled
 * from the source, or windows of a timestamp column), summarizes each segment on both sides with
 * one {@link SegmentHasher}, bisects the segments whose summaries differ into smaller key ranges
 * until a range is small enough to compare row by row with the table's {@link RowComparator},
 * then re-checks every suspect row once the table's window has passed since it was seen (a write
 * that was in flight during the scan has reached the target by then) and returns the differences
 * that remain. Progress is checkpointed after every segment ({@link AuditCheckpoint}).
 *
 * <p>The two sides of a segment are read at the same time (one thread per side); the scan itself
 * is not one snapshot across the two databases, which is why nothing is reported without the
 * re-check.
 */
public final class Audit implements AutoCloseable {
  /** How often a suspect whose rows keep changing is re-checked before it is reported as it is then. */
  static final int MAX_RECHECKS = 3;
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(3);

  /**
   * @param segments {@code key}, or {@code time:<column>} (a logical timestamp column)
   * @param hashing  {@code auto} (in SQL where the table allows it, else in the JVM), {@code jvm} or {@code sql}
   */
  public record Options(String segments, boolean resume, String hashing) {
    public static final Options DEFAULTS = new Options("key", false, "auto");

    public Optional<String> timeColumn() {
      return segments.startsWith("time:") ? Optional.of(segments.substring(5)) : Optional.empty();
    }
  }

  /** Test and CLI hooks; every method may throw to stop the audit (a test's simulated crash). */
  public interface Listener {
    /** A segment is done and checkpointed ({@code done} counts the segments of earlier runs too). */
    default void segmentDone(String table, int done, KeyRange range) {}

    /** A message for the operator (a checkpoint ignored or resumed, waiting for the window). */
    default void note(String message) {}

    /**
     * Where the table's audit stands (metrics): rows read on both sides and segments, those of an
     * interrupted run included; {@code segmentsEstimated} is negative while unknown.
     */
    default void auditProgress(String table, long segmentsDone, long segmentsEstimated, long rows,
        int differingSegments) {}
  }

  /**
   * The outcome of one table's audit.
   *
   * @param hashing          {@code jvm} or {@code sql}
   * @param suspects         rows that differed during the scan
   * @param differences      confirmed differences by kind
   * @param discrepancies    the confirmed differences as events (detector {@code audit})
   * @param segmentsResumed  segments done by an earlier run and not scanned again
   */
  public record TableReport(String table, String hashing, String segmentation, long sourceRows, long targetRows,
      int segments, int differingSegments, int suspects, Map<DiscrepancyKind, Integer> differences,
      List<Discrepancy> discrepancies, long elapsedMs, int segmentsResumed) {

    public int differenceCount() {
      return discrepancies.size();
    }

    /** Rows read per second over the audit (both sides). */
    public long rowsPerSecond() {
      return elapsedMs <= 0 ? 0 : (sourceRows + targetRows) * 1000 / elapsedMs;
    }
  }

  private final VerifierConfig config;
  private final Canonicalizer canonicalizer;
  private final RowReader reader;
  private final KeyCheck keyCheck;
  private final Options options;
  private final Listener listener;
  private final PrintWriter progress;
  private final LongSupplier clock;
  /** Applied to the discrepancies the audit reports; its comparisons use the exact rows. */
  private final PiiMasker pii;
  private final ExecutorService sides = Executors.newFixedThreadPool(2, r -> {
    Thread t = new Thread(r, "audit-side");
    t.setDaemon(true);
    return t;
  });

  public Audit(VerifierConfig config, Canonicalizer canonicalizer, Options options, Listener listener,
      PrintWriter progress) {
    this.config = config;
    this.canonicalizer = canonicalizer;
    this.reader = new RowReader(config, canonicalizer);
    this.keyCheck = new KeyCheck(canonicalizer, reader);
    this.options = options;
    this.listener = listener == null ? new Listener() {} : listener;
    this.progress = progress;
    this.clock = System::currentTimeMillis;
    this.pii = PiiMasker.forConfig(config);
  }

  /** One key compared now, in both databases, with the audit's connections and comparator. */
  public KeyCheck.Verdict verdictNow(String table, Map<String, String> key) throws SQLException {
    return keyCheck.check(table, key).verdict();
  }

  @Override
  public void close() {
    sides.shutdownNow();
    reader.close();
  }

  /**
   * Audits one table.
   *
   * @throws IllegalArgumentException unknown table, a time column that is not a timestamp, a
   *     checkpoint that cannot be resumed
   * @throws SQLException a database failed (the checkpoint keeps the progress so far)
   */
  public TableReport run(String table) throws SQLException, InterruptedException {
    TableConfig t = config.table(table).orElseThrow(() -> new IllegalArgumentException("unknown table \"" + table
        + "\"; configured: " + config.tables().stream().map(TableConfig::name).toList()));
    Run run = new Run(t);
    return run.execute();
  }

  /** One table's audit: its state between segments is what the checkpoint holds. */
  private final class Run {
    final TableConfig t;
    final String table;
    final AuditSettings s = config.audit();
    final Path file;
    final RowComparator comparator;
    final Map<Side, TableCanonicalizer> tcs = new EnumMap<>(Side.class);
    final JvmSegmentHasher jvm;
    SegmentHasher hasher;
    final Throttle throttle;
    final List<Suspect> suspects = new ArrayList<>();
    List<String> lower;
    int segmentsDone;
    int segmentsResumed;
    int differingSegments;
    long sourceRows;
    long targetRows;
    long elapsedBefore;
    final long started = System.nanoTime();
    long lastProgress = System.nanoTime();
    long estimatedSegments = -1;
    Long timeStart;
    Long timeEnd;

    Run(TableConfig t) {
      this.t = t;
      this.table = t.name();
      this.file = AuditCheckpoint.file(config.verify().stateDir(), table);
      this.comparator = canonicalizer.comparator(table).orElseThrow();
      for (Side side : Side.values()) {
        tcs.put(side, canonicalizer.table(side, table).orElseThrow());
      }
      this.jvm = new JvmSegmentHasher(reader, s.fetchSize());
      this.throttle = new Throttle(s.maxRowsPerSecond());
    }

    TableReport execute() throws SQLException, InterruptedException {
      Optional<String> timeColumn = options.timeColumn();
      hasher = chooseHasher(timeColumn.isPresent());
      try {
        return audit(timeColumn);
      } finally {
        if (hasher != jvm && hasher instanceof AutoCloseable a) {
          try {
            a.close();
          } catch (Exception e) {
            listener.note("closing the SQL hasher of table " + table + ": " + e.getMessage());
          }
        }
      }
    }

    private TableReport audit(Optional<String> timeColumn) throws SQLException, InterruptedException {
      boolean scanDone = restore();
      if (!scanDone) {
        if (timeColumn.isPresent()) {
          scanByTime(timeColumn.get());
        } else {
          scanByKey();
        }
        checkpoint(true);
        progress(true);
      }
      List<Discrepancy> confirmed = recheck();
      Map<DiscrepancyKind, Integer> byKind = new EnumMap<>(DiscrepancyKind.class);
      confirmed.forEach(d -> byKind.merge(d.kind(), 1, Integer::sum));
      long elapsed = elapsedBefore + (System.nanoTime() - started) / 1_000_000;
      try {
        Files.deleteIfExists(file);
      } catch (java.io.IOException e) {
        listener.note("cannot delete the finished audit's checkpoint " + file + ": " + e.getMessage());
      }
      return new TableReport(table, hasher.kind(), options.segments(), sourceRows, targetRows, segmentsDone,
          differingSegments, suspects.size(), byKind, confirmed, elapsed, segmentsResumed);
    }

    private SegmentHasher chooseHasher(boolean timeSegments) throws SQLException {
      if (timeSegments || options.hashing().equals("jvm")) {
        if (options.hashing().equals("sql")) {
          throw new IllegalArgumentException("--hashing sql: time segments are hashed in the JVM; use --hashing auto"
              + " or jvm with --segments time:<column>");
        }
        return jvm;
      }
      Optional<SqlSegmentHasher> sql = SqlSegmentHasher.forTable(config, table, reader);
      if (sql.isEmpty() && options.hashing().equals("sql")) {
        throw new IllegalArgumentException("--hashing sql: table " + table + " cannot be hashed identically in SQL"
            + " on both databases (" + SqlSegmentHasher.whyNot(config, table, reader).orElse("?")
            + "); use --hashing auto (falls back to the JVM)");
      }
      return sql.<SegmentHasher>map(h -> h).orElse(jvm);
    }

    /** Loads the checkpoint when resuming; returns whether its scan was complete. */
    private boolean restore() {
      Optional<AuditCheckpoint> cp = AuditCheckpoint.read(file);
      if (!options.resume()) {
        cp.ifPresent(c -> listener.note("table " + table + ": ignoring the checkpoint of an earlier audit ("
            + c.segmentsDone() + " segments done; " + file + "): starting afresh; --resume continues it"));
        return false;
      }
      if (cp.isEmpty()) {
        listener.note("table " + table + ": --resume but no checkpoint (" + file + "): starting afresh");
        return false;
      }
      AuditCheckpoint c = cp.get();
      if (!c.segmentation().equals(plan())) {
        throw new IllegalArgumentException("--resume: the checkpoint of table " + table + " was made with "
            + c.segmentation() + ", not " + plan() + ": resume with the same --segments (and audit.time-window),"
            + " or run without --resume to start afresh");
      }
      lower = c.lower();
      timeStart = c.timeStart();
      timeEnd = c.timeEnd();
      segmentsDone = c.segmentsDone();
      segmentsResumed = c.segmentsDone();
      differingSegments = c.differingSegments();
      sourceRows = c.sourceRows();
      targetRows = c.targetRows();
      elapsedBefore = c.elapsedMs();
      suspects.addAll(c.suspects());
      listener.note("table " + table + ": resuming after " + c.segmentsDone() + " segments with "
          + c.suspects().size() + " suspects" + (c.scanDone() ? " (scan complete: re-checking)" : ""));
      return c.scanDone();
    }

    /**
     * The segmentation as a checkpoint must match it: time windows are counted from the start, so
     * resuming with another window length would skip windows never audited.
     */
    private String plan() {
      return options.timeColumn().isPresent() ? options.segments() + " with audit.time-window "
          + s.timeWindow() : options.segments();
    }

    private void checkpoint(boolean scanDone) {
      long elapsed = elapsedBefore + (System.nanoTime() - started) / 1_000_000;
      new AuditCheckpoint(table, plan(), lower, timeStart, timeEnd, segmentsDone, differingSegments,
          sourceRows, targetRows, elapsed, scanDone, suspects).write(file);
    }

    // ---- key segments -----------------------------------------------------------------------

    private void scanByKey() throws SQLException, InterruptedException {
      long size = s.segmentRows();
      long total = reader.count(Side.SOURCE, table);
      // after a resume, sourceRows already counts the rows of the segments done
      estimatedSegments = segmentsDone + Math.max(1, (Math.max(0, total - sourceRows) + size - 1) / size);
      while (true) {
        Optional<List<String>> upper = reader.keyAt(Side.SOURCE, table, new KeyRange(lower, null), size - 1);
        KeyRange range = new KeyRange(lower, upper.orElse(null));
        long t0 = System.nanoTime();
        Summary[] sum = summarize(hasher, range, null);
        long took = System.nanoTime() - t0;
        if (upper.isPresent() && sum[0].count() == 0) {
          // keyAt found a key past `lower` that the range comparison does not place after it: the
          // segments would never advance. Stop rather than loop.
          throw new IllegalStateException("table " + table + ": the source database orders key " + upper.get()
              + " differently from how it compares it with " + lower + "; the audit cannot cut this table into"
              + " key segments (use --segments time:<column>, and report the key column's type and collation)");
        }
        sourceRows += sum[0].count();
        targetRows += sum[1].count();
        if (!sum[0].equals(sum[1])) {
          differingSegments++;
          bisect(range, null, sum);
        }
        segmentsDone++;
        lower = upper.orElse(null);
        boolean last = upper.isEmpty();
        if (!last) {
          checkpoint(false);
        }
        progress(false);
        listener.segmentDone(table, segmentsDone, range);
        if (last) {
          return;
        }
        if (s.targetChunkTime() != null && sum[0].count() > 0 && took > 0) {
          // size the next segment so that summarizing it takes about target-chunk-time, changing by at most 4x
          double wanted = (double) sum[0].count() * s.targetChunkTime().toNanos() / took;
          size = Math.max(100, Math.min(size * 4, Math.max(size / 4, (long) wanted)));
          estimatedSegments = segmentsDone + Math.max(1, (total - sourceRows + size - 1) / size);
        }
      }
    }

    // ---- time segments ----------------------------------------------------------------------

    private void scanByTime(String column) throws SQLException, InterruptedException {
      if (t.key().contains(column)) {
        listener.note("--segments time:" + column + ": " + column + " is a key column; windows of it work, but"
            + " --segments key would sample the same order");
      }
      long w = s.timeWindow().toMillis();
      if (timeStart == null) {
        Optional<List<String>> mm = reader.minMax(Side.SOURCE, table, column);
        if (mm.isPresent()) {
          long min = instant(column, mm.get().get(0)).toEpochMilli();
          long max = instant(column, mm.get().get(1)).toEpochMilli();
          timeStart = Math.floorDiv(min, w) * w;
          timeEnd = Math.floorDiv(max, w) * w;
        }
      }
      // windows [start + i*w, start + (i+1)*w); the first open below and the last open above, so rows
      // of the target outside the source's range are audited too; then the rows whose column is NULL
      List<RowReader.ColumnFilter> windows = new ArrayList<>();
      if (timeStart != null) {
        for (long from = timeStart; from <= timeEnd; from += w) {
          windows.add(new RowReader.ColumnFilter(column, from == timeStart ? null : Instant.ofEpochMilli(from)
              .toString(), from + w > timeEnd ? null : Instant.ofEpochMilli(from + w).toString(), false));
        }
      } else {
        windows.add(new RowReader.ColumnFilter(column, null, null, false));
      }
      windows.add(new RowReader.ColumnFilter(column, null, null, true));
      estimatedSegments = windows.size();
      for (int i = segmentsDone; i < windows.size(); i++) {
        RowReader.ColumnFilter f = windows.get(i);
        Summary[] sum = summarize(jvm, KeyRange.ALL, f);
        sourceRows += sum[0].count();
        targetRows += sum[1].count();
        if (!sum[0].equals(sum[1])) {
          differingSegments++;
          bisect(KeyRange.ALL, f, sum);
        }
        segmentsDone++;
        if (i < windows.size() - 1) {
          checkpoint(false);
        }
        progress(false);
        listener.segmentDone(table, segmentsDone, KeyRange.ALL);
      }
    }

    private Instant instant(String column, String canonical) {
      try {
        return java.time.OffsetDateTime.parse(canonical).toInstant();
      } catch (java.time.format.DateTimeParseException e) {
        try {
          return java.time.LocalDate.parse(canonical).atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
        } catch (java.time.format.DateTimeParseException e2) {
          throw new IllegalArgumentException("--segments time:" + column + ": column " + column + " of table "
              + table + " holds \"" + canonical + "\", not a timestamp; name a timestamp or date column, or use"
              + " --segments key");
        }
      }
    }

    // ---- bisection and rows -----------------------------------------------------------------

    /** Finds the differing rows of a range whose summaries {@code sum} differ. */
    private void bisect(KeyRange range, RowReader.ColumnFilter filter, Summary[] sum)
        throws SQLException, InterruptedException {
      long most = Math.max(sum[0].count(), sum[1].count());
      if (most <= s.bisectRows()) {
        compareRows(range, filter);
        return;
      }
      Side sample = sum[0].count() >= sum[1].count() ? Side.SOURCE : Side.TARGET;
      int parts = (int) Math.min(64, Math.max(2, (most + s.bisectRows() - 1) / s.bisectRows()));
      long step = (most + parts - 1) / parts;
      List<List<String>> bounds = new ArrayList<>();
      long[] seen = {0};
      TableCanonicalizer tc = tcs.get(sample);
      long n = reader.scan(sample, table, range, filter, true, s.fetchSize(), row -> {
        if (++seen[0] % step == 0) {
          bounds.add(t.key().stream().map(row::get).toList());
        }
      });
      throttle.rows(n);
      if (!bounds.isEmpty() && (range.upper() != null && bounds.get(bounds.size() - 1).equals(range.upper()))) {
        bounds.remove(bounds.size() - 1);
      }
      if (bounds.isEmpty()) {
        compareRows(range, filter);
        return;
      }
      List<String> lo = range.lower();
      for (int i = 0; i <= bounds.size(); i++) {
        List<String> hi = i < bounds.size() ? bounds.get(i) : range.upper();
        KeyRange sub = new KeyRange(lo, hi);
        Summary[] subSum = filter == null ? summarize(hasher, sub, null) : summarize(jvm, sub, filter);
        if (!subSum[0].equals(subSum[1])) {
          bisect(sub, filter, subSum);
        }
        lo = hi;
        progress(false);
      }
    }

    /** Compares the rows of a small range by canonical key (both sides' rows held in memory). */
    private void compareRows(KeyRange range, RowReader.ColumnFilter filter) throws SQLException, InterruptedException {
      List<Map<CanonicalKey, CanonicalRow>> rows = both(side -> {
        Map<CanonicalKey, CanonicalRow> m = new LinkedHashMap<>();
        TableCanonicalizer tc = tcs.get(side);
        reader.scan(side, table, range, filter, false, s.fetchSize(), row -> {
          try {
            m.put(tc.key(row), row);
          } catch (CanonicalizationException e) {
            // a NULL key column: no key to report it under (the stream skips such rows too)
          }
        });
        return m;
      });
      Map<CanonicalKey, CanonicalRow> src = rows.get(0);
      Map<CanonicalKey, CanonicalRow> tgt = rows.get(1);
      throttle.rows(src.size() + tgt.size());
      long now = clock.getAsLong();
      for (Map.Entry<CanonicalKey, CanonicalRow> e : src.entrySet()) {
        CanonicalRow other = tgt.get(e.getKey());
        if (other == null) {
          suspects.add(new Suspect(e.getKey(), DiscrepancyKind.MISSING_IN_TARGET, now, e.getValue().hash(), null));
        } else if (!comparator.equivalent(e.getValue(), other)) {
          suspects.add(new Suspect(e.getKey(), DiscrepancyKind.VALUE_MISMATCH, now, e.getValue().hash(),
              other.hash()));
        }
      }
      for (Map.Entry<CanonicalKey, CanonicalRow> e : tgt.entrySet()) {
        if (!src.containsKey(e.getKey())) {
          suspects.add(new Suspect(e.getKey(), DiscrepancyKind.UNEXPECTED_IN_TARGET, now, null, e.getValue().hash()));
        }
      }
    }

    private Summary[] summarize(SegmentHasher h, KeyRange range, RowReader.ColumnFilter filter)
        throws SQLException, InterruptedException {
      List<Summary> r = both(side -> filter == null ? h.summarize(side, table, range)
          : jvm.summarize(side, table, range, filter));
      throttle.rows(r.get(0).count() + r.get(1).count());
      return new Summary[] {r.get(0), r.get(1)};
    }

    // ---- the re-check -------------------------------------------------------------------------

    /**
     * Re-reads every suspect once the window has passed since it was seen and keeps those that
     * still differ. A suspect whose rows changed since it was seen (a write in flight then, maybe
     * another one now) is given another window, up to {@link #MAX_RECHECKS} times; then it is
     * reported as it is.
     */
    private List<Discrepancy> recheck() throws SQLException, InterruptedException {
      long window = t.effectiveWindow(config.verify()).toMillis();
      java.util.PriorityQueue<Suspect> queue = new java.util.PriorityQueue<>(
          Comparator.comparingLong(Suspect::foundAt));
      queue.addAll(suspects);
      Map<CanonicalKey, Long> firstSeen = new HashMap<>();
      Map<CanonicalKey, Integer> attempts = new HashMap<>();
      suspects.forEach(x -> firstSeen.merge(x.key(), x.foundAt(), Math::min));
      List<Discrepancy> out = new ArrayList<>();
      Map<CanonicalKey, Boolean> done = new HashMap<>();
      if (!queue.isEmpty()) {
        long wait = suspects.stream().mapToLong(Suspect::foundAt).max().getAsLong() + window - clock.getAsLong();
        if (wait > 0) {
          listener.note("table " + table + ": " + queue.size() + " suspect rows; re-checking them after the window ("
              + Duration.ofMillis(window) + "), up to " + Duration.ofMillis(wait).toSeconds() + " s from now");
        }
      }
      while (!queue.isEmpty()) {
        Suspect x = queue.poll();
        if (done.containsKey(x.key())) {
          continue;
        }
        long due = x.foundAt() + window - clock.getAsLong();
        if (due > 0) {
          Thread.sleep(due);
        }
        KeyCheck.Result r = keyCheck.check(table, x.key().key());
        if (r.consistent()) {
          done.put(x.key(), false);
          continue;
        }
        String sh = r.source() == null ? null : r.source().hash();
        String th = r.target() == null ? null : r.target().hash();
        int n = attempts.merge(x.key(), 1, Integer::sum);
        boolean unchanged = java.util.Objects.equals(sh, x.sourceHash()) && java.util.Objects.equals(th,
            x.targetHash());
        if (!unchanged && n < MAX_RECHECKS) {
          queue.add(new Suspect(x.key(), r.verdict().kind().orElseThrow(), r.checkedAt(), sh, th));
          continue;
        }
        done.put(x.key(), true);
        out.add(discrepancy(r, firstSeen.get(x.key())));
      }
      return out;
    }

    private Discrepancy discrepancy(KeyCheck.Result r, long divergedSince) {
      long now = r.checkedAt();
      return pii.mask(new Discrepancy(id(r.key(), now), r.verdict().kind().orElseThrow(), table, r.key().key(),
          Discrepancy.DETECTOR_AUDIT, divergedSince, now, r.source() == null ? null : r.source().values(),
          r.target() == null ? null : r.target().values(), r.fields(), null, null, null, null, clock.getAsLong()));
    }

    // ---- plumbing ---------------------------------------------------------------------------

    private void progress(boolean force) {
      long now = System.nanoTime();
      listener.auditProgress(table, segmentsDone, estimatedSegments, sourceRows + targetRows, differingSegments);
      if (progress == null || !force && now - lastProgress < PROGRESS_EVERY.toNanos()) {
        return;
      }
      lastProgress = now;
      // rows include those of an interrupted run, so the time does too
      double secs = Math.max(0.001, elapsedBefore / 1e3 + (now - started) / 1e9);
      progress.printf("audit %s: segments %d/%s, %d rows, %.0f rows/s, %d differing segments, %d suspect rows%n",
          table, segmentsDone, estimatedSegments < 0 ? "?" : Long.toString(Math.max(segmentsDone,
              estimatedSegments)), sourceRows + targetRows, (sourceRows + targetRows) / secs, differingSegments,
          suspects.size());
      progress.flush();
    }
  }

  @FunctionalInterface
  private interface PerSide<T> {
    T apply(Side side) throws SQLException;
  }

  /** Runs {@code f} for the source and the target at the same time; results in that order. */
  private <T> List<T> both(PerSide<T> f) throws SQLException, InterruptedException {
    Future<T> src = sides.submit(() -> f.apply(Side.SOURCE));
    Future<T> tgt = sides.submit(() -> f.apply(Side.TARGET));
    try {
      return List.of(get(src), get(tgt));
    } finally {
      src.cancel(true);
      tgt.cancel(true);
    }
  }

  private static <T> T get(Future<T> f) throws SQLException, InterruptedException {
    try {
      return f.get();
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof SQLException s) {
        throw s;
      }
      if (c instanceof RuntimeException r) {
        throw r;
      }
      if (c instanceof Error er) {
        throw er;
      }
      throw new IllegalStateException(c);
    }
  }

  /** A UUID-shaped id from the record key and the re-check time (as {@code check}'s, with detector audit). */
  static String id(CanonicalKey key, long checkedAt) {
    byte[] k = key.toBytes();
    byte[] suffix = (":" + checkedAt + ":" + Discrepancy.DETECTOR_AUDIT).getBytes(StandardCharsets.UTF_8);
    byte[] all = Arrays.copyOf(k, k.length + suffix.length);
    System.arraycopy(suffix, 0, all, k.length, suffix.length);
    String h = Hash128.hex(all);
    return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-"
        + h.substring(20, 32);
  }

  /** Keeps the rows read per second (both sides) at or under the limit, on average since the start. */
  static final class Throttle {
    private final long maxPerSecond;
    private final long start = System.nanoTime();
    private long rows;

    Throttle(long maxPerSecond) {
      this.maxPerSecond = maxPerSecond;
    }

    void rows(long n) throws InterruptedException {
      rows += n;
      if (maxPerSecond <= 0) {
        return;
      }
      long due = start + (long) (rows * 1e9 / maxPerSecond);
      long wait = due - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
    }
  }
}
