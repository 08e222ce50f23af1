package io.migrationverifier.repair;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.config.RepairSettings;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.PipelineFixture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the repair integration tests share: observers of the pipeline and readers of its topics. */
final class RepairItSupport {
  private static final Logger LOG = LoggerFactory.getLogger(RepairItSupport.class);
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration AWAIT = Duration.ofSeconds(60);
  static final Duration POLL = Duration.ofMillis(50);

  private RepairItSupport() {}

  /** What the repair role reported, by table and status. */
  static final class Outcomes implements RepairListener {
    final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    final AtomicInteger retried = new AtomicInteger();
    final AtomicInteger deadLettered = new AtomicInteger();
    final AtomicInteger paused = new AtomicInteger();
    final AtomicInteger resumed = new AtomicInteger();

    @Override
    public void outcome(String table, RepairEngine.Status status) {
      counts.computeIfAbsent(table + "/" + status, k -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public void retried(String table, int attempt, Throwable cause) {
      retried.incrementAndGet();
    }

    @Override
    public void deadLettered(String table, Throwable cause) {
      deadLettered.incrementAndGet();
    }

    @Override
    public void paused(String reason) {
      paused.incrementAndGet();
    }

    @Override
    public void resumed(long pausedMs) {
      resumed.incrementAndGet();
    }

    int count(String table, RepairEngine.Status status) {
      AtomicInteger n = counts.get(table + "/" + status);
      return n == null ? 0 : n.get();
    }

    int total(RepairEngine.Status status) {
      return counts.entrySet().stream().filter(e -> e.getKey().endsWith("/" + status))
          .mapToInt(e -> e.getValue().get()).sum();
    }
  }

  /** Every committed record of some topics, read from the beginning in the background. */
  static final class TopicTail implements AutoCloseable {
    private final Map<String, List<ConsumerRecord<byte[], byte[]>>> records = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
    private final List<TopicPartition> partitions = new ArrayList<>();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable failure;

    TopicTail(String bootstrapServers, int partitionCount, String... topics) {
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      for (String t : topics) {
        records.put(t, new CopyOnWriteArrayList<>());
        for (int i = 0; i < partitionCount; i++) {
          partitions.add(new TopicPartition(t, i));
        }
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      thread = new Thread(this::loop, "topic-tail");
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      try {
        while (running) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
            records.get(r.topic()).add(r);
          }
          for (TopicPartition tp : partitions) {
            positions.put(tp, consumer.position(tp));
          }
        }
      } catch (Throwable t) {
        failure = t;
        LOG.error("topic tail failed", t);
      } finally {
        consumer.close(Duration.ofSeconds(2));
      }
    }

    List<ConsumerRecord<byte[], byte[]>> of(String topic) {
      check();
      return records.get(topic);
    }

    List<JsonNode> json(String topic) {
      return of(topic).stream().map(r -> {
        try {
          return JSON.readTree(r.value());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }).toList();
    }

    List<RepairLogEntry> repairLog(String topic) {
      return of(topic).stream().map(r -> RepairEvents.decodeRepairLog(r.value())).toList();
    }

    /** The offset after the last record read, per partition of {@code topic} (0 = none). */
    Map<TopicPartition, Long> nextOffsets(String topic) {
      Map<TopicPartition, Long> m = new HashMap<>();
      for (TopicPartition tp : partitions) {
        if (tp.topic().equals(topic)) {
          m.put(tp, 0L);
        }
      }
      for (ConsumerRecord<byte[], byte[]> r : of(topic)) {
        m.merge(new TopicPartition(r.topic(), r.partition()), r.offset() + 1, Math::max);
      }
      return m;
    }

    /** Waits until this tail has read everything committed to its topics as of now. */
    void awaitCaughtUp(Admin admin) throws Exception {
      Map<TopicPartition, OffsetSpec> request = new HashMap<>();
      partitions.forEach(tp -> request.put(tp, OffsetSpec.latest()));
      var lso = admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();
      await("topic tail caught up").atMost(AWAIT).pollInterval(POLL).until(() -> {
        check();
        return lso.entrySet().stream().allMatch(e -> positions.getOrDefault(e.getKey(), -1L) >= e.getValue().offset());
      });
    }

    void check() {
      if (failure != null) {
        throw new IllegalStateException("the topic tail failed", failure);
      }
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(5_000);
    }
  }

  /**
   * Waits until the repair role has committed every request on the discrepancy and retry topics
   * that {@code tail} has read (its commits are made only after its outputs were written).
   */
  static void awaitRepairCommitted(Admin admin, VerifierConfig config, TopicTail tail) throws Exception {
    tail.awaitCaughtUp(admin);
    Map<TopicPartition, Long> wanted = new HashMap<>(tail.nextOffsets(config.topics().discrepancies()));
    wanted.putAll(tail.nextOffsets(config.topics().repairsRetry()));
    await("repair role committed its input").atMost(AWAIT).pollInterval(POLL).until(() -> {
      Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(
          RepairSettings.groupId(config.name())).partitionsToOffsetAndMetadata().get();
      return wanted.entrySet().stream().allMatch(e -> e.getValue() == 0
          || committed.get(e.getKey()) != null && committed.get(e.getKey()).offset() >= e.getValue());
    });
    tail.awaitCaughtUp(admin);
  }

  static void awaitLive(VerifierConfig config, PipelineFixture.Probe probe, long sinceMs, Pipeline... pipelines) {
    await("pipeline live").atMost(AWAIT).pollInterval(POLL).until(() -> {
      rethrow(pipelines);
      return probe.minWatermark(config.kafka().partitions()) >= sinceMs;
    });
  }

  static void rethrow(Pipeline... pipelines) {
    for (Pipeline p : pipelines) {
      if (p != null && p.failure().isCompletedExceptionally()) {
        p.failure().join();
      }
    }
  }

  static void exec(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }

  static Path tempDir(String prefix) {
    try {
      return Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not delete {}: {}", dir, e.toString());
    }
  }

  static String id(JsonNode d) {
    return d.get("key").get("id").asText();
  }
}
