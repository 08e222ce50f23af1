package io.migrationverifier.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.migrationverifier.bench.RocksDbFigures;
import io.migrationverifier.bench.SyntheticChanges;
import io.migrationverifier.bench.VerifyCounts;
import io.migrationverifier.config.RocksDbSettings;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.verify.BoundedRocksDbConfig;
import io.migrationverifier.verify.VerifyStreamsConfig;
import io.migrationverifier.verify.VerifyTopology;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 7, bounded resources, on the real verify role (its topology and Streams config) and the
 * in-process broker: {@value #KEYS} keys agreeing on both sides (rows of 10 columns, ~200 bytes
 * canonical), with a small RocksDB budget.
 * <ul>
 *   <li>While it runs, RocksDB's own figures, read through Kafka Streams' metrics, stay within the
 *       configured bound: the block cache every store reports is the one shared cache at the
 *       configured capacity, its usage (memtables included) stays under it, and the memtables of
 *       all stores together stay under the write-buffer share. Without the setter each store
 *       keeps up to 16 MB of memtables of its own and the data here would exceed both bounds.</li>
 *   <li>Afterwards, the bytes the {@code verify-key-state} store holds per agreeing key (logical:
 *       key + value as stored; physical: SST files after a full compaction) are measured against
 *       the canonical row's size: an agreeing key holds at most one copy of its row.</li>
 * </ul>
 * The figures are logged for RELIABILITY.md; only the bounds are asserted.
 */
@Timeout(300)
class ResourcesIT {
  private static final Logger LOG = LoggerFactory.getLogger(ResourcesIT.class);
  private static final int PARTITIONS = 4;
  private static final int KEYS = 100_000;
  private static final RocksDbSettings BUDGET = new RocksDbSettings(16 * RocksDbSettings.MIB, 0.25);
  /** RocksDB overshoots its cache by up to a dummy entry or a block per shard: a little, never per store. */
  private static final long SLACK = 2 * RocksDbSettings.MIB;

  static EmbeddedKafka broker;
  static Path work;

  @BeforeAll
  static void start() throws IOException {
    broker = EmbeddedKafka.start(0, null);
    work = Files.createTempDirectory("resources-it");
  }

  @AfterAll
  static void stop() throws IOException {
    if (broker != null) {
      broker.close();
    }
    if (work != null) {
      try (Stream<Path> files = Files.walk(work)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  @Test
  void rocksDbMemoryStaysWithinTheSharedBudgetAndAnAgreeingKeyHoldsOneRow() throws Exception {
    Path stateDir = work.resolve("state");
    VerifierConfig config = SyntheticChanges.config("resources", PARTITIONS, stateDir);
    VerifyCounts counts = new VerifyCounts();
    produceAgreeingKeys(config, KEYS);

    Properties props = VerifyStreamsConfig.properties(config, broker.bootstrapServers(), BUDGET);
    assertThat(props.get(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG))
        .isEqualTo(BoundedRocksDbConfig.class.getName());
    KafkaStreams streams = new KafkaStreams(VerifyTopology.build(config, counts), props);
    AtomicReference<Throwable> failed = new AtomicReference<>();
    streams.setUncaughtExceptionHandler(e -> {
      failed.compareAndSet(null, e);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    List<long[]> readings = new ArrayList<>(); // {cache usage, cache capacity, memtables, stores}
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    long started = System.nanoTime();
    try {
      streams.start();
      sampler.scheduleAtFixedRate(() -> {
        long[] r = {RocksDbFigures.maxStoreMetric(streams, "block-cache-usage"),
            RocksDbFigures.maxStoreMetric(streams, "block-cache-capacity"),
            RocksDbFigures.sumStoreMetric(streams, "cur-size-all-mem-tables"),
            RocksDbFigures.countStoreMetric(streams, "block-cache-capacity")};
        synchronized (readings) {
          readings.add(r);
        }
      }, 0, 50, TimeUnit.MILLISECONDS);
      await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(100))
          .until(() -> failed.get() != null || counts.applied.get() >= 2L * KEYS);
      assertThat(failed.get()).as("the verify role failed").isNull();
      sampler.shutdown();
      assertThat(sampler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      assertThat(BoundedRocksDbConfig.pools()).as("one pool, shared by the %d key-state stores", PARTITIONS)
          .singleElement().satisfies(p -> {
            assertThat(p.settings()).isEqualTo(BUDGET);
            assertThat(p.stores()).isEqualTo(PARTITIONS);
          });
    } finally {
      sampler.shutdownNow();
      streams.close(Duration.ofSeconds(60));
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    assertThat(counts.reported.get()).as("every key agrees").isZero();
    assertThat(counts.anomalies.get()).as("no malformed record, no late change").isZero();
    assertThat(BoundedRocksDbConfig.pools()).as("the last store to close released the shared cache").isEmpty();

    long maxUsage = readings.stream().mapToLong(r -> r[0]).max().orElseThrow();
    long maxMemtables = readings.stream().mapToLong(r -> r[2]).max().orElseThrow();
    assertThat(readings).as("RocksDB metrics were read while the stores were open").anyMatch(r -> r[3] == PARTITIONS);
    // (a store registers its metrics just before its database opens: those first readings are 0)
    assertThat(readings).filteredOn(r -> r[1] > 0).isNotEmpty().allSatisfy(r -> assertThat(r[1])
        .as("every store reports the shared cache at the configured capacity").isEqualTo(BUDGET.memoryBytes()));
    assertThat(maxMemtables).as("memtables were in use (the reading is live)").isPositive();
    assertThat(maxUsage).as("block cache usage, memtables charged to it included")
        .isLessThanOrEqualTo(BUDGET.memoryBytes() + SLACK);
    assertThat(maxMemtables).as("memtables of all stores together")
        .isLessThanOrEqualTo(BUDGET.writeBufferBytes() + SLACK);

    // ---- state bytes per agreeing key -------------------------------------------------------
    StoreSize size = keyStateSize(stateDir.resolve(config.topics().verifyApplicationId()));
    long changelog = changelogBytes(config.topics().verifyApplicationId() + "-" + VerifyTopology.KEY_STATE_STORE
        + "-changelog");
    int rowJson = SyntheticChanges.rowJsonBytes(SyntheticChanges.row(KEYS / 2, 1, 0));
    double logicalPerKey = (double) (size.keyBytes + size.valueBytes) / size.keys;
    double valuePerKey = (double) size.valueBytes / size.keys;
    double physicalPerKey = (double) size.sstBytes / size.keys;
    LOG.info(String.format(Locale.ROOT, "resources: %d keys (%d events) in %.1f s; max block cache usage %.1f MB of"
            + " %.0f MB, max memtables %.1f MB of %.0f MB; verify-key-state: %d keys, key %.0f B + value %.0f B ="
            + " %.0f B per key logical, %.0f B per key on disk (LZ4, compacted), changelog %.0f B per key (not"
            + " compacted yet); canonical row JSON %d B",
        KEYS, 2 * KEYS, seconds, maxUsage / 1048576.0, BUDGET.memoryBytes() / 1048576.0, maxMemtables / 1048576.0,
        BUDGET.writeBufferBytes() / 1048576.0, size.keys, (double) size.keyBytes / size.keys, valuePerKey,
        logicalPerKey, physicalPerKey, (double) changelog / KEYS, rowJson));
    assertThat(size.keys).as("one state entry per agreeing key").isEqualTo(KEYS);
    // one row in the binary encoding (lengths instead of JSON punctuation) plus presence flags and
    // the hash; a second copy of the row would add another ~rowJson bytes
    assertThat(valuePerKey).as("value bytes per agreeing key: at most one copy of its row")
        .isLessThan(rowJson + 100);
  }

  /**
   * {@code state: hash-only}: the same agreeing rows cost flags and a hash per key (goal: at most
   * 100 bytes plus the key), whatever the row's size.
   */
  @Test
  void aHashOnlyTableHoldsAtMostAHundredBytesPerAgreeingKeyPlusTheKey() throws Exception {
    int keys = 20_000;
    Path stateDir = work.resolve("state-hash-only");
    VerifierConfig config = SyntheticChanges.config("resources-hash", PARTITIONS, stateDir, "hash-only");
    VerifyCounts counts = new VerifyCounts();
    produceAgreeingKeys(config, keys);
    KafkaStreams streams = new KafkaStreams(VerifyTopology.build(config, counts),
        VerifyStreamsConfig.properties(config, broker.bootstrapServers(), BUDGET));
    AtomicReference<Throwable> failed = new AtomicReference<>();
    streams.setUncaughtExceptionHandler(e -> {
      failed.compareAndSet(null, e);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    try {
      streams.start();
      await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(100))
          .until(() -> failed.get() != null || counts.applied.get() >= 2L * keys);
      assertThat(failed.get()).as("the verify role failed").isNull();
    } finally {
      streams.close(Duration.ofSeconds(60));
    }
    assertThat(counts.reported.get()).as("every key agrees").isZero();
    StoreSize size = keyStateSize(stateDir.resolve(config.topics().verifyApplicationId()));
    int rowJson = SyntheticChanges.rowJsonBytes(SyntheticChanges.row(keys / 2, 1, 0));
    double keyPerKey = (double) size.keyBytes / size.keys;
    double valuePerKey = (double) size.valueBytes / size.keys;
    LOG.info(String.format(Locale.ROOT, "resources (state: hash-only): verify-key-state: %d keys, key %.0f B + value"
            + " %.0f B = %.0f B per key logical, %.0f B per key on disk (LZ4, compacted); canonical row JSON %d B",
        size.keys, keyPerKey, valuePerKey, keyPerKey + valuePerKey, (double) size.sstBytes / size.keys, rowJson));
    assertThat(size.keys).as("one state entry per agreeing key").isEqualTo(keys);
    assertThat(valuePerKey).as("value bytes per agreeing key of a hash-only table").isLessThanOrEqualTo(100);
  }

  /** Both change topics with {@code keys} rows that agree (the target 5 ms behind), then watermarks past them. */
  private static void produceAgreeingKeys(VerifierConfig config, int keys) throws Exception {
    long t = System.currentTimeMillis();
    try (Admin admin = OpsKafka.admin(config, broker.bootstrapServers());
        KafkaProducer<byte[], byte[]> producer = OpsKafka.producer(config, broker.bootstrapServers(), "resources")) {
      OpsKafka.ensureTopics(admin, config, broker.bootstrapServers());
      SyntheticChanges changes = new SyntheticChanges(config, producer, PARTITIONS);
      changes.watermark(Side.SOURCE, t - 1);
      changes.watermark(Side.TARGET, t - 1);
      for (int k = 0; k < keys; k++) {
        changes.mirrored(k, SyntheticChanges.row(k, 1, 0), t + k / 100, 5);
      }
      long end = t + keys / 100 + 1_000;
      changes.watermark(Side.SOURCE, end);
      changes.watermark(Side.TARGET, end);
      changes.check();
    }
  }

  /** Bytes of a topic's partitions on the broker's disk (a figure for the report, not asserted). */
  private static long changelogBytes(String topic) throws Exception {
    try (Admin admin = Admin.create(java.util.Map.of("bootstrap.servers", broker.bootstrapServers()))) {
      List<Integer> brokers = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).stream()
          .map(org.apache.kafka.common.Node::id).toList();
      return admin.describeLogDirs(brokers).allDescriptions().get(30, TimeUnit.SECONDS).values().stream()
          .flatMap(dirs -> dirs.values().stream())
          .flatMap(dir -> dir.replicaInfos().entrySet().stream())
          .filter(e -> e.getKey().topic().equals(topic))
          .mapToLong(e -> e.getValue().size()).sum();
    }
  }

  record StoreSize(long keys, long keyBytes, long valueBytes, long sstBytes) {}

  /** Every partition's {@code verify-key-state}, opened after Streams closed it, compacted, then read. */
  private static StoreSize keyStateSize(Path appDir) throws Exception {
    long keys = 0;
    long keyBytes = 0;
    long valueBytes = 0;
    long sst = 0;
    List<Path> stores;
    try (Stream<Path> dirs = Files.walk(appDir, 3)) {
      stores = dirs.filter(d -> d.getFileName().toString().equals(VerifyTopology.KEY_STATE_STORE)
          && d.getParent().getFileName().toString().equals("rocksdb")).toList();
    }
    assertThat(stores).as("key-state stores under %s", appDir).hasSize(PARTITIONS);
    RocksDB.loadLibrary();
    for (Path store : stores) {
      // Kafka Streams 4 keeps its changelog offsets in a second column family ("offsets"): open
      // every family, measure the default one (the state itself)
      List<ColumnFamilyDescriptor> families = new ArrayList<>();
      try (Options options = new Options()) {
        for (byte[] name : RocksDB.listColumnFamilies(options, store.toString())) {
          families.add(new ColumnFamilyDescriptor(name,
              new ColumnFamilyOptions().setCompressionType(CompressionType.LZ4_COMPRESSION)));
        }
      }
      List<ColumnFamilyHandle> handles = new ArrayList<>();
      try (DBOptions options = new DBOptions();
          RocksDB db = RocksDB.open(options, store.toString(), families, handles)) {
        ColumnFamilyHandle state = handles.get(0);
        assertThat(new String(families.get(0).getName(), StandardCharsets.UTF_8)).isEqualTo("default");
        db.compactRange(state);
        sst += db.getLongProperty(state, "rocksdb.total-sst-files-size");
        try (RocksIterator it = db.newIterator(state)) {
          for (it.seekToFirst(); it.isValid(); it.next()) {
            keys++;
            keyBytes += it.key().length;
            valueBytes += it.value().length;
          }
        }
        handles.forEach(ColumnFamilyHandle::close);
      } finally {
        families.forEach(f -> f.getOptions().close());
      }
    }
    return new StoreSize(keys, keyBytes, valueBytes, sst);
  }
}
