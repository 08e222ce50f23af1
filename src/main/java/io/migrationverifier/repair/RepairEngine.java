package io.migrationverifier.repair;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.RowComparator;
import io.migrationverifier.capture.Jdbc;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.TableRepair;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.PiiMasker;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.repair.spi.Conflict;
import io.migrationverifier.repair.spi.ConflictResolver;
import io.migrationverifier.repair.spi.Decision;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * One repair, start to end (DESIGN section 5): re-read the source row (the truth now) and the
 * target row; nothing to do when they agree; else ask the table's policy; a write is fenced by
 * the target image that was judged ({@link FencedWriter}), and when the target moved in between,
 * everything is read and judged again, at most {@code repair.fence-retries} more times.
 *
 * <p>Used by the repair role, {@code dlq replay}, {@code check --repair} and {@code POST /check}
 * alike. Not thread-safe: one engine per thread.
 */
public final class RepairEngine implements AutoCloseable {

  /** What became of one repair request. */
  public enum Status {
    /** The target was written; {@link Outcome#log} says what it held before and after. */
    APPLIED,
    /** Both databases agree now: nothing to do. */
    CONSISTENT,
    /** The policy leaves it to a person ({@link Outcome#reason}). */
    REVIEW,
    /** The policy accepts the difference. */
    SKIPPED,
    /** Repair is not enabled for the table (detect-only). */
    DISABLED,
    /** The target kept changing under the fence: nothing written; a transient failure. */
    STALE
  }

  /**
   * @param source the source row as judged (null = absent)
   * @param target the target row as judged (null = absent)
   * @param log    APPLIED: the repair log entry
   */
  public record Outcome(Status status, String policy, SortedMap<String, String> source,
      SortedMap<String, String> target, String reason, RepairLogEntry log) {}

  /** The fence kept failing: the target changed between every judgement and its locked write. */
  public static final class StaleRepairException extends Exception {
    public StaleRepairException(String message) {
      super(message);
    }
  }

  /**
   * Makes repair log entries durable (the repair role: produced to {@code <name>.repairs.log} and
   * acknowledged) before their writes commit. Throws {@link LogUnavailableException} when it cannot.
   */
  @FunctionalInterface
  public interface LogSink {
    void record(List<RepairLogEntry> entries);
  }

  /** The repair log could not be written: nothing was committed; the caller must stop, not retry. */
  public static final class LogUnavailableException extends RuntimeException {
    public LogUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final VerifierConfig config;
  private final Canonicalizer canonicalizer;
  private LogSink logSink;
  private final RowReader reader;
  private final FencedWriter writer;
  private final Resolvers resolvers;
  private final HikariDataSource targetPool;
  private final LongSupplier clock;
  /** Applied to the rows of outcomes that leave as review records; judging and writing use exact rows. */
  private final PiiMasker pii;

  /** An engine with its own reader and a small HikariCP pool on the target; close it. */
  public static RepairEngine open(VerifierConfig config, Canonicalizer canonicalizer) {
    RowReader reader = new RowReader(config, canonicalizer);
    HikariDataSource pool = Jdbc.pool(config.database(Side.TARGET), config.name() + "-repair-target", 2,
        Duration.ofSeconds(5));
    try {
      return new RepairEngine(config, canonicalizer, reader, pool, Resolvers.forConfig(config),
          System::currentTimeMillis);
    } catch (RuntimeException e) {
      pool.close();
      reader.close();
      throw e;
    }
  }

  RepairEngine(VerifierConfig config, Canonicalizer canonicalizer, RowReader reader, HikariDataSource targetPool,
      Resolvers resolvers, LongSupplier clock) {
    this.config = config;
    this.canonicalizer = canonicalizer;
    this.reader = reader;
    this.targetPool = targetPool;
    this.writer = new FencedWriter(config, canonicalizer, reader, targetPool);
    this.resolvers = resolvers;
    this.clock = clock;
    this.pii = PiiMasker.forConfig(config);
  }

  public RowReader reader() {
    return reader;
  }

  /**
   * From now on, every applied repair's log entry goes to {@code sink} before its write commits
   * (and {@link Outcome#log} is then already recorded). Without a sink the caller records it.
   */
  public void logBeforeCommit(LogSink sink) {
    this.logSink = sink;
  }

  public boolean logsBeforeCommit() {
    return logSink != null;
  }

  /**
   * Repairs one key when its table has repair enabled.
   *
   * @param origin the discrepancy that asked (null for an on-demand check)
   * @param originLabel what asked: {@code stream}, {@code audit}, {@code check}, {@code replay}
   * @throws IllegalArgumentException unknown table, a bad key, or a value the target cannot take (permanent)
   * @throws SQLException a database failed (see {@link Failures#classify})
   * @throws StaleRepairException the fence failed {@code fence-retries + 1} times (transient)
   */
  public Outcome repair(String table, Map<String, String> key, Discrepancy origin, String originLabel)
      throws SQLException, StaleRepairException {
    return repair(table, key, origin, originLabel, false);
  }

  /** As {@link #repair}, but {@code force} repairs a detect-only table too (an operator's explicit request). */
  public Outcome repair(String table, Map<String, String> key, Discrepancy origin, String originLabel,
      boolean force) throws SQLException, StaleRepairException {
    return repair(table, key, origin, originLabel, force, config.repair().fenceRetries() + 1);
  }

  /** {@code tries}: judgements left (a batch that found the key stale has used one). */
  private Outcome repair(String table, Map<String, String> key, Discrepancy origin, String originLabel,
      boolean force, int tries) throws SQLException, StaleRepairException {
    TableConfig t = config.table(table).orElseThrow(() -> new IllegalArgumentException("unknown table \"" + table
        + "\"; configured: " + config.tables().stream().map(TableConfig::name).toList()));
    TableRepair settings = t.repair();
    String policy = Resolvers.policyName(settings);
    if (!settings.enabled() && !force) {
      return new Outcome(Status.DISABLED, policy, null, null, "repair is not enabled for table " + table, null);
    }
    CanonicalKey sourceKey = reader.canonicalKey(Side.SOURCE, table, key);
    for (int i = 0; i < tries; i++) {
      Judged j = judge(t, sourceKey, origin);
      if (j.outcome() != null) {
        return j.outcome();
      }
      Request request = new Request(table, key, origin, originLabel);
      Outcome[] done = new Outcome[1];
      FencedWriter.Outcome w = writer.apply(table, sourceKey.key(), j.target(), j.desired(), outcomes -> {
        done[0] = appliedOutcome(request, j, outcomes.get(0));
        record(List.of(done[0].log()));
      });
      if (w.stale()) {
        continue; // the target moved after we judged it: judge again on what it holds now
      }
      return done[0] != null ? done[0] : appliedOutcome(request, j, w);
    }
    int judged = config.repair().fenceRetries() + 1;
    throw new StaleRepairException("the target row of " + sourceKey + " changed between the judgement and the"
        + " locked write " + judged + " times (repair.fence-retries=" + config.repair().fenceRetries() + ")");
  }

  /** One request of a batch: the arguments of {@link #repair}. */
  public record Request(String table, Map<String, String> key, Discrepancy origin, String originLabel) {}

  /** The result of one request of a batch: an outcome, or the failure it met. */
  public record Result(Outcome outcome, Exception failure) {}

  /**
   * Repairs several keys, with their fenced writes in one transaction ({@link FencedWriter#applyBatch}):
   * each key is read and judged as {@link #repair} does; the writes go in together; a key whose
   * target moved in between (stale), a key that appears twice, and every key of a batch whose
   * transaction failed, go through {@link #repair} on their own. Results are in request order.
   */
  public List<Result> repairBatch(List<Request> requests) {
    Result[] results = new Result[requests.size()];
    List<Integer> writes = new ArrayList<>();
    List<FencedWriter.Item> items = new ArrayList<>();
    List<Judged> judged = new ArrayList<>();
    Set<CanonicalKey> seen = new HashSet<>();
    List<Integer> alone = new ArrayList<>();
    Set<Integer> staleInBatch = new HashSet<>();
    Exception outage = null;
    for (int i = 0; i < requests.size(); i++) {
      Request r = requests.get(i);
      if (outage != null) {
        // A database is down: the rest would each wait for their own connect timeout.
        results[i] = new Result(null, outage);
        continue;
      }
      try {
        TableConfig t = config.table(r.table()).orElseThrow(() -> new IllegalArgumentException("unknown table \""
            + r.table() + "\"; configured: " + config.tables().stream().map(TableConfig::name).toList()));
        String policy = Resolvers.policyName(t.repair());
        if (!t.repair().enabled()) {
          results[i] = new Result(new Outcome(Status.DISABLED, policy, null, null,
              "repair is not enabled for table " + r.table(), null), null);
          continue;
        }
        CanonicalKey key = reader.canonicalKey(Side.SOURCE, r.table(), r.key());
        if (!seen.add(key)) {
          alone.add(i);
          continue;
        }
        Judged j = judge(t, key, r.origin());
        if (j.outcome() != null) {
          results[i] = new Result(j.outcome(), null);
          continue;
        }
        writes.add(i);
        judged.add(j);
        items.add(new FencedWriter.Item(r.table(), key.key(), j.target(), j.desired()));
      } catch (Exception e) {
        results[i] = new Result(null, e);
        if (Failures.classify(e) == Failures.Kind.OUTAGE) {
          outage = e;
        }
      }
    }
    if (!items.isEmpty() && outage != null) {
      for (int i : writes) {
        results[i] = new Result(null, outage);
      }
      writes.clear();
      items.clear();
    }
    if (!items.isEmpty()) {
      List<FencedWriter.Outcome> applied = null;
      Outcome[] done = new Outcome[requests.size()];
      try {
        applied = writer.applyBatch(items, outcomes -> {
          List<RepairLogEntry> entries = new ArrayList<>();
          for (int w = 0; w < outcomes.size(); w++) {
            if (outcomes.get(w).applied()) {
              int i = writes.get(w);
              done[i] = appliedOutcome(requests.get(i), judged.get(w), outcomes.get(w));
              entries.add(done[i].log());
            }
          }
          record(entries);
        });
      } catch (LogUnavailableException e) {
        throw e;
      } catch (SQLException e) {
        if (Failures.classify(e) == Failures.Kind.OUTAGE) {
          outage = e;
          for (int i : writes) {
            results[i] = new Result(null, e);
          }
          writes.clear();
        }
        // otherwise nothing was written: every write is tried on its own below
      } catch (RuntimeException e) {
        // a value the target cannot take: found again, and attributed, when tried on its own
      }
      for (int w = 0; w < writes.size(); w++) {
        int i = writes.get(w);
        if (applied != null && applied.get(w).applied()) {
          try {
            results[i] = new Result(done[i] != null ? done[i] : appliedOutcome(requests.get(i), judged.get(w),
                applied.get(w)), null);
          } catch (Exception e) {
            results[i] = new Result(null, e);
          }
        } else {
          alone.add(i);
          if (applied != null) {
            staleInBatch.add(i); // judged once already: the fence bound counts it
          }
        }
      }
    }
    for (int i : alone) {
      Request r = requests.get(i);
      if (outage != null) {
        results[i] = new Result(null, outage);
        continue;
      }
      try {
        int tries = config.repair().fenceRetries() + (staleInBatch.contains(i) ? 0 : 1);
        results[i] = tries <= 0 ? new Result(null, new StaleRepairException("the target row of " + r.table() + " "
            + r.key() + " changed between the judgement and the locked write (repair.fence-retries=0)"))
            : new Result(repair(r.table(), r.key(), r.origin(), r.originLabel(), false, tries), null);
      } catch (LogUnavailableException e) {
        throw e;
      } catch (Exception e) {
        results[i] = new Result(null, e);
        if (Failures.classify(e) == Failures.Kind.OUTAGE) {
          outage = e;
        }
      }
    }
    return List.of(results);
  }

  /** A key read and judged: either an outcome already (consistent, review, skip) or a write to make. */
  private record Judged(String policy, CanonicalKey key, Optional<CanonicalRow> target,
      SortedMap<String, String> source, SortedMap<String, String> targetRow, Optional<CanonicalRow> desired,
      Outcome outcome) {}

  /**
   * Reads both rows and asks the policy. Agreement is decided on the rows as the stream compares
   * them; everything the policy sees and writes, and the fence, use the faithful rows (the values
   * as stored), so a repair never rewrites a value in the blurred form it was compared in.
   */
  private Judged judge(TableConfig t, CanonicalKey key, Discrepancy origin) throws SQLException {
    String table = t.name();
    String policy = Resolvers.policyName(t.repair());
    RowComparator cmp = canonicalizer.comparator(table).orElseThrow();
    ConflictResolver resolver = resolvers.forTable(table).orElseThrow();
    Optional<RowReader.Rows> source = reader.readRows(Side.SOURCE, table, key.key());
    Optional<RowReader.Rows> target = reader.readRows(Side.TARGET, table, key.key());
    SortedMap<String, String> s = source.map(r -> sorted(r.faithful())).orElse(null);
    SortedMap<String, String> tg = target.map(r -> sorted(r.faithful())).orElse(null);
    Optional<CanonicalRow> judgedTarget = target.map(RowReader.Rows::faithful);
    if (source.isEmpty() && target.isEmpty() || source.isPresent() && target.isPresent()
        && cmp.equivalent(source.get().compared(), target.get().compared())) {
      return new Judged(policy, key, judgedTarget, s, tg, null,
          new Outcome(Status.CONSISTENT, policy, s, tg, null, null));
    }
    Decision d;
    try {
      d = Objects.requireNonNull(resolver.resolve(new Conflict(table, key.key(), s, tg,
          origin == null ? null : origin.kind().name())), "the resolver returned null");
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("conflict resolver of table " + table + " failed: " + e, e);
    }
    switch (d.action()) {
      case REVIEW -> {
        return new Judged(policy, key, judgedTarget, s, tg, null,
            new Outcome(Status.REVIEW, policy, pii.row(table, s), pii.row(table, tg), d.reason(), null));
      }
      case SKIP -> {
        return new Judged(policy, key, judgedTarget, s, tg, null,
            new Outcome(Status.SKIPPED, policy, pii.row(table, s), pii.row(table, tg), d.reason(), null));
      }
      default -> {
        Optional<CanonicalRow> desired = d.row() == null ? Optional.empty() : Optional.of(CanonicalRow.of(d.row()));
        return new Judged(policy, key, judgedTarget, s, tg, desired, null);
      }
    }
  }

  private void record(List<RepairLogEntry> entries) {
    if (logSink != null && !entries.isEmpty()) {
      logSink.record(entries);
    }
  }

  private static SortedMap<String, String> sorted(CanonicalRow r) {
    return new TreeMap<>(r.values());
  }

  /**
   * The outcome of a write that committed. Nothing in here touches a database: a failure after the
   * commit must never turn an applied repair into a failed (retried, dead-lettered, unlogged) one.
   */
  private Outcome appliedOutcome(Request r, Judged j, FencedWriter.Outcome w) {
    SortedMap<String, String> after = w.after().map(x -> sorted(x.faithful())).orElse(null);
    String afterHash = w.after().map(x -> x.compared().hash()).orElse(null);
    RepairLogEntry log = new RepairLogEntry(UUID.randomUUID().toString(), RepairLogEntry.action(j.targetRow(),
        j.desired().map(RepairEngine::sorted).orElse(null)), r.table(), j.key().key(),
        r.origin() == null ? null : r.origin().id(), r.originLabel(), j.policy(), j.targetRow(), after,
        clock.getAsLong(), null, afterHash);
    return new Outcome(Status.APPLIED, j.policy(), j.source(), j.targetRow(), null, log);
  }

  /**
   * Undoes one applied repair: writes its before-image back, fenced by its after-image (only where
   * the target still holds what the repair wrote).
   *
   * @return the undo's own log entry, or empty when the target no longer holds the repair's after-image
   */
  public Optional<RepairLogEntry> undo(RepairLogEntry repair) throws SQLException {
    Optional<CanonicalRow> judged = Optional.ofNullable(repair.after()).map(CanonicalRow::of);
    Optional<CanonicalRow> desired = Optional.ofNullable(repair.before()).map(CanonicalRow::of);
    FencedWriter.Outcome w = writer.apply(repair.table(), repair.key(), judged, desired);
    if (w.stale()) {
      return Optional.empty();
    }
    return Optional.of(new RepairLogEntry(UUID.randomUUID().toString(),
        RepairLogEntry.action(repair.after(), repair.before()), repair.table(), repair.key(), null, "undo",
        repair.policy(), repair.after(), w.after().map(x -> sorted(x.faithful())).orElse(null), clock.getAsLong(),
        repair.id(), w.after().map(x -> x.compared().hash()).orElse(null)));
  }

  /** Whether both databases answer now (the paused role probes with this). */
  public boolean reachable(Side side) {
    if (side == Side.TARGET) {
      try (Connection c = targetPool.getConnection()) {
        return c.isValid(2);
      } catch (SQLException e) {
        return false;
      }
    }
    try (Connection c = Jdbc.connect(config.database(side))) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() {
    writer.close();
    targetPool.close();
    reader.close();
  }
}
