package io.migrationverifier.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.capture.CaptureListener;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DeadLetters;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.PostgresServer;
import io.migrationverifier.verify.VerifyListener;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 7, point 5 on real components: an in-process Kafka broker, one embedded PostgreSQL with a
 * source and a target database, both Debezium captures and the Kafka Streams verifier started
 * through {@link Pipeline}. Bad input arrives from both ends at once: records that break the
 * change-event contract produced straight onto the change topics, and from the databases a row
 * larger than the producer's max.request.size, bytes that are not UTF-8 (bytea; PostgreSQL itself
 * rejects them in text), and the target's schema drifting while capture runs (a column added,
 * dropped, renamed). Each has its documented outcome (dead letter with headers, counted, logged,
 * or a discrepancy naming the affected columns), and throughout, a control table keeps being
 * verified: its one real fault is reported, nothing else is.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BadInputIT {
  private static final Logger LOG = LoggerFactory.getLogger(BadInputIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration AWAIT = Duration.ofSeconds(60);
  private static final long WINDOW = 2_000;
  private static final int HUGE = 1_500_000; // chars of a row's text: over the 1 MiB max.request.size
  /** Chars of a row that fits alone in max.request.size, but not twice (row and before-image). */
  private static final int HALF = 600_000;

  static EmbeddedKafka broker;
  static PostgresServer pg;

  @BeforeAll
  static void start() throws Exception {
    CompletableFuture<PostgresServer> db = CompletableFuture.supplyAsync(PostgresServer::start);
    try {
      broker = EmbeddedKafka.start(0, null);
    } finally {
      pg = db.get(60, TimeUnit.SECONDS);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  /** What ops/Metrics counts, and the verifier's watermarks (to prove that everything was judged). */
  static final class Observed implements CaptureListener, VerifyListener {
    final Map<String, AtomicLong> malformedByTopic = new ConcurrentHashMap<>();
    final Map<Side, List<Exception>> deadLettered = new ConcurrentHashMap<>();
    final List<Long> late = new CopyOnWriteArrayList<>();
    final Map<String, Long> watermarks = new ConcurrentHashMap<>();

    @Override
    public void malformed(String topic, String reason) {
      malformedByTopic.computeIfAbsent(topic, t -> new AtomicLong()).incrementAndGet();
    }

    @Override
    public void deadLettered(Side side, Exception e) {
      deadLettered.computeIfAbsent(side, s -> new CopyOnWriteArrayList<>()).add(e);
    }

    @Override
    public void lateChange(Side side, long lateByMs) {
      late.add(lateByMs);
    }

    @Override
    public void watermark(int partition, Side side, long watermark) {
      watermarks.merge(partition + "/" + side.id(), watermark, Math::max);
    }

    long minWatermark(int partitions) {
      long min = Long.MAX_VALUE;
      for (int p = 0; p < partitions; p++) {
        for (Side s : Side.values()) {
          min = Math.min(min, watermarks.getOrDefault(p + "/" + s.id(), Long.MIN_VALUE));
        }
      }
      return min;
    }

    long malformed(String topic) {
      AtomicLong n = malformedByTopic.get(topic);
      return n == null ? 0 : n.get();
    }
  }

  @Test
  void badInputFromTheTopicsAndTheDatabasesHasItsDocumentedOutcomeAndVerificationGoesOn() throws Exception {
    Path stateDir = Files.createTempDirectory("bad-input");
    pg.createDatabase("bad_src");
    pg.createDatabase("bad_tgt");
    Observed seen = new Observed();
    Pipeline pipeline = null;
    try (Connection src = pg.connect("bad_src"); Connection tgt = pg.connect("bad_tgt")) {
      for (Connection c : List.of(src, tgt)) {
        both(c, "CREATE TABLE orders (id BIGINT PRIMARY KEY, total NUMERIC(12,2) NOT NULL, note TEXT)",
            "CREATE TABLE docs (id BIGINT PRIMARY KEY, body TEXT, data BYTEA, meta JSON)",
            "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT, qty INT)",
            "CREATE TABLE tags (id BIGINT PRIMARY KEY, label TEXT)", "ALTER TABLE tags REPLICA IDENTITY FULL",
            "CREATE TABLE blobs (id BIGINT PRIMARY KEY, body TEXT)", "ALTER TABLE blobs REPLICA IDENTITY FULL",
            "INSERT INTO tags VALUES (1, 'one'), (2, 'two')",
            "ALTER TABLE orders REPLICA IDENTITY FULL", "ALTER TABLE docs REPLICA IDENTITY FULL",
            "ALTER TABLE items REPLICA IDENTITY FULL",
            "INSERT INTO items SELECT g, 'item' || g, g FROM generate_series(1, 5) g",
            "INSERT INTO orders SELECT g, g * 1.5, 'seed' FROM generate_series(1, 5) g");
      }
      VerifierConfig config = Configs.parse("""
          name: badin
          kafka: {bootstrap-servers: "%s", partitions: 2}
          source: {type: postgres, host: 127.0.0.1, port: %d, database: bad_src, user: postgres, password: ''}
          target: {type: postgres, host: 127.0.0.1, port: %d, database: bad_tgt, user: postgres, password: ''}
          verify: {window: %dms, stall-threshold: 1h, state-dir: "%s", commit-interval: 100ms}
          capture: {heartbeat-interval: 200ms}
          tables:
            - {name: orders, key: [id]}
            - {name: docs, key: [id]}
            - {name: items, key: [id]}
            - {name: tags, key: [id]}
            - {name: blobs, key: [id], state: hash-only}
          """.formatted(broker.bootstrapServers(), pg.port(), pg.port(), WINDOW, stateDir));
      long started = System.currentTimeMillis();
      pipeline = Pipeline.start(config, EnumSet.of(Role.CAPTURE_SOURCE, Role.CAPTURE_TARGET, Role.VERIFY),
          broker.bootstrapServers(), seen, seen);
      Pipeline p = pipeline;
      await("pipeline live").atMost(AWAIT).until(() -> {
        failIfStopped(p);
        return seen.minWatermark(2) >= started;
      });
      long t0 = System.nanoTime();

      // 1. records that break the contract, produced straight onto both change topics
      String sourceTopic = config.topics().changes(Side.SOURCE);
      String targetTopic = config.topics().changes(Side.TARGET);
      List<ProducerRecord<byte[], byte[]>> bad = badRecords(sourceTopic, targetTopic);
      try (KafkaProducer<byte[], byte[]> producer = OpsKafka.producer(config, broker.bootstrapServers(), "bad")) {
        OpsKafka.sendAll(producer, bad, "bad records");
      }

      // 2. the control table, mirrored, keeps changing throughout
      mirrored(src, tgt, "UPDATE orders SET note = 'before' WHERE id <= 5");

      // 3. rows larger than max.request.size: one equal on both sides, one differing at its very end
      String huge = "x".repeat(HUGE);
      mirrored(src, tgt, "INSERT INTO docs (id, body) VALUES (1, ?)", huge);
      exec(src, "INSERT INTO docs (id, body) VALUES (2, ?)", huge);
      exec(tgt, "INSERT INTO docs (id, body) VALUES (2, ?)", huge + "!");

      // 3b. a hash-only table's update fits alone but not with its before-image: sent whole without
      // the image (nothing cut, nothing dead-lettered); blobs 2 then breaks agreement without one
      String half = "a".repeat(HALF);
      String otherHalf = "b".repeat(HALF);
      mirrored(src, tgt, "INSERT INTO blobs (id, body) VALUES (1, ?)", half);
      mirrored(src, tgt, "UPDATE blobs SET body = ? WHERE id = 1", otherHalf);
      mirrored(src, tgt, "INSERT INTO blobs (id, body) VALUES (2, ?)", half);
      exec(src, "UPDATE blobs SET body = ? WHERE id = 2", otherHalf);

      // 4. not UTF-8: bytea holds any bytes; a text column refuses them (the database, not us)
      byte[] notUtf8 = {(byte) 0xff, (byte) 0xfe, (byte) 0xc3, 0x28, (byte) 0x80, 0x00};
      mirrored(src, tgt, "INSERT INTO docs (id, data) VALUES (3, ?)", notUtf8);
      exec(src, "INSERT INTO docs (id, data) VALUES (4, ?)", notUtf8);
      exec(tgt, "INSERT INTO docs (id, data) VALUES (4, ?)", new byte[] {(byte) 0xff, (byte) 0xfe});
      assertThatThrownBy(() -> exec(src, "INSERT INTO docs (id, body) VALUES (5, convert_from('\\xc328'::bytea, 'UTF8'))"))
          .isInstanceOf(SQLException.class).hasMessageContaining("invalid byte sequence for encoding \"UTF8\"");
      // JSON that spells an unpaired surrogate: PostgreSQL's json keeps the text as written
      String loneSurrogate = "{\"a\": \"\\ud800\"}";
      mirrored(src, tgt, "INSERT INTO docs (id, meta) VALUES (6, ?::json)", loneSurrogate);

      // 5. the target's schema drifts while capture runs; each step is followed by a mirrored update of one row
      exec(tgt, "ALTER TABLE items ADD COLUMN color TEXT");
      mirrored(src, tgt, "UPDATE items SET qty = qty + 10 WHERE id = 1");
      exec(tgt, "ALTER TABLE items DROP COLUMN qty");
      exec(src, "UPDATE items SET name = 'two' WHERE id = 2");
      exec(tgt, "UPDATE items SET name = 'two' WHERE id = 2");
      exec(tgt, "ALTER TABLE items RENAME COLUMN name TO title");
      exec(src, "UPDATE items SET name = 'three' WHERE id = 3");
      exec(tgt, "UPDATE items SET title = 'three' WHERE id = 3");

      // a key column renamed: the target's changes of that table cannot be keyed (capture dead-letters them)
      exec(tgt, "ALTER TABLE tags RENAME COLUMN id TO tag_id");
      exec(src, "UPDATE tags SET label = 'uno' WHERE id = 1");
      exec(tgt, "UPDATE tags SET label = 'uno' WHERE tag_id = 1");

      // 6. the control table still goes on: mirrored changes, and one real fault
      for (int i = 100; i < 130; i++) {
        mirrored(src, tgt, "INSERT INTO orders (id, total, note) VALUES (?, 12.50, 'after')", (long) i);
      }
      exec(src, "INSERT INTO orders (id, total, note) VALUES (999, 1.00, 'never copied')");
      long lastWrite = System.currentTimeMillis();

      awaitVerifiedUpTo(config, seen, p, lastWrite + WINDOW + 500);
      LOG.info("bad input judged {} ms after the first bad record", (System.nanoTime() - t0) / 1_000_000);

      List<JsonNode> discrepancies = readAll(config, config.topics().discrepancies()).stream()
          .map(r -> parse(r.value())).toList();
      Map<String, JsonNode> byRow = discrepancies.stream().collect(Collectors.toMap(
          d -> d.get("table").asText() + "/" + d.get("key").get("id").asText(), d -> d, (a, b) -> {
            throw new AssertionError("reported twice: " + a + " and " + b);
          }));
      assertThat(byRow.keySet()).as("the real differences, and only them")
          .containsExactlyInAnyOrder("orders/999", "docs/2", "docs/4", "items/1", "items/2", "items/3", "tags/1",
              "blobs/2");
      JsonNode blob2 = byRow.get("blobs/2");
      assertThat(blob2.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
      String body2 = blob2.get("source").get("body").asText();
      // compared as a boolean: a failure must not print 600,000 characters
      assertThat(body2.equals(otherHalf)).as("sent whole, not cut (%d chars: %s...)", body2.length(),
          body2.substring(Math.max(0, body2.length() - 80))).isTrue();
      assertThat(blob2.get("target").isNull()).isTrue();
      assertThat(blob2.get("rowsNotKept").toString()).isEqualTo("[\"target\"]");
      assertThat(byRow.get("orders/999").get("kind").asText()).isEqualTo("MISSING_IN_TARGET");
      // the huge row: compared by the full row's hash; the report shows its values cut
      JsonNode doc2 = byRow.get("docs/2");
      assertThat(doc2.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
      assertThat(doc2.get("fields")).singleElement().satisfies(f -> {
        assertThat(f.get("name").asText()).isEqualTo("body");
        assertThat(f.get("source").asText()).contains("…[cut: " + HUGE + " chars, hash ");
        assertThat(f.get("target").asText()).contains("…[cut: " + (HUGE + 1) + " chars, hash ");
      });
      assertThat(byRow.get("docs/4").get("fields")).singleElement()
          .satisfies(f -> assertThat(f.get("name").asText()).isEqualTo("data"));
      // schema drift: every changed row names the columns one side lacks
      // the target's change of tags 1 never came through: its source change stands alone
      assertThat(fields(byRow.get("tags/1"))).containsExactly("label:missingOn=");
      assertThat(byRow.get("tags/1").get("target").get("label").asText()).isEqualTo("one");
      assertThat(fields(byRow.get("items/1"))).containsExactly("color:missingOn=source");
      assertThat(fields(byRow.get("items/2"))).containsExactly("color:missingOn=source", "qty:missingOn=target");
      assertThat(fields(byRow.get("items/3"))).containsExactly("color:missingOn=source", "name:missingOn=target",
          "qty:missingOn=target", "title:missingOn=source");

      // the changes dead-letter topic: each bad record once (verify), each oversize row once per side (capture)
      List<ConsumerRecord<byte[], byte[]>> dead = readAll(config, config.topics().changesDlq());
      List<ConsumerRecord<byte[], byte[]>> fromVerify = dead.stream()
          .filter(r -> r.headers().lastHeader(DeadLetters.CAPTURE_SIDE) == null).toList();
      assertThat(fromVerify).hasSize(bad.size());
      for (ConsumerRecord<byte[], byte[]> r : fromVerify) {
        assertThat(header(r, DeadLetters.EXCEPTION)).isEqualTo("io.migrationverifier.event.MalformedEventException");
        assertThat(header(r, DeadLetters.TOPIC)).isIn(sourceTopic, targetTopic);
        assertThat(header(r, DeadLetters.PARTITION)).isIn("0", "1");
        assertThat(header(r, DeadLetters.OFFSET)).matches("\\d+");
        assertThat(header(r, DeadLetters.MESSAGE)).isNotBlank();
      }
      List<ConsumerRecord<byte[], byte[]>> fromCapture = dead.stream()
          .filter(r -> r.headers().lastHeader(DeadLetters.CAPTURE_SIDE) != null
              && !header(r, DeadLetters.TOPIC).endsWith(".tags")).toList();
      assertThat(dead).filteredOn(r -> r.headers().lastHeader(DeadLetters.CAPTURE_SIDE) != null
              && header(r, DeadLetters.TOPIC).endsWith(".tags")).singleElement().satisfies(r -> {
        assertThat(header(r, DeadLetters.CAPTURE_SIDE)).isEqualTo("target");
        assertThat(header(r, DeadLetters.EXCEPTION)).endsWith("CanonicalizationException");
        assertThat(header(r, DeadLetters.MESSAGE)).contains("key column \"id\" is missing or NULL");
        assertThat(new String(r.value(), StandardCharsets.UTF_8)).as("the Debezium event as it came").contains("tag_id");
      });
      assertThat(fromCapture).extracting(r -> header(r, DeadLetters.CAPTURE_SIDE) + ":"
              + parse(r.key()).get("key").get("id").asText())
          .containsExactlyInAnyOrder("source:1", "target:1", "source:2", "target:2");
      assertThat(fromCapture).allSatisfy(r -> {
        assertThat(header(r, DeadLetters.EXCEPTION)).isEqualTo(RecordTooLargeException.class.getName());
        assertThat(header(r, DeadLetters.MESSAGE)).contains("over the").contains("long values cut");
        assertThat(r.value().length).isLessThan(64 * 1024);
      });
      // the metrics' counts
      long onSource = bad.stream().filter(r -> r.topic().equals(sourceTopic)).count();
      assertThat(seen.malformed(sourceTopic)).isEqualTo(onSource);
      assertThat(seen.malformed(targetTopic)).isEqualTo(bad.size() - onSource);
      assertThat(seen.deadLettered.get(Side.SOURCE)).hasSize(2);
      assertThat(seen.deadLettered.get(Side.TARGET)).hasSize(3);
      assertThat(seen.late).isEmpty();
      assertThat(p.failure()).as("no role stopped").isNotDone();
    } finally {
      if (pipeline != null) {
        pipeline.close();
      }
      pg.dropReplicationSlots();
      deleteRecursively(stateDir);
    }
  }

  /** One of each contract violation; keys chosen so that both partitions of each topic get some. */
  static List<ProducerRecord<byte[], byte[]>> badRecords(String sourceTopic, String targetTopic) {
    List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
    for (String topic : List.of(sourceTopic, targetTopic)) {
      String side = topic.equals(sourceTopic) ? "source" : "target";
      for (int id = 1; id <= 2; id++) {
        byte[] key = utf8("{\"table\":\"orders\",\"key\":{\"id\":\"" + id + "\"}}");
        out.add(new ProducerRecord<>(topic, key, utf8("this is not json")));
        out.add(new ProducerRecord<>(topic, key, new byte[] {(byte) 0xca, (byte) 0xfe, (byte) 0xba, (byte) 0xbe}));
        out.add(new ProducerRecord<>(topic, key, utf8("{\"v\":1,\"side\":\"" + side + "\",\"table\":")));
        out.add(new ProducerRecord<>(topic, key, null)); // tombstone
        out.add(new ProducerRecord<>(topic, utf8("{\"table\":\"invoices\",\"key\":{\"id\":\"" + id + "\"}}"),
            change(side, "invoices", id, "\"x\"")));
        // an unpaired surrogate in a key (in a value it is compared as its escape: see docs id 6)
        out.add(new ProducerRecord<>(topic, utf8("{\"table\":\"orders\",\"key\":{\"id\":\"\\udc0" + id + "\"}}"),
            utf8("{\"v\":1,\"side\":\"" + side + "\",\"table\":\"orders\",\"key\":{\"id\":\"\\udc0" + id
                + "\"},\"op\":\"u\",\"row\":{\"id\":\"\\udc0" + id + "\"},\"ts\":1,\"pos\":\"0\"}")));
      }
      out.add(new ProducerRecord<>(topic, 0, null, change(side, "orders", 1, "\"x\""))); // a change without key
      out.add(new ProducerRecord<>(topic, 1, null, change(side, "orders", 2, "\"x\"")));
    }
    return out;
  }

  static byte[] change(String side, String table, int id, String noteJson) {
    return utf8("{\"v\":1,\"side\":\"" + side + "\",\"table\":\"" + table + "\",\"key\":{\"id\":\"" + id
        + "\"},\"op\":\"u\",\"row\":{\"id\":\"" + id + "\",\"note\":" + noteJson + "},\"ts\":1,\"pos\":\"0\"}");
  }

  static List<String> fields(JsonNode d) {
    assertThat(d.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
    List<String> out = new ArrayList<>();
    d.get("fields").forEach(f -> out.add(f.get("name").asText() + ":missingOn=" + f.path("missingOn").asText("")));
    return out;
  }

  /**
   * Waits until the verifier accepted both sides' watermarks past {@code ts} in every partition
   * (every deadline up to there has fired) and committed its input up to the change topics' ends
   * as of then (so its output for them is committed too).
   */
  static void awaitVerifiedUpTo(VerifierConfig config, Observed seen, Pipeline p, long ts) throws Exception {
    await("watermarks past " + ts).atMost(AWAIT).until(() -> {
      failIfStopped(p);
      return seen.minWatermark(config.kafka().partitions()) >= ts;
    });
    try (Admin admin = OpsKafka.admin(config, broker.bootstrapServers())) {
      Map<TopicPartition, OffsetSpec> request = new HashMap<>();
      for (Side s : Side.values()) {
        for (int i = 0; i < config.kafka().partitions(); i++) {
          request.put(new TopicPartition(config.topics().changes(s), i), OffsetSpec.latest());
        }
      }
      var ends = admin.listOffsets(request).all().get();
      await("verify committed its input").atMost(AWAIT).until(() -> {
        failIfStopped(p);
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(
            config.topics().verifyApplicationId()).partitionsToOffsetAndMetadata().get();
        return ends.entrySet().stream().allMatch(e -> committed.get(e.getKey()) != null
            && committed.get(e.getKey()).offset() >= e.getValue().offset());
      });
    }
  }

  static void failIfStopped(Pipeline p) {
    if (p.failure().isCompletedExceptionally()) {
      p.failure().join();
    }
  }

  /** Every committed record of a topic, from the start to its current end. */
  static List<ConsumerRecord<byte[], byte[]>> readAll(VerifierConfig config, String topic) {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (Admin admin = OpsKafka.admin(config, broker.bootstrapServers());
        KafkaConsumer<byte[], byte[]> consumer = OpsKafka.consumer(config, broker.bootstrapServers(), null, "read")) {
      List<TopicPartition> partitions = OpsKafka.partitions(admin, topic, broker.bootstrapServers());
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      OpsKafka.readToEnd(consumer, partitions, ends, OpsKafka.all(out::add));
    }
    return out;
  }

  static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  static JsonNode parse(byte[] json) {
    try {
      return JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static void both(Connection c, String... statements) throws SQLException {
    try (Statement st = c.createStatement()) {
      for (String s : statements) {
        st.execute(s);
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

  /** The same write on both sides, the target's right after the source's (well within the window). */
  static void mirrored(Connection src, Connection tgt, String sql, Object... args) throws SQLException {
    exec(src, sql, args);
    exec(tgt, sql, args);
  }

  static void deleteRecursively(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (java.io.IOException e) {
      LOG.warn("could not delete {}: {}", dir, e.toString());
    }
  }
}
