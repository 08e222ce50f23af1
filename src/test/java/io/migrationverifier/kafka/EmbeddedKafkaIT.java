package io.migrationverifier.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.migrationverifier.config.Side;
import io.migrationverifier.config.Topics;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.testutil.Configs;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The in-process KRaft broker and the topic set-up, against the real broker. */
@Timeout(90)
class EmbeddedKafkaIT {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaIT.class);
  static EmbeddedKafka broker;
  static Admin admin;

  static VerifierConfig config(String name, int partitions) {
    return Configs.parse("""
        name: %s
        kafka: {bootstrap-servers: embedded, partitions: %d}
        source: {type: postgres, database: legacy, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
        target: {type: mariadb, database: modern, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
        tables:
          - name: orders
            key: [id]
        """.formatted(name, partitions));
  }

  @BeforeAll
  static void startBroker() {
    quietKafkaLogs();
    long t0 = System.nanoTime();
    broker = EmbeddedKafka.start(0, null);
    LOG.info("broker started in {} ms", (System.nanoTime() - t0) / 1_000_000);
    admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
  }

  /**
   * Without a logback config on the test class path logback logs everything at DEBUG, and the
   * broker's DEBUG output slows it down noticeably: keep Kafka's own loggers at WARN then.
   */
  static void quietKafkaLogs() {
    if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx
        && ctx.getLogger(Logger.ROOT_LOGGER_NAME).getLevel() == ch.qos.logback.classic.Level.DEBUG) {
      for (String name : List.of("org.apache.kafka", "kafka", "state.change.logger")) {
        ctx.getLogger(name).setLevel(ch.qos.logback.classic.Level.WARN);
      }
    }
  }

  @AfterAll
  static void stopBroker() {
    if (admin != null) {
      admin.close(Duration.ofSeconds(5));
    }
    if (broker != null) {
      broker.close();
      broker.close(); // idempotent
      assertThat(broker.logDir()).doesNotExist();
    }
  }

  @Test
  void tenThousandRecordsArriveCompleteAndInOrderPerPartition() throws Exception {
    VerifierConfig config = config("eit", 4);
    TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(30));
    String topic = config.topics().changes(Side.SOURCE);

    int n = 10_000;
    Map<Integer, List<String>> sentPerPartition = new HashMap<>();
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
      List<Future<RecordMetadata>> futures = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        byte[] key = ("k" + (i % 97)).getBytes(StandardCharsets.UTF_8);
        byte[] value = ("v" + i).getBytes(StandardCharsets.UTF_8);
        futures.add(producer.send(new ProducerRecord<>(topic, key, value)));
      }
      producer.flush();
      for (int i = 0; i < n; i++) {
        RecordMetadata md = futures.get(i).get(); // every send checked: a failure fails the test
        sentPerPartition.computeIfAbsent(md.partition(), p -> new ArrayList<>()).add("v" + i);
      }
    }
    assertThat(sentPerPartition.keySet()).as("keys spread over all partitions").hasSize(4);

    Map<Integer, List<String>> received = new HashMap<>();
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> tps = List.of(0, 1, 2, 3).stream().map(p -> new TopicPartition(topic, p)).toList();
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      int[] count = {0};
      await().atMost(Duration.ofSeconds(30)).pollInSameThread().pollInterval(Duration.ofMillis(10)).until(() -> {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          received.computeIfAbsent(r.partition(), p -> new ArrayList<>())
              .add(new String(r.value(), StandardCharsets.UTF_8));
          count[0]++;
        }
        return count[0] >= n;
      });
      // nothing beyond the 10,000
      assertThat(consumer.poll(Duration.ofMillis(300))).isEmpty();
    }
    assertThat(received.values().stream().mapToInt(List::size).sum()).isEqualTo(n);
    assertThat(received).isEqualTo(sentPerPartition);
  }

  @Test
  void ensureTopicsCreatesEveryTopicWithItsPolicyAndIsIdempotent() throws Exception {
    VerifierConfig config = config("idem", 3);
    TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(30));
    TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(30)); // second call: nothing to do, no error
    Topics t = config.topics();
    List<String> names = List.of(t.changes(Side.SOURCE), t.changes(Side.TARGET), t.discrepancies(), t.health(),
        t.changesDlq(), t.review(), t.repairsRetry(), t.repairsLog(), t.repairsDlq());
    Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get();
    assertThat(described).hasSize(9);
    described.values().forEach(d -> assertThat(d.partitions()).as(d.name()).hasSize(3));

    List<ConfigResource> resources = names.stream()
        .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
    Map<String, String> policy = admin.describeConfigs(resources).all().get().entrySet().stream()
        .collect(Collectors.toMap(e -> e.getKey().name(),
            e -> e.getValue().get(TopicConfig.CLEANUP_POLICY_CONFIG).value()));
    assertThat(policy.get(t.discrepancies())).isEqualTo("compact");
    assertThat(policy.get(t.health())).isEqualTo("compact");
    names.stream().filter(n -> !n.equals(t.discrepancies()) && !n.equals(t.health()))
        .forEach(n -> assertThat(policy.get(n)).as(n).isEqualTo("delete"));
  }

  @Test
  void changeTopicsWithDifferentPartitionCountsAreRejected() throws Exception {
    VerifierConfig config = config("mism", 4);
    Topics t = config.topics();
    admin.createTopics(List.of(new NewTopic(t.changes(Side.SOURCE), 4, (short) 1),
        new NewTopic(t.changes(Side.TARGET), 2, (short) 1))).all().get();
    assertThatThrownBy(() -> TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(30)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("mism.changes.source has 4 partitions")
        .hasMessageContaining("mism.changes.target has 2")
        .hasMessageContaining("--partitions 4");
  }
}
