package io.migrationverifier.ops;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Tags;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.repair.OpsKafka;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@code GET /api/status} answers and the status page shows: the deployment as the topics
 * describe it (open discrepancies from the compacted discrepancy topic, DLQ depths, the latest
 * watermark of every change-topic partition) joined with what this process counts itself
 * ({@link Metrics}: pending disagreements, changes applied, convergence lags). A sampler refreshes
 * the topic figures and appends one point to the charts' series every {@link #SAMPLE_EVERY}; a
 * request only reads what the sampler left, so a slow broker never makes the page hang.
 */
public final class StatusModel implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StatusModel.class);
  public static final Duration SAMPLE_EVERY = Duration.ofSeconds(5);
  /** 15 minutes of samples. */
  static final int SERIES = 180;
  static final int OPEN_SHOWN = 200;

  /** Whether the process is ready, and if not, why. */
  public record Readiness(boolean ready, List<String> reasons) {}

  private final VerifierConfig config;
  private final String bootstrap;
  private final Metrics metrics;
  private final Supplier<Readiness> readiness;
  private final List<String> roles;
  private final Deque<ObjectNode> series = new ArrayDeque<>();
  private OpenDiscrepancies.Follower follower;
  private CaptureCurrency currency;
  private Admin admin;
  private ScheduledExecutorService sampler;
  private volatile List<CaptureCurrency.SideWatermark> watermarks = List.of();
  private volatile long repairsDlq = -1;
  private volatile long changesDlq = -1;
  private long[] lastChanges = new long[2];
  private long lastSampleAt;

  public StatusModel(VerifierConfig config, String bootstrap, Metrics metrics, Supplier<Readiness> readiness,
      List<String> roles) {
    this.config = config;
    this.bootstrap = bootstrap;
    this.metrics = metrics;
    this.readiness = readiness;
    this.roles = List.copyOf(roles);
  }

  /** Starts following the topics and sampling. */
  public StatusModel start() {
    try {
      follower = OpenDiscrepancies.follow(config, bootstrap);
      currency = CaptureCurrency.open(config, bootstrap);
      admin = OpsKafka.admin(config, bootstrap, Duration.ofSeconds(10));
    } catch (RuntimeException e) {
      close(); // what did start must not outlive the failed start
      throw e;
    }
    sampler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "status-sampler");
      t.setDaemon(true);
      return t;
    });
    sampler.scheduleWithFixedDelay(this::sampleQuietly, 0, SAMPLE_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  public Readiness readiness() {
    return readiness.get();
  }

  private void sampleQuietly() {
    try {
      sample();
    } catch (RuntimeException | Error e) {
      // a scheduled task that throws is never run again: catch everything, the figures must not freeze
      // the page shows the last good figures; the next sample tries again
      LOG.warn("status sample failed: {}", e.toString());
    }
  }

  void sample() {
    long now = System.currentTimeMillis();
    long[] total = new long[2];
    for (TableConfig t : config.tables()) {
      long[] c = metrics.changes(t.name());
      total[0] += c[0];
      total[1] += c[1];
    }
    ObjectNode point = CheckJson.JSON.createObjectNode();
    point.put("t", now);
    ObjectNode rate = point.putObject("changesPerSec");
    for (Side side : Side.values()) {
      if (lastSampleAt == 0) {
        rate.putNull(side.id());
      } else {
        double secs = Math.max(0.001, (now - lastSampleAt) / 1000.0);
        rate.put(side.id(), Math.round((total[side.ordinal()] - lastChanges[side.ordinal()]) / secs * 10) / 10.0);
      }
    }
    long[] lags = metrics.recentConvergence();
    putPercentile(point, "convergenceP50Ms", lags, 0.50);
    putPercentile(point, "convergenceP99Ms", lags, 0.99);
    lastChanges = total;
    lastSampleAt = now;
    synchronized (series) {
      series.addLast(point);
      while (series.size() > SERIES) {
        series.removeFirst();
      }
    }
    updateOpenFigures(follower.board().summary(), now);
    watermarks = currency.read();
    repairsDlq = depth(config.topics().repairsDlq());
    changesDlq = depth(config.topics().changesDlq());
    // unknown (a broker hiccup): keep the last known depth rather than report an empty DLQ
    if (repairsDlq >= 0) {
      metrics.setTopicFigure("verifier.dlq.depth", Tags.of("topic", "repairs"), repairsDlq);
    }
    if (changesDlq >= 0) {
      metrics.setTopicFigure("verifier.dlq.depth", Tags.of("topic", "changes"), changesDlq);
    }
  }

  private void updateOpenFigures(Map<String, OpenDiscrepancies.TableSummary> open, long now) {
    for (TableConfig t : config.tables()) {
      OpenDiscrepancies.TableSummary sum = open.get(t.name());
      for (DiscrepancyKind k : DiscrepancyKind.values()) {
        if (k != DiscrepancyKind.RESOLVED) {
          metrics.setTopicFigure("verifier.discrepancies.open", Tags.of("table", t.name(), "kind", k.name()),
              sum == null ? 0 : sum.byKind().getOrDefault(k, 0));
        }
      }
      metrics.setTopicFigure("verifier.discrepancies.oldest.open.age", Tags.of("table", t.name()),
          sum == null || sum.oldestDetectedAt() == null ? 0 : Math.max(0, now - sum.oldestDetectedAt()) / 1000.0);
    }
  }

  /** Records on the topic now (end minus start offsets of every partition), or -1 when unknown. */
  private long depth(String topic) {
    try {
      List<TopicPartition> parts = OpsKafka.partitions(admin, topic, bootstrap);
      Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (TopicPartition tp : parts) {
        earliest.put(tp, OffsetSpec.earliest());
        latest.put(tp, OffsetSpec.latest());
      }
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> from =
          admin.listOffsets(earliest).all().get(10, TimeUnit.SECONDS);
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> to =
          admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
      long n = 0;
      for (TopicPartition tp : parts) {
        n += to.get(tp).offset() - from.get(tp).offset();
      }
      return n;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    } catch (Exception e) {
      LOG.debug("depth of {} unknown: {}", topic, e.toString());
      return -1;
    }
  }

  /** The {@code GET /api/status} document (its shape is documented in README). */
  public ObjectNode json() {
    long now = System.currentTimeMillis();
    ObjectNode root = CheckJson.JSON.createObjectNode();
    root.put("name", config.name());
    root.put("now", now);
    Readiness r = readiness();
    root.put("ready", r.ready());
    ArrayNode why = root.putArray("notReady");
    r.reasons().forEach(why::add);
    ArrayNode roleList = root.putArray("roles");
    roles.forEach(roleList::add);
    root.put("caughtUp", follower.caughtUp());
    OpenDiscrepancies board = follower.board();
    Map<String, OpenDiscrepancies.TableSummary> summary = board.summary();
    List<Discrepancy> open = board.open();
    ArrayNode tables = root.putArray("tables");
    for (TableConfig t : config.tables()) {
      tables.add(table(t.name(), summary.get(t.name()), now));
    }
    ArrayNode shown = root.putArray("open");
    for (Discrepancy d : open.subList(0, Math.min(OPEN_SHOWN, open.size()))) {
      try {
        shown.add(CheckJson.JSON.readTree(EventCodec.encode(d)));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e); // our own encoding reads back
      }
    }
    root.put("openTotal", board.openCount());
    ObjectNode dlq = root.putObject("dlq");
    putCount(dlq, "repairs", repairsDlq);
    putCount(dlq, "changes", changesDlq);
    ArrayNode wms = root.putArray("watermarks");
    for (CaptureCurrency.SideWatermark w : watermarks) {
      ObjectNode n = wms.addObject();
      n.put("side", w.side().id());
      n.put("partition", w.partition());
      if (w.watermark() == null) {
        n.putNull("watermark");
        n.putNull("lagMs");
      } else {
        n.put("watermark", w.watermark());
        n.put("lagMs", Math.max(0, now - w.watermark()));
      }
    }
    ArrayNode s = root.putArray("series");
    synchronized (series) {
      series.forEach(s::add);
    }
    return root;
  }

  private ObjectNode table(String name, OpenDiscrepancies.TableSummary open, long now) {
    ObjectNode n = CheckJson.JSON.createObjectNode();
    n.put("table", name);
    int openCount = open == null ? 0 : open.open();
    long pending = metrics.pending(name);
    n.put("state", openCount > 0 ? "open" : pending > 0 ? "pending" : "agree");
    n.put("open", openCount);
    n.put("pending", pending);
    ObjectNode kinds = n.putObject("openByKind");
    if (open != null) {
      open.byKind().entrySet().stream().sorted(Map.Entry.comparingByKey())
          .forEach(e -> kinds.put(e.getKey().name(), e.getValue()));
    }
    if (open == null || open.oldestDetectedAt() == null) {
      n.putNull("oldestOpenAgeMs");
    } else {
      n.put("oldestOpenAgeMs", Math.max(0, now - open.oldestDetectedAt()));
    }
    long[] c = metrics.changes(name);
    ObjectNode changes = n.putObject("changes");
    changes.put("source", c[0]);
    changes.put("target", c[1]);
    long[] lags = metrics.recentConvergence(name);
    ObjectNode conv = n.putObject("convergence");
    conv.put("count", lags.length);
    putPercentile(conv, "p50Ms", lags, 0.50);
    putPercentile(conv, "p99Ms", lags, 0.99);
    if (lags.length == 0) {
      conv.putNull("maxMs");
    } else {
      conv.put("maxMs", lags[lags.length - 1]);
    }
    return n;
  }

  private static void putPercentile(ObjectNode n, String field, long[] sorted, double q) {
    if (sorted.length == 0) {
      n.putNull(field);
    } else {
      n.put(field, sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)]);
    }
  }

  private static void putCount(ObjectNode n, String field, long v) {
    if (v < 0) {
      n.putNull(field);
    } else {
      n.put(field, v);
    }
  }

  @Override
  public void close() {
    if (sampler != null) {
      sampler.shutdownNow();
    }
    for (AutoCloseable c : new AutoCloseable[] {follower, currency, admin}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          LOG.debug("closing {}: {}", c, e.toString());
        }
      }
    }
  }
}
