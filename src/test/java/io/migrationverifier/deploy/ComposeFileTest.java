package io.migrationverifier.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.capture.CaptureNames;
import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.Topics;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.deploy.ComposeStack.Schema;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * docker-compose.yml without Docker: it parses, and the files, hosts, ports, databases, users,
 * privileges, tables and topic names it and config/compose.yaml (and every other verifier config it
 * mounts) name are consistent with each other and with the init SQL the databases run. Each check
 * returns its problems; the {@code broken*} tests feed each one a stack broken in one place (file
 * contents overridden in memory) and expect it to say so.
 */
class ComposeFileTest {
  private static final String VERIFIER_SERVICE = "verifier";
  private static final String VERIFIER_CONFIG = "config/compose.yaml";
  private static final List<String> ALL_ROLES = List.of("capture-source", "capture-target", "verify", "repair");
  private static final Pattern TOPIC_OPTION = Pattern.compile("--topic[= ]([\\w.-]+)");
  private static final Pattern ALERT_JOB = Pattern.compile("job=\"([^\"]+)\"");
  private static final Pattern FILE_NAME = Pattern.compile(".*\\.(ya?ml|json|sql|sh|jar|properties|conf)$");

  /** One verifier container: its service, config file, environment, roles and the config loaded with them. */
  record Deployment(String service, String configFile, Map<String, String> env, List<String> roles,
      VerifierConfig config) {}

  // ---- the stack as it is -----------------------------------------------------------------------

  /** One consistency check: the problems it finds in a stack, each naming the place and what is wrong. */
  interface Check {
    List<String> problems(ComposeStack stack);
  }

  static Stream<Arguments> checks() {
    return Stream.of(
        Arguments.of("referenced files exist", (Check) ComposeFileTest::files),
        Arguments.of("the verifier service runs config/compose.yaml and every config loads", (Check) ComposeFileTest::configs),
        Arguments.of("database and Kafka hosts and ports are compose services", (Check) ComposeFileTest::endpoints),
        Arguments.of("http.port is published and scraped by Prometheus", (Check) ComposeFileTest::http),
        Arguments.of("databases and users exist in the init SQL", (Check) ComposeFileTest::databasesAndUsers),
        Arguments.of("tables and columns exist in the init SQL of both databases", (Check) ComposeFileTest::tables),
        Arguments.of("users hold what their roles need and no more", (Check) ComposeFileTest::privileges),
        Arguments.of("topic names the compose file uses are the verifier's", (Check) ComposeFileTest::topics));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("checks")
  void theStackAsItIs(String name, Check check) {
    assertThat(check.problems(ComposeStack.load())).as(name).isEmpty();
  }

  // ---- each check fails on a stack broken in one place -----------------------------------------

  @Test
  void brokenFileReference() {
    ComposeStack s = broken(ComposeStack.COMPOSE_FILE, "./config/compose/legacy.sql:", "./config/compose/legacy-v2.sql:");
    assertThat(files(s)).anyMatch(p -> p.contains("config/compose/legacy-v2.sql"));
    ComposeStack d = broken("Dockerfile", "COPY config/demo.yaml", "COPY config/demo-v2.yaml");
    assertThat(files(d)).anyMatch(p -> p.contains("config/demo-v2.yaml"));
  }

  @Test
  void brokenConfig() {
    assertThat(configs(broken(VERIFIER_CONFIG, "window: 5s", "window: soon"))).anyMatch(p -> p.contains("verify.window"));
    assertThat(configs(broken(ComposeStack.COMPOSE_FILE, "      SOURCE_DB_USER: mv_capture\n", "")))
        .anyMatch(p -> p.contains("SOURCE_DB_USER"));
    assertThat(configs(broken(ComposeStack.COMPOSE_FILE, "\"/config/compose.yaml\", \"--roles\", \"capture-source",
        "\"/config/other.yaml\", \"--roles\", \"capture-source"))).anyMatch(p -> p.contains("/config/other.yaml"));
  }

  @Test
  void brokenEndpoints() {
    assertThat(endpoints(broken(VERIFIER_CONFIG, "host: modern", "host: modern-db")))
        .anyMatch(p -> p.contains("modern-db"));
    assertThat(endpoints(broken(VERIFIER_CONFIG, "  port: 5432\n  database: legacy", "  port: 5433\n  database: legacy")))
        .anyMatch(p -> p.contains("5433"));
    assertThat(endpoints(broken(VERIFIER_CONFIG, "kafka:9092", "kafka:29092"))).anyMatch(p -> p.contains("kafka:29092"));
    assertThat(endpoints(broken(ComposeStack.COMPOSE_FILE, "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: 1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: 2"))).anyMatch(p -> p.contains("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"));
  }

  @Test
  void brokenHttp() {
    assertThat(http(broken("config/prometheus.yml", "'verifier:8087'", "'verifier:8080'"))).isNotEmpty();
    assertThat(http(broken(VERIFIER_CONFIG, "port: 8087", "port: 8080"))).anyMatch(p -> p.contains("8080"));
    assertThat(http(broken(VERIFIER_CONFIG, "bind: 0.0.0.0", "bind: 127.0.0.1"))).anyMatch(p -> p.contains("bind"));
    assertThat(http(broken("config/prometheus.yml", "job_name: verifier\n", "job_name: verifier-main\n")))
        .anyMatch(p -> p.contains("job=\"verifier\""));
    assertThat(http(broken(ComposeStack.COMPOSE_FILE, "      - ./config/alerts.yml:/etc/prometheus/alerts.yml:ro\n", "")))
        .anyMatch(p -> p.contains("alerts.yml"));
  }

  @Test
  void brokenDatabasesAndUsers() {
    assertThat(databasesAndUsers(broken(VERIFIER_CONFIG, "database: modern", "database: modern_db")))
        .anyMatch(p -> p.contains("modern_db"));
    assertThat(databasesAndUsers(broken("config/compose/postgres-common.sql", "CREATE ROLE mv_repair", "CREATE ROLE mv_repairer")))
        .anyMatch(p -> p.contains("mv_repair"));
    assertThat(databasesAndUsers(broken(ComposeStack.COMPOSE_FILE, "TARGET_DB_PASSWORD: ${MV_REPAIR_PASSWORD:-repair-demo}",
        "TARGET_DB_PASSWORD: wrong"))).anyMatch(p -> p.contains("password"));
  }

  @Test
  void brokenTables() {
    assertThat(tables(broken("config/compose/modern.sql", "CREATE TABLE public.purchase_orders",
        "CREATE TABLE public.orders"))).anyMatch(p -> p.contains("public.purchase_orders"));
    assertThat(tables(broken("config/compose/modern.sql", "total_amount NUMERIC", "amount NUMERIC")))
        .anyMatch(p -> p.contains("total_amount"));
    assertThat(tables(broken("config/compose/postgres-common.sql", "CREATE TABLE verifier.heartbeat", "CREATE TABLE verifier.beat")))
        .anyMatch(p -> p.contains("verifier.heartbeat"));
  }

  @Test
  void brokenPrivileges() {
    assertThat(privileges(broken("config/compose/modern.sql",
        "GRANT SELECT ON public.customers, public.purchase_orders TO mv_capture;",
        "GRANT SELECT, INSERT ON public.customers, public.purchase_orders TO mv_capture;")))
        .anyMatch(p -> p.contains("mv_capture") && p.contains("INSERT"));
    assertThat(privileges(broken("config/compose/postgres-common.sql", "CREATE ROLE mv_capture LOGIN REPLICATION",
        "CREATE ROLE mv_capture LOGIN"))).anyMatch(p -> p.contains("replicat"));
    assertThat(privileges(broken("config/compose/modern.sql", "GRANT INSERT, UPDATE, DELETE ON public.purchase_orders",
        "GRANT INSERT, UPDATE ON public.purchase_orders"))).anyMatch(p -> p.contains("DELETE"));
    assertThat(privileges(broken("config/compose/legacy.sql", "CREATE PUBLICATION mv_compose_source",
        "CREATE PUBLICATION mv_legacy"))).anyMatch(p -> p.contains("mv_compose_source"));
    assertThat(privileges(broken("config/compose/mariadb-init.sh", "GRANT REPLICATION SLAVE, REPLICATION CLIENT",
        "GRANT REPLICATION CLIENT"))).anyMatch(p -> p.contains("replicat"));
  }

  @Test
  void brokenTopicName() {
    ComposeStack s = broken(ComposeStack.COMPOSE_FILE, "    volumes:\n      - kafka-data:/var/lib/kafka/data\n",
        "    volumes:\n      - kafka-data:/var/lib/kafka/data\n    command: [\"sh\", \"-c\","
            + " \"kafka-topics.sh --create --topic compose.discrepancy && /etc/kafka/docker/run\"]\n");
    assertThat(topics(s)).anyMatch(p -> p.contains("compose.discrepancy"));
  }

  private static ComposeStack broken(String file, String from, String to) {
    ComposeStack real = ComposeStack.load();
    String text = real.read(file);
    assertThat(text).as("the text this test breaks in %s", file).contains(from);
    return new ComposeStack(real.root, Map.of(file, text.replace(from, to)));
  }

  // ---- the checks -------------------------------------------------------------------------------

  static List<String> files(ComposeStack s) {
    List<String> problems = new ArrayList<>(s.interpolationProblems);
    JsonNode top = s.compose;
    Set<String> declaredVolumes = new LinkedHashSet<>();
    top.path("volumes").fieldNames().forEachRemaining(declaredVolumes::add);
    for (String service : s.serviceNames()) {
      for (ComposeStack.Bind b : s.binds(service)) {
        if (!s.exists(b.source())) {
          problems.add("services." + service + ".volumes: " + b.source() + " does not exist in the repository");
        }
      }
      for (ComposeStack.Named n : s.namedVolumes(service)) {
        if (!declaredVolumes.contains(n.volume())) {
          problems.add("services." + service + ".volumes: volume " + n.volume() + " is not declared under volumes:");
        }
      }
      JsonNode build = s.service(service).path("build");
      if (!build.isMissingNode()) {
        String context = ComposeStack.normalize(build.isTextual() ? build.asText() : build.path("context").asText("."));
        String dockerfile = ComposeStack.join(context, build.path("dockerfile").asText("Dockerfile"));
        if (!context.isEmpty() && !s.exists(context)) {
          problems.add("services." + service + ".build.context: " + context + " does not exist");
        }
        if (!s.exists(dockerfile)) {
          problems.add("services." + service + ".build.dockerfile: " + dockerfile + " does not exist");
        }
      }
      for (JsonNode envFile : s.service(service).path("env_file")) {
        String f = ComposeStack.normalize(envFile.isTextual() ? envFile.asText() : envFile.path("path").asText());
        if (!s.exists(f)) {
          problems.add("services." + service + ".env_file: " + f + " does not exist");
        }
      }
    }
    for (String section : List.of("configs", "secrets")) {
      top.path(section).fields().forEachRemaining(e -> {
        String f = e.getValue().path("file").asText(null);
        if (f != null && !s.exists(ComposeStack.normalize(f))) {
          problems.add(section + "." + e.getKey() + ".file: " + f + " does not exist");
        }
      });
    }
    // what the Dockerfile copies from the build context must be there, and not be ignored
    List<String> ignored = s.exists(".dockerignore") ? s.read(".dockerignore").lines()
        .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).map(ComposeStack::normalize).toList()
        : List.of();
    for (String instruction : s.dockerfileInstructions()) {
      if (!instruction.toUpperCase(Locale.ROOT).startsWith("COPY ") || instruction.contains("--from=")) {
        continue;
      }
      List<String> args = new ArrayList<>(List.of(instruction.substring(5).strip().split("\\s+")));
      args.removeIf(a -> a.startsWith("--"));
      for (String src : args.subList(0, args.size() - 1)) {
        String f = ComposeStack.normalize(src);
        if (!s.exists(f)) {
          problems.add("Dockerfile: COPY " + src + ": no such file in the build context");
        }
        for (String pattern : ignored) {
          if (f.equals(pattern) || f.startsWith(pattern + "/")) {
            problems.add("Dockerfile: COPY " + src + " is excluded by .dockerignore (" + pattern + ")");
          }
        }
      }
    }
    for (String must : List.of("target", ".git")) {
      if (!ignored.contains(must)) {
        problems.add(".dockerignore: does not exclude " + must + "/ (the build context would carry it)");
      }
    }
    return problems;
  }

  static List<String> configs(ComposeStack s) {
    List<String> problems = new ArrayList<>();
    List<String> services = s.verifierServices();
    if (!services.contains(VERIFIER_SERVICE)) {
      problems.add("services." + VERIFIER_SERVICE + ": missing, or not built from the Dockerfile (found " + services + ")");
    }
    List<String> entrypoint = s.dockerfileExecForm("ENTRYPOINT");
    if (!entrypoint.equals(List.of("java", "-jar", "/app/migration-verifier.jar"))) {
      problems.add("Dockerfile: ENTRYPOINT is " + entrypoint + ", expected [java, -jar, /app/migration-verifier.jar]");
    }
    if (!s.read("Dockerfile").contains("target/migration-verifier.jar /app/migration-verifier.jar")) {
      problems.add("Dockerfile: does not copy target/migration-verifier.jar to /app/migration-verifier.jar");
    }
    if (!s.dockerfileExecForm("CMD").containsAll(List.of("--config", "/config/compose.yaml"))) {
      problems.add("Dockerfile: CMD " + s.dockerfileExecForm("CMD") + " does not run --config /config/compose.yaml");
    }
    for (String service : services) {
      try {
        Deployment d = deployment(s, service);
        if (service.equals(VERIFIER_SERVICE) && !d.configFile().equals(VERIFIER_CONFIG)) {
          problems.add("services." + service + ": runs " + d.configFile() + ", expected " + VERIFIER_CONFIG);
        }
      } catch (IllegalStateException | ConfigException e) {
        problems.add("services." + service + ": " + e.getMessage());
      }
    }
    return problems;
  }

  static List<String> endpoints(ComposeStack s) {
    List<String> problems = new ArrayList<>();
    Set<String> services = s.serviceNames();
    for (Deployment d : deployments(s, problems)) {
      String where = "services." + d.service() + " (" + d.configFile() + ")";
      Map<String, String> depends = s.dependsOn(d.service());
      Set<String> needed = new LinkedHashSet<>();
      for (Side side : Side.values()) {
        DatabaseSettings db = d.config().database(side);
        String p = where + " " + side.id();
        if (!services.contains(db.host())) {
          problems.add(p + ".host: " + db.host() + " is not a service of the compose file " + services);
          continue;
        }
        needed.add(db.host());
        String engine = ComposeStack.engine(s.image(db.host()));
        String expected = db.dialect() == Dialect.POSTGRES ? "postgres" : "mariadb";
        if (!expected.equals(engine)) {
          problems.add(p + ".type: " + db.dialect().id() + " but service " + db.host() + " runs " + s.image(db.host()));
        } else if (db.port() != s.databasePort(db.host())) {
          problems.add(p + ".port: " + db.port() + " but " + db.host() + " listens on " + s.databasePort(db.host()));
        }
      }
      Map<String, String> advertised = advertisedListeners(s);
      for (String server : d.config().kafka().bootstrapServers().split(",")) {
        String hostPort = server.strip();
        String owner = advertised.get(hostPort);
        if (owner == null) {
          problems.add(where + " kafka.bootstrap-servers: " + hostPort + " is not an advertised listener of a kafka"
              + " service " + advertised.keySet());
        } else {
          needed.add(owner);
        }
      }
      for (String n : needed) {
        if (!"service_healthy".equals(depends.get(n))) {
          problems.add(where + ": depends_on " + n + " must be condition: service_healthy (is " + depends.get(n) + ")");
        }
      }
    }
    for (String service : s.serviceNames()) {
      for (Map.Entry<String, String> dep : s.dependsOn(service).entrySet()) {
        if (dep.getValue().equals("service_healthy") && s.service(dep.getKey()).path("healthcheck").isMissingNode()
            && !s.verifierServices().contains(dep.getKey())) {
          problems.add("services." + dep.getKey() + ": has no healthcheck, yet " + service + " waits for it to be healthy");
        }
      }
    }
    // a single broker: every internal topic with one replica (FIELD-NOTES)
    for (String kafka : kafkaServices(s)) {
      Map<String, String> env = s.environment(kafka);
      for (String key : List.of("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
          "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
          "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR")) {
        if (!"1".equals(env.get(key))) {
          problems.add("services." + kafka + ".environment." + key + ": must be 1 on a single node (is " + env.get(key) + ")");
        }
      }
      if (!env.getOrDefault("KAFKA_PROCESS_ROLES", "").contains("controller")) {
        problems.add("services." + kafka + ": KAFKA_PROCESS_ROLES must include controller (KRaft, no ZooKeeper)");
      }
    }
    return problems;
  }

  static List<String> http(ComposeStack s) {
    List<String> problems = new ArrayList<>();
    Optional<String> prometheus = s.serviceNames().stream().filter(n -> s.image(n).contains("prom/prometheus")).findFirst();
    JsonNode scrape = null;
    if (prometheus.isEmpty()) {
      problems.add("no Prometheus service (image prom/prometheus)");
    } else {
      Optional<String> file = s.hostFile(prometheus.get(), "/etc/prometheus/prometheus.yml");
      if (file.isEmpty() || !file.get().equals("config/prometheus.yml")) {
        problems.add("services." + prometheus.get() + ": does not mount config/prometheus.yml at"
            + " /etc/prometheus/prometheus.yml (mounts " + s.binds(prometheus.get()) + ")");
      } else {
        scrape = s.readYaml(file.get());
      }
    }
    Map<String, String> metricsPathByTarget = new LinkedHashMap<>();
    if (scrape != null) {
      for (JsonNode job : scrape.path("scrape_configs")) {
        for (JsonNode sc : job.path("static_configs")) {
          for (JsonNode t : sc.path("targets")) {
            metricsPathByTarget.put(t.asText(), job.path("metrics_path").asText("/metrics"));
          }
        }
      }
      for (String target : metricsPathByTarget.keySet()) {
        String host = target.substring(0, target.lastIndexOf(':'));
        if (!host.equals("localhost") && !s.serviceNames().contains(host)) {
          problems.add("config/prometheus.yml: target " + target + " is not a service of the compose file");
        }
      }
      Set<String> jobs = new LinkedHashSet<>(scrape.path("scrape_configs").findValuesAsText("job_name"));
      for (JsonNode rules : scrape.path("rule_files")) {
        String inContainer = rules.asText().startsWith("/") ? rules.asText() : "/etc/prometheus/" + rules.asText();
        Optional<String> file = s.hostFile(prometheus.get(), inContainer);
        if (file.isEmpty() || !s.exists(file.get())) {
          problems.add("config/prometheus.yml: rule file " + rules.asText() + " is not mounted at " + inContainer
              + " in services." + prometheus.get());
          continue;
        }
        // alerts on up{job="..."} must name a job this file scrapes, or they can never fire
        Matcher job = ALERT_JOB.matcher(String.join("\n", s.readYaml(file.get()).findValuesAsText("expr")));
        while (job.find()) {
          if (!jobs.contains(job.group(1))) {
            problems.add(file.get() + ": a rule selects job=\"" + job.group(1) + "\", which config/prometheus.yml does"
                + " not scrape (jobs " + jobs + ")");
          }
        }
      }
    }
    Set<Integer> exposed = new LinkedHashSet<>();
    for (String i : s.dockerfileInstructions()) {
      if (i.toUpperCase(Locale.ROOT).startsWith("EXPOSE ")) {
        for (String p : i.substring(7).strip().split("\\s+")) {
          exposed.add(Integer.parseInt(p.replaceAll("/.*", "")));
        }
      }
    }
    for (Deployment d : deployments(s, problems)) {
      String where = "services." + d.service() + " (" + d.configFile() + ")";
      int port = d.config().http().port();
      if (!d.config().http().enabled()) {
        problems.add(where + " http.enabled: false, yet Prometheus and the healthcheck need it");
      }
      if (!d.config().http().bind().equals("0.0.0.0")) {
        problems.add(where + " http.bind: " + d.config().http().bind() + " is unreachable from other containers;"
            + " use 0.0.0.0");
      }
      for (Map.Entry<String, Integer> published : s.publishedPorts(d.service()).entrySet()) {
        if (published.getValue() != port) {
          problems.add(where + ".ports: publishes container port " + published.getValue() + ", http.port is " + port);
        }
      }
      if (d.service().equals(VERIFIER_SERVICE) && s.publishedPorts(d.service()).isEmpty()) {
        problems.add(where + ".ports: the status page (http.port " + port + ") is not published");
      }
      String health = String.join(" ", ComposeStack.words(s.service(d.service()).path("healthcheck").path("test")));
      if (!health.contains(":" + port + "/")) {
        problems.add(where + ".healthcheck: \"" + health + "\" does not probe http.port " + port);
      }
      if (!exposed.contains(port)) {
        problems.add("Dockerfile: EXPOSE " + exposed + " lacks http.port " + port + " of " + d.configFile());
      }
      String target = d.service() + ":" + port;
      if (scrape != null && !metricsPathByTarget.containsKey(target)) {
        problems.add("config/prometheus.yml: no job scrapes " + target + " (targets: " + metricsPathByTarget.keySet() + ")");
      } else if (scrape != null && !"/metrics".equals(metricsPathByTarget.get(target))) {
        problems.add("config/prometheus.yml: " + target + " is scraped on " + metricsPathByTarget.get(target)
            + ", the verifier serves /metrics");
      }
    }
    return problems;
  }

  static List<String> databasesAndUsers(ComposeStack s) {
    List<String> problems = new ArrayList<>();
    for (DatabaseUse u : databaseUses(s, problems)) {
      DatabaseSettings db = u.db();
      String where = "services." + u.deployment().service() + " (" + u.deployment().configFile() + ") " + u.side().id();
      if (!u.schema().databases().contains(db.database())) {
        problems.add(where + ".database: " + db.database() + " is not created by service " + db.host()
            + " (it creates " + u.schema().databases() + ")");
      }
      if (!u.schema().roles().containsKey(db.user())) {
        problems.add(where + ".user: " + db.user() + " is not created by the init SQL of " + db.host()
            + " (it creates " + u.schema().roles().keySet() + ")");
      }
      if (!s.environment(db.host()).containsValue(db.password().reveal())) {
        problems.add(where + ".password: the verifier's password for " + db.user() + " is none of those service "
            + db.host() + " initializes its users with");
      }
    }
    return problems;
  }

  static List<String> tables(ComposeStack s) {
    List<String> problems = new ArrayList<>();
    for (DatabaseUse u : databaseUses(s, problems)) {
      VerifierConfig c = u.deployment().config();
      Schema schema = u.schema();
      Side side = u.side();
      String where = "services." + u.deployment().service() + " (" + u.deployment().configFile() + ") on " + u.db().host();
      for (TableConfig t : c.tables()) {
        String physical = schema.qualify(t.physicalTable(side));
        List<String> columns = schema.tables().get(physical);
        if (columns == null) {
          problems.add(where + ": table " + t.name() + " is " + physical + ", which its init SQL does not create"
              + " (it creates " + schema.tables().keySet() + ")");
          continue;
        }
        Set<String> wanted = new LinkedHashSet<>();
        for (String k : t.key()) {
          wanted.add(t.column(k).map(col -> physicalColumn(col, side)).orElse(k));
        }
        for (ColumnRule col : t.columns()) {
          String name = physicalColumn(col, side);
          if (name != null && !col.ignore()) {
            wanted.add(name);
          }
        }
        for (String col : wanted) {
          if (!columns.contains(col.toLowerCase(Locale.ROOT))) {
            problems.add(where + ": column " + col + " of table " + t.name() + " is not in " + physical + " " + columns);
          }
        }
      }
      if (c.capture().heartbeatEnabled() && !schema.tables().containsKey(schema.qualify(c.capture().heartbeatTable()))) {
        problems.add(where + ": the heartbeat table " + schema.qualify(c.capture().heartbeatTable()) + " is not"
            + " created by the init SQL (the capture user would need CREATE to make it)");
      }
    }
    return problems;
  }

  private static String physicalColumn(ColumnRule c, Side side) {
    return side == Side.SOURCE ? c.sourceName() : c.targetName();
  }

  static List<String> privileges(ComposeStack s) {
    List<String> problems = new ArrayList<>();
    for (DatabaseUse u : databaseUses(s, problems)) {
      Deployment d = u.deployment();
      VerifierConfig c = d.config();
      Side side = u.side();
      DatabaseSettings db = u.db();
      Schema schema = u.schema();
      String user = db.user();
      String where = "services." + d.service() + " roles " + d.roles() + ": " + user + "@" + db.host();
      boolean capture = d.roles().contains("capture-" + side.id());
      boolean repair = d.roles().contains("repair") && c.anyRepairEnabled();
      boolean writes = repair && side == Side.TARGET;
      if (capture != schema.canReplicate(user)) {
        problems.add(where + (capture ? " cannot replicate (capture reads the change log: PostgreSQL REPLICATION,"
            + " MariaDB REPLICATION SLAVE)" : " can replicate, which none of its roles needs"));
      }
      for (TableConfig t : c.tables()) {
        Set<String> needed = new LinkedHashSet<>();
        if (capture || d.roles().contains("repair")) {
          needed.add("SELECT");
        }
        if (writes && t.repair().enabled()) {
          needed.addAll(List.of("INSERT", "UPDATE", "DELETE"));
        }
        Set<String> held = schema.privileges(user, t.physicalTable(side));
        for (String p : needed) {
          if (!held.contains(p)) {
            problems.add(where + " lacks " + p + " on " + schema.qualify(t.physicalTable(side)));
          }
        }
        for (String p : held) {
          if (!needed.contains(p)) {
            problems.add(where + " holds " + p + " on " + schema.qualify(t.physicalTable(side))
                + ", which its roles do not need (least privilege)");
          }
        }
      }
      if (capture && c.capture().heartbeatEnabled()) {
        Set<String> held = schema.privileges(user, c.capture().heartbeatTable());
        for (String p : List.of("SELECT", "INSERT", "UPDATE")) {
          if (!held.contains(p)) {
            problems.add(where + " lacks " + p + " on the heartbeat table " + schema.qualify(c.capture().heartbeatTable()));
          }
        }
      }
      if (capture && db.dialect() == Dialect.POSTGRES) {
        String publication = CaptureNames.slot(c, side);
        Set<String> members = schema.publications().get(publication);
        boolean preCreated = "disabled".equals(db.properties().get("publication.autocreate.mode"));
        if (preCreated && members == null) {
          problems.add(where + ": publication " + publication + " is not created by the init SQL, and"
              + " publication.autocreate.mode: disabled forbids capture to create it");
        } else if (members != null) {
          for (TableConfig t : c.tables()) {
            if (!members.contains(schema.qualify(t.physicalTable(side)))) {
              problems.add(where + ": publication " + publication + " lacks " + schema.qualify(t.physicalTable(side)));
            }
          }
          if (c.capture().heartbeatEnabled() && !members.contains(schema.qualify(c.capture().heartbeatTable()))) {
            problems.add(where + ": publication " + publication + " lacks the heartbeat table");
          }
        } else if (!schema.roles().getOrDefault(user, "").contains("SUPERUSER")) {
          problems.add(where + ": no publication " + publication + " in the init SQL; a non-owner cannot create it");
        }
      }
    }
    return problems;
  }

  static List<String> topics(ComposeStack s) {
    List<String> problems = new ArrayList<>();
    List<String> mentions = new ArrayList<>();
    collectStrings(s.compose, mentions);
    for (Deployment d : deployments(s, problems)) {
      Set<String> known = topicNames(d.config().topics());
      String prefix = d.config().name() + ".";
      String internal = d.config().topics().verifyApplicationId() + "-";
      Pattern token = Pattern.compile("(?<![\\w.-])" + Pattern.quote(prefix) + "[\\w.-]+");
      for (String text : mentions) {
        Set<String> found = new LinkedHashSet<>();
        Matcher m = token.matcher(text);
        while (m.find()) {
          found.add(m.group());
        }
        Matcher o = TOPIC_OPTION.matcher(text);
        while (o.find()) {
          if (o.group(1).startsWith(prefix)) {
            found.add(o.group(1));
          }
        }
        for (String topic : found) {
          if (!FILE_NAME.matcher(topic).matches() && !known.contains(topic) && !topic.startsWith(internal)) {
            problems.add(ComposeStack.COMPOSE_FILE + ": \"" + topic + "\" is not a topic of deployment "
                + d.config().name() + " " + known);
          }
        }
      }
    }
    return problems;
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** Every topic name config/Topics gives a deployment (each no-argument String method, and the change topics). */
  static Set<String> topicNames(Topics topics) {
    Set<String> names = new LinkedHashSet<>();
    for (Side side : Side.values()) {
      names.add(topics.changes(side));
    }
    for (Method m : Topics.class.getDeclaredMethods()) {
      if (Modifier.isPublic(m.getModifiers()) && !Modifier.isStatic(m.getModifiers()) && m.getParameterCount() == 0
          && m.getReturnType() == String.class && !m.getName().equals("name") && !m.getName().equals("toString")
          && !m.getName().equals("verifyApplicationId")) {
        try {
          names.add((String) m.invoke(topics));
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException(m + ": " + e, e);
        }
      }
    }
    return names;
  }

  private static void collectStrings(JsonNode node, List<String> out) {
    if (node.isTextual()) {
      out.add(node.asText());
    } else {
      node.forEach(n -> collectStrings(n, out));
    }
  }

  private static List<String> kafkaServices(ComposeStack s) {
    return s.serviceNames().stream().filter(n -> s.environment(n).containsKey("KAFKA_ADVERTISED_LISTENERS")).toList();
  }

  /** host:port of every advertised (non-controller) listener, to the service advertising it. */
  private static Map<String, String> advertisedListeners(ComposeStack s) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String kafka : kafkaServices(s)) {
      for (String l : s.environment(kafka).get("KAFKA_ADVERTISED_LISTENERS").split(",")) {
        String hostPort = l.strip().replaceAll("^[A-Za-z_]+://", "");
        out.put(hostPort, kafka);
      }
    }
    return out;
  }

  /** One side of a deployment whose database is a compose service, with what that service's init SQL creates. */
  record DatabaseUse(Deployment deployment, Side side, DatabaseSettings db, Schema schema) {}

  /** Both sides of every deployment that loads, where the host is a service (endpoints() reports the others). */
  static List<DatabaseUse> databaseUses(ComposeStack s, List<String> problems) {
    List<DatabaseUse> out = new ArrayList<>();
    for (Deployment d : deployments(s, problems)) {
      for (Side side : Side.values()) {
        DatabaseSettings db = d.config().database(side);
        if (s.serviceNames().contains(db.host())) {
          out.add(new DatabaseUse(d, side, db, s.schema(db.host())));
        }
      }
    }
    return out;
  }

  /** The deployments that load; the problems of those that do not are left to configs(). */
  static List<Deployment> deployments(ComposeStack s, List<String> problems) {
    List<Deployment> out = new ArrayList<>();
    for (String service : s.verifierServices()) {
      try {
        out.add(deployment(s, service));
      } catch (IllegalStateException | ConfigException e) {
        problems.add("services." + service + ": " + e.getMessage());
      }
    }
    return out;
  }

  static Deployment deployment(ComposeStack s, String service) {
    List<String> command = s.command(service);
    if (command.isEmpty()) {
      command = s.dockerfileExecForm("CMD");
    }
    String containerConfig = ComposeStack.option(command, "--config", "-c")
        .orElseThrow(() -> new IllegalStateException("its command " + s.command(service) + " names no --config"));
    String file = s.hostFile(service, containerConfig).orElseThrow(() -> new IllegalStateException(
        "its config " + containerConfig + " is not a file mounted from the repository (mounts " + s.binds(service) + ")"));
    if (!s.exists(file)) {
      throw new IllegalStateException("its config " + containerConfig + " is mounted from " + file + ", which does not exist");
    }
    Map<String, String> env = s.environment(service);
    VerifierConfig config;
    try {
      config = ConfigLoader.parse(s.read(file), env::get);
      Canonicalizer.forConfig(config);
    } catch (ConfigException e) {
      throw new IllegalStateException(file + " does not load with the service's environment " + env.keySet() + ": "
          + e.getMessage(), e);
    }
    List<String> roles = ComposeStack.option(command, "--roles").map(r -> List.of(r.split(","))).orElse(ALL_ROLES);
    return new Deployment(service, file, env, roles, config);
  }
}
