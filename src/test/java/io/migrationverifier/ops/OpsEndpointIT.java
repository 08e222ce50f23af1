package io.migrationverifier.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.PostgresServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The endpoint {@code run} serves, on a real PostgreSQL→PostgreSQL pipeline with every role:
 * liveness and readiness, the topology, and that what happens in the databases shows in
 * {@code /metrics} and {@code /api/status} — an agreeing table, a table with a value mismatch and
 * an unexpected row (open), a repaired table, and a table whose disagreement is still within its
 * long window (pending).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class OpsEndpointIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration AWAIT = Duration.ofSeconds(90);

  private static PostgresServer pg;
  private static EmbeddedKafka kafka;
  private static Path stateDir;
  private static Pipeline pipeline;
  private static Metrics metrics;
  private static HttpEndpoint endpoint;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresServer.start();
    pg.createDatabase("legacy");
    pg.createDatabase("modern");
    kafka = EmbeddedKafka.start(0, null);
    stateDir = Files.createTempDirectory("ops-endpoint");
    for (String db : List.of("legacy", "modern")) {
      sql(db, "CREATE TABLE orders (id BIGINT PRIMARY KEY, status TEXT, qty INT)",
          "CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT)",
          "CREATE TABLE slow (id BIGINT PRIMARY KEY, note TEXT)",
          "INSERT INTO orders SELECT g, 'paid', g FROM generate_series(1, 5) g",
          "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 3) g");
    }
    VerifierConfig config = Configs.parse("""
        name: opsep
        kafka: {bootstrap-servers: "%s", partitions: 2}
        source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: postgres, password: ''}
        target: {type: postgres, host: 127.0.0.1, port: %d, database: modern, user: postgres, password: ''}
        verify: {window: 1s, state-dir: "%s", commit-interval: 100ms}
        capture: {heartbeat-interval: 200ms}
        tables:
          - {name: orders, key: [id]}
          - {name: items, key: [id], repair: {enabled: true}}
          - {name: slow, key: [id], window: 1h}
        """.formatted(kafka.bootstrapServers(), pg.port(), pg.port(), stateDir));
    metrics = new Metrics(config);
    pipeline = Pipeline.start(config, Role.all(), kafka.bootstrapServers(), metrics, metrics, metrics);
    metrics.bind(pipeline.streams());
    endpoint = OpsEndpoint.build(config, pipeline, metrics).start("127.0.0.1", 0, 4);
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {endpoint, pipeline, metrics, kafka}) {
      if (c != null) {
        c.close();
      }
    }
    if (pg != null) {
      pg.dropReplicationSlots();
      pg.close();
    }
  }

  @Test
  void healthReadinessMetricsAndStatusFollowTheDatabases() throws Exception {
    assertThat(get("/health").statusCode()).isEqualTo(200);
    await().atMost(AWAIT).untilAsserted(() -> assertThat(get("/ready").statusCode()).isEqualTo(200));
    assertThat(JSON.readTree(get("/ready").body()).get("status").asText()).isEqualTo("READY");

    // the baseline agrees; then: a value mismatch and an unexpected row in orders, a row missing
    // in items (repaired by the repair role), a row missing in slow (its window is an hour)
    sql("modern", "UPDATE orders SET status = 'lost' WHERE id = 3", "INSERT INTO orders VALUES (99, 'ghost', 1)");
    sql("legacy", "INSERT INTO items VALUES (4, 'item 4')", "INSERT INTO slow VALUES (1, 'later')");

    await().atMost(AWAIT).untilAsserted(() -> {
      Map<String, Double> m = scrape();
      assertThat(m).containsEntry("verifier_discrepancies_emitted_total{kind=\"VALUE_MISMATCH\",table=\"orders\"}", 1.0)
          .containsEntry("verifier_discrepancies_emitted_total{kind=\"UNEXPECTED_IN_TARGET\",table=\"orders\"}", 1.0)
          .containsEntry("verifier_discrepancies_emitted_total{kind=\"MISSING_IN_TARGET\",table=\"items\"}", 1.0)
          .containsEntry("verifier_discrepancies_emitted_total{kind=\"RESOLVED\",table=\"items\"}", 1.0)
          .containsEntry("verifier_repairs_total{outcome=\"applied\",table=\"items\"}", 1.0)
          .containsEntry("verifier_disagreements_pending{table=\"slow\"}", 1.0)
          .containsEntry("verifier_disagreements_pending{table=\"orders\"}", 0.0)
          .containsEntry("verifier_discrepancies_open{kind=\"VALUE_MISMATCH\",table=\"orders\"}", 1.0)
          .containsEntry("verifier_discrepancies_open{kind=\"UNEXPECTED_IN_TARGET\",table=\"orders\"}", 1.0)
          .containsEntry("verifier_discrepancies_open{kind=\"MISSING_IN_TARGET\",table=\"items\"}", 0.0);
      assertThat(m.get("verifier_change_events_total{side=\"source\",table=\"orders\"}")).isGreaterThanOrEqualTo(5.0);
      assertThat(m.get("verifier_change_events_total{side=\"target\",table=\"orders\"}")).isGreaterThanOrEqualTo(7.0);
      // the repaired key disagreed from the insert until the repair's write arrived
      assertThat(m.get("verifier_convergence_lag_seconds_count{table=\"items\"}")).isGreaterThanOrEqualTo(1.0);
      assertThat(m.get("verifier_capture_changes_total{side=\"source\"}")).isGreaterThanOrEqualTo(10.0);
      assertThat(m.get("verifier_discrepancies_oldest_open_age_seconds{table=\"orders\"}")).isGreaterThan(0.0);
      assertThat(m.get("verifier_dlq_depth{topic=\"repairs\"}")).isEqualTo(0.0);
      assertThat(m.get("verifier_repair_paused")).isEqualTo(0.0);
    });
    Map<String, Double> m = scrape();
    assertThat(m.keySet()).as("Kafka Streams, client and JVM binders")
        .anyMatch(k -> k.startsWith("kafka_stream_thread_"))
        .anyMatch(k -> k.startsWith("kafka_consumer_"))
        .anyMatch(k -> k.startsWith("jvm_memory_used_bytes"))
        .anyMatch(k -> k.startsWith("verifier_watermark_lag_seconds{partition=\"1\",side=\"target\"}"))
        .anyMatch(k -> k.startsWith("verifier_convergence_lag_seconds_bucket{table=\"items\""));
    assertThat(m.get("verifier_watermark_lag_seconds{partition=\"0\",side=\"source\"}")).isBetween(0.0, 30.0);
    HttpResponse<String> raw = get("/metrics");
    assertThat(raw.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith(
        "text/plain; version=0.0.4"));

    await().atMost(AWAIT).untilAsserted(() -> {
      JsonNode s = JSON.readTree(get("/api/status").body());
      assertThat(s.get("name").asText()).isEqualTo("opsep");
      assertThat(s.get("ready").asBoolean()).isTrue();
      assertThat(s.get("roles")).hasSize(4);
      assertThat(table(s, "orders").get("state").asText()).isEqualTo("open");
      assertThat(table(s, "orders").get("open").asInt()).isEqualTo(2);
      assertThat(table(s, "orders").get("openByKind").get("VALUE_MISMATCH").asInt()).isEqualTo(1);
      assertThat(table(s, "items").get("state").asText()).isEqualTo("agree");
      assertThat(table(s, "items").get("convergence").get("count").asInt()).isGreaterThanOrEqualTo(1);
      assertThat(table(s, "slow").get("state").asText()).isEqualTo("pending");
      assertThat(s.get("openTotal").asInt()).isEqualTo(2);
      JsonNode mismatch = null;
      for (JsonNode d : s.get("open")) {
        if (d.get("kind").asText().equals("VALUE_MISMATCH")) {
          mismatch = d;
        }
      }
      assertThat(mismatch).isNotNull();
      assertThat(mismatch.get("key").get("id").asText()).isEqualTo("3");
      assertThat(mismatch.get("fields").get(0).get("name").asText()).isEqualTo("status");
      assertThat(mismatch.get("fields").get(0).get("source").asText()).isEqualTo("paid");
      assertThat(mismatch.get("fields").get(0).get("target").asText()).isEqualTo("lost");
      assertThat(s.get("dlq").get("repairs").asLong()).isZero();
      assertThat(s.get("watermarks")).hasSize(4); // 2 sides x 2 partitions
      for (JsonNode w : s.get("watermarks")) {
        assertThat(w.get("lagMs").asLong()).isBetween(0L, 30_000L);
      }
      assertThat(s.get("series").size()).isGreaterThanOrEqualTo(2);
      assertThat(s.get("series").get(s.get("series").size() - 1).get("changesPerSec").has("source")).isTrue();
    });

    HttpResponse<String> topology = get("/topology");
    assertThat(topology.statusCode()).isEqualTo(200);
    assertThat(topology.body()).contains("Sub-topology").contains("verify");
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith(
        "text/html"));
    assertThat(page.body()).contains("api/status");
    assertThat(get("/nothing").statusCode()).isEqualTo(404);
  }

  private static JsonNode table(JsonNode status, String name) {
    for (JsonNode t : status.get("tables")) {
      if (t.get("table").asText().equals(name)) {
        return t;
      }
    }
    throw new AssertionError("no table " + name + " in " + status.get("tables"));
  }

  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{[^}]*\\})?) (\\S+)");

  /** Every sample of {@code /metrics}: {@code name{labels}} → value (labels as Prometheus sorts them). */
  static Map<String, Double> scrape() throws Exception {
    Map<String, Double> out = new java.util.HashMap<>();
    for (String line : get("/metrics").body().split("\n")) {
      Matcher mm = SAMPLE.matcher(line);
      if (!line.startsWith("#") && mm.find()) {
        out.put(mm.group(1), Double.parseDouble(mm.group(2)));
      }
    }
    return out;
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.address().getPort() + path))
        .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void sql(String db, String... statements) throws Exception {
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      for (String q : statements) {
        s.execute(q);
      }
    }
  }
}
