package io.migrationverifier.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migrationverifier.config.RocksDbSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.state.internals.BlockBasedTableConfigWithAccessibleCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.CompressionType;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteBufferManager;

/**
 * The setter on real RocksDB databases, driven the way Kafka Streams' RocksDBStore drives it: one
 * setter instance per store, Options prepared with Streams' own table config (own 50 MB cache),
 * {@code setConfig} before open, {@code close(store, options)} BEFORE the database closes.
 */
class BoundedRocksDbConfigTest {
  private static final RocksDbSettings SMALL = new RocksDbSettings(16 * RocksDbSettings.MIB, 0.25);

  @TempDir
  Path dir;

  /** One store as RocksDBStore builds it. */
  private final class Store {
    final BoundedRocksDbConfig setter = new BoundedRocksDbConfig();
    final Options options = new Options().setCreateIfMissing(true);
    final BlockBasedTableConfigWithAccessibleCache table = new BlockBasedTableConfigWithAccessibleCache();
    final Cache streamsDefaultCache = new LRUCache(50L << 20);
    final String name;
    RocksDB db;

    Store(String name, Map<String, Object> configs) throws Exception {
      this.name = name;
      table.setBlockCache(streamsDefaultCache);
      options.setTableFormatConfig(table);
      setter.setConfig(name, options, configs);
      db = RocksDB.open(options, Files.createDirectories(dir.resolve(name)).toString());
    }

    void close() {
      setter.close(name, options); // Streams' order: the setter first, then the database
      db.close();
      options.close();
      streamsDefaultCache.close();
    }
  }

  private static Map<String, Object> configs(RocksDbSettings s) {
    Properties p = new Properties();
    BoundedRocksDbConfig.configure(p, s);
    Map<String, Object> m = new HashMap<>();
    p.forEach((k, v) -> m.put((String) k, v));
    return m;
  }

  @Test
  void everyStoreGetsTheSameCacheAndWriteBufferManagerSizedFromTheSettings() throws Exception {
    Map<String, Object> configs = configs(SMALL);
    assertThat(configs).containsEntry(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG,
        BoundedRocksDbConfig.class.getName());
    List<Store> stores = new ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        stores.add(new Store("verify-key-state-" + i, configs));
      }
      Cache cache = stores.get(0).setter.sharedCache();
      WriteBufferManager wbm = stores.get(0).setter.sharedWriteBufferManager();
      assertThat(cache).isNotNull().isNotSameAs(stores.get(0).streamsDefaultCache);
      for (Store s : stores) {
        assertThat(s.setter.sharedCache()).isSameAs(cache);
        assertThat(s.table.blockCache()).as("Streams' metrics read the cache back from here").isSameAs(cache);
        assertThat(s.setter.sharedWriteBufferManager()).isSameAs(wbm);
        assertThat(s.options.writeBufferManager()).isSameAs(wbm);
        assertThat(s.table.cacheIndexAndFilterBlocks()).isTrue();
        assertThat(s.table.cacheIndexAndFilterBlocksWithHighPriority()).isTrue();
        assertThat(s.options.compressionType()).isEqualTo(CompressionType.LZ4_COMPRESSION);
        assertThat(s.options.writeBufferSize()).isEqualTo(SMALL.writeBufferBytes() / 4);
      }
      assertThat(BoundedRocksDbConfig.pools()).singleElement().satisfies(p -> {
        assertThat(p.settings()).isEqualTo(SMALL);
        assertThat(p.stores()).isEqualTo(4);
      });

      // Writes go through the write-buffer manager, which charges memtables to the shared cache:
      // the cache's usage shows every store's memtables, and stays near the configured capacity.
      long before = cache.getUsage();
      byte[] value = "x".repeat(200).getBytes(StandardCharsets.UTF_8);
      for (int k = 0; k < 40_000; k++) {
        stores.get(k % 4).db.put(("key-" + k).getBytes(StandardCharsets.UTF_8), value);
      }
      long usage = cache.getUsage();
      long memtables = 0;
      for (Store s : stores) {
        memtables += s.db.getLongProperty("rocksdb.cur-size-all-mem-tables");
      }
      assertThat(memtables).as("written, not yet all flushed").isGreaterThan(RocksDbSettings.MIB);
      assertThat(usage).as("the memtables of all four stores are charged to the one cache")
          .isGreaterThanOrEqualTo(before + memtables);
      assertThat(usage).as("bounded by the configured capacity (plus RocksDB's small overshoot)")
          .isLessThan(SMALL.memoryBytes() + 2 * RocksDbSettings.MIB);
      assertThat(memtables).as("memtables of all stores together, flushed at the manager's size")
          .isLessThanOrEqualTo(SMALL.writeBufferBytes() + 2 * RocksDbSettings.MIB);
    } finally {
      stores.forEach(Store::close);
    }
  }

  @Test
  void theSharedCacheOutlivesEveryStoreButTheLastAndIsRenewedAfterwards() throws Exception {
    Map<String, Object> configs = configs(SMALL);
    Store a = new Store("a", configs);
    Store b = new Store("b", configs);
    Store c = new Store("c", configs);
    Cache cache = a.setter.sharedCache();
    byte[] k = "k".getBytes(StandardCharsets.UTF_8);
    a.close();
    b.close();
    assertThat(BoundedRocksDbConfig.isReleased(cache)).as("still used by c").isFalse();
    assertThat(BoundedRocksDbConfig.pools()).singleElement().satisfies(p -> assertThat(p.stores()).isEqualTo(1));
    // c keeps working on the shared cache after the others closed: the cache was not closed under it
    c.db.put(k, "v".getBytes(StandardCharsets.UTF_8));
    c.db.flush(new org.rocksdb.FlushOptions().setWaitForFlush(true));
    assertThat(c.db.get(k)).isEqualTo("v".getBytes(StandardCharsets.UTF_8));
    assertThat(cache.getUsage()).isPositive();
    c.close();
    assertThat(BoundedRocksDbConfig.isReleased(cache)).as("the last store released it").isTrue();
    assertThat(BoundedRocksDbConfig.pools()).isEmpty();

    // a store opened later (a rebalance gives the partition back) gets a fresh pool
    Store d = new Store("a", configs);
    try {
      assertThat(d.setter.sharedCache()).isNotNull().isNotSameAs(cache);
      assertThat(d.db.get(k)).isNull();
      d.db.put(k, "w".getBytes(StandardCharsets.UTF_8));
      assertThat(d.db.get(k)).isEqualTo("w".getBytes(StandardCharsets.UTF_8));
    } finally {
      d.close();
    }
    assertThat(BoundedRocksDbConfig.pools()).isEmpty();
  }

  @Test
  void closingTwiceOrWithoutConfigReleasesNothingElse() throws Exception {
    Map<String, Object> configs = configs(SMALL);
    Store a = new Store("a", configs);
    Store b = new Store("b", configs);
    a.setter.close("a", a.options);
    a.setter.close("a", a.options); // a second close must not take b's reference
    new BoundedRocksDbConfig().close("never-configured", a.options);
    assertThat(BoundedRocksDbConfig.pools()).singleElement().satisfies(p -> assertThat(p.stores()).isEqualTo(1));
    a.db.close();
    a.options.close();
    a.streamsDefaultCache.close();
    b.close();
    assertThat(BoundedRocksDbConfig.pools()).isEmpty();
  }

  @Test
  void settingsAreValidatedAndSizesParsed() {
    assertThat(RocksDbSettings.parseSize("128MB")).isEqualTo(128L << 20);
    assertThat(RocksDbSettings.parseSize("1 GiB")).isEqualTo(1L << 30);
    assertThat(RocksDbSettings.parseSize("512kb")).isEqualTo(512L << 10);
    assertThat(RocksDbSettings.parseSize("1048576")).isEqualTo(1L << 20);
    assertThat(RocksDbSettings.formatSize(128L << 20)).isEqualTo("128MB");
    assertThatThrownBy(() -> RocksDbSettings.parseSize("lots")).hasMessageContaining("128MB");
    assertThatThrownBy(() -> new RocksDbSettings(RocksDbSettings.MIB, 0.5)).hasMessageContaining("minimum 8MB");
    assertThatThrownBy(() -> new RocksDbSettings(64 * RocksDbSettings.MIB, 0.95))
        .hasMessageContaining("rocksdb-write-buffer-ratio");
    // a setter named in a config without our keys falls back to the defaults rather than failing
    Options o = new Options();
    BlockBasedTableConfig t = new BlockBasedTableConfigWithAccessibleCache();
    o.setTableFormatConfig(t);
    BoundedRocksDbConfig setter = new BoundedRocksDbConfig();
    setter.setConfig("x", o, Map.of());
    try {
      assertThat(BoundedRocksDbConfig.pools())
          .anySatisfy(p -> assertThat(p.settings()).isEqualTo(RocksDbSettings.DEFAULTS));
    } finally {
      setter.close("x", o);
      o.close();
    }
  }
}
