package io.migrationverifier.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.migrationverifier.audit.Audit;
import io.migrationverifier.audit.KeyRange;
import io.migrationverifier.capture.CaptureListener;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.repair.RepairEngine;
import io.migrationverifier.repair.RepairListener;
import io.migrationverifier.verify.VerifyListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The process's metrics: one Prometheus registry with the JVM and Kafka binders and our own,
 * prefixed {@code verifier_} (README lists every one; a test fails when one is undocumented).
 * It is the listener of every role, so whatever a role observes is counted here and nowhere else;
 * the status page reads the same figures. Listener methods run on role threads: they only touch
 * concurrent maps and Micrometer meters, which are thread-safe.
 *
 * <p>Figures from the topics, which describe the whole deployment rather than this process (open
 * discrepancies, DLQ depth, capture watermarks), are set by {@link StatusModel}.
 */
public final class Metrics implements CaptureListener, VerifyListener, RepairListener, Audit.Listener, AutoCloseable {
  /** Convergence-lag buckets: replication lag is usually sub-second to minutes. */
  private static final Duration[] LAG_BUCKETS = {Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
      Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
      Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofMinutes(5),
      Duration.ofMinutes(15), Duration.ofHours(1)};
  /** Durations kept per table for the status page's percentiles. */
  private static final int RECENT = 2048;

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final List<AutoCloseable> binders = new ArrayList<>();
  private final Map<String, AtomicLong> pending = new ConcurrentHashMap<>();
  /** Per table, the change counters per side (index = Side ordinal): looked up once, hit per change. */
  private final Map<String, Counter[]> changes = new ConcurrentHashMap<>();
  private final Map<String, Recent> convergence = new ConcurrentHashMap<>();
  /** Watermark per side and partition as the verify role saw it; capture's own per side. */
  private final Map<String, AtomicLong> verifyWatermarks = new ConcurrentHashMap<>();
  private final AtomicLong[] captureWatermarks = {new AtomicLong(Long.MIN_VALUE), new AtomicLong(Long.MIN_VALUE)};
  private final Map<String, AtomicLong> stalled = new ConcurrentHashMap<>();
  private final AtomicLong repairPaused = new AtomicLong();
  private final AtomicLong convergedCount = new AtomicLong();
  private final Map<String, AtomicLong> audit = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> topicFigures = new ConcurrentHashMap<>();

  public Metrics(VerifierConfig config) {
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    binders.add(gc);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    for (TableConfig t : config.tables()) {
      // every configured table shows from the start, at zero, so alerts and dashboards need no "absent" cases
      pendingOf(t.name());
      changeCounters(t.name());
      for (DiscrepancyKind k : DiscrepancyKind.values()) {
        if (k != DiscrepancyKind.RESOLVED) {
          topicFigure("verifier.discrepancies.open", "Open discrepancies (deployment-wide, from the discrepancy topic).",
              Tags.of("table", t.name(), "kind", k.name()));
        }
      }
      topicFigure("verifier.discrepancies.oldest.open.age", "Age of the oldest open discrepancy, seconds (0: none).",
          Tags.of("table", t.name()));
      convergenceOf(t.name());
    }
    for (Side side : Side.values()) {
      AtomicLong wm = captureWatermarks[side.ordinal()];
      Gauge.builder("verifier.capture.watermark.lag", wm, lagSeconds())
          .description("Seconds between now and this process's capture watermark of the side (NaN before the first).")
          .baseUnit("seconds").tag("side", side.id()).register(registry);
    }
    Gauge.builder("verifier.repair.paused", repairPaused, AtomicLong::get)
        .description("1 while the repair role is paused because the target database is unreachable.")
        .register(registry);
    topicFigure("verifier.dlq.depth", "Records on a dead-letter topic (deployment-wide).", Tags.of("topic", "repairs"));
    topicFigure("verifier.dlq.depth", "Records on a dead-letter topic (deployment-wide).", Tags.of("topic", "changes"));
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition. */
  public String scrape() {
    return registry.scrape();
  }

  /** Kafka Streams' own metrics (threads, tasks, state stores and its embedded clients). */
  public void bind(KafkaStreams streams) {
    KafkaStreamsMetrics m = new KafkaStreamsMetrics(streams);
    m.bindTo(registry);
    binders.add(m);
  }

  public void bind(Consumer<?, ?> consumer) {
    KafkaClientMetrics m = new KafkaClientMetrics(consumer);
    m.bindTo(registry);
    binders.add(m);
  }

  public void bind(Producer<?, ?> producer) {
    KafkaClientMetrics m = new KafkaClientMetrics(producer);
    m.bindTo(registry);
    binders.add(m);
  }

  // ---- capture -------------------------------------------------------------------------------

  @Override
  public void batch(Side side, int changes, long watermark) {
    registry.counter("verifier.capture.changes", "side", side.id()).increment(changes);
    captureWatermarks[side.ordinal()].accumulateAndGet(watermark, Math::max);
  }

  @Override
  public void deadLettered(Side side, Exception e) {
    registry.counter("verifier.capture.dead.letters", "side", side.id()).increment();
  }

  // ---- verify --------------------------------------------------------------------------------

  @Override
  public void changeApplied(String table, Side side) {
    changeCounters(table)[side.ordinal()].increment();
  }

  @Override
  public void duplicateIgnored(Side side) {
    registry.counter("verifier.changes.duplicate", "side", side.id()).increment();
  }

  @Override
  public void lateChange(Side side, long lateByMs) {
    registry.counter("verifier.changes.late", "side", side.id()).increment();
  }

  @Override
  public void malformed(String topic, String reason) {
    registry.counter("verifier.events.malformed", "topic", topic).increment();
  }

  @Override
  public void pendingChanged(String table, int delta) {
    pendingOf(table).addAndGet(delta);
  }

  @Override
  public void converged(String table, long disagreedForMs) {
    convergedCount.incrementAndGet();
    convergenceOf(table).timer.record(Duration.ofMillis(Math.max(0, disagreedForMs)));
    convergenceOf(table).add(disagreedForMs);
  }

  @Override
  public void reported(String table, DiscrepancyKind kind) {
    registry.counter("verifier.discrepancies.emitted", "table", table, "kind", kind.name()).increment();
  }

  @Override
  public void resolved(String table, long openForMs) {
    registry.counter("verifier.discrepancies.emitted", "table", table, "kind", DiscrepancyKind.RESOLVED.name())
        .increment();
    // a reported disagreement that ended also tells how long the target trailed
    convergenceOf(table).timer.record(Duration.ofMillis(Math.max(0, openForMs)));
    convergenceOf(table).add(openForMs);
  }

  @Override
  public void watermark(int partition, Side side, long watermark) {
    verifyWatermarks.computeIfAbsent(side.id() + "/" + partition, k -> {
      AtomicLong a = new AtomicLong(Long.MIN_VALUE);
      Gauge.builder("verifier.watermark.lag", a, lagSeconds())
          .description("Seconds between now and the side's watermark in a partition this process verifies.")
          .baseUnit("seconds").tags("side", side.id(), "partition", Integer.toString(partition)).register(registry);
      return a;
    }).accumulateAndGet(watermark, Math::max);
  }

  @Override
  public void stalled(int partition, Side side, boolean isStalled) {
    stalled.computeIfAbsent(side.id() + "/" + partition, k -> {
      AtomicLong a = new AtomicLong();
      Gauge.builder("verifier.side.stalled", a, AtomicLong::get)
          .description("1 while the side's watermark trails the other side's by more than verify.stall-threshold.")
          .tags("side", side.id(), "partition", Integer.toString(partition)).register(registry);
      return a;
    }).set(isStalled ? 1 : 0);
  }

  /**
   * The partition's task left this process (rebalance, shutdown): its per-partition gauges go, or
   * the old owner's watermark lag would grow forever and page someone.
   */
  @Override
  public void partitionClosed(int partition) {
    String p = Integer.toString(partition);
    for (Side side : Side.values()) {
      String k = side.id() + "/" + partition;
      verifyWatermarks.remove(k);
      stalled.remove(k);
    }
    for (String name : List.of("verifier.watermark.lag", "verifier.side.stalled")) {
      for (var m : registry.find(name).tag("partition", p).meters()) {
        registry.remove(m);
      }
    }
  }

  // ---- repair --------------------------------------------------------------------------------

  @Override
  public void outcome(String table, RepairEngine.Status status) {
    registry.counter("verifier.repairs", "table", table, "outcome", status.name().toLowerCase(java.util.Locale.ROOT))
        .increment();
  }

  @Override
  public void retried(String table, int attempt, Throwable cause) {
    registry.counter("verifier.repair.retries", "table", table).increment();
  }

  @Override
  public void deadLettered(String table, Throwable cause) {
    registry.counter("verifier.repair.dead.letters", "table", table).increment();
  }

  @Override
  public void paused(String reason) {
    repairPaused.set(1);
    registry.counter("verifier.repair.pauses").increment();
  }

  @Override
  public void resumed(long pausedMs) {
    repairPaused.set(0);
  }

  // ---- audit ---------------------------------------------------------------------------------

  @Override
  public void segmentDone(String table, int done, KeyRange range) {
    auditFigure("verifier.audit.segments.done", "Segments of the table's audit done (also those of a resumed run).",
        table).set(done);
  }

  @Override
  public void auditProgress(String table, long segmentsDone, long segmentsEstimated, long rows, int differingSegments) {
    auditFigure("verifier.audit.segments.done", "Segments of the table's audit done (also those of a resumed run).",
        table).set(segmentsDone);
    auditFigure("verifier.audit.segments.estimated", "Segments the table's audit is expected to have (0: unknown).",
        table).set(Math.max(0, segmentsEstimated));
    auditFigure("verifier.audit.rows", "Rows the table's audit read so far, both sides.", table).set(rows);
    auditFigure("verifier.audit.segments.differing", "Segments of the table's audit whose checksums differed.", table)
        .set(differingSegments);
  }

  private AtomicLong auditFigure(String name, String description, String table) {
    return audit.computeIfAbsent(name + "/" + table, k -> {
      AtomicLong a = new AtomicLong();
      Gauge.builder(name, a, AtomicLong::get).description(description).tag("table", table).register(registry);
      return a;
    });
  }

  // ---- deployment-wide figures (StatusModel) -------------------------------------------------

  /** Sets a figure read from the topics; {@code name} and tags as registered in the constructor. */
  void setTopicFigure(String name, Tags tags, double value) {
    topicFigure(name, null, tags).set(Double.doubleToLongBits(value));
  }

  private AtomicLong topicFigure(String name, String description, Tags tags) {
    return topicFigures.computeIfAbsent(name + tags, k -> {
      AtomicLong a = new AtomicLong(Double.doubleToLongBits(0));
      Gauge.builder(name, a, x -> Double.longBitsToDouble(x.get())).description(description).tags(tags)
          .baseUnit(name.endsWith(".age") ? "seconds" : null).register(registry);
      return a;
    });
  }

  // ---- read by the status page ---------------------------------------------------------------

  /** This process's pending disagreements of the table (those of partitions verified here). */
  public long pending(String table) {
    AtomicLong a = pending.get(table);
    return a == null ? 0 : Math.max(0, a.get());
  }

  /** Changes applied by this process's verify role, per side (index = Side ordinal). */
  public long[] changes(String table) {
    Counter[] c = changes.get(table);
    return c == null ? new long[2] : new long[] {(long) c[0].count(), (long) c[1].count()};
  }

  /** Recent convergence lags of the table, ms, sorted; at most the last {@value #RECENT}. */
  public long[] recentConvergence(String table) {
    return convergenceOf(table).sorted();
  }

  /** Recent convergence lags of every table, ms, sorted. */
  public long[] recentConvergence() {
    return convergence.values().stream().flatMapToLong(r -> Arrays.stream(r.sorted())).sorted().toArray();
  }

  /** Disagreements that ended within their window, in this process. */
  public long convergedCount() {
    return convergedCount.get();
  }

  /** The capture watermark of the side in this process, or MIN_VALUE. */
  public long captureWatermark(Side side) {
    return captureWatermarks[side.ordinal()].get();
  }

  private AtomicLong pendingOf(String table) {
    return pending.computeIfAbsent(table, t -> {
      AtomicLong a = new AtomicLong();
      Gauge.builder("verifier.disagreements.pending", a, x -> Math.max(0, x.get()))
          .description("Keys that disagree now, within their window (not reported yet), in partitions verified here.")
          .tag("table", t).register(registry);
      return a;
    });
  }

  private Counter[] changeCounters(String table) {
    return changes.computeIfAbsent(table, t -> {
      Counter[] c = new Counter[2];
      for (Side side : Side.values()) {
        c[side.ordinal()] = Counter.builder("verifier.change.events").description("Change events the verify role applied.")
            .tags("table", t, "side", side.id()).register(registry);
      }
      return c;
    });
  }

  private Recent convergenceOf(String table) {
    return convergence.computeIfAbsent(table, t -> new Recent(Timer.builder("verifier.convergence.lag")
        .description("How long keys disagreed before they agreed again (within the window or after a report).")
        .tag("table", t).serviceLevelObjectives(LAG_BUCKETS).minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofHours(1)).register(registry)));
  }

  private static ToDoubleFunction<AtomicLong> lagSeconds() {
    return a -> {
      long wm = a.get();
      return wm == Long.MIN_VALUE ? Double.NaN : (System.currentTimeMillis() - wm) / 1000.0;
    };
  }

  /** A ring of recent durations. */
  private static final class Recent {
    final Timer timer;
    private final long[] ring = new long[RECENT];
    private int size;
    private int next;

    Recent(Timer timer) {
      this.timer = timer;
    }

    synchronized void add(long ms) {
      ring[next] = Math.max(0, ms);
      next = (next + 1) % RECENT;
      size = Math.min(RECENT, size + 1);
    }

    synchronized long[] sorted() {
      long[] a = Arrays.copyOf(size == RECENT ? ring : Arrays.copyOf(ring, size), size);
      Arrays.sort(a);
      return a;
    }
  }

  @Override
  public void close() {
    for (AutoCloseable b : binders) {
      try {
        b.close();
      } catch (Exception e) {
        // closing a binder only stops its background refresh; nothing to report
      }
    }
    registry.close();
  }
}
