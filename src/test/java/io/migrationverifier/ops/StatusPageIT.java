package io.migrationverifier.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.PostgresServer;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The status page at {@code GET /} in a real headless browser (Debian's chromium, driven through
 * its command line: {@code --dump-dom} gives the DOM after the page's script ran, {@code
 * --screenshot} the picture kept as test output in {@code target/status-page.png}).
 *
 * <p>The first case runs the real product, PostgreSQL to PostgreSQL on the in-process broker,
 * with {@link Metrics} and {@link OpsEndpoint}, injects two discrepancies into the target database
 * (a changed value, and a row holding markup that must show as text) and checks that the page
 * shows the configured tables and both discrepancies. The second serves a hand-written {@code
 * /api/status} under a path prefix (as behind a reverse proxy): markup in every kind of field
 * stays text, the 200-entry cap is announced, a {@code #table=} link filters the list, and a
 * failing poll shows "disconnected, retrying" while the page keeps polling.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class StatusPageIT {
  private static final Logger LOG = LoggerFactory.getLogger(StatusPageIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Debian's chromium; {@code -Dchromium=/path} for a browser elsewhere (or none, to see the skip). */
  private static final Path CHROMIUM = Path.of(System.getProperty("chromium", "/usr/bin/chromium"));
  private static final String PAGE = "/io/migrationverifier/ops/status/index.html";
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  /**
   * Text that runs script if a page ever puts it into the DOM as HTML: the image fails to load and
   * its handler marks the body, which the DOM dump would show.
   */
  private static final String MARKUP = "<img src=x onerror=\"document.body.setAttribute('data-pwned','%s')\">";

  /** Per test, not per class: a class-level skip is reported as zero tests, with no reason shown. */
  @BeforeEach
  void needsChromium() {
    if (!Files.isExecutable(CHROMIUM)) {
      String why = "no " + CHROMIUM + ": the status page browser test needs Debian's chromium package; .ci/run "
          + "installs it (apt-get install chromium) when it runs as root";
      LOG.warn("skipped: {}", why);
      Assumptions.abort(why);
    }
  }

  // ---- 1. the real product -------------------------------------------------------------------------

  @Test
  void showsTheConfiguredTablesAndAnInjectedDiscrepancy(@TempDir Path dir) throws Exception {
    try (PostgresServer pg = PostgresServer.start();
        EmbeddedKafka kafka = EmbeddedKafka.start(0, dir.resolve("kafka"))) {
      pg.createDatabase("legacy");
      pg.createDatabase("modern");
      for (String db : List.of("legacy", "modern")) {
        sql(pg, db, "CREATE TABLE orders (id BIGINT PRIMARY KEY, status TEXT NOT NULL, amount NUMERIC(12,2))",
            "ALTER TABLE orders REPLICA IDENTITY FULL",
            "CREATE TABLE customers (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
            "ALTER TABLE customers REPLICA IDENTITY FULL",
            "INSERT INTO orders SELECT g, 'new', g * 1.5 FROM generate_series(1, 50) g",
            "UPDATE orders SET status = 'shipped' WHERE id = 42",
            "INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 5) g");
      }
      VerifierConfig config = Configs.parse("""
          name: statuspage
          kafka: {bootstrap-servers: "%s", partitions: 2}
          source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: postgres, password: '', time-zone: UTC}
          target: {type: postgres, host: 127.0.0.1, port: %d, database: modern, user: postgres, password: '', time-zone: UTC}
          verify: {window: 1s, state-dir: "%s", commit-interval: 100ms}
          capture: {heartbeat-interval: 200ms}
          tables:
            - {name: orders, key: [id]}
            - {name: customers, key: [id]}
          """.formatted(kafka.bootstrapServers(), pg.port(), pg.port(), dir.resolve("state")));

      try (Metrics metrics = new Metrics(config);
          Pipeline pipeline = Pipeline.start(config, Role.all(), kafka.bootstrapServers(), metrics, metrics, metrics);
          HttpEndpoint ep = OpsEndpoint.build(config, pipeline, metrics).start("127.0.0.1", 0, 4)) {
        String base = "http://127.0.0.1:" + ep.address().getPort();
        // the faults a dual write leaves behind: a value changed on the target only, and a row
        // only the target has (its text is markup, which the page must show as text)
        sql(pg, "modern", "UPDATE orders SET status = 'paid' WHERE id = 42");
        String markup = MARKUP.formatted("real");
        try (Connection c = pg.connect("modern");
            PreparedStatement ps = c.prepareStatement("INSERT INTO customers VALUES (7, ?)")) {
          ps.setString(1, markup);
          ps.executeUpdate();
        }

        // also waits for what the charts and the watermark panel draw: three samples (the first
        // has no rates yet) and a watermark for every partition of both sides
        JsonNode status = await("both discrepancies open on /api/status, 3 samples, every watermark")
            .atMost(Duration.ofSeconds(120))
            .pollInterval(Duration.ofMillis(500))
            .until(() -> {
              if (pipeline.failure().isCompletedExceptionally()) {
                pipeline.failure().join();
              }
              return JSON.readTree(get(base + "/api/status"));
            }, s -> open(s, "orders", "42").isPresent() && open(s, "customers", "7").isPresent()
                && s.path("series").size() >= 3 && everyWatermarkKnown(s, config.kafka().partitions()));
        JsonNode mismatch = open(status, "orders", "42").orElseThrow();
        JsonNode unexpected = open(status, "customers", "7").orElseThrow();
        assertThat(mismatch.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
        assertThat(unexpected.get("kind").asText()).isEqualTo("UNEXPECTED_IN_TARGET");

        String dom = Chromium.dumpDom(base + "/", dir);
        assertThat(dom).as("the first poll was rendered").contains("id=\"status-loaded\"");
        assertNoRenderError(dom);
        assertThat(text(element(dom, "h1", "id", "deployment-name"))).isEqualTo("statuspage");
        assertThat(text(element(dom, "span", "id", "readiness")))
            .isEqualTo(status.get("ready").asBoolean() ? "ready" : "not ready");

        for (String table : List.of("orders", "customers")) {
          String row = element(dom, "tr", "data-table", table);
          assertThat(text(element(row, "span", "class", "trunc table-name"))).isEqualTo(table);
          assertThat(attribute(row, "data-state")).as("state of " + table).isEqualTo("open");
          assertThat(text(element(row, "span", "data-role", "state"))).isEqualTo("open");
        }

        String m = element(dom, "article", "data-discrepancy-id", mismatch.get("id").asText());
        assertThat(attribute(m, "data-kind")).isEqualTo("VALUE_MISMATCH");
        assertThat(text(m)).contains("VALUE_MISMATCH", "orders", "id=42");
        String field = element(m, "tr", "data-field", "status");
        assertThat(text(element(field, "td", "data-role", "source"))).isEqualTo("shipped");
        assertThat(text(element(field, "td", "data-role", "target"))).isEqualTo("paid");
        assertThat(field).as("the differing values are highlighted").contains("<mark>shipped</mark>",
            "<mark>paid</mark>");

        String u = element(dom, "article", "data-discrepancy-id", unexpected.get("id").asText());
        assertThat(text(u)).contains("UNEXPECTED_IN_TARGET", "customers", "id=7", "present on the target only");
        assertThat(text(element(u, "tr", "data-field", "name"))).as("the target row's markup, shown as text")
            .contains(markup);
        assertMarkupInert(dom);

        assertThat(dom).contains("<svg id=\"chart-convergence\"", "<svg id=\"chart-throughput\"");
        String throughput = element(dom, "svg", "id", "chart-throughput");
        assertThat(Integer.parseInt(attribute(throughput, "data-samples"))).isGreaterThanOrEqualTo(3);
        assertThat(throughput).as("a line per side").contains("data-series=\"source\"", "data-series=\"target\"");
        assertThat(text(element(dom, "div", "id", "open-total"))).isEqualTo(String.valueOf(
            status.get("openTotal").asLong()));
        for (String side : List.of("source", "target")) {
          String wm = element(dom, "tr", "data-watermark-side", side);
          for (int p = 0; p < config.kafka().partitions(); p++) {
            assertThat(text(element(wm, "span", "data-partition", String.valueOf(p))))
                .as("%s partition %d", side, p).matches("p" + p + " \\d.*");
          }
        }

        Path png = Path.of("target", "status-page.png").toAbsolutePath();
        Chromium.screenshot(base + "/", png, dir);
        LOG.info("status page screenshot (real product, 2 open discrepancies): {}", png);
      } finally {
        pg.dropReplicationSlots();
      }
    }
  }

  // ---- 2. a hand-written status: markup, the cap, a failing poll -------------------------------------

  @Test
  void rendersApiTextAsTextAnnouncesTheCapAndRetriesAFailedPoll(@TempDir Path dir) throws Exception {
    long now = System.currentTimeMillis();
    ObjectNode status = JSON.createObjectNode().put("name", "prod " + MARKUP.formatted("name")).put("now", now)
        .put("ready", false);
    status.putArray("notReady").add("verify: streams REBALANCING");
    status.putArray("roles").add("verify");
    ArrayNode tables = status.putArray("tables");
    tables.addObject().put("table", "orders").put("state", "open").put("open", 500).put("pending", 0)
        .put("oldestOpenAgeMs", 90_000).putNull("convergence")
        .set("openByKind", JSON.createObjectNode().put("VALUE_MISMATCH", 500));
    tables.addObject().put("table", MARKUP.formatted("table")).put("state", "agree").put("open", 0)
        .putNull("oldestOpenAgeMs").putNull("changes").putNull("openByKind");
    ArrayNode open = status.putArray("open");
    ObjectNode d = open.addObject().put("id", "0b7c-markup").put("kind", "VALUE_MISMATCH").put("table", "orders")
        .put("detector", "stream").put("divergedSince", now - 95_000).put("detectedAt", now - 90_000);
    d.putObject("key").put("id", MARKUP.formatted("key") + "x".repeat(300));
    d.putArray("fields").addObject().put("name", MARKUP.formatted("field")).put("source", MARKUP.formatted("value"))
        .put("target", "plain");
    d.putNull("source");
    d.putNull("target");
    d.putArray("rowsNotKept").add("target"); // a hash-only table's report without a before-image
    ObjectNode other = open.addObject().put("id", "0b7c-other").put("kind", "MISSING_IN_TARGET")
        .put("table", "customers").put("detector", "audit").put("divergedSince", now - 5_000)
        .put("detectedAt", now - 1_000);
    other.putObject("key").put("id", "1");
    other.putArray("fields");
    other.putObject("source").put("id", "1").put("name", "only on the source");
    other.putNull("target");
    status.put("openTotal", 500);
    status.putNull("dlq");
    status.putArray("watermarks").addObject().put("side", "target").put("partition", 0).putNull("watermark")
        .putNull("lagMs");
    ArrayNode series = status.putArray("series");
    for (int i = 0; i < 3; i++) {
      ObjectNode p = series.addObject().put("t", now - (2 - i) * 5000L);
      p.putObject("changesPerSec").put("source", 10.0 + i).put("target", 9.5 + i);
      p.putNull("convergenceP50Ms");
      p.putNull("convergenceP99Ms");
    }
    byte[] page;
    try (InputStream in = StatusPageIT.class.getResourceAsStream(PAGE)) {
      assertThat(in).as("the page is on the class path at " + PAGE).isNotNull();
      page = in.readAllBytes();
    }
    AtomicInteger polls = new AtomicInteger();
    // behind a reverse proxy the page lives under a prefix: it must ask for prefix/api/status
    try (HttpEndpoint ep = new HttpEndpoint()
        .route("GET", "/ops/", req -> new HttpEndpoint.Response(200, "text/html", page))
        .route("GET", "/ops/api/status", req -> polls.incrementAndGet() == 1
            ? HttpEndpoint.Response.json(200, status)
            : HttpEndpoint.Response.error(503, "verifier restarting"))
        .start("127.0.0.1", 0, 2)) {
      // a link to one table's discrepancies (the filters live in the fragment)
      String dom = Chromium.dumpDom("http://127.0.0.1:" + ep.address().getPort() + "/ops/#table=orders", dir);

      assertThat(dom).contains("id=\"status-loaded\"");
      assertNoRenderError(dom);
      assertMarkupInert(dom);
      assertThat(text(element(dom, "h1", "id", "deployment-name"))).isEqualTo("prod " + MARKUP.formatted("name"));
      assertThat(text(element(dom, "tr", "data-table", "orders"))).contains("orders", "VALUE_MISMATCH 500", "1m 30s");
      assertThat(dom).as("a table name is an attribute value and text, never markup")
          .contains("data-table=\"" + escapeAttribute(MARKUP.formatted("table")) + "\"");
      assertThat(text(element(dom, "span", "id", "readiness"))).isEqualTo("not ready");
      assertThat(text(element(dom, "div", "id", "not-ready"))).isEqualTo("Not ready: verify: streams REBALANCING");

      String art = element(dom, "article", "data-discrepancy-id", "0b7c-markup");
      String key = element(art, "span", "class", "trunc disc-key");
      assertThat(attribute(key, "title")).as("the whole long key in the tooltip")
          .isEqualTo(escapeAttribute("id=" + MARKUP.formatted("key") + "x".repeat(300)));
      String field = element(art, "tr", "data-field", escapeAttribute(MARKUP.formatted("field")));
      assertThat(text(element(field, "td", "class", "field-name"))).isEqualTo(MARKUP.formatted("field"));
      assertThat(text(element(field, "td", "data-role", "source"))).isEqualTo(MARKUP.formatted("value"));
      assertThat(text(element(field, "td", "data-role", "target"))).isEqualTo("plain");
      assertThat(text(element(art, "div", "data-role", "rows-not-kept"))).startsWith("the target row is present but"
          + " not held by the verifier").contains("check command");
      assertThat(text(element(dom, "span", "id", "disc-capped"))).isEqualTo("showing the newest 2 of 500");
      assertThat(dom).as("filtered out by #table=orders").doesNotContain("data-discrepancy-id=\"0b7c-other\"");
      assertThat(text(element(dom, "span", "id", "filter-note"))).isEqualTo("1 of 2 shown");

      assertThat(dom).contains("<svg id=\"chart-convergence\"", "<svg id=\"chart-throughput\"");
      assertThat(element(dom, "svg", "id", "chart-throughput")).contains("data-series=\"source\"",
          "data-series=\"target\"");
      assertThat(text(element(dom, "svg", "id", "chart-convergence"))).contains("no samples yet");
      assertThat(text(element(dom, "tr", "data-watermark-side", "target"))).contains("none yet");
      assertThat(text(element(dom, "div", "id", "dlq-repairs"))).isEqualTo("–");

      // the polls after the first failed: the last data stays, the failure shows, polling goes on
      assertThat(attribute(element(dom, "span", "id", "conn"), "data-state")).isEqualTo("disconnected");
      String banner = element(dom, "div", "id", "disconnected");
      assertThat(attribute(banner, "class")).doesNotContain("hidden");
      assertThat(text(banner)).contains("Disconnected, retrying", "HTTP 503");
      assertThat(polls.get()).as("polls after a failure").isGreaterThanOrEqualTo(3);
    }
  }

  // ---- DOM checks ------------------------------------------------------------------------------------

  private static void assertNoRenderError(String dom) {
    assertThat(attribute(element(dom, "div", "id", "render-error"), "class")).as(text(element(dom, "div", "id",
        "render-error"))).contains("hidden");
  }

  /** No markup from the API became an element, and no handler in it ran. */
  private static void assertMarkupInert(String dom) {
    String body = dom.substring(dom.indexOf("<body"), dom.indexOf('>', dom.indexOf("<body")) + 1);
    assertThat(body).as("an injected handler ran").doesNotContain("data-pwned");
    assertThat(dom).as("an injected element").doesNotContain("<img");
    assertThat(dom).contains("&lt;img src=x onerror=");
  }

  /**
   * The outer HTML of the first {@code tag} element whose attribute {@code name} has exactly the
   * (serialized) {@code value}, up to its matching end tag.
   */
  static String element(String html, String tag, String name, String value) {
    Matcher open = Pattern.compile("<" + tag + "\\b[^>]*\\s" + Pattern.quote(name) + "=\"" + Pattern.quote(value)
        + "\"[^>]*>").matcher(html);
    assertThat(open.find()).as("<%s %s=\"%s\"> in the page", tag, name, value).isTrue();
    Matcher tags = Pattern.compile("<(/?)" + tag + "\\b[^>]*>").matcher(html);
    int depth = 0;
    tags.region(open.start(), html.length());
    while (tags.find()) {
      depth += tags.group(1).isEmpty() ? 1 : -1;
      if (depth == 0) {
        return html.substring(open.start(), tags.end());
      }
    }
    throw new AssertionError("no end tag for <" + tag + " " + name + "=\"" + value + "\">");
  }

  /** An attribute of an element's start tag (as serialized). */
  static String attribute(String element, String name) {
    String start = element.substring(0, element.indexOf('>') + 1);
    Matcher m = Pattern.compile("\\s" + Pattern.quote(name) + "=\"([^\"]*)\"").matcher(start);
    assertThat(m.find()).as("attribute %s in %s", name, start).isTrue();
    return m.group(1);
  }

  /** The text content: tags dropped, character references decoded. */
  static String text(String html) {
    return html.replaceAll("<[^>]*>", "").replace("\u200b", "").replace("&lt;", "<").replace("&gt;", ">")
        .replace("&quot;", "\"").replace("&nbsp;", "\u00a0").replace("&amp;", "&").strip();
  }

  /** How chromium serializes an attribute value. */
  static String escapeAttribute(String s) {
    return s.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("\u00a0", "&nbsp;");
  }

  private static Optional<JsonNode> open(JsonNode status, String table, String id) {
    for (JsonNode d : status.path("open")) {
      if (table.equals(d.path("table").asText()) && id.equals(d.path("key").path("id").asText())) {
        return Optional.of(d);
      }
    }
    return Optional.empty();
  }

  private static boolean everyWatermarkKnown(JsonNode status, int partitions) {
    int known = 0;
    for (JsonNode w : status.path("watermarks")) {
      known += w.path("watermark").isNumber() ? 1 : 0;
    }
    return known == 2 * partitions;
  }

  private static String get(String url) throws Exception {
    HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(url + ": " + r.body()).isEqualTo(200);
    return r.body();
  }

  private static void sql(PostgresServer pg, String db, String... statements) throws Exception {
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      for (String q : statements) {
        s.execute(q);
      }
    }
  }

  // ---- the browser -----------------------------------------------------------------------------------

  /**
   * Headless chromium from its command line. Virtual time lets the page's timers (the 2 s poll)
   * run without waiting for them in real time; network requests pause virtual time, so the polls
   * really complete. A fresh profile per run: nothing cached from an earlier one.
   */
  static final class Chromium {
    /** Enough virtual time for the first poll and three more at 2 s. */
    private static final int BUDGET_MS = 7_000;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    static String dumpDom(String url, Path work) throws Exception {
      Path out = Files.createTempFile(work, "dom", ".html");
      run(work, out, "--dump-dom", url);
      String dom = Files.readString(out, StandardCharsets.UTF_8);
      assertThat(dom).as("chromium dumped the DOM of " + url).contains("</html>");
      return dom;
    }

    static void screenshot(String url, Path png, Path work) throws Exception {
      Files.createDirectories(png.getParent());
      Files.deleteIfExists(png);
      run(work, Files.createTempFile(work, "shot", ".out"), "--screenshot=" + png, "--window-size=1400,1800",
          "--hide-scrollbars", url);
      BufferedImage image = ImageIO.read(png.toFile());
      assertThat(image).as("a PNG at " + png).isNotNull();
      assertThat(image.getWidth()).isEqualTo(1400);
    }

    private static void run(Path work, Path stdout, String... args) throws Exception {
      Path profile = Files.createTempDirectory(work, "chromium-profile");
      Path stderr = Files.createTempFile(work, "chromium", ".err");
      List<String> cmd = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
          "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
          "--virtual-time-budget=" + BUDGET_MS, "--run-all-compositor-stages-before-draw"));
      cmd.addAll(List.of(args));
      long t0 = System.nanoTime();
      Process p = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
      try {
        boolean ended = p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(ended).as("chromium finished within %s: %s", TIMEOUT, tail(stderr)).isTrue();
        assertThat(p.exitValue()).as("chromium's exit code; its stderr: %s", tail(stderr)).isZero();
        LOG.info("chromium {} took {} ms", args[0], TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
      } finally {
        p.destroyForcibly();
        deleteRecursively(profile);
      }
    }

    private static String tail(Path f) throws IOException {
      List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    private static void deleteRecursively(Path dir) throws IOException {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }
}
