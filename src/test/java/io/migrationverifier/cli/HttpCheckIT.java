package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.ops.CheckRoute;
import io.migrationverifier.ops.HttpEndpoint;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /check} on the endpoint {@code run} starts, against a real PostgreSQL and broker:
 * the verdict and field diff, a requested repair and its log entry, and the error answers (400 bad
 * input, 404, 405, 503 database unreachable).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class HttpCheckIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  record Answer(int status, JsonNode body, HttpResponse<String> raw) {}

  private static Answer call(HttpEndpoint ep, String method, String path, String body) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + ep.address().getPort() + path);
    HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .header("Content-Type", "application/json").build();
    HttpResponse<String> r = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), r.body().isEmpty() ? null : JSON.readTree(r.body()), r);
  }

  @Test
  void postCheckAnswersTheVerdictTheDiffAndTheRepair(@TempDir Path dir) throws Exception {
    try (OpsItSupport env = new OpsItSupport(dir)) {
      String tables = """
          tables:
            - name: orders
              key: [id]
              repair: {enabled: true}
          """;
      VerifierConfig c = OpsItSupport.load(env.configFile("web", tables));
      env.ensureTopics(c);
      for (String db : List.of("legacy", "modern")) {
        env.sql(db, "CREATE TABLE orders (id BIGINT PRIMARY KEY, status TEXT, qty INT)",
            "INSERT INTO orders VALUES (1, 'paid', 1)");
      }
      env.sql("legacy", "INSERT INTO orders VALUES (42, 'shipped', 3)");
      env.sql("modern", "INSERT INTO orders VALUES (42, 'paid', 3)");

      try (HttpEndpoint ep = CheckRoute.endpoint(c, env.kafka.bootstrapServers()).start("127.0.0.1", 0, 2)) {
        Answer same = call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"id\":1}}");
        assertThat(same.status()).isEqualTo(200);
        assertThat(same.body().get("verdict").asText()).isEqualTo("CONSISTENT");
        assertThat(same.body().get("repair").isNull()).isTrue();
        assertThat(same.raw().headers().firstValue("Content-Type")).hasValueSatisfying(
            v -> assertThat(v).startsWith("application/json"));

        Answer diff = call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"id\":\"42\"},\"repair\":false}");
        assertThat(diff.status()).isEqualTo(200);
        assertThat(diff.body().get("verdict").asText()).isEqualTo("VALUE_MISMATCH");
        assertThat(diff.body().get("fields")).hasSize(1);
        assertThat(diff.body().get("fields").get(0).get("name").asText()).isEqualTo("status");
        assertThat(diff.body().get("fields").get(0).get("source").asText()).isEqualTo("shipped");
        assertThat(diff.body().get("fields").get(0).get("target").asText()).isEqualTo("paid");
        assertThat(diff.body().get("source").get("status").asText()).isEqualTo("shipped");
        assertThat(diff.body().get("target").get("status").asText()).isEqualTo("paid");
        assertThat(env.value("modern", "orders", 42, "status")).isEqualTo("paid");

        Answer fix = call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"id\":\"42\"},\"repair\":true}");
        assertThat(fix.status()).isEqualTo(200);
        assertThat(fix.body().get("verdict").asText()).isEqualTo("VALUE_MISMATCH");
        assertThat(fix.body().get("repair").get("status").asText()).isEqualTo("APPLIED");
        assertThat(fix.body().get("repair").get("policy").asText()).isEqualTo("source-wins");
        assertThat(fix.body().get("repair").get("logged").asBoolean()).isTrue();
        assertThat(env.value("modern", "orders", 42, "status")).isEqualTo("shipped");
        var log = env.read(c, c.topics().repairsLog());
        assertThat(log).hasSize(1);
        assertThat(RepairEvents.decodeRepairLog(log.get(0).value()).id())
            .isEqualTo(fix.body().get("repair").get("log").get("id").asText());

        Answer after = call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"id\":\"42\"},\"repair\":true}");
        assertThat(after.body().get("verdict").asText()).isEqualTo("CONSISTENT");
        assertThat(after.body().get("repair").isNull()).isTrue();

        // bad input: 400 with a message that names the problem
        assertThat(error(call(ep, "POST", "/check", "{not json"), 400)).contains("not valid JSON");
        assertThat(error(call(ep, "POST", "/check", "[1]"), 400)).contains("must be a JSON object");
        assertThat(error(call(ep, "POST", "/check", "{\"table\":\"nope\",\"key\":{\"id\":1}}"), 400))
            .contains("unknown table \"nope\"");
        assertThat(error(call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"no\":1}}"), 400))
            .contains("keyed by [id]");
        assertThat(error(call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"id\":\"x\"}}"), 400))
            .contains("id");
        assertThat(error(call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"id\":1},\"x\":1}"), 400))
            .contains("unknown field \"x\"");
        assertThat(error(call(ep, "POST", "/check", "{\"table\":\"orders\"}"), 400)).contains("\"key\" must be");
        assertThat(error(call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"id\":1},\"repair\":\"y\"}"),
            400)).contains("\"repair\" must be true or false");

        Answer get = call(ep, "GET", "/check", null);
        assertThat(get.status()).isEqualTo(405);
        assertThat(get.raw().headers().firstValue("Allow")).hasValue("POST");
        assertThat(error(call(ep, "POST", "/nothing", "{}"), 404)).contains("POST /check");
      }

      // a database unreachable: 503
      int closed;
      try (ServerSocket s = new ServerSocket(0)) {
        closed = s.getLocalPort();
      }
      VerifierConfig down = OpsItSupport.load(env.configFile("web", tables, closed, null));
      try (HttpEndpoint ep = CheckRoute.endpoint(down, env.kafka.bootstrapServers()).start("127.0.0.1", 0, 2)) {
        assertThat(error(call(ep, "POST", "/check", "{\"table\":\"orders\",\"key\":{\"id\":1}}"), 503))
            .contains("a database is unreachable");
      }
    }
  }

  /** {@code run} serves it when http.enabled, prints where, and closes it on SIGTERM. */
  @Test
  void runServesPostCheckAndClosesItOnShutdown(@TempDir Path dir) throws Exception {
    try (OpsItSupport env = new OpsItSupport(dir)) {
      for (String db : List.of("legacy", "modern")) {
        env.sql(db, "CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT)");
      }
      env.sql("legacy", "INSERT INTO items VALUES (7, 'seven')");
      Path config = java.nio.file.Files.writeString(dir.resolve("run.yaml"), env.yaml("webrun", """
          tables:
            - {name: items, key: [id]}
          """, 0, "{bootstrap-servers: embedded, embedded-port: 0}").replace("http: {enabled: false}",
          "http: {port: 0}"));
      List<String> cmd = new java.util.ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
          System.getProperty("java.class.path"), Main.class.getName(), "run", "--config", config.toString(),
          "--roles", "verify"));
      Process run = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
      Thread reader = new Thread(() -> {
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(run.getInputStream(),
            java.nio.charset.StandardCharsets.UTF_8))) {
          String l;
          while ((l = r.readLine()) != null) {
            lines.add(l);
          }
        } catch (java.io.IOException ignored) {
          // the process ended
        }
      });
      reader.setDaemon(true);
      reader.start();
      try {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(90))
            .until(() -> lines.stream().anyMatch(l -> l.startsWith("http: ") && l.contains(" on http://127.0.0.1:")));
        String line = lines.stream().filter(l -> l.startsWith("http: ")).findFirst().orElseThrow();
        assertThat(line).contains("POST /check", "GET /metrics", "GET /ready", "GET /health", "GET /api/status");
        int port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1).trim());
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/check"))
            .timeout(Duration.ofSeconds(60))
            .POST(HttpRequest.BodyPublishers.ofString("{\"table\":\"items\",\"key\":{\"id\":\"7\"}}")).build();
        HttpResponse<String> r = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).get("verdict").asText()).isEqualTo("MISSING_IN_TARGET");

        run.destroy(); // SIGTERM
        assertThat(run.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(run.exitValue()).as(String.join("\n", lines)).isEqualTo(143);
        try (java.net.Socket s = new java.net.Socket()) {
          assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> s.connect(
              new java.net.InetSocketAddress("127.0.0.1", port), 2000))).as("closed on shutdown").isNotNull();
        }
      } finally {
        run.destroyForcibly();
      }
    }
  }

  private static String error(Answer a, int status) {
    assertThat(a.status()).as(String.valueOf(a.body())).isEqualTo(status);
    return a.body().get("error").asText();
  }
}
