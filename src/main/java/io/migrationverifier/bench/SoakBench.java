package io.migrationverifier.bench;

import io.migrationverifier.config.RocksDbSettings;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.verify.BoundedRocksDbConfig;
import io.migrationverifier.verify.VerifyStreamsConfig;
import io.migrationverifier.verify.VerifyTopology;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * The soak of issue 7 (bounded resources): the real verify role (its topology, its Streams
 * config with the bounded RocksDB memory) on the in-process broker, fed synthetic change events
 * of both sides at a steady rate for a fixed time, sampling every {@code --sample} seconds the
 * heap after a full GC, the process RSS ({@code VmRSS} of {@code /proc/self/status}), the state
 * directory's size, the shared RocksDB cache's usage, the memtables, and the events per second
 * produced and applied. Figures are printed (and written to {@code --out} as Markdown), never
 * judged: they go into BENCHMARKS.md / RELIABILITY.md.
 *
 * <p>Workload: {@code --keys} keys of one table, rows of 10 columns (~200 bytes canonical), each
 * change an upsert of a random key on the source and the same row on the target 20 ms later; 2 %
 * deletes (both sides), and 1 change in 1000 writes a different value to the target (a fault,
 * fixed by the key's next change, so it is usually reported then resolved). Watermarks of both
 * sides every 100 ms, window 1 s, exactly_once_v2, 4 partitions.
 *
 * <p>The broker and the producer run in the same JVM: heap and RSS include them. Run:
 * {@code java -Xmx1g -cp <classpath> io.migrationverifier.bench.SoakBench --minutes 30 --rate 2000}.
 */
public final class SoakBench {
  private static final int PARTITIONS = 4;
  private static final long LAG_MS = 20;
  private static final long WATERMARK_EVERY_MS = 100;
  private static final int FAULT_EVERY = 1000;
  private static final int DELETE_PERCENT = 2;

  private final double minutes;
  private final int rate;
  private final int keys;
  private final int sampleSeconds;
  private final RocksDbSettings rocksDb;
  private final Path out;
  private final PrintStream log;

  private final AtomicLong produced = new AtomicLong();
  private final VerifyCounts counts = new VerifyCounts();
  private final List<Sample> samples = new ArrayList<>();

  SoakBench(double minutes, int rate, int keys, int sampleSeconds, RocksDbSettings rocksDb, Path out, PrintStream log) {
    this.minutes = minutes;
    this.rate = rate;
    this.keys = keys;
    this.sampleSeconds = sampleSeconds;
    this.rocksDb = rocksDb;
    this.out = out;
    this.log = log;
  }

  /** One observation. Heap after a full GC; sizes in bytes; rates over the last interval. */
  record Sample(double minute, long heapAfterGc, long rss, long stateDir, long cacheUsage, long memtables,
      long produced, long applied, double producedPerSec, double appliedPerSec) {}

  public static void main(String[] args) throws Exception {
    double minutes = 30;
    int rate = 2000;
    int keys = 200_000;
    int sample = 30;
    long memory = RocksDbSettings.DEFAULT_MEMORY;
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--minutes" -> minutes = Double.parseDouble(v);
        case "--rate" -> rate = Integer.parseInt(v);
        case "--keys" -> keys = Integer.parseInt(v);
        case "--sample" -> sample = Integer.parseInt(v);
        case "--rocksdb-memory" -> memory = RocksDbSettings.parseSize(v);
        case "--out" -> out = Path.of(v);
        default -> throw new IllegalArgumentException("unknown argument " + a + "; expected --minutes N --rate"
            + " CHANGES_PER_SEC --keys N --sample SECONDS --rocksdb-memory SIZE --out FILE.md");
      }
      i++;
    }
    new SoakBench(minutes, rate, keys, sample,
        new RocksDbSettings(memory, RocksDbSettings.DEFAULT_WRITE_BUFFER_RATIO), out, System.out).run();
  }

  void run() throws Exception {
    Path work = Files.createTempDirectory("soak-bench");
    Path stateDir = work.resolve("state");
    VerifierConfig config = SyntheticChanges.config("soak", PARTITIONS, stateDir);
    log.printf(Locale.ROOT, "soak: %.1f min, %d changes/s (x2 sides), %d keys, rocksdb memory %s, sample every %d s%n",
        minutes, rate, keys, RocksDbSettings.formatSize(rocksDb.memoryBytes()), sampleSeconds);
    EmbeddedKafka broker = EmbeddedKafka.start(0, work.resolve("kafka"));
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "soak-sampler");
      t.setDaemon(true);
      return t;
    });
    KafkaStreams streams = null;
    try (Admin admin = OpsKafka.admin(config, broker.bootstrapServers());
        KafkaProducer<byte[], byte[]> producer = OpsKafka.producer(config, broker.bootstrapServers(), "soak")) {
      OpsKafka.ensureTopics(admin, config, broker.bootstrapServers());
      AtomicReference<Throwable> failed = new AtomicReference<>();
      streams = new KafkaStreams(VerifyTopology.build(config, counts),
          VerifyStreamsConfig.properties(config, broker.bootstrapServers(), rocksDb));
      streams.setUncaughtExceptionHandler(e -> {
        failed.compareAndSet(null, e);
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      streams.start();
      awaitRunning(streams, failed);
      KafkaStreams s = streams;
      long start = System.nanoTime();
      sample(s, stateDir, start);
      sampler.scheduleAtFixedRate(() -> sample(s, stateDir, start), sampleSeconds, sampleSeconds, TimeUnit.SECONDS);
      produce(new SyntheticChanges(config, producer, PARTITIONS), start, failed);
      awaitApplied(failed);
      sampler.shutdown();
      sampler.awaitTermination(30, TimeUnit.SECONDS);
      sample(s, stateDir, start);
    } finally {
      sampler.shutdownNow();
      if (streams != null) {
        streams.close(Duration.ofSeconds(30));
      }
      broker.close();
      deleteRecursively(work);
    }
    report();
  }

  /** A steady rate: every 10 ms, as many changes as the elapsed time calls for; watermarks every 100 ms. */
  private void produce(SyntheticChanges changes, long start, AtomicReference<Throwable> failed) throws Exception {
    SplittableRandom random = new SplittableRandom(7);
    long[] versions = new long[keys];
    long endNanos = start + (long) (minutes * 60e9);
    long sent = 0;
    long lastWatermark = 0;
    long lastCheck = System.nanoTime();
    while (System.nanoTime() < endNanos) {
      if (failed.get() != null) {
        throw new IllegalStateException("the verify role failed: " + failed.get(), failed.get());
      }
      long due = (long) ((System.nanoTime() - start) / 1e9 * rate);
      long ts = System.currentTimeMillis();
      for (; sent < due; sent++) {
        int k = random.nextInt(keys);
        long version = ++versions[k];
        if (random.nextInt(100) < DELETE_PERCENT) {
          changes.mirrored(k, null, ts, LAG_MS);
        } else if (sent % FAULT_EVERY == FAULT_EVERY - 1) {
          changes.change(Side.SOURCE, k, SyntheticChanges.row(k, version, 0), ts);
          changes.change(Side.TARGET, k, SyntheticChanges.row(k, version, 1), ts + LAG_MS);
        } else {
          changes.mirrored(k, SyntheticChanges.row(k, version, 0), ts, LAG_MS);
        }
        produced.addAndGet(2);
      }
      if (ts - lastWatermark >= WATERMARK_EVERY_MS) {
        // every change of a side up to these times has been sent (in order) already
        changes.watermark(Side.SOURCE, ts);
        changes.watermark(Side.TARGET, ts + LAG_MS);
        lastWatermark = ts;
      }
      if (System.nanoTime() - lastCheck > 1e9) {
        changes.checkCompleted();
        lastCheck = System.nanoTime();
      }
      Thread.sleep(10); // pacing of a steady producer, not a wait for a result
    }
    // a last pair of watermarks past every change, so all of them get applied
    long end = System.currentTimeMillis() + 5_000;
    changes.watermark(Side.SOURCE, end);
    changes.watermark(Side.TARGET, end);
    changes.check();
  }

  private void awaitApplied(AtomicReference<Throwable> failed) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (counts.applied.get() < produced.get() && System.nanoTime() < deadline && failed.get() == null) {
      Thread.sleep(200); // polling the applied counter, bounded by the deadline
    }
    if (counts.applied.get() < produced.get()) {
      log.printf(Locale.ROOT, "soak: only %d of %d events applied at the end%n", counts.applied.get(), produced.get());
    }
  }

  private static void awaitRunning(KafkaStreams streams, AtomicReference<Throwable> failed)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (streams.state() != KafkaStreams.State.RUNNING) {
      if (failed.get() != null || System.nanoTime() > deadline) {
        throw new IllegalStateException("the verify role did not start: " + streams.state(), failed.get());
      }
      Thread.sleep(50); // polling the state, bounded by the deadline
    }
  }

  private synchronized void sample(KafkaStreams streams, Path stateDir, long start) {
    try {
      System.gc();
      long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      long cache = BoundedRocksDbConfig.pools().stream().mapToLong(BoundedRocksDbConfig.Pool::usageBytes).sum();
      long memtables = RocksDbFigures.sumStoreMetric(streams, "cur-size-all-mem-tables");
      double minute = (System.nanoTime() - start) / 60e9;
      Sample prev = samples.isEmpty() ? null : samples.get(samples.size() - 1);
      long p = produced.get();
      long a = counts.applied.get();
      double dt = prev == null ? 0 : (minute - prev.minute()) * 60;
      Sample s = new Sample(minute, heap, RocksDbFigures.rss(), RocksDbFigures.directorySize(stateDir), cache,
          memtables, p, a, dt <= 0 ? 0 : (p - prev.produced()) / dt, dt <= 0 ? 0 : (a - prev.applied()) / dt);
      samples.add(s);
      log.printf(Locale.ROOT, "soak %5.1f min: heap after GC %s, RSS %s, state dir %s, rocksdb cache %s (memtables %s),"
              + " produced %d (%.0f/s), applied %d (%.0f/s), reported %d, resolved %d%n", s.minute(),
          mb(s.heapAfterGc()), mb(s.rss()), mb(s.stateDir()), mb(s.cacheUsage()), mb(s.memtables()), p,
          s.producedPerSec(), a, s.appliedPerSec(), counts.reported.get(), counts.resolved.get());
    } catch (RuntimeException e) {
      log.println("soak: sample failed: " + e);
    }
  }

  private static String mb(long bytes) {
    return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0);
  }

  private void report() throws IOException {
    if (samples.isEmpty()) {
      return;
    }
    Sample first = samples.get(0);
    Sample last = samples.get(samples.size() - 1);
    // the first sample is taken before any load: the steady state starts at the second
    Sample warm = samples.size() > 1 ? samples.get(1) : first;
    Comparator<Sample> byHeap = Comparator.comparingLong(Sample::heapAfterGc);
    Comparator<Sample> byRss = Comparator.comparingLong(Sample::rss);
    double minutesRun = last.minute();
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "Soak (%s): %.1f min at %d changes/s per side (%d events/s offered), %d keys,"
            + " rocksdb memory %s; JVM %s, max heap %s, %d cores.%n%n", Instant.now(), minutesRun, rate, 2 * rate, keys,
        RocksDbSettings.formatSize(rocksDb.memoryBytes()), System.getProperty("java.version"),
        mb(Runtime.getRuntime().maxMemory()), Runtime.getRuntime().availableProcessors()));
    md.append("| figure | first loaded sample | end | max |\n|---|---|---|---|\n");
    md.append(row("heap after full GC (broker + producer + verify)", warm.heapAfterGc(), last.heapAfterGc(),
        samples.stream().max(byHeap).orElseThrow().heapAfterGc()));
    md.append(row("RSS (VmRSS)", warm.rss(), last.rss(), samples.stream().max(byRss).orElseThrow().rss()));
    md.append(row("state dir (RocksDB + checkpoints)", warm.stateDir(), last.stateDir(),
        samples.stream().mapToLong(Sample::stateDir).max().orElse(0)));
    md.append(row("shared RocksDB cache usage (memtables included)", warm.cacheUsage(), last.cacheUsage(),
        samples.stream().mapToLong(Sample::cacheUsage).max().orElse(0)));
    md.append(row("memtables, all stores", warm.memtables(), last.memtables(),
        samples.stream().mapToLong(Sample::memtables).max().orElse(0)));
    double avgApplied = last.applied() / Math.max(1e-9, minutesRun * 60);
    md.append(String.format(Locale.ROOT, "%nEvents: %d produced, %d applied (%.0f/s on average over the run);"
            + " discrepancies reported %d, resolved %d; malformed or late %d. Before load: heap after GC %s, RSS %s.%n",
        last.produced(), last.applied(), avgApplied, counts.reported.get(), counts.resolved.get(),
        counts.anomalies.get(),
        mb(first.heapAfterGc()), mb(first.rss())));
    md.append("\n| minute | heap after GC | RSS | state dir | cache | memtables | produced/s | applied/s |\n");
    md.append("|---|---|---|---|---|---|---|---|\n");
    for (Sample s : samples) {
      md.append(String.format(Locale.ROOT, "| %.1f | %s | %s | %s | %s | %s | %.0f | %.0f |%n", s.minute(),
          mb(s.heapAfterGc()), mb(s.rss()), mb(s.stateDir()), mb(s.cacheUsage()), mb(s.memtables()),
          s.producedPerSec(), s.appliedPerSec()));
    }
    log.println();
    log.print(md);
    if (out != null) {
      Files.writeString(out, md.toString(), StandardCharsets.UTF_8);
    }
  }

  private static String row(String what, long first, long end, long max) {
    return "| " + what + " | " + mb(first) + " | " + mb(end) + " | " + mb(max) + " |\n";
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
