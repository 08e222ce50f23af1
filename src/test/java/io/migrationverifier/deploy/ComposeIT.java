package io.migrationverifier.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.ContainerState;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * docker-compose.yml brought up for real (where a Docker engine and the {@code docker compose}
 * plugin exist; skipped otherwise): the verifier image is built from the Dockerfile, the stack
 * starts in order, the status endpoint answers, a row written only to the modern database is
 * reported, a corrupted row of a repair-enabled table is repaired by the repair container with its
 * least-privilege user, and Prometheus scrapes the verifier and evaluates config/alerts.yml on it.
 */
@Testcontainers(disabledWithoutDocker = true)
@Timeout(value = 40, unit = TimeUnit.MINUTES) // the first build downloads Maven dependencies and images
class ComposeIT {
  private static final Logger LOG = LoggerFactory.getLogger(ComposeIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final int HTTP_PORT = 8087;       // http.port of config/compose.yaml
  private static final int PROMETHEUS_PORT = 9090;

  private static ComposeContainer stack;

  @BeforeAll
  static void up() throws IOException {
    stack = new ComposeContainer(ComposeStack.repositoryRoot().resolve(ComposeStack.COMPOSE_FILE).toFile())
        .withBuild(true)
        // the published host ports, free ones: a developer's own PostgreSQL or Prometheus may hold the defaults
        .withEnv("MV_STATUS_PORT", Integer.toString(freePort()))
        .withEnv("MV_PROMETHEUS_PORT", Integer.toString(freePort()))
        .withExposedService("verifier", HTTP_PORT)
        .withExposedService("prometheus", PROMETHEUS_PORT)
        .withLogConsumer("verifier", new Slf4jLogConsumer(LOG).withPrefix("verifier"))
        .withLogConsumer("verifier-repair", new Slf4jLogConsumer(LOG).withPrefix("verifier-repair"))
        .withStartupTimeout(Duration.ofMinutes(10));
    stack.start();
  }

  @AfterAll
  static void down() {
    if (stack != null) {
      stack.stop();
    }
  }

  @Test
  void theStackVerifiesRepairsAndIsScraped() throws Exception {
    String verifier = "http://" + stack.getServiceHost("verifier", HTTP_PORT) + ":"
        + stack.getServicePort("verifier", HTTP_PORT);
    String prometheus = "http://" + stack.getServiceHost("prometheus", PROMETHEUS_PORT) + ":"
        + stack.getServicePort("prometheus", PROMETHEUS_PORT);

    // compose started Prometheus only once the verifier's healthcheck (GET /ready) passed
    await("verifier /ready answers 200").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1))
        .until(() -> status(verifier + "/ready") == 200);

    // the seed rows of both databases are equal: nothing is open
    JsonNode first = get(verifier + "/api/status");
    assertThat(first.path("tables").findValuesAsText("table")).contains("customers", "orders");
    assertThat(first.path("openTotal").asInt()).isZero();

    // a customer only the modern database has: UNEXPECTED_IN_TARGET after the 5 s window
    psql("modern", "INSERT INTO public.customers (id, name, email) VALUES (900, 'Only Modern', 'only@modern.example')");
    await("the modern-only row is reported").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1))
        .untilAsserted(() -> assertThat(get(verifier + "/api/status").path("open")).anySatisfy(d -> {
          assertThat(d.path("table").asText()).isEqualTo("customers");
          assertThat(d.path("key").path("id").asText()).isEqualTo("900");
          assertThat(d.path("kind").asText()).isEqualTo("UNEXPECTED_IN_TARGET");
        }));

    // a corrupted purchase order: orders has repair enabled, the repair container (user mv_repair)
    // writes the legacy value back
    psql("modern", "UPDATE public.purchase_orders SET total_amount = 1.0000 WHERE id = 2");
    await("the corrupted order is repaired").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1))
        .until(() -> psql("modern", "SELECT total_amount FROM public.purchase_orders WHERE id = 2").strip(),
            v -> v.equals("250.0000"));

    // Prometheus scrapes the verifier's /metrics (job verifier of config/prometheus.yml)
    await("Prometheus scrapes the verifier").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofSeconds(2))
        .untilAsserted(() -> {
          JsonNode up = query(prometheus, "up{job=\"verifier\"}");
          assertThat(up).hasSize(1);
          assertThat(up.get(0).path("value").get(1).asText()).isEqualTo("1");
          assertThat(query(prometheus, "count({__name__=~\"verifier_.+\",job=\"verifier\"})")).isNotEmpty();
        });
    // and evaluates config/alerts.yml on it: the open discrepancy makes its alert pending (for: 5m)
    await("the open-discrepancy alert is pending").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofSeconds(2))
        .untilAsserted(() -> assertThat(query(prometheus, "ALERTS{alertname=\"VerifierDiscrepancyOpen\",table=\"customers\"}"))
            .isNotEmpty());
  }

  private static JsonNode query(String prometheus, String promql) throws Exception {
    JsonNode answer = get(prometheus + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    assertThat(answer.path("status").asText()).as("Prometheus answer to %s: %s", promql, answer).isEqualTo("success");
    return answer.path("data").path("result");
  }

  private static JsonNode get(String url) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s: %s", url, r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static int status(String url) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** Runs one statement as the databases' superuser inside the service's container; returns its unaligned output. */
  private static String psql(String service, String sql) throws Exception {
    ContainerState c = stack.getContainerByServiceName(service)
        .orElseThrow(() -> new IllegalStateException("no running container for compose service " + service));
    ExecResult r = c.execInContainer("psql", "-U", "postgres", "-d", service, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql);
    assertThat(r.getExitCode()).as("psql in %s: %s%s", service, r.getStdout(), r.getStderr()).isZero();
    return r.getStdout();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
