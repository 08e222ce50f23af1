package io.migrationverifier.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.config.VerifySettings;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.Watermark;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.kafka.TopicAdmin;
import io.migrationverifier.testutil.Configs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The verify topology end to end on a real broker with exactly_once_v2: change events and
 * watermarks produced as capture writes them (DESIGN section 3), discrepancies read back with
 * read_committed, then a restart of the application on the same state dir.
 */
@Timeout(120)
class VerifyOnKafkaIT {
  private static final Logger LOG = LoggerFactory.getLogger(VerifyOnKafkaIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long T = 1_700_000_000_000L;
  private static final long W = 1_000;
  private static final int PARTITIONS = 4;
  private static final Duration AWAIT = Duration.ofSeconds(60);

  static EmbeddedKafka broker;
  static Admin admin;
  static Path stateDir;

  private final Map<Side, Long> pos = new EnumMap<>(Map.of(Side.SOURCE, 0L, Side.TARGET, 0L));

  /** Observations that must not happen in this scenario: a broken watermark promise, an unreadable record. */
  static final List<String> ANOMALIES = new java.util.concurrent.CopyOnWriteArrayList<>();
  static final VerifyListener TRACE = new VerifyListener() {
    @Override
    public void lateChange(Side side, long lateByMs) {
      ANOMALIES.add("late change on " + side + " by " + lateByMs + " ms");
    }

    @Override
    public void malformed(String topic, String reason) {
      ANOMALIES.add("malformed record on " + topic + ": " + reason);
    }

    @Override
    public void duplicateIgnored(Side side) {
      ANOMALIES.add("duplicate ignored on " + side);
    }
  };

  static VerifierConfig config() {
    return Configs.parse("""
        name: vok
        kafka: {bootstrap-servers: embedded, partitions: %d}
        source: {type: postgres, database: legacy, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
        target: {type: postgres, database: modern, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
        verify: {window: 1s, stall-threshold: 1h, processing-guarantee: exactly_once_v2, commit-interval: 100ms}
        tables:
          - name: orders
            key: [id]
            columns:
              - {name: total, type: decimal}
        """.formatted(PARTITIONS));
  }

  @BeforeAll
  static void start() throws IOException {
    quietKafkaLogs();
    long t0 = System.nanoTime();
    broker = EmbeddedKafka.start(0, null);
    LOG.info("broker started in {} ms", (System.nanoTime() - t0) / 1_000_000);
    admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
    stateDir = Files.createTempDirectory("verify-on-kafka-state");
  }

  @AfterAll
  static void stop() throws IOException {
    if (admin != null) {
      admin.close(Duration.ofSeconds(5));
    }
    if (broker != null) {
      broker.close();
    }
    if (stateDir != null) {
      try (Stream<Path> files = Files.walk(stateDir)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  @Test
  void reportsExactlyTheInjectedFaultsAndNothingTwiceAcrossARestart() throws Exception {
    VerifierConfig config = config();
    assertThat(config.verify().processingGuarantee()).isEqualTo(VerifySettings.EXACTLY_ONCE_V2);
    TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(30));
    Properties streamsProps = VerifyStreamsConfig.properties(config, broker.bootstrapServers());
    streamsProps.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    String sourceTopic = config.topics().changes(Side.SOURCE);
    String targetTopic = config.topics().changes(Side.TARGET);
    String discrepancyTopic = config.topics().discrepancies();

    try (KafkaProducer<byte[], byte[]> producer = producer();
        KafkaConsumer<byte[], byte[]> out = discrepancyConsumer(discrepancyTopic)) {
      // ---- run 1: 200 mirrored keys and three faults -------------------------------------------
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      // both captures start (their first watermark, the snapshot's start) just before the history:
      // a disagreement never starts before both sides' streams began
      sent.addAll(watermarks(producer, sourceTopic, Side.SOURCE, T - 1));
      sent.addAll(watermarks(producer, targetTopic, Side.TARGET, T - 1));
      for (int i = 0; i < 200; i++) {
        sent.add(put(producer, Side.SOURCE, "k" + i, T + i * 10L, "total", i + ".5"));
      }
      sent.add(put(producer, Side.SOURCE, "missing", T + 2_005, "total", "10"));
      sent.add(put(producer, Side.SOURCE, "mismatch", T + 2_010, "total", "7", "note", "a"));
      for (int i = 0; i < 200; i++) {
        // the copy trails by 300 ms: within the window (values are canonical already, as capture writes them)
        sent.add(put(producer, Side.TARGET, "k" + i, T + i * 10L + 300, "total", i + ".5"));
      }
      // a side's events in its commit order: ts and pos both increase
      sent.add(put(producer, Side.TARGET, "unexpected", T + 2_300, "total", "5"));
      sent.add(put(producer, Side.TARGET, "mismatch", T + 2_310, "total", "7", "note", "b"));
      long wm1 = T + 2_000 + 10 * W;
      sent.addAll(watermarks(producer, sourceTopic, Side.SOURCE, wm1));
      sent.addAll(watermarks(producer, targetTopic, Side.TARGET, wm1));
      checkAll(producer, sent);

      KafkaStreams streams = startStreams(config, streamsProps);
      List<JsonNode> run1 = new ArrayList<>();
      try {
        long t0 = System.nanoTime();
        await().atMost(AWAIT).pollInSameThread().pollInterval(Duration.ofMillis(10))
            .until(() -> drain(out, run1).size() >= 3);
        LOG.info("first 3 discrepancies after {} ms", (System.nanoTime() - t0) / 1_000_000);
        awaitCommittedPastAllInput(config, List.of(sourceTopic, targetTopic));
        readToCommittedEnd(out, discrepancyTopic, run1);
      } finally {
        stopStreams(streams);
      }
      assertThat(run1).extracting(d -> d.get("key").get("id").asText() + ":" + d.get("kind").asText())
          .containsExactlyInAnyOrder("missing:MISSING_IN_TARGET", "unexpected:UNEXPECTED_IN_TARGET",
              "mismatch:VALUE_MISMATCH");
      JsonNode mismatch = byKind(run1, "VALUE_MISMATCH");
      assertThat(mismatch.get("fields")).hasSize(1);
      assertThat(mismatch.get("fields").get(0).get("name").asText()).isEqualTo("note");
      assertThat(mismatch.get("fields").get(0).get("source").asText()).isEqualTo("a");
      assertThat(mismatch.get("fields").get(0).get("target").asText()).isEqualTo("b");
      assertThat(mismatch.get("divergedSince").asLong()).isEqualTo(T + 2_010);
      assertThat(mismatch.get("detectedAt").asLong()).isEqualTo(T + 2_010 + W);
      JsonNode missing = byKind(run1, "MISSING_IN_TARGET");
      assertThat(missing.get("source").get("total").asText()).isEqualTo("10");
      assertThat(missing.get("target").isNull()).isTrue();
      assertThat(missing.get("divergedSince").asLong()).isEqualTo(T + 2_005);
      JsonNode unexpected = byKind(run1, "UNEXPECTED_IN_TARGET");
      assertThat(unexpected.get("source").isNull()).isTrue();
      assertThat(unexpected.get("divergedSince").asLong()).isEqualTo(T + 2_300);

      // ---- run 2: a new instance, same application id and state dir --------------------------
      List<Future<RecordMetadata>> sent2 = new ArrayList<>();
      // committed after the deadline (T + 2_005 + W) and after the last watermark: a real late fix
      long fixAt = wm1 + W;
      sent2.add(put(producer, Side.TARGET, "missing", fixAt, "total", "10"));
      long wm2 = wm1 + 10 * W;
      sent2.addAll(watermarks(producer, sourceTopic, Side.SOURCE, wm2));
      sent2.addAll(watermarks(producer, targetTopic, Side.TARGET, wm2));
      checkAll(producer, sent2);

      KafkaStreams restarted = startStreams(config, streamsProps);
      List<JsonNode> run2 = new ArrayList<>();
      try {
        long t0 = System.nanoTime();
        await().atMost(AWAIT).pollInSameThread().pollInterval(Duration.ofMillis(10))
            .until(() -> !drain(out, run2).isEmpty());
        LOG.info("first event after restart after {} ms", (System.nanoTime() - t0) / 1_000_000);
        awaitCommittedPastAllInput(config, List.of(sourceTopic, targetTopic));
        readToCommittedEnd(out, discrepancyTopic, run2);
      } finally {
        stopStreams(restarted);
      }
      assertThat(run2).as("after the restart: only the resolution, nothing re-emitted")
          .extracting(d -> d.get("key").get("id").asText() + ":" + d.get("kind").asText())
          .containsExactly("missing:RESOLVED");
      JsonNode resolved = run2.get(0);
      assertThat(resolved.get("resolves").asText()).isEqualTo(missing.get("id").asText());
      assertThat(resolved.get("resolvedAt").asLong()).isEqualTo(fixAt);
      assertThat(resolved.get("openForMs").asLong()).isEqualTo(fixAt - (T + 2_005));
      assertThat(resolved.get("resolution").asText()).isEqualTo("target-change");
      assertThat(ANOMALIES).as("no late, malformed or replayed change was seen").isEmpty();
    }
  }

  // ---- producing, as capture does ------------------------------------------------------------

  private KafkaProducer<byte[], byte[]> producer() {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** An upsert of row {@code id} on one side; record key = canonical key bytes, default partitioner on both sides. */
  private Future<RecordMetadata> put(KafkaProducer<byte[], byte[]> producer, Side side, String id, long ts,
      String... columns) {
    Map<String, String> row = new TreeMap<>();
    for (int i = 0; i < columns.length; i += 2) {
      row.put(columns[i], columns[i + 1]);
    }
    row.put("id", id);
    String p = String.format("%020d", pos.merge(side, 1L, Long::sum));
    ChangeEvent e = ChangeEvent.of(side, "orders", new TreeMap<>(Map.of("id", id)), Op.UPDATE, CanonicalRow.of(row),
        ts, p);
    return producer.send(new ProducerRecord<>(config().topics().changes(side), e.canonicalKey().toBytes(),
        EventCodec.encode(e)));
  }

  /** A watermark written explicitly to every partition, null key. */
  private static List<Future<RecordMetadata>> watermarks(KafkaProducer<byte[], byte[]> producer, String topic,
      Side side, long wm) {
    List<Future<RecordMetadata>> f = new ArrayList<>();
    byte[] value = EventCodec.encode(new Watermark(side, wm));
    for (int p = 0; p < PARTITIONS; p++) {
      f.add(producer.send(new ProducerRecord<>(topic, p, null, value)));
    }
    return f;
  }

  /** Every send checked: a lost change event would make the assertions below meaningless. */
  private static void checkAll(KafkaProducer<byte[], byte[]> producer, List<Future<RecordMetadata>> sent)
      throws Exception {
    producer.flush();
    for (Future<RecordMetadata> f : sent) {
      f.get();
    }
  }

  // ---- the streams app -----------------------------------------------------------------------

  private static KafkaStreams startStreams(VerifierConfig config, Properties props) {
    KafkaStreams streams = new KafkaStreams(VerifyTopology.build(config, TRACE), props);
    List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    streams.setUncaughtExceptionHandler(e -> {
      errors.add(e);
      LOG.error("stream thread failed", e);
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
          .SHUTDOWN_CLIENT;
    });
    long t0 = System.nanoTime();
    streams.start();
    await().atMost(AWAIT).pollInterval(Duration.ofMillis(20))
        .until(() -> streams.state() == KafkaStreams.State.RUNNING || !errors.isEmpty());
    assertThat(errors).isEmpty();
    LOG.info("streams RUNNING after {} ms", (System.nanoTime() - t0) / 1_000_000);
    return streams;
  }

  /**
   * A planned stop: leave the group, or the restarted instance waits out the old member's
   * session timeout (45 s by default) before it gets its tasks.
   */
  private static void stopStreams(KafkaStreams streams) {
    assertThat(streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
        .withTimeout(Duration.ofSeconds(30)))).as("closed in time").isTrue();
  }

  /** Waits until the application's committed offsets reach the end of every input partition. */
  private static void awaitCommittedPastAllInput(VerifierConfig config, List<String> inputs) {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (String t : inputs) {
      for (int p = 0; p < PARTITIONS; p++) {
        request.put(new TopicPartition(t, p), OffsetSpec.latest());
      }
    }
    await().atMost(AWAIT).pollInterval(Duration.ofMillis(50)).until(() -> {
      var ends = admin.listOffsets(request).all().get();
      Map<TopicPartition, OffsetAndMetadata> committed = admin
          .listConsumerGroupOffsets(config.topics().verifyApplicationId()).partitionsToOffsetAndMetadata().get();
      return ends.entrySet().stream().allMatch(e -> {
        OffsetAndMetadata c = committed.get(e.getKey());
        return c != null && c.offset() >= e.getValue().offset();
      });
    });
  }

  // ---- reading the discrepancies -------------------------------------------------------------

  private static KafkaConsumer<byte[], byte[]> discrepancyConsumer(String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> tps = new ArrayList<>();
    for (int i = 0; i < PARTITIONS; i++) {
      tps.add(new TopicPartition(topic, i));
    }
    c.assign(tps);
    c.seekToBeginning(tps);
    return c;
  }

  private static List<JsonNode> drain(KafkaConsumer<byte[], byte[]> c, List<JsonNode> into) throws IOException {
    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
      JsonNode d = JSON.readTree(r.value());
      LOG.info("discrepancy on partition {}: {}", r.partition(), d);
      into.add(d);
    }
    return into;
  }

  /** Reads until the consumer's position reaches the last stable offset of every partition. */
  private static void readToCommittedEnd(KafkaConsumer<byte[], byte[]> c, String topic, List<JsonNode> into)
      throws Exception {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      request.put(new TopicPartition(topic, p), OffsetSpec.latest());
    }
    var lso = admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();
    await().atMost(AWAIT).pollInSameThread().pollInterval(Duration.ofMillis(10)).until(() -> {
      drain(c, into);
      return lso.entrySet().stream().allMatch(e -> c.position(e.getKey()) >= e.getValue().offset());
    });
  }

  private static JsonNode byKind(List<JsonNode> events, String kind) {
    return events.stream().filter(d -> d.get("kind").asText().equals(kind)).findFirst().orElseThrow();
  }

  private static void quietKafkaLogs() {
    if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx
        && ctx.getLogger(Logger.ROOT_LOGGER_NAME).getLevel() == ch.qos.logback.classic.Level.DEBUG) {
      for (String name : List.of("org.apache.kafka", "kafka", "state.change.logger")) {
        ctx.getLogger(name).setLevel(ch.qos.logback.classic.Level.WARN);
      }
    }
  }
}
