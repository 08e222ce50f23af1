package io.migrationverifier.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads the YAML config into immutable records. The file is read as a tree first, secrets are
 * substituted ({@code ${env:VAR}}, {@code ${file:/path}}), then every field is read with its path
 * so that ALL problems are collected and reported together, Debezium-style, instead of the first
 * one a data binder trips over.
 */
public final class ConfigLoader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern SUBSTITUTION = Pattern.compile("\\$\\{(env|file):([^}]*)}");
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");
  private static final Pattern CLASS_NAME =
      Pattern.compile("[A-Za-z_$][A-Za-z0-9_$.-]{0,199}");
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

  /** The sections of the file (keys of {@link #knownSettings()}); list elements are written {@code []}. */
  public static final String TOP = "";
  public static final String KAFKA = "kafka";
  public static final String SOURCE = "source";
  public static final String TARGET = "target";
  public static final String TABLE = "tables[]";
  public static final String COLUMN = "tables[].columns[]";
  public static final String TABLE_REPAIR = "tables[].repair";
  public static final String VERIFY = "verify";
  public static final String CAPTURE = "capture";
  public static final String REPAIR = "repair";
  public static final String HTTP = "http";
  public static final String AUDIT = "audit";

  private static final List<String> DATABASE_SETTINGS =
      List.of("type", "host", "port", "database", "user", "password", "time-zone", "properties");

  // The one list of accepted settings: the reader rejects anything else, and README's
  // configuration reference is checked against it (ConfigReferenceTest), so neither can drift.
  private static final Map<String, List<String>> KNOWN = knownSettingsInOrder();

  private static Map<String, List<String>> knownSettingsInOrder() {
    Map<String, List<String>> m = new LinkedHashMap<>();
    m.put(TOP, List.of("name", "kafka", "source", "target", "tables", "verify", "capture", "repair", "http", "audit"));
    m.put(KAFKA, List.of("bootstrap-servers", "embedded-port", "partitions", "replication-factor", "properties"));
    m.put(SOURCE, DATABASE_SETTINGS);
    m.put(TARGET, DATABASE_SETTINGS);
    m.put(TABLE, List.of("name", "source-table", "target-table", "key", "columns", "window", "state", "repair"));
    m.put(COLUMN, List.of("name", "source", "target", "ignore", "type", "scale", "tolerance", "precision", "trim",
        "case-insensitive", "comparator", "pii"));
    m.put(TABLE_REPAIR, List.of("enabled", "policy", "version-column", "skew-tolerance", "resolver", "rate-limit"));
    m.put(VERIFY, List.of("window", "stall-threshold", "processing-guarantee", "state-dir", "num-standby-replicas",
        "num-stream-threads", "commit-interval", "timestamp-precision", "buffer-store", "pii-key", "rocksdb-memory",
        "rocksdb-write-buffer-ratio"));
    m.put(CAPTURE, List.of("snapshot", "heartbeat-table", "heartbeat-interval"));
    m.put(REPAIR, List.of("max-attempts", "backoff", "max-backoff", "fence-retries", "outage-probe-interval",
        "rate-limit"));
    m.put(HTTP, List.of("enabled", "bind", "port"));
    m.put(AUDIT, List.of("segment-rows", "bisect-rows", "time-window", "max-rows-per-second", "target-chunk-time",
        "fetch-size"));
    return Collections.unmodifiableMap(m);
  }

  /**
   * Every setting the loader accepts, per section, in file order: {@code ""} is the top level,
   * {@code "tables[]"} one table, {@code "tables[].columns[]"} one column rule, and so on. Free-form
   * pass-through maps ({@code kafka.properties}, {@code source.properties}) count as one setting.
   */
  public static Map<String, List<String>> knownSettings() {
    return KNOWN;
  }

  /** Shortest {@code verify.pii-key}: a shorter key could be found by trying every value. */
  static final int MIN_PII_KEY_CHARS = 16;
  /** Substituted values at least this long are blanked out of problem messages. */
  private static final int MIN_SCRUBBED_CHARS = 4;

  private final Function<String, String> env;
  private final List<String> problems = new ArrayList<>();
  /** Paths whose value came (at least in part) from ${env:} or ${file:}. */
  private final Set<String> substitutedPaths = new HashSet<>();
  /** The values substituted: a message that echoes a value must never echo one of these. */
  private final Set<String> substitutedValues = new HashSet<>();

  private ConfigLoader(Function<String, String> env) {
    this.env = env;
  }

  public static VerifierConfig load(Path file) {
    return load(file, System::getenv);
  }

  public static VerifierConfig load(Path file, Function<String, String> env) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(List.of(file + ": cannot read the config file: " + e.getMessage()));
    }
    return parse(text, env);
  }

  public static VerifierConfig parse(String yaml, Function<String, String> env) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? ""
          : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
      throw new ConfigException(List.of("the file is not valid YAML" + where + ": " + e.getOriginalMessage()));
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException(List.of("the file must hold a YAML mapping with name, kafka, source, target, tables"));
    }
    ConfigLoader loader = new ConfigLoader(env);
    loader.substitute(root, "");
    VerifierConfig config = loader.read((ObjectNode) root);
    if (!loader.problems.isEmpty()) {
      throw new ConfigException(loader.problems.stream().map(loader::scrub).toList());
    }
    return config;
  }

  // ---- substitution ------------------------------------------------------------------------

  private void substitute(JsonNode node, String path) {
    if (node.isObject()) {
      ObjectNode obj = (ObjectNode) node;
      List<String> names = new ArrayList<>();
      obj.fieldNames().forEachRemaining(names::add);
      for (String f : names) {
        JsonNode child = obj.get(f);
        String childPath = join(path, f);
        if (child.isTextual()) {
          obj.set(f, new TextNode(substituteText(child.asText(), childPath)));
        } else {
          substitute(child, childPath);
        }
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        JsonNode child = node.get(i);
        String childPath = path + "[" + i + "]";
        if (child.isTextual()) {
          ((com.fasterxml.jackson.databind.node.ArrayNode) node)
              .set(i, new TextNode(substituteText(child.asText(), childPath)));
        } else {
          substitute(child, childPath);
        }
      }
    }
  }

  private String substituteText(String text, String path) {
    Matcher m = SUBSTITUTION.matcher(text);
    if (!m.find()) {
      return text;
    }
    m.reset();
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String kind = m.group(1);
      String ref = m.group(2).trim();
      String value = null;
      if (kind.equals("env")) {
        value = env.apply(ref);
        if (value == null) {
          problems.add(path + ": environment variable " + ref + " is not set (export it, or change ${env:" + ref + "})");
        }
      } else {
        try {
          value = Files.readString(Path.of(ref), StandardCharsets.UTF_8).strip();
        } catch (IOException | RuntimeException e) {
          problems.add(path + ": cannot read secret file " + ref + " (" + e.getClass().getSimpleName() + ")");
        }
      }
      if (value != null && value.length() >= MIN_SCRUBBED_CHARS) {
        substitutedValues.add(value);
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value == null ? "" : value));
    }
    m.appendTail(out);
    substitutedPaths.add(path);
    return out.toString();
  }

  /**
   * A problem message with every substituted value blanked: messages quote the offending value,
   * and a secret put under the wrong setting ({@code port: ${env:DB_PASSWORD}}) must not reach a
   * terminal or a CI log that way.
   */
  private String scrub(String message) {
    String out = message;
    for (String secret : substitutedValues) {
      out = out.replace(secret, "****");
      String shown = Identifiers.abbreviate(secret);
      if (!shown.equals(secret)) {
        out = out.replace(shown, "****");
      }
    }
    return out;
  }

  // ---- reading -----------------------------------------------------------------------------

  private VerifierConfig read(ObjectNode root) {
    known(root, "", TOP);
    String name = string(root, "", "name", null, true);
    if (name != null && !NAME.matcher(name).matches()) {
      problems.add("name: \"" + Identifiers.abbreviate(name) + "\" must be lower-case letters, digits, '.', '_' or '-'"
          + " (at most 100): it prefixes every topic name");
    }
    KafkaSettings kafka = readKafka(object(root, "", "kafka", false));
    DatabaseSettings source = readDatabase(object(root, "", SOURCE, true), SOURCE);
    DatabaseSettings target = readDatabase(object(root, "", TARGET, true), TARGET);
    VerifySettings verify = readVerify(object(root, "", "verify", false), name);
    CaptureSettings capture = readCapture(object(root, "", "capture", false));
    RepairSettings repair = readRepair(object(root, "", "repair", false));
    HttpSettings http = readHttp(object(root, "", "http", false));
    AuditSettings audit = readAudit(object(root, "", "audit", false));
    List<TableConfig> tables = readTables(root.get("tables"));
    checkPiiKey(verify, tables);
    checkSecretsNotLiteral(kafka, source, target);
    return new VerifierConfig(name, kafka, source, target, tables, verify, capture, repair, http, audit);
  }

  /** A hashed column needs the key; the key itself must be a secret from the environment or a file. */
  private void checkPiiKey(VerifySettings verify, List<TableConfig> tables) {
    String hashed = null;
    for (int i = 0; i < tables.size() && hashed == null; i++) {
      List<ColumnRule> cols = tables.get(i).columns();
      for (ColumnRule c : cols) {
        if (c.pii() == PiiMode.HASH) {
          hashed = "tables[" + i + "] (" + tables.get(i).name() + ") column " + c.name();
          break;
        }
      }
    }
    Secret key = verify.piiKey();
    if (hashed != null && key.isEmpty()) {
      problems.add("verify.pii-key: required because " + hashed + " has pii: hash; set it from a secret, e.g."
          + " pii-key: ${env:VERIFIER_PII_KEY} (at least " + MIN_PII_KEY_CHARS + " random characters)");
    }
    if (!key.isEmpty()) {
      if (!substitutedPaths.contains("verify.pii-key")) {
        problems.add("verify.pii-key: must not be written in the file; use ${env:VAR} or ${file:/path}");
      } else if (key.reveal().length() < MIN_PII_KEY_CHARS) {
        problems.add("verify.pii-key: is " + key.reveal().length() + " characters long; use at least "
            + MIN_PII_KEY_CHARS + " random characters, or hashed values can be found by trying candidates");
      }
    }
  }

  /**
   * Pass-through properties that hold a secret (a narrower rule than {@link KafkaSettings#isSecretProperty},
   * which also masks {@code key}: {@code ssl.keystore.location} or {@code key.serializer} are not secrets).
   */
  private static final Pattern LITERAL_SECRET_NAME =
      Pattern.compile(".*(password|secret|jaas|token|credential).*", Pattern.CASE_INSENSITIVE);

  /**
   * Passwords and secret-like pass-through properties must come from {@code ${env:VAR}} or
   * {@code ${file:/path}} (at least in part: a JAAS line with {@code password="${env:X}"} passes), never be
   * written in the file. An empty password stays allowed (trust or peer authentication). The message names
   * the path, never the value.
   */
  private void checkSecretsNotLiteral(KafkaSettings kafka, DatabaseSettings source, DatabaseSettings target) {
    Map<String, String> secrets = new LinkedHashMap<>();
    secrets.put(SOURCE + ".password", source.password().reveal());
    secrets.put(TARGET + ".password", target.password().reveal());
    Map<String, Map<String, String>> passThrough = new LinkedHashMap<>();
    passThrough.put(KAFKA + ".properties", kafka.properties());
    passThrough.put(SOURCE + ".properties", source.properties());
    passThrough.put(TARGET + ".properties", target.properties());
    passThrough.forEach((prefix, properties) -> properties.entrySet().stream()
        .filter(e -> LITERAL_SECRET_NAME.matcher(e.getKey()).matches())
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> secrets.put(prefix + "." + e.getKey(), e.getValue())));
    secrets.forEach((path, value) -> {
      if (value != null && !value.isEmpty() && !substitutedPaths.contains(path)) {
        problems.add(path + ": must not be written in the file; use ${env:VAR} or ${file:/path}");
      }
    });
  }

  private AuditSettings readAudit(JsonNode node) {
    String p = "audit";
    known(node, p, AUDIT);
    AuditSettings d = AuditSettings.DEFAULTS;
    int segment = integer(node, p, "segment-rows", d.segmentRows(), 10, 100_000_000);
    int bisect = integer(node, p, "bisect-rows", d.bisectRows(), 1, 10_000_000);
    Duration window = duration(node, p, "time-window", d.timeWindow());
    int rate = integer(node, p, "max-rows-per-second", (int) d.maxRowsPerSecond(), 0, Integer.MAX_VALUE);
    Duration chunk = duration(node, p, "target-chunk-time", d.targetChunkTime());
    int fetch = integer(node, p, "fetch-size", d.fetchSize(), 1, 1_000_000);
    return new AuditSettings(segment, bisect, window, rate, chunk, fetch);
  }

  private RepairSettings readRepair(JsonNode node) {
    String p = "repair";
    known(node, p, REPAIR);
    RepairSettings d = RepairSettings.DEFAULTS;
    int attempts = integer(node, p, "max-attempts", d.maxAttempts(), 1, 100);
    Duration backoff = duration(node, p, "backoff", d.backoff());
    Duration maxBackoff = duration(node, p, "max-backoff", d.maxBackoff());
    if (maxBackoff.compareTo(backoff) < 0) {
      problems.add(p + ".max-backoff: " + maxBackoff + " is shorter than repair.backoff " + backoff
          + "; make it at least as long");
    }
    int fence = integer(node, p, "fence-retries", d.fenceRetries(), 0, 100);
    Duration probe = duration(node, p, "outage-probe-interval", d.outageProbeInterval());
    int rate = integer(node, p, "rate-limit", d.rateLimit(), 0, 1_000_000);
    return new RepairSettings(attempts, backoff, maxBackoff, fence, probe, rate);
  }

  private HttpSettings readHttp(JsonNode node) {
    String p = "http";
    known(node, p, HTTP);
    HttpSettings d = HttpSettings.DEFAULTS;
    boolean enabled = bool(node, p, "enabled", d.enabled());
    String bind = string(node, p, "bind", d.bind(), false);
    int port = integer(node, p, "port", d.port(), 0, 65535);
    return new HttpSettings(enabled, bind, port);
  }

  private CaptureSettings readCapture(JsonNode node) {
    String p = "capture";
    known(node, p, CAPTURE);
    String snapshot = string(node, p, "snapshot", CaptureSettings.SNAPSHOT_INITIAL, false);
    if (!CaptureSettings.SNAPSHOT_INITIAL.equals(snapshot) && !CaptureSettings.SNAPSHOT_NEVER.equals(snapshot)) {
      problems.add(p + ".snapshot: \"" + Identifiers.abbreviate(snapshot) + "\" must be initial (default) or never");
    }
    String table = string(node, p, "heartbeat-table", "verifier_heartbeat", false);
    if (!CaptureSettings.NO_HEARTBEAT.equals(table) && !Identifiers.isValidQualified(table)) {
      problems.add(p + ".heartbeat-table: \"" + Identifiers.abbreviate(table) + "\" is not a valid table name ("
          + Identifiers.describeRule() + "), or none");
    }
    Duration interval = duration(node, p, "heartbeat-interval", Duration.ofSeconds(1));
    return new CaptureSettings(snapshot, table, interval);
  }

  private KafkaSettings readKafka(JsonNode node) {
    String p = "kafka";
    known(node, p, KAFKA);
    String servers = string(node, p, "bootstrap-servers", KafkaSettings.EMBEDDED, false);
    int port = integer(node, p, "embedded-port", 9092, 0, 65535);
    int partitions = integer(node, p, "partitions", 4, 1, 10_000);
    int rf = integer(node, p, "replication-factor", 1, 1, 32);
    return new KafkaSettings(servers, port, partitions, (short) rf, stringMap(node, p, "properties"));
  }

  /** {@code p} is {@link #SOURCE} or {@link #TARGET}: the path and the section at once. */
  private DatabaseSettings readDatabase(JsonNode node, String p) {
    known(node, p, p);
    String type = string(node, p, "type", null, true);
    Dialect dialect = type == null ? null : Dialect.fromId(type);
    if (type != null && dialect == null) {
      problems.add(p + ".type: \"" + Identifiers.abbreviate(type) + "\" is not supported; use postgres or mariadb");
    }
    String host = string(node, p, "host", "localhost", false);
    int port = integer(node, p, "port", dialect == null ? 0 : dialect.defaultPort(), 0, 65535);
    String database = string(node, p, "database", null, true);
    if (database != null && !Identifiers.isValidPart(database)) {
      problems.add(p + ".database: \"" + Identifiers.abbreviate(database) + "\" is not a valid identifier ("
          + Identifiers.describeRule() + ")");
    }
    String user = string(node, p, "user", null, true);
    String password = string(node, p, "password", "", false);
    String tz = string(node, p, "time-zone", "UTC", false);
    ZoneId zone = ZoneId.of("UTC");
    try {
      zone = ZoneId.of(tz);
    } catch (RuntimeException e) {
      problems.add(p + ".time-zone: \"" + Identifiers.abbreviate(tz) + "\" is not a time zone (e.g. UTC, Europe/Paris)");
    }
    return new DatabaseSettings(dialect == null ? Dialect.POSTGRES : dialect, host, port, database, user,
        Secret.of(password), zone, stringMap(node, p, "properties"));
  }

  private VerifySettings readVerify(JsonNode node, String name) {
    String p = "verify";
    known(node, p, VERIFY);
    Duration window = duration(node, p, "window", Duration.ofSeconds(30));
    Duration stall = duration(node, p, "stall-threshold", Duration.ofMinutes(5));
    String guarantee = string(node, p, "processing-guarantee", VerifySettings.EXACTLY_ONCE_V2, false);
    if (!VerifySettings.EXACTLY_ONCE_V2.equals(guarantee) && !VerifySettings.AT_LEAST_ONCE.equals(guarantee)) {
      problems.add(p + ".processing-guarantee: \"" + Identifiers.abbreviate(guarantee)
          + "\" must be exactly_once_v2 (default) or at_least_once");
    }
    String dir = string(node, p, "state-dir",
        Path.of(System.getProperty("java.io.tmpdir"), "migration-verifier", name == null ? "unnamed" : name).toString(),
        false);
    int standby = integer(node, p, "num-standby-replicas", 0, 0, 10);
    int threads = integer(node, p, "num-stream-threads", 1, 1, 64);
    Duration commit = duration(node, p, "commit-interval", Duration.ofMillis(100));
    TimePrecision precision = enumValue(node, p, "timestamp-precision", TimePrecision.MICROS, TimePrecision::fromId,
        "seconds, millis, micros or nanos");
    String buffer = string(node, p, "buffer-store", VerifySettings.BUFFER_MEMORY, false);
    if (!VerifySettings.BUFFER_MEMORY.equals(buffer) && !VerifySettings.BUFFER_ROCKSDB.equals(buffer)) {
      problems.add(p + ".buffer-store: \"" + Identifiers.abbreviate(buffer) + "\" must be memory (default) or rocksdb");
    }
    String piiKey = string(node, p, "pii-key", "", false);
    return new VerifySettings(window, stall, guarantee, Path.of(dir), standby, threads, commit, precision, buffer,
        Secret.of(piiKey), readRocksDb(node, p));
  }

  /** {@code verify.rocksdb-memory} (a size) and {@code verify.rocksdb-write-buffer-ratio} (a fraction). */
  private RocksDbSettings readRocksDb(JsonNode node, String p) {
    long memory = RocksDbSettings.DEFAULT_MEMORY;
    String size = string(node, p, "rocksdb-memory", null, false);
    if (size != null) {
      try {
        memory = RocksDbSettings.parseSize(size);
        if (memory < RocksDbSettings.MIN_MEMORY) {
          problems.add(p + ".rocksdb-memory: " + Identifiers.abbreviate(size) + " is below the minimum "
              + RocksDbSettings.formatSize(RocksDbSettings.MIN_MEMORY));
          memory = RocksDbSettings.DEFAULT_MEMORY;
        }
      } catch (IllegalArgumentException e) {
        problems.add(p + ".rocksdb-memory: " + Identifiers.abbreviate(size) + " is not a size; write e.g. 128MB, 1GB"
            + " or 512KB");
      }
    }
    double ratio = RocksDbSettings.DEFAULT_WRITE_BUFFER_RATIO;
    String r = string(node, p, "rocksdb-write-buffer-ratio", null, false);
    if (r != null) {
      try {
        ratio = Double.parseDouble(r);
      } catch (NumberFormatException e) {
        ratio = Double.NaN;
      }
      if (!(ratio >= RocksDbSettings.MIN_WRITE_BUFFER_RATIO && ratio <= RocksDbSettings.MAX_WRITE_BUFFER_RATIO)) {
        problems.add(p + ".rocksdb-write-buffer-ratio: \"" + Identifiers.abbreviate(r) + "\" must be a number between "
            + RocksDbSettings.MIN_WRITE_BUFFER_RATIO + " and " + RocksDbSettings.MAX_WRITE_BUFFER_RATIO);
        ratio = RocksDbSettings.DEFAULT_WRITE_BUFFER_RATIO;
      }
    }
    return new RocksDbSettings(memory, ratio);
  }

  private List<TableConfig> readTables(JsonNode node) {
    List<TableConfig> tables = new ArrayList<>();
    if (node == null || node.isNull()) {
      problems.add("tables: required; list at least one table to compare");
      return tables;
    }
    if (!node.isArray() || node.isEmpty()) {
      problems.add("tables: must be a non-empty list of tables");
      return tables;
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < node.size(); i++) {
      String p = "tables[" + i + "]";
      JsonNode t = node.get(i);
      if (!t.isObject()) {
        problems.add(p + ": must be a mapping with name, key and optional columns");
        continue;
      }
      TableConfig table = readTable(t, p);
      if (table.name() != null && !names.add(table.name())) {
        problems.add(p + ".name: \"" + table.name() + "\" is configured twice; logical table names must be unique");
      }
      tables.add(table);
    }
    return tables;
  }

  private TableConfig readTable(JsonNode t, String p) {
    known(t, p, TABLE);
    String name = string(t, p, "name", null, true);
    if (name != null && !Identifiers.isValidPart(name)) {
      problems.add(p + ".name: \"" + Identifiers.abbreviate(name) + "\" is not a valid identifier ("
          + Identifiers.describeRule() + ")");
    }
    String sourceTable = qualified(t, p, "source-table", name);
    String targetTable = qualified(t, p, "target-table", name);
    Duration window = t.has("window") ? duration(t, p, "window", null) : null;

    List<ColumnRule> columns = new ArrayList<>();
    JsonNode cols = t.get("columns");
    if (cols != null && !cols.isNull()) {
      if (!cols.isArray()) {
        problems.add(p + ".columns: must be a list of column rules");
      } else {
        Set<String> logical = new HashSet<>();
        Map<String, String> physicalSource = new LinkedHashMap<>();
        Map<String, String> physicalTarget = new LinkedHashMap<>();
        for (int i = 0; i < cols.size(); i++) {
          String cp = p + ".columns[" + i + "]";
          ColumnRule rule = readColumn(cols.get(i), cp);
          if (rule == null) {
            continue;
          }
          if (!logical.add(rule.name())) {
            problems.add(cp + ".name: column \"" + rule.name() + "\" is configured twice");
          }
          clash(physicalSource, rule.sourceName(), rule.name(), cp + ".source");
          clash(physicalTarget, rule.targetName(), rule.name(), cp + ".target");
          columns.add(rule);
        }
      }
    }

    List<String> key = new ArrayList<>();
    JsonNode keyNode = t.get("key");
    if (keyNode == null || keyNode.isNull()) {
      problems.add(p + ".key: required; list the primary key column(s), e.g. key: [id]");
    } else {
      List<JsonNode> items = new ArrayList<>();
      if (keyNode.isArray()) {
        keyNode.forEach(items::add);
      } else {
        items.add(keyNode);
      }
      if (items.isEmpty()) {
        problems.add(p + ".key: must name at least one column");
      }
      for (int i = 0; i < items.size(); i++) {
        String kp = p + ".key" + (keyNode.isArray() ? "[" + i + "]" : "");
        JsonNode k = items.get(i);
        if (!k.isTextual() || !Identifiers.isValidPart(k.asText())) {
          problems.add(kp + ": \"" + Identifiers.abbreviate(k.asText()) + "\" is not a valid column name ("
              + Identifiers.describeRule() + ")");
          continue;
        }
        String col = k.asText();
        if (key.contains(col)) {
          problems.add(kp + ": column \"" + col + "\" is listed twice in the key");
          continue;
        }
        key.add(col);
        for (ColumnRule rule : columns) {
          if (!rule.name().equals(col)) {
            continue;
          }
          if (rule.pii() != PiiMode.NONE) {
            problems.add(p + ".key: column \"" + col + "\" has pii: " + rule.pii().id() + "; a key column cannot be"
                + " masked (it names the row in every record key and repair); mask the other columns");
          }
          if (rule.ignore()) {
            problems.add(p + ".key: column \"" + col + "\" is ignored in columns; a key column must be compared");
          }
          if (rule.sourceName() == null) {
            problems.add(p + ".key: column \"" + col + "\" is not mapped on the source side");
          }
          if (rule.targetName() == null) {
            problems.add(p + ".key: column \"" + col + "\" is not mapped on the target side");
          }
        }
      }
    }
    TableRepair repair = readTableRepair(object(t, p, "repair", false), p + ".repair", columns, key);
    StateMode state = enumValue(t, p, "state", StateMode.FULL, StateMode::fromId, "full, hash-only");
    if (state == StateMode.HASH_ONLY) {
      for (ColumnRule c : columns) {
        // hash-only agreement is hash equality: rows that differ yet compare equal cannot be told apart
        if (c.tolerance() != null || c.comparator() != null) {
          problems.add(p + ".state: hash-only cannot be combined with column \"" + c.name() + "\"'s "
              + (c.tolerance() != null ? "tolerance" : "comparator") + " (agreement is then decided on the rows,"
              + " which hash-only does not keep); use state: full for this table, or drop the rule");
        }
      }
    }
    return new TableConfig(name, sourceTable, targetTable, key, columns, window, repair, state);
  }

  private TableRepair readTableRepair(JsonNode node, String p, List<ColumnRule> columns, List<String> key) {
    if (node == null) {
      return TableRepair.DETECT_ONLY;
    }
    known(node, p, TABLE_REPAIR);
    boolean enabled = bool(node, p, "enabled", true);
    RepairPolicy policy = enumValue(node, p, "policy", RepairPolicy.SOURCE_WINS, RepairPolicy::fromId,
        "source-wins (default), last-write-wins, manual or custom");
    String version = string(node, p, "version-column", null, false);
    // zero is a tolerance too (clocks trusted to the millisecond), unlike a zero window or interval
    Duration skew = !node.hasNonNull("skew-tolerance") || Duration.ZERO.equals(parseDuration(
        node.get("skew-tolerance").asText())) ? Duration.ZERO : duration(node, p, "skew-tolerance", Duration.ZERO);
    String resolver = string(node, p, "resolver", null, false);
    Integer rate = node.hasNonNull("rate-limit") ? integer(node, p, "rate-limit", 0, 0, 1_000_000) : null;
    if (policy == RepairPolicy.LAST_WRITE_WINS) {
      if (version == null) {
        problems.add(p + ".version-column: required by policy last-write-wins; name the logical column that"
            + " orders writes (a version number or an update timestamp)");
      } else if (!Identifiers.isValidPart(version)) {
        problems.add(p + ".version-column: \"" + Identifiers.abbreviate(version) + "\" is not a valid column name ("
            + Identifiers.describeRule() + ")");
      } else if (columns.stream().anyMatch(c -> c.name().equals(version) && c.ignore())) {
        problems.add(p + ".version-column: column \"" + version + "\" is ignored in columns; the version must be"
            + " compared to be trusted");
      } else if (key.contains(version)) {
        problems.add(p + ".version-column: \"" + version + "\" is a key column; it cannot order writes of one row");
      } else if (columns.stream().anyMatch(c -> c.name().equals(version) && c.pii() != PiiMode.NONE)) {
        problems.add(p + ".version-column: column \"" + version + "\" has pii; last-write-wins quotes version values"
            + " in its review reasons, so the version column cannot be masked");
      }
    } else if (version != null) {
      problems.add(p + ".version-column: only used by policy last-write-wins (policy is " + policy.id() + ")");
    }
    if (policy == RepairPolicy.CUSTOM) {
      if (resolver == null) {
        problems.add(p + ".resolver: required by policy custom; the fully qualified name of a class implementing"
            + " io.migrationverifier.repair.spi.ConflictResolver");
      } else if (!CLASS_NAME.matcher(resolver).matches()) {
        problems.add(p + ".resolver: \"" + Identifiers.abbreviate(resolver) + "\" is not a Java class name");
      }
    } else if (resolver != null) {
      problems.add(p + ".resolver: only used by policy custom (policy is " + policy.id() + ")");
    }
    return new TableRepair(enabled, policy, version, skew, resolver, rate);
  }

  private void clash(Map<String, String> seen, String physical, String logical, String path) {
    if (physical == null) {
      return;
    }
    String other = seen.putIfAbsent(physical, logical);
    if (other != null) {
      problems.add(path + ": physical column \"" + physical + "\" is already mapped to \"" + other + "\"");
    }
  }

  private ColumnRule readColumn(JsonNode c, String p) {
    if (c == null || !c.isObject()) {
      problems.add(p + ": must be a mapping such as {name: total, target: total_amount, type: decimal}");
      return null;
    }
    known(c, p, COLUMN);
    String name = string(c, p, "name", null, true);
    if (name == null) {
      return null;
    }
    if (!Identifiers.isValidPart(name)) {
      problems.add(p + ".name: \"" + Identifiers.abbreviate(name) + "\" is not a valid column name ("
          + Identifiers.describeRule() + ")");
    }
    String source = sideColumn(c, p, "source", name);
    String target = sideColumn(c, p, "target", name);
    boolean ignore = bool(c, p, "ignore", false);
    CanonicalType type = enumValue(c, p, "type", CanonicalType.AUTO, CanonicalType::fromId,
        "auto, text, integer, decimal, float, boolean, timestamp, date, time, json, bytes or uuid");
    Integer scale = c.has("scale") ? integer(c, p, "scale", 0, 0, 38) : null;
    if (scale != null && type != CanonicalType.DECIMAL && type != CanonicalType.AUTO) {
      problems.add(p + ".scale: applies to decimal columns only (type is " + type.id() + ")");
    }
    Double tolerance = null;
    if (c.has("tolerance")) {
      JsonNode tn = c.get("tolerance");
      if (!tn.isNumber() || tn.asDouble() < 0 || Double.isNaN(tn.asDouble())) {
        problems.add(p + ".tolerance: must be a number >= 0, e.g. 0.001");
      } else {
        tolerance = tn.asDouble();
      }
      if (type != CanonicalType.FLOAT && type != CanonicalType.DECIMAL && type != CanonicalType.AUTO) {
        problems.add(p + ".tolerance: applies to float and decimal columns only (type is " + type.id() + ")");
      }
    }
    TimePrecision precision = c.has("precision")
        ? enumValue(c, p, "precision", null, TimePrecision::fromId, "seconds, millis, micros or nanos") : null;
    boolean trim = bool(c, p, "trim", false);
    boolean ci = bool(c, p, "case-insensitive", false);
    String comparator = string(c, p, "comparator", null, false);
    if (comparator != null && !CLASS_NAME.matcher(comparator).matches()) {
      problems.add(p + ".comparator: \"" + Identifiers.abbreviate(comparator)
          + "\" must be the name of a registered ValueComparator or a fully qualified class name");
    }
    PiiMode pii = enumValue(c, p, "pii", PiiMode.NONE, PiiMode::fromId, "none (default), mask or hash");
    if (source == null && target == null) {
      problems.add(p + ": column \"" + name + "\" is mapped on neither side; remove it or map one side");
    }
    return new ColumnRule(name, source, target, ignore || source == null || target == null, type, scale, tolerance,
        precision, trim, ci, comparator, pii);
  }

  /** A side's physical column: defaults to the logical name; an explicit null means "absent on that side". */
  private String sideColumn(JsonNode c, String p, String field, String logical) {
    if (!c.has(field)) {
      return logical;
    }
    JsonNode v = c.get(field);
    if (v.isNull()) {
      return null;
    }
    if (!v.isTextual() || !Identifiers.isValidPart(v.asText())) {
      problems.add(p + "." + field + ": \"" + Identifiers.abbreviate(v.asText()) + "\" is not a valid column name ("
          + Identifiers.describeRule() + ")");
      return logical;
    }
    return v.asText();
  }

  private String qualified(JsonNode t, String p, String field, String def) {
    String v = string(t, p, field, def, false);
    if (v != null && !Identifiers.isValidQualified(v)) {
      problems.add(p + "." + field + ": \"" + Identifiers.abbreviate(v) + "\" is not a valid table name ("
          + Identifiers.describeRule() + ")");
    }
    return v;
  }

  // ---- primitive readers, each recording its problem with its path --------------------------

  private void known(JsonNode node, String path, String section) {
    if (node == null || !node.isObject()) {
      return;
    }
    Set<String> allowed = new LinkedHashSet<>(KNOWN.get(section));
    Iterator<String> it = node.fieldNames();
    while (it.hasNext()) {
      String f = it.next();
      if (!allowed.contains(f)) {
        problems.add(join(path, f) + ": unknown setting; expected one of " + String.join(", ", allowed));
      }
    }
  }

  private JsonNode object(JsonNode parent, String path, String field, boolean required) {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) {
      if (required) {
        problems.add(join(path, field) + ": required section is missing");
      }
      return null;
    }
    if (!n.isObject()) {
      problems.add(join(path, field) + ": must be a mapping");
      return null;
    }
    return n;
  }

  private String string(JsonNode node, String path, String field, String def, boolean required) {
    JsonNode n = node == null ? null : node.get(field);
    if (n == null || n.isNull()) {
      if (required) {
        problems.add(join(path, field) + ": required");
      }
      return def;
    }
    if (!n.isValueNode()) {
      problems.add(join(path, field) + ": must be a single value");
      return def;
    }
    String s = n.asText();
    if (required && s.isBlank()) {
      problems.add(join(path, field) + ": must not be empty");
    }
    return s;
  }

  private int integer(JsonNode node, String path, String field, int def, int min, int max) {
    JsonNode n = node == null ? null : node.get(field);
    if (n == null || n.isNull()) {
      return def;
    }
    if (!n.canConvertToInt() || !(n.isIntegralNumber() || n.asText().matches("-?\\d+"))) {
      problems.add(join(path, field) + ": \"" + Identifiers.abbreviate(n.asText()) + "\" must be a whole number");
      return def;
    }
    int v = n.isIntegralNumber() ? n.asInt() : Integer.parseInt(n.asText());
    if (v < min || v > max) {
      problems.add(join(path, field) + ": " + v + " is out of range [" + min + ", " + max + "]");
      return def;
    }
    return v;
  }

  private boolean bool(JsonNode node, String path, String field, boolean def) {
    JsonNode n = node == null ? null : node.get(field);
    if (n == null || n.isNull()) {
      return def;
    }
    if (n.isBoolean()) {
      return n.asBoolean();
    }
    String s = n.asText().toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    problems.add(join(path, field) + ": \"" + Identifiers.abbreviate(n.asText()) + "\" must be true or false");
    return def;
  }

  private Duration duration(JsonNode node, String path, String field, Duration def) {
    JsonNode n = node == null ? null : node.get(field);
    if (n == null || n.isNull()) {
      return def;
    }
    Duration d = parseDuration(n.asText());
    if (d == null) {
      problems.add(join(path, field) + ": \"" + Identifiers.abbreviate(n.asText())
          + "\" is not a duration; write e.g. 500ms, 30s, 5m, 1h or PT30S");
      return def;
    }
    if (d.isZero() || d.isNegative()) {
      problems.add(join(path, field) + ": must be positive");
      return def;
    }
    return d;
  }

  /** Parses {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d} or ISO-8601 ({@code PT30S}); null if neither. */
  public static Duration parseDuration(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    Matcher m = DURATION.matcher(s);
    if (m.matches()) {
      long v = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(v);
        case "s" -> Duration.ofSeconds(v);
        case "m" -> Duration.ofMinutes(v);
        case "h" -> Duration.ofHours(v);
        default -> Duration.ofDays(v);
      };
    }
    try {
      return Duration.parse(text.trim().toUpperCase(Locale.ROOT));
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private <E> E enumValue(JsonNode node, String path, String field, E def, Function<String, E> parse, String allowed) {
    JsonNode n = node == null ? null : node.get(field);
    if (n == null || n.isNull()) {
      return def;
    }
    E v = parse.apply(n.asText());
    if (v == null) {
      problems.add(join(path, field) + ": \"" + Identifiers.abbreviate(n.asText()) + "\" must be one of " + allowed);
      return def;
    }
    return v;
  }

  private Map<String, String> stringMap(JsonNode node, String path, String field) {
    Map<String, String> out = new LinkedHashMap<>();
    JsonNode n = node == null ? null : node.get(field);
    if (n == null || n.isNull()) {
      return out;
    }
    if (!n.isObject()) {
      problems.add(join(path, field) + ": must be a mapping of name: value");
      return out;
    }
    n.fields().forEachRemaining(e -> {
      if (!e.getValue().isValueNode()) {
        problems.add(join(path, field) + "." + e.getKey() + ": must be a single value");
      } else {
        out.put(e.getKey(), e.getValue().asText());
      }
    });
    return out;
  }

  private static String join(String path, String field) {
    return path.isEmpty() ? field : path + "." + field;
  }
}
