package io.migrationverifier.cli;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.kafka.TopicAdmin;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.testutil.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * What the operator-command ITs share: a real PostgreSQL holding a {@code legacy} (source) and a
 * {@code modern} (target) database, a real in-process broker, configs written to files as an
 * operator would, and readers of the deployment's topics.
 */
final class OpsItSupport implements AutoCloseable {
  final PostgresServer pg;
  final EmbeddedKafka kafka;
  final Path dir;

  OpsItSupport(Path dir) throws SQLException {
    this.dir = dir;
    this.pg = PostgresServer.start();
    pg.createDatabase("legacy");
    pg.createDatabase("modern");
    this.kafka = EmbeddedKafka.start(0, dir.resolve("kafka"));
  }

  /** Runs SQL on {@code legacy} or {@code modern}. */
  void sql(String db, String... statements) throws SQLException {
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      for (String q : statements) {
        s.execute(q);
      }
    }
  }

  /** One column of one row, or "<absent>". */
  String value(String db, String table, long id, String column) throws SQLException {
    try (Connection c = pg.connect(db); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT " + column + " FROM " + table + " WHERE id = " + id)) {
      return rs.next() ? rs.getString(1) : "<absent>";
    }
  }

  long count(String db, String table) throws SQLException {
    try (Connection c = pg.connect(db); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The YAML of a deployment on this PostgreSQL and broker; {@code targetPort} 0 = the real one. */
  String yaml(String name, String tables, int targetPort, String kafkaLine) {
    return """
        name: %s
        kafka: %s
        source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: postgres, password: ""}
        target: {type: postgres, host: 127.0.0.1, port: %d, database: modern, user: postgres, password: ""}
        verify: {state-dir: "%s"}
        http: {enabled: false}
        """.formatted(name, kafkaLine == null ? "{bootstrap-servers: \"" + kafka.bootstrapServers()
            + "\", partitions: 2}" : kafkaLine, pg.port(), targetPort == 0 ? pg.port() : targetPort,
        dir.resolve("state-" + name)) + tables;
  }

  Path configFile(String name, String tables) throws Exception {
    return configFile(name, tables, 0, null);
  }

  Path configFile(String name, String tables, int targetPort, String kafkaLine) throws Exception {
    Path f = dir.resolve(name + (targetPort == 0 ? "" : "-" + targetPort) + (kafkaLine == null ? "" : "-k")
        + ".yaml");
    Files.writeString(f, yaml(name, tables, targetPort, kafkaLine));
    return f;
  }

  static VerifierConfig load(Path f) {
    return ConfigLoader.load(f);
  }

  void ensureTopics(VerifierConfig c) {
    try (Admin admin = OpsKafka.admin(c, kafka.bootstrapServers())) {
      TopicAdmin.ensureTopics(admin, c, Duration.ofSeconds(60));
    }
  }

  /** A discrepancy event as the verifier emits it, as a record read from the discrepancy topic. */
  static ConsumerRecord<byte[], byte[]> discrepancy(VerifierConfig c, DiscrepancyKind kind, String table, long id,
      long offset) {
    TreeMap<String, String> key = new TreeMap<>(Map.of("id", Long.toString(id)));
    long now = System.currentTimeMillis();
    Discrepancy d = new Discrepancy(UUID.randomUUID().toString(), kind, table, key, Discrepancy.DETECTOR_STREAM,
        now - 5000, now - 3000, null, null, List.of(), null, null, null, null, now);
    return new ConsumerRecord<>(c.topics().discrepancies(), 0, offset, CanonicalKey.of(table, key).toBytes(),
        EventCodec.encode(d));
  }

  KafkaProducer<byte[], byte[]> producer(VerifierConfig c) {
    return OpsKafka.producer(c, kafka.bootstrapServers(), "test");
  }

  void produce(VerifierConfig c, List<ProducerRecord<byte[], byte[]>> records) {
    try (KafkaProducer<byte[], byte[]> p = producer(c)) {
      OpsKafka.sendAll(p, records, "test records");
    }
  }

  /** Every committed record of a topic now. */
  List<ConsumerRecord<byte[], byte[]>> read(VerifierConfig c, String topic) {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (Admin admin = OpsKafka.admin(c, kafka.bootstrapServers());
        KafkaConsumer<byte[], byte[]> consumer = OpsKafka.consumer(c, kafka.bootstrapServers(), null, "test")) {
      List<TopicPartition> parts = OpsKafka.partitions(admin, topic, kafka.bootstrapServers());
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      OpsKafka.readToEnd(consumer, parts, consumer.endOffsets(parts), OpsKafka.all(out::add));
    }
    return out;
  }

  /** The committed offsets of a consumer group (empty when it has none). */
  Map<TopicPartition, OffsetAndMetadata> groupOffsets(VerifierConfig c, String group) throws Exception {
    try (Admin admin = OpsKafka.admin(c, kafka.bootstrapServers())) {
      return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    }
  }

  @Override
  public void close() throws Exception {
    try {
      kafka.close();
    } finally {
      pg.close();
    }
  }
}
