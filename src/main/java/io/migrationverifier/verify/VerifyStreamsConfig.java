package io.migrationverifier.verify;

import io.migrationverifier.config.RocksDbSettings;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.config.VerifySettings;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;

/** The Kafka Streams settings of the verify role, derived from config. */
public final class VerifyStreamsConfig {
  private VerifyStreamsConfig() {}

  public static Properties properties(VerifierConfig config, String bootstrapServers) {
    return properties(config, bootstrapServers, config.verify().rocksDb());
  }

  /** With an explicit RocksDB memory budget: shared by every store of the process ({@link BoundedRocksDbConfig}). */
  public static Properties properties(VerifierConfig config, String bootstrapServers, RocksDbSettings rocksDb) {
    VerifySettings v = config.verify();
    Properties p = new Properties();
    // client passthrough first (SASL, SSL, ...), so the settings below that correctness depends on win
    config.kafka().properties().forEach(p::setProperty);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.topics().verifyApplicationId());
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    // exactly_once_v2 by default: after a crash nothing is reported twice and nothing is lost
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, v.processingGuarantee());
    p.put(StreamsConfig.STATE_DIR_CONFIG, v.stateDir().toString());
    p.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, v.numStandbyReplicas());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, v.numStreamThreads());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, v.commitInterval().toMillis());
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.kafka().replicationFactor());
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
    // The processor orders the two sides by watermarks itself; Streams' wait for data on every
    // input partition (to align record timestamps) would only add latency.
    p.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, -1L);
    // a new deployment compares the change topics from their start (the snapshot is the baseline)
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // one block cache and write-buffer manager for every store: native memory bounded per process
    BoundedRocksDbConfig.configure(p, rocksDb);
    return p;
  }
}
