package io.migrationverifier.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;

/** Readings of a running verify role's memory and state, for the soak and the resources test. */
public final class RocksDbFigures {
  /** Kafka Streams' group of the RocksDB property metrics (block-cache-usage, cur-size-all-mem-tables, ...). */
  public static final String STATE_GROUP = "stream-state-metrics";

  private RocksDbFigures() {}

  /** The sum of one RocksDB property metric over every store (memtables, SST sizes, key estimates). */
  public static long sumStoreMetric(KafkaStreams streams, String name) {
    return streams.metrics().entrySet().stream().filter(e -> matches(e, name))
        .mapToLong(e -> ((Number) e.getValue().metricValue()).longValue()).sum();
  }

  /**
   * The largest value of one metric over every store: for the block cache, which every store
   * reports in full when they share it (a sum would count it once per store).
   */
  public static long maxStoreMetric(KafkaStreams streams, String name) {
    return streams.metrics().entrySet().stream().filter(e -> matches(e, name))
        .mapToLong(e -> ((Number) e.getValue().metricValue()).longValue()).max().orElse(-1);
  }

  /** How many stores report the metric: one per open RocksDB store. */
  public static long countStoreMetric(KafkaStreams streams, String name) {
    return streams.metrics().entrySet().stream().filter(e -> matches(e, name)).count();
  }

  private static boolean matches(Map.Entry<MetricName, ? extends Metric> e, String name) {
    return e.getKey().name().equals(name) && e.getKey().group().equals(STATE_GROUP)
        && e.getValue().metricValue() instanceof Number;
  }

  /** The resident set size of this process, from {@code /proc/self/status}; -1 where there is none. */
  public static long rss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  /** Bytes of the regular files under {@code dir}; 0 when it does not exist, -1 when it cannot be read. */
  public static long directorySize(Path dir) {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> {
        try {
          return Files.size(f);
        } catch (IOException e) {
          return 0; // removed by a compaction while we walked
        }
      }).sum();
    } catch (IOException | UncheckedIOException e) {
      return -1;
    }
  }
}
