package io.migrationverifier.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.kafka.TopicAdmin;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.testutil.Configs;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The follower behind the status page on a real broker: it catches up with what the topic held,
 * follows new records, lives through the broker going away and coming back (same port, same data),
 * and closes promptly.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OpenDiscrepanciesFollowerIT {
  static final Duration AWAIT = Duration.ofSeconds(60);

  @Test
  void followsThroughABrokerRestart(@TempDir Path dir) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String bootstrap = "127.0.0.1:" + port;
    VerifierConfig c = Configs.parse("""
        name: follow
        kafka: {bootstrap-servers: "%s", partitions: 2}
        source: {type: postgres, database: legacy, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
        target: {type: postgres, database: modern, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
        tables:
          - {name: orders, key: [id]}
        """.formatted(bootstrap));
    EmbeddedKafka broker = EmbeddedKafka.start(port, dir.resolve("kafka"));
    OpenDiscrepancies.Follower f = null;
    try {
      try (Admin admin = OpsKafka.admin(c, bootstrap)) {
        TopicAdmin.ensureTopics(admin, c, Duration.ofSeconds(60));
      }
      produce(c, bootstrap, OpenDiscrepanciesTest.d("a", DiscrepancyKind.VALUE_MISMATCH, "orders", 1, 1_000),
          OpenDiscrepanciesTest.d("b", DiscrepancyKind.MISSING_IN_TARGET, "orders", 2, 2_000),
          OpenDiscrepanciesTest.d("r", DiscrepancyKind.RESOLVED, "orders", 1, 3_000));

      f = OpenDiscrepancies.follow(c, bootstrap);
      OpenDiscrepancies.Follower follower = f;
      await().atMost(AWAIT).until(follower::caughtUp);
      assertThat(f.board().open()).extracting(Discrepancy::id).containsExactly("b");

      broker.close();
      // away for a while: the board keeps what it had
      await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
          .until(() -> follower.board().open().size() == 1);
      broker = EmbeddedKafka.start(port, dir.resolve("kafka"));

      produce(c, bootstrap, OpenDiscrepanciesTest.d("c", DiscrepancyKind.UNEXPECTED_IN_TARGET, "orders", 3, 4_000),
          OpenDiscrepanciesTest.d("r2", DiscrepancyKind.RESOLVED, "orders", 2, 5_000));
      await().atMost(AWAIT).untilAsserted(() -> assertThat(follower.board().open()).extracting(Discrepancy::id)
          .containsExactly("c"));
      assertThat(f.board().malformed()).isZero();
    } finally {
      if (f != null) {
        long t0 = System.nanoTime();
        f.close();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("close took (ms)").isLessThan(6_000);
      }
      broker.close();
    }
  }

  static void produce(VerifierConfig c, String bootstrap, Discrepancy... ds) {
    try (KafkaProducer<byte[], byte[]> p = OpsKafka.producer(c, bootstrap, "test")) {
      OpsKafka.sendAll(p, java.util.Arrays.stream(ds).map(d -> new ProducerRecord<>(c.topics().discrepancies(),
          OpenDiscrepanciesTest.key(d.table(), Long.parseLong(d.key().get("id"))), EventCodec.encode(d))).toList(),
          "test discrepancies");
    }
  }
}
