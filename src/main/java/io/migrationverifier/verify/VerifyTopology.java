package io.migrationverifier.verify;

import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.RowComparator;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.Topics;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.config.VerifySettings;
import io.migrationverifier.event.PiiMasker;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * Builds the verify topology from config alone: no I/O, no clients, so it can be described,
 * documented and run under TopologyTestDriver exactly as in production. Every node, store and
 * topic is named; internal topics are the stores' changelogs
 * ({@code <name>.verify-<store>-changelog}).
 *
 * <p>The repair role's {@code <name>.repairs.log} is a third input of the same processor, so it is
 * in the same sub-topology and its partition p goes to the task that owns partition p of the change
 * topics: it is keyed by the same canonical key bytes, so it is co-partitioned with them as long as
 * it has the same partition count ({@code TopicAdmin} checks that; Kafka Streams does not for
 * Processor API sources). It only labels {@code RESOLVED} events {@code repaired}; see
 * {@link VerifyProcessor}.
 */
public final class VerifyTopology {
  public static final String SOURCE_NODE = "source-changes";
  public static final String TARGET_NODE = "target-changes";
  public static final String REPAIRS_LOG_NODE = "repairs-log";
  public static final String VERIFY_NODE = "verify";
  public static final String DISCREPANCY_SINK = "discrepancies-sink";
  public static final String HEALTH_SINK = "health-sink";
  public static final String DLQ_SINK = "changes-dlq-sink";
  public static final String KEY_STATE_STORE = "verify-key-state";
  public static final String PENDING_STORE = "verify-pending";
  public static final String DEADLINE_STORE = "verify-deadlines";
  public static final String META_STORE = "verify-meta";
  public static final String REPAIRS_STORE = "verify-repairs";

  /**
   * What the processor needs of a table: its window (plus commit-time grace), its row comparator,
   * and its logical key columns (a change keyed by other columns is not a row of this table).
   */
  /** @param hashOnly {@code state: hash-only}: agreeing keys keep hashes only, no rows */
  record TableRules(long windowMs, RowComparator comparator, Set<String> keyColumns, boolean hashOnly) {}

  private VerifyTopology() {}

  public static Topology build(VerifierConfig config) {
    return build(config, VerifyListener.NONE);
  }

  public static Topology build(VerifierConfig config, VerifyListener listener) {
    Topics topics = config.topics();
    Canonicalizer canonicalizer = Canonicalizer.forConfig(config);
    // A side with whole-second commit times (MariaDB) may stamp a commit up to 999 ms early; the
    // grace keeps that truncation from shortening the window into false reports.
    long grace = Math.max(config.source().dialect().commitTimeResolutionMs(),
        config.target().dialect().commitTimeResolutionMs()) - 1;
    Map<String, TableRules> tables = new HashMap<>();
    for (TableConfig t : config.tables()) {
      tables.put(t.name(), new TableRules(t.effectiveWindow(config.verify()).toMillis() + grace,
          canonicalizer.comparator(t.name()).orElseThrow(), Set.copyOf(t.key()), t.hashOnly()));
    }
    String sourceTopic = topics.changes(Side.SOURCE);
    String targetTopic = topics.changes(Side.TARGET);
    String repairsLogTopic = topics.repairsLog();
    long stallMs = config.verify().stallThreshold().toMillis();
    PiiMasker pii = PiiMasker.forConfig(config);

    Topology topology = new Topology();
    topology.addSource(SOURCE_NODE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), sourceTopic);
    topology.addSource(TARGET_NODE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), targetTopic);
    topology.addSource(REPAIRS_LOG_NODE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), repairsLogTopic);
    // One processor for all three inputs: that is what puts them in one sub-topology, and so the
    // repairs of a key in the task that holds the key's state.
    topology.addProcessor(VERIFY_NODE,
        () -> new VerifyProcessor(sourceTopic, targetTopic, repairsLogTopic, Map.copyOf(tables), stallMs, listener,
            pii),
        SOURCE_NODE, TARGET_NODE, REPAIRS_LOG_NODE);
    // Per-key state is large and long-lived: RocksDB. Buffered changes and deadlines are transient
    // (a change waits only until both watermarks pass it): on the heap unless configured otherwise.
    // So are the remembered repairs: each lives only until its write is applied or expires.
    boolean buffersInRocksDb = VerifySettings.BUFFER_ROCKSDB.equals(config.verify().bufferStore());
    topology.addStateStore(store(KEY_STATE_STORE, true), VERIFY_NODE);
    topology.addStateStore(store(PENDING_STORE, buffersInRocksDb), VERIFY_NODE);
    topology.addStateStore(store(DEADLINE_STORE, buffersInRocksDb), VERIFY_NODE);
    topology.addStateStore(store(META_STORE, false), VERIFY_NODE);
    topology.addStateStore(store(REPAIRS_STORE, buffersInRocksDb), VERIFY_NODE);
    topology.addSink(DISCREPANCY_SINK, topics.discrepancies(), new ByteArraySerializer(), new ByteArraySerializer(),
        VERIFY_NODE);
    topology.addSink(HEALTH_SINK, topics.health(), new ByteArraySerializer(), new ByteArraySerializer(), VERIFY_NODE);
    topology.addSink(DLQ_SINK, topics.changesDlq(), new ByteArraySerializer(), new ByteArraySerializer(),
        VERIFY_NODE);
    return topology;
  }

  private static StoreBuilder<KeyValueStore<Bytes, byte[]>> store(String name, boolean rocksDb) {
    // Every store has a changelog (restored after a crash or rebalance); the record cache folds the
    // put-then-delete of short-lived entries before they reach the store and the changelog.
    return Stores.keyValueStoreBuilder(rocksDb ? Stores.persistentKeyValueStore(name)
            : Stores.inMemoryKeyValueStore(name), Serdes.Bytes(), Serdes.ByteArray())
        .withCachingEnabled()
        .withLoggingEnabled(Map.of());
  }
}
