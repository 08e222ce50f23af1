package io.migrationverifier.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the verify role. {@code window} is how long the two sides may disagree on a key
 * (in event time) before it is a discrepancy; {@code stallThreshold} is how far one side's
 * watermark may trail the other's before a {@code SIDE_STALLED} health event. {@code bufferStore}
 * says where changes wait for the other side's watermark, and deadlines wait to fire:
 * {@code memory} (default; both are transient, typically a window's worth of changes) or
 * {@code rocksdb} (slower, but a side that stalls for hours under heavy writes on the other side
 * does not fill the heap). Both are restored from changelog topics after a crash.
 * {@code piiKey} keys the hash of columns with {@code pii: hash} (empty when none uses it).
 */
public record VerifySettings(
    Duration window,
    Duration stallThreshold,
    String processingGuarantee,
    Path stateDir,
    int numStandbyReplicas,
    int numStreamThreads,
    Duration commitInterval,
    TimePrecision timestampPrecision,
    String bufferStore,
    Secret piiKey,
    RocksDbSettings rocksDb) {

  public static final String EXACTLY_ONCE_V2 = "exactly_once_v2";
  public static final String AT_LEAST_ONCE = "at_least_once";
  /** Buffered changes and deadlines on the heap (with changelogs): fast; see {@link #bufferStore}. */
  public static final String BUFFER_MEMORY = "memory";
  /** Buffered changes and deadlines in RocksDB: for sides expected to stall for long under heavy writes. */
  public static final String BUFFER_ROCKSDB = "rocksdb";

  public VerifySettings {
    piiKey = piiKey == null ? Secret.EMPTY : piiKey;
    rocksDb = rocksDb == null ? RocksDbSettings.DEFAULTS : rocksDb;
  }

  /** With the default RocksDB memory budget. */
  public VerifySettings(Duration window, Duration stallThreshold, String processingGuarantee, Path stateDir,
      int numStandbyReplicas, int numStreamThreads, Duration commitInterval, TimePrecision timestampPrecision,
      String bufferStore, Secret piiKey) {
    this(window, stallThreshold, processingGuarantee, stateDir, numStandbyReplicas, numStreamThreads, commitInterval,
        timestampPrecision, bufferStore, piiKey, RocksDbSettings.DEFAULTS);
  }

  /** Without a PII key (no column hashed). */
  public VerifySettings(Duration window, Duration stallThreshold, String processingGuarantee, Path stateDir,
      int numStandbyReplicas, int numStreamThreads, Duration commitInterval, TimePrecision timestampPrecision,
      String bufferStore) {
    this(window, stallThreshold, processingGuarantee, stateDir, numStandbyReplicas, numStreamThreads, commitInterval,
        timestampPrecision, bufferStore, Secret.EMPTY, RocksDbSettings.DEFAULTS);
  }

  /** Creates a copy with another state directory (demo, tests, benchmarks). */
  public VerifySettings withStateDir(Path dir) {
    return new VerifySettings(window, stallThreshold, processingGuarantee, dir, numStandbyReplicas, numStreamThreads,
        commitInterval, timestampPrecision, bufferStore, piiKey, rocksDb);
  }
}
