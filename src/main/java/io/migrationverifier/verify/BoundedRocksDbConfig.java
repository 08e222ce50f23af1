package io.migrationverifier.verify;

import io.migrationverifier.config.RocksDbSettings;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.CompressionType;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.TableFormatConfig;
import org.rocksdb.WriteBufferManager;

/**
 * Caps the native memory of every RocksDB store of the verify role (the pattern of Kafka Streams'
 * memory-management guide, "BoundedMemoryRocksDBConfig"): all stores of the process share ONE
 * {@link LRUCache} of {@link RocksDbSettings#memoryBytes()} that also holds the index and filter
 * blocks (in its high-priority pool, so data blocks do not evict them), and ONE
 * {@link WriteBufferManager} that charges every memtable to that same cache and makes stores flush
 * once memtables take {@link RocksDbSettings#writeBufferBytes()}. The verifier's state therefore
 * costs about {@code verify.rocksdb-memory} of native memory however many partitions (stores) an
 * instance owns; by default every store would take a 50 MB cache and up to 3 x 16 MB of memtables
 * of its own, with index and filter blocks outside any bound.
 *
 * <p>Kafka Streams makes one instance of this class per store and calls {@link #close} when the
 * store closes (also on every rebalance). The shared objects are reference-counted across those
 * instances: the last store to close releases them, and the next store to open creates new ones.
 * Releasing the Java handles while a closing store's database is still open is safe: RocksDB holds
 * its own reference to the cache and the manager until the database itself is closed.
 *
 * <p>Stores also get LZ4 compression: state values repeat column names, and LZ4 makes the key
 * state about three times smaller on disk (measured by ResourcesIT), at a CPU cost in flushes and
 * compactions only.
 */
public final class BoundedRocksDbConfig implements RocksDBConfigSetter {
  /** Streams properties carrying the settings to the instances Kafka Streams creates itself. */
  static final String MEMORY_CONFIG = "migration-verifier.rocksdb.memory.bytes";
  static final String WRITE_BUFFER_RATIO_CONFIG = "migration-verifier.rocksdb.write-buffer.ratio";
  /** Share of the cache reserved for index and filter blocks (RocksDB's high-priority pool). */
  static final double HIGH_PRIORITY_POOL_RATIO = 0.1;
  /** Kafka Streams' own per-store default, kept as a ceiling: more per store only delays flushes. */
  private static final long MAX_STORE_WRITE_BUFFER = 16 * RocksDbSettings.MIB;
  private static final long BLOCK_SIZE = 4096;

  /** The live pools, one per distinct setting (a process normally has exactly one). */
  private static final Map<RocksDbSettings, Shared> POOLS = new HashMap<>();

  private Shared shared;

  /** Puts the setter and its settings into Kafka Streams properties. */
  public static void configure(Properties streamsProperties, RocksDbSettings settings) {
    // names, not objects: the properties may be copied as strings (Properties.getProperty)
    streamsProperties.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbConfig.class.getName());
    streamsProperties.put(MEMORY_CONFIG, Long.toString(settings.memoryBytes()));
    streamsProperties.put(WRITE_BUFFER_RATIO_CONFIG, Double.toString(settings.writeBufferRatio()));
  }

  @Override
  public void setConfig(String storeName, Options options, Map<String, Object> configs) {
    RocksDbSettings settings = settings(configs);
    TableFormatConfig format = options.tableFormatConfig();
    if (!(format instanceof BlockBasedTableConfig table)) {
      throw new IllegalStateException("store " + storeName + ": expected a block-based table format from Kafka Streams,"
          + " found " + (format == null ? "none" : format.getClass().getName()));
    }
    if (shared != null) {
      throw new IllegalStateException("store " + storeName + ": configured twice by the same setter instance");
    }
    shared = acquire(settings);
    // Modify Streams' table config rather than a new one: Streams reads the cache back from it for its metrics.
    table.setBlockCache(shared.cache);
    table.setCacheIndexAndFilterBlocks(true);
    table.setCacheIndexAndFilterBlocksWithHighPriority(true);
    // The top-level index and filter stay pinned: tiny, and touched by every read.
    table.setPinTopLevelIndexAndFilter(true);
    table.setBlockSize(BLOCK_SIZE);
    options.setTableFormatConfig(table);
    options.setWriteBufferManager(shared.writeBuffers);
    options.setWriteBufferSize(Math.min(MAX_STORE_WRITE_BUFFER, Math.max(RocksDbSettings.MIB,
        settings.writeBufferBytes() / 4)));
    options.setCompressionType(CompressionType.LZ4_COMPRESSION);
  }

  @Override
  public void close(String storeName, Options options) {
    Shared s = shared;
    shared = null;
    if (s != null) {
      release(s);
    }
  }

  private static RocksDbSettings settings(Map<String, Object> configs) {
    Object memory = configs.get(MEMORY_CONFIG);
    Object ratio = configs.get(WRITE_BUFFER_RATIO_CONFIG);
    if (memory == null || ratio == null) {
      // the setter was named in a config that did not come from VerifyStreamsConfig
      return RocksDbSettings.DEFAULTS;
    }
    try {
      return new RocksDbSettings(Long.parseLong(memory.toString()), Double.parseDouble(ratio.toString()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(MEMORY_CONFIG + "=" + memory + " / " + WRITE_BUFFER_RATIO_CONFIG + "=" + ratio
          + ": not numbers; set them with BoundedRocksDbConfig.configure", e);
    }
  }

  private static synchronized Shared acquire(RocksDbSettings settings) {
    Shared s = POOLS.computeIfAbsent(settings, Shared::new);
    s.stores++;
    return s;
  }

  private static synchronized void release(Shared s) {
    if (--s.stores == 0) {
      POOLS.remove(s.settings, s);
      // the manager first: it holds a reference to the cache
      s.writeBuffers.close();
      s.cache.close();
    }
  }

  /** The pools in use right now: what the process's RocksDB stores draw on (for metrics, tests, the soak). */
  public static synchronized List<Pool> pools() {
    List<Pool> out = new ArrayList<>();
    for (Shared s : POOLS.values()) {
      out.add(new Pool(s.settings, s.stores, s.cache.getUsage(), s.cache.getPinnedUsage()));
    }
    return out;
  }

  /**
   * One shared cache: its settings, how many open stores use it, and its usage as RocksDB reports it
   * (memtables included, charged by the write-buffer manager).
   */
  public record Pool(RocksDbSettings settings, int stores, long usageBytes, long pinnedBytes) {}

  /** Visible to tests in this package: the objects a store was given. */
  Cache sharedCache() {
    return shared == null ? null : shared.cache;
  }

  WriteBufferManager sharedWriteBufferManager() {
    return shared == null ? null : shared.writeBuffers;
  }

  static synchronized boolean isReleased(Cache cache) {
    return POOLS.values().stream().noneMatch(s -> s.cache == cache);
  }

  private static final class Shared {
    final RocksDbSettings settings;
    final Cache cache;
    final WriteBufferManager writeBuffers;
    int stores;

    Shared(RocksDbSettings settings) {
      this.settings = settings;
      // not a strict limit: at the cap RocksDB would fail reads and writes (Incomplete) instead of
      // overshooting a little, and a verifier that stops is worse than a few MB over budget
      this.cache = new LRUCache(settings.memoryBytes(), -1, false, HIGH_PRIORITY_POOL_RATIO);
      this.writeBuffers = new WriteBufferManager(settings.writeBufferBytes(), cache);
    }
  }
}
