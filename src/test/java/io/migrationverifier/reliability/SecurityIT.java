package io.migrationverifier.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.capture.CaptureListener;
import io.migrationverifier.capture.CaptureNames;
import io.migrationverifier.cli.Main;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.ops.HttpEndpoint;
import io.migrationverifier.ops.Metrics;
import io.migrationverifier.ops.OpsEndpoint;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.RepairWorker;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.testutil.PostgresServer;
import io.migrationverifier.verify.VerifyListener;
import io.migrationverifier.verify.VerifyStreamsConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * Secrets, PII and least privilege on the real pipeline (in-process broker, embedded PostgreSQL
 * with password authentication switched on).
 *
 * <p>Every secret of the deployment is a unique canary: both database passwords (one from
 * {@code ${env:}}, one from {@code ${file:}}), the repair user's password, a Kafka
 * {@code sasl.jaas.config}, a {@code driver.sslpassword} and the PII key; a wrong password is one
 * too. The pipeline runs as an operator would split it: a capture process whose database users
 * have only {@code LOGIN REPLICATION}, {@code SELECT} and a publication their owner pre-created
 * ({@code publication.autocreate.mode: disabled}), and a verify+repair process whose target user
 * may only SELECT/INSERT/UPDATE/DELETE the one table it repairs. Detection and repair work; a
 * repair the user may not make fails into {@code <name>.repairs.dlq}; a manual-policy table
 * goes to {@code <name>.review}; a malformed change goes to {@code <name>.changes.dlq}; a wrong
 * password fails {@code check} and a capture start. Then no canary appears anywhere: every log
 * line of the JVM (libraries at INFO/DEBUG included, stack traces in full), stdout/stderr of the
 * CLI, every record (key, value, headers) of every topic on the broker, {@code /metrics},
 * {@code /api/status}, {@code /ready}, {@code /health}, {@code /topology}, the configs'
 * {@code toString()} and the exceptions. And no value of a {@code pii} column appears in the
 * discrepancy, review or dead-letter records.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class SecurityIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration AWAIT = Duration.ofSeconds(120);
  private static final String NAME = "secit";

  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final String CANARY_SOURCE = "CANARY-src-" + RUN;
  static final String CANARY_TARGET = "CANARY-tgt-" + RUN;
  static final String CANARY_REPAIR = "CANARY-rep-" + RUN;
  static final String CANARY_JAAS = "CANARY-jaas-" + RUN;
  static final String CANARY_SSL = "CANARY-ssl-" + RUN;
  static final String CANARY_PII_KEY = "CANARY-piikey-" + RUN + "-0123456789";
  static final String CANARY_WRONG = "CANARY-wrong-" + RUN;
  static final List<String> CANARIES = List.of(CANARY_SOURCE, CANARY_TARGET, CANARY_REPAIR, CANARY_JAAS, CANARY_SSL,
      CANARY_PII_KEY, CANARY_WRONG);
  /** Values of pii columns; the customers' emails are hashed, phones and cards masked. */
  static final List<String> PII = List.of("pii-ann@example.com", "pii-ann-new@example.org", "pii-phone-555",
      "pii-card-4111", "pii-bob@example.com");

  private static PostgresServer pg;
  private static EmbeddedKafka kafka;
  private static Path dir;
  private static LogCapture logs;
  private static final Map<String, Level> savedLevels = new HashMap<>();
  private static final List<AutoCloseable> closeLast = new ArrayList<>();

  /** Every log event of the JVM, formatted with its full stack trace. */
  static final class LogCapture extends AppenderBase<ILoggingEvent> {
    final StringBuffer text = new StringBuffer();
    private PatternLayout layout;

    @Override
    public void start() {
      layout = new PatternLayout();
      layout.setContext(getContext());
      layout.setPattern("%d %-5level [%thread] %logger - %msg %mdc%n%ex{full}");
      layout.start();
      super.start();
    }

    @Override
    protected void append(ILoggingEvent e) {
      text.append(layout.doLayout(e));
    }
  }

  @BeforeAll
  static void start() throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    logs = new LogCapture();
    logs.setContext(ctx);
    logs.start();
    ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(logs);
    // louder than production: a secret that leaks only at INFO or DEBUG leaks all the same
    for (Map.Entry<String, Level> e : Map.of("io.migrationverifier", Level.DEBUG, "io.debezium", Level.INFO,
        "com.zaxxer.hikari", Level.DEBUG, "org.apache.kafka.clients", Level.INFO, "org.apache.kafka.streams",
        Level.INFO, "org.apache.kafka.connect", Level.INFO).entrySet()) {
      ch.qos.logback.classic.Logger l = ctx.getLogger(e.getKey());
      savedLevels.put(e.getKey(), l.getLevel());
      l.setLevel(e.getValue());
    }
    dir = Files.createTempDirectory("security-it");
    pg = PostgresServer.start();
    pg.createDatabase("legacy");
    pg.createDatabase("modern");
    requirePasswords(pg);
    kafka = EmbeddedKafka.start(0, null);
  }

  @AfterAll
  static void stop() throws Exception {
    for (int i = closeLast.size() - 1; i >= 0; i--) {
      try {
        closeLast.get(i).close();
      } catch (Exception e) {
        // keep closing the rest
      }
    }
    if (kafka != null) {
      kafka.close();
    }
    if (pg != null) {
      pg.dropReplicationSlots();
      pg.close();
    }
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).detachAppender(logs);
    savedLevels.forEach((name, level) -> ctx.getLogger(name).setLevel(level));
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  /**
   * zonky's cluster trusts every local connection: a wrong password would pass. Everyone but the
   * test's own superuser must now give a SCRAM password (written through the superuser's COPY).
   */
  static void requirePasswords(PostgresServer pg) throws SQLException {
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
      String hba;
      try (ResultSet rs = s.executeQuery("SHOW hba_file")) {
        rs.next();
        hba = rs.getString(1);
      }
      List<String> lines = new ArrayList<>();
      for (String db : List.of("all", "replication")) {
        lines.add("local " + db + " postgres trust");
        lines.add("host " + db + " postgres 127.0.0.1/32 trust");
        lines.add("host " + db + " postgres ::1/128 trust");
      }
      for (String db : List.of("all", "replication")) {
        lines.add("host " + db + " all 127.0.0.1/32 scram-sha-256");
        lines.add("host " + db + " all ::1/128 scram-sha-256");
        lines.add("local " + db + " all scram-sha-256");
      }
      s.execute("COPY (SELECT unnest(ARRAY['" + String.join("','", lines) + "'])) TO '" + hba.replace("'", "''")
          + "'");
      s.execute("SELECT pg_reload_conf()");
    }
  }

  static void sql(String db, String... statements) throws SQLException {
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      for (String q : statements) {
        s.execute(q);
      }
    }
  }

  static String pgUser(String user, String password) {
    return "CREATE ROLE " + user + " LOGIN PASSWORD '" + password + "'";
  }

  /** The config as an operator writes it: every secret from ${env:} or ${file:}. */
  static String yaml(String targetUser, String targetPassword, String targetSsl) {
    return """
        name: %s
        kafka:
          bootstrap-servers: "%s"
          partitions: 2
          properties:
            sasl.jaas.config: "${env:KAFKA_JAAS}"
        source:
          type: postgres
          host: 127.0.0.1
          port: %d
          database: legacy
          user: mv_src
          password: "${env:SOURCE_PASSWORD}"
          properties:
            publication.autocreate.mode: disabled
        target:
          type: postgres
          host: 127.0.0.1
          port: %d
          database: modern
          user: %s
          password: "%s"
          properties:
            publication.autocreate.mode: disabled
            driver.sslpassword: "%s"
        verify: {window: 1s, state-dir: "%s", commit-interval: 100ms, pii-key: "${env:PII_KEY}"}
        capture: {heartbeat-interval: 200ms}
        repair: {max-attempts: 2, backoff: 100ms, max-backoff: 200ms}
        tables:
          - {name: orders, key: [id], repair: {enabled: true}}
          - name: customers
            key: [id]
            columns: [{name: email, pii: hash}, {name: phone, pii: mask}]
            repair: {policy: manual}
          - name: payments
            key: [id]
            columns: [{name: card, pii: mask}]
            repair: {enabled: true}
        """.formatted(NAME, kafka.bootstrapServers(), pg.port(), pg.port(), targetUser, targetPassword, targetSsl,
        dir.resolve("state-" + targetUser + "-" + Integer.toHexString(targetPassword.hashCode())));
  }

  static Map<String, String> env() {
    return Map.of("SOURCE_PASSWORD", CANARY_SOURCE, "KAFKA_JAAS",
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"mv\" password=\"" + CANARY_JAAS
            + "\";", "PII_KEY", CANARY_PII_KEY);
  }

  static Path secretFile(String name, String value) throws Exception {
    return Files.writeString(dir.resolve(name), value + "\n");
  }

  @Test
  void canariesNeverLeakPiiIsMaskedAndLeastPrivilegeUsersCaptureAndRepair() throws Exception {
    // ---- databases: tables, least-privilege users, publications their owner created ----------
    VerifierConfig probe = ConfigLoader.parse(yaml("x", "", ""), env()::get);
    for (String db : List.of("legacy", "modern")) {
      sql(db, "CREATE TABLE orders (id BIGINT PRIMARY KEY, status TEXT, qty INT)",
          "CREATE TABLE customers (id BIGINT PRIMARY KEY, email TEXT, phone TEXT)",
          "CREATE TABLE payments (id BIGINT PRIMARY KEY, card TEXT, amount NUMERIC(10,2))",
          "CREATE TABLE verifier_heartbeat (id VARCHAR(200) PRIMARY KEY, beat TIMESTAMPTZ NOT NULL)",
          "INSERT INTO orders SELECT g, 'paid', g FROM generate_series(1, 3) g",
          "INSERT INTO customers VALUES (1, 'pii-ann@example.com', 'pii-phone-555'), (2, 'pii-bob@example.com', NULL)",
          "INSERT INTO payments VALUES (1, 'pii-card-0001', 1.00)",
          "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    }
    sql("legacy", pgUser("mv_src", CANARY_SOURCE), "ALTER ROLE mv_src REPLICATION",
        "GRANT SELECT ON orders, customers, payments TO mv_src",
        "GRANT SELECT, INSERT, UPDATE ON verifier_heartbeat TO mv_src",
        "CREATE PUBLICATION " + CaptureNames.slot(probe, Side.SOURCE)
            + " FOR TABLE orders, customers, payments, verifier_heartbeat");
    sql("modern", pgUser("mv_tgt", CANARY_TARGET), "ALTER ROLE mv_tgt REPLICATION",
        "GRANT SELECT ON orders, customers, payments TO mv_tgt",
        "GRANT SELECT, INSERT, UPDATE ON verifier_heartbeat TO mv_tgt",
        "CREATE PUBLICATION " + CaptureNames.slot(probe, Side.TARGET)
            + " FOR TABLE orders, customers, payments, verifier_heartbeat",
        pgUser("mv_repair", CANARY_REPAIR),
        "GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO mv_repair",
        "GRANT SELECT ON customers, payments TO mv_repair");
    assertThatThrownBy(() -> DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pg.port() + "/modern",
        "mv_repair", CANARY_WRONG)).as("password authentication is on").hasMessageContaining("password");

    Path targetPw = secretFile("target-password", CANARY_TARGET);
    Path sslPw = secretFile("ssl-password", CANARY_SSL);
    VerifierConfig captureConfig = ConfigLoader.parse(yaml("mv_tgt", "${file:" + targetPw + "}",
        "${file:" + sslPw + "}"), env()::get);
    VerifierConfig repairConfig = ConfigLoader.parse(yaml("mv_repair", "${env:REPAIR_PASSWORD}",
        "${file:" + sslPw + "}"), name -> name.equals("REPAIR_PASSWORD") ? CANARY_REPAIR : env().get(name));
    StringBuilder seen = new StringBuilder();
    seen.append(captureConfig).append('\n').append(repairConfig).append('\n');
    assertThat(captureConfig.target().password().reveal()).isEqualTo(CANARY_TARGET);
    assertThat(captureConfig.kafka().properties().get("sasl.jaas.config")).contains(CANARY_JAAS);
    // the secret really is handed to the Kafka clients (so "never printed" is not vacuous)
    assertThat(VerifyStreamsConfig.properties(repairConfig, kafka.bootstrapServers()).getProperty("sasl.jaas.config"))
        .contains(CANARY_JAAS);
    assertThat(RepairWorker.producerProps(repairConfig, kafka.bootstrapServers(), "x").getProperty("sasl.jaas.config"))
        .contains(CANARY_JAAS);

    // ---- a wrong password on one side: the capture fails with a connection error --------------
    VerifierConfig wrong = ConfigLoader.parse(yaml("mv_tgt", "${env:WRONG}", "${file:" + sslPw + "}"),
        name -> name.equals("WRONG") ? CANARY_WRONG : env().get(name));
    Throwable failed = null;
    try (Pipeline p = Pipeline.start(wrong, EnumSet.of(Role.CAPTURE_TARGET), kafka.bootstrapServers(),
        CaptureListener.NONE, VerifyListener.NONE)) {
      failed = p.failure().handle((v, e) -> e).get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      failed = e;
    }
    assertThat(failed).as("a capture with a wrong password fails").isNotNull();
    seen.append(stackTrace(failed));
    assertThat(stackTrace(failed)).containsIgnoringCase("password authentication failed");

    // ---- the pipeline, split as least privilege wants it ----------------------------------------
    Pipeline capture = Pipeline.start(captureConfig, EnumSet.of(Role.CAPTURE_SOURCE, Role.CAPTURE_TARGET),
        kafka.bootstrapServers(), CaptureListener.NONE, VerifyListener.NONE);
    closeLast.add(capture);
    Metrics metrics = new Metrics(repairConfig);
    closeLast.add(metrics);
    Pipeline verify = Pipeline.start(repairConfig, EnumSet.of(Role.VERIFY, Role.REPAIR), kafka.bootstrapServers(),
        metrics, metrics, metrics);
    closeLast.add(verify);
    metrics.bind(verify.streams());
    HttpEndpoint endpoint = OpsEndpoint.build(repairConfig, verify, metrics).start("127.0.0.1", 0, 2);
    closeLast.add(endpoint);
    await().atMost(AWAIT).untilAsserted(() -> assertThat(get(endpoint, "/ready").statusCode()).isEqualTo(200));

    // a malformed change: dead-lettered with the exception in its headers
    try (KafkaProducer<byte[], byte[]> producer = OpsKafka.producer(repairConfig, kafka.bootstrapServers(), "sec")) {
      producer.send(new ProducerRecord<>(repairConfig.topics().changes(Side.SOURCE),
          "{\"table\":\"orders\",\"key\":{\"id\":\"77\"}}".getBytes(StandardCharsets.UTF_8),
          "{not json".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
    }
    sql("modern", "UPDATE orders SET status = 'lost' WHERE id = 2",
        "UPDATE customers SET email = 'pii-ann-new@example.org' WHERE id = 1");
    sql("legacy", "INSERT INTO orders VALUES (4, 'new', 4)",
        "INSERT INTO payments VALUES (3, 'pii-card-4111', 10.00)");

    var topics = repairConfig.topics();
    await().atMost(AWAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      assertThat(values(topics.discrepancies())).extracting(d -> d.get("table").asText() + ":" + d.get("kind").asText())
          .contains("orders:VALUE_MISMATCH", "orders:MISSING_IN_TARGET", "orders:RESOLVED",
              "customers:VALUE_MISMATCH", "payments:MISSING_IN_TARGET");
      assertThat(values(topics.discrepancies())).filteredOn(d -> d.get("kind").asText().equals("RESOLVED"))
          .extracting(d -> d.get("key").get("id").asText()).contains("2", "4");
      assertThat(read(topics.review())).hasSize(1);
      assertThat(read(topics.repairsDlq())).hasSize(1);
      assertThat(read(topics.changesDlq())).hasSize(1);
    });
    // the repair user repaired what it may write...
    try (Connection c = pg.connect("modern"); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT string_agg(id || '=' || status, ',' ORDER BY id) FROM orders")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("1=paid,2=paid,3=paid,4=new");
    }
    // ...and nothing else: its INSERT into payments was refused, and dead-lettered as such
    ConsumerRecord<byte[], byte[]> dead = read(topics.repairsDlq()).get(0);
    assertThat(headersText(dead)).contains("permission denied for table payments");
    JsonNode deadValue = JSON.readTree(dead.value());
    assertThat(deadValue.get("source").get("card").asText()).isEqualTo("***");
    assertThat(headersText(read(topics.changesDlq()).get(0))).containsIgnoringCase("json");

    // masked where it leaves, equal values still visibly equal
    JsonNode customer = values(topics.discrepancies()).stream()
        .filter(d -> d.get("table").asText().equals("customers")).findFirst().orElseThrow();
    assertThat(customer.get("fields").get(0).get("name").asText()).isEqualTo("email");
    assertThat(customer.get("fields").get(0).get("source").asText()).startsWith("hmac:");
    assertThat(customer.get("source").get("phone").asText()).isEqualTo("***");
    JsonNode review = JSON.readTree(read(topics.review()).get(0).value());
    assertThat(review.get("source").get("email").asText()).startsWith("hmac:")
        .isEqualTo(customer.get("fields").get(0).get("source").asText());
    assertThat(review.get("target").get("phone").asText()).isEqualTo("***");
    StringBuilder outgoing = new StringBuilder();
    for (String t : List.of(topics.discrepancies(), topics.review(), topics.repairsDlq(), topics.changesDlq(),
        topics.health())) {
      for (ConsumerRecord<byte[], byte[]> r : read(t)) {
        outgoing.append(text(r)).append('\n');
      }
    }
    for (String value : PII) {
      assertThat(outgoing.toString()).as("pii value %s in discrepancy, review or DLQ records", value)
          .doesNotContain(value);
    }

    // ---- everything an operator or a consumer can see ---------------------------------------
    for (String path : List.of("/metrics", "/api/status", "/ready", "/health", "/topology")) {
      HttpResponse<String> r = get(endpoint, path);
      seen.append(path).append(' ').append(r.statusCode()).append('\n').append(r.body()).append('\n');
    }
    assertThat(seen).contains("verifier_discrepancies_emitted_total");
    try (Admin admin = OpsKafka.admin(repairConfig, kafka.bootstrapServers())) {
      Set<String> all = admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get(30, TimeUnit.SECONDS);
      assertThat(all).contains(topics.changes(Side.SOURCE), topics.repairsLog());
      for (String t : all) {
        for (ConsumerRecord<byte[], byte[]> r : read(t)) {
          seen.append(t).append(' ').append(text(r)).append('\n');
        }
      }
    }
    assertThat(seen).as("the scan reads the change topics").contains("pii-ann@example.com");

    // ---- the CLI: validate, a check, a check with a wrong password -----------------------------
    Path goodFile = Files.writeString(dir.resolve("good.yaml"), yaml("mv_repair", "${file:" + secretFile("repair-pw",
        CANARY_REPAIR) + "}", "${file:" + sslPw + "}").replace("${env:SOURCE_PASSWORD}", "${file:"
        + secretFile("source-pw", CANARY_SOURCE) + "}").replace("${env:KAFKA_JAAS}", "${file:" + secretFile("jaas",
        env().get("KAFKA_JAAS")) + "}").replace("${env:PII_KEY}", "${file:" + secretFile("pii", CANARY_PII_KEY) + "}"));
    Path wrongFile = Files.writeString(dir.resolve("wrong.yaml"), Files.readString(goodFile)
        .replace(dir.resolve("repair-pw").toString(), secretFile("wrong-pw", CANARY_WRONG).toString()));
    String validate = cli("validate", "--config", goodFile.toString());
    assertThat(validate).contains("valid");
    String check = cli("check", "--config", goodFile.toString(), "--table", "customers", "--key", "id=1", "--json");
    assertThat(check).contains("VALUE_MISMATCH", "hmac:").doesNotContain("pii-ann");
    String failedCheck = cli("check", "--config", wrongFile.toString(), "--table", "orders", "--key", "id=1");
    assertThat(failedCheck).containsIgnoringCase("password authentication failed");
    String help = cli("run", "--help");
    // the audit finds the customer difference on its own and reports it masked as well
    String audit = cli("audit", "--config", goodFile.toString(), "--table", "customers");
    seen.append(validate).append(check).append(failedCheck).append(help).append(audit);
    assertThat(audit).doesNotContain("pii-ann");
    await().atMost(AWAIT).untilAsserted(() -> assertThat(values(topics.discrepancies()))
        .filteredOn(d -> d.get("detector").asText().equals("audit"))
        .singleElement().satisfies(d -> assertThat(d.get("fields").get(0).get("source").asText()).isEqualTo(
            customer.get("fields").get(0).get("source").asText())));
    for (ConsumerRecord<byte[], byte[]> r : read(topics.discrepancies())) {
      for (String value : PII) {
        assertThat(text(r)).as("pii value %s in an audit or check event", value).doesNotContain(value);
      }
    }

    // ---- no canary anywhere ------------------------------------------------------------------
    String logged = logs.text.toString();
    assertThat(logged).as("the log capture works").contains("io.migrationverifier");
    seen.append(logged);
    for (String canary : CANARIES) {
      assertThat(seen.toString()).as("canary %s", canary).doesNotContain(canary);
    }
    assertThat(seen.toString()).as("no canary at all, not even a prefix of one").doesNotContain("CANARY-");
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Runs a CLI command with its own stdout and stderr; returns both and the exit code. */
  static String cli(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      PrintStream p = new PrintStream(out, true, StandardCharsets.UTF_8);
      System.setOut(p);
      System.setErr(p);
      int code = Main.run(args);
      return "exit " + code + "\n" + out.toString(StandardCharsets.UTF_8);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    return w.toString();
  }

  static HttpResponse<String> get(HttpEndpoint endpoint, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.address().getPort() + path))
        .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Every committed record of a topic, from the beginning to its end now. */
  static List<ConsumerRecord<byte[], byte[]>> read(String topic) {
    VerifierConfig any = ConfigLoader.parse(yaml("x", "", ""), env()::get);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = OpsKafka.consumer(any, kafka.bootstrapServers(), null, "security-scan")) {
      List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (parts.stream().anyMatch(p -> c.position(p) < end.get(p)) && System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  static List<JsonNode> values(String topic) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : read(topic)) {
      out.add(JSON.readTree(r.value()));
    }
    return out;
  }

  static String headersText(ConsumerRecord<byte[], byte[]> r) {
    StringBuilder sb = new StringBuilder();
    for (Header h : r.headers()) {
      sb.append(h.key()).append('=').append(h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8))
          .append('\n');
    }
    return sb.toString();
  }

  /** Key, value and headers; bytes as Latin-1 so any ASCII canary shows whatever the encoding around it. */
  static String text(ConsumerRecord<byte[], byte[]> r) {
    return (r.key() == null ? "" : new String(r.key(), StandardCharsets.ISO_8859_1)) + " "
        + (r.value() == null ? "" : new String(r.value(), StandardCharsets.ISO_8859_1)) + " " + headersText(r);
  }
}
