package io.migrationverifier.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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

/**
 * The docker-compose stack as files: {@code docker-compose.yml} parsed (with compose's variable
 * interpolation applied, defaults only, as a newcomer runs it), the files its services mount, and
 * a small reader of the init SQL they run (tables, columns, users, grants, publications).
 *
 * <p>Reads every file through {@link #read}, which a test can override with another content: that
 * is how each consistency check is shown to fail on a broken stack without touching the repository.
 */
final class ComposeStack {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final String COMPOSE_FILE = "docker-compose.yml";
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?}|\\$\\$");

  final Path root;
  final JsonNode compose;
  private final Map<String, String> overrides;
  final List<String> interpolationProblems = new ArrayList<>();

  ComposeStack(Path root, Map<String, String> overrides) {
    this.root = root;
    this.overrides = overrides;
    JsonNode raw = readYaml(COMPOSE_FILE);
    this.compose = interpolate(raw);
  }

  static ComposeStack load() {
    return new ComposeStack(repositoryRoot(), Map.of());
  }

  /** The directory holding docker-compose.yml: Maven runs tests in the project directory. */
  static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve(COMPOSE_FILE))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException(COMPOSE_FILE + " not found in " + Path.of("").toAbsolutePath()
          + " or a parent: run the test from the repository");
    }
    return dir;
  }

  // ---- files ---------------------------------------------------------------------------------

  boolean exists(String relative) {
    return overrides.containsKey(relative) || Files.exists(root.resolve(relative));
  }

  String read(String relative) {
    String o = overrides.get(relative);
    if (o != null) {
      return o;
    }
    try {
      return Files.readString(root.resolve(relative), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + relative + " (referenced by the compose stack)", e);
    }
  }

  JsonNode readYaml(String relative) {
    try {
      return YAML.readTree(read(relative));
    } catch (IOException e) {
      throw new IllegalStateException(relative + " is not valid YAML: " + e.getMessage(), e);
    }
  }

  // ---- compose interpolation ----------------------------------------------------------------

  private JsonNode interpolate(JsonNode node) {
    if (node == null) {
      return null;
    }
    if (node.isTextual()) {
      return com.fasterxml.jackson.databind.node.TextNode.valueOf(interpolate(node.asText()));
    }
    if (node.isObject()) {
      com.fasterxml.jackson.databind.node.ObjectNode out = YAML.createObjectNode();
      node.fields().forEachRemaining(e -> out.set(e.getKey(), interpolate(e.getValue())));
      return out;
    }
    if (node.isArray()) {
      com.fasterxml.jackson.databind.node.ArrayNode out = YAML.createArrayNode();
      node.forEach(n -> out.add(interpolate(n)));
      return out;
    }
    return node;
  }

  /** ${VAR:-default} and ${VAR-default} give the default (no variable is set); ${VAR} alone is a problem. */
  private String interpolate(String text) {
    Matcher m = VARIABLE.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement;
      if (m.group(0).equals("$$")) {
        replacement = "$";
      } else if (m.group(2) != null && m.group(2).endsWith("-")) {
        replacement = m.group(3);
      } else {
        interpolationProblems.add(COMPOSE_FILE + ": ${" + m.group(1) + "} has no default; a newcomer without that"
            + " variable gets an empty value (write ${" + m.group(1) + ":-value})");
        replacement = "";
      }
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }

  // ---- services -------------------------------------------------------------------------------

  Set<String> serviceNames() {
    Set<String> names = new LinkedHashSet<>();
    compose.path("services").fieldNames().forEachRemaining(names::add);
    return names;
  }

  JsonNode service(String name) {
    return compose.path("services").path(name);
  }

  String image(String service) {
    return service(service).path("image").asText("");
  }

  /** The service's environment, list or map form. */
  Map<String, String> environment(String service) {
    Map<String, String> env = new LinkedHashMap<>();
    JsonNode e = service(service).path("environment");
    if (e.isObject()) {
      e.fields().forEachRemaining(f -> env.put(f.getKey(), f.getValue().isNull() ? "" : f.getValue().asText()));
    } else if (e.isArray()) {
      e.forEach(item -> {
        String s = item.asText();
        int eq = s.indexOf('=');
        env.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? "" : s.substring(eq + 1));
      });
    }
    return env;
  }

  /** The command, list or string form ({@code >-} folded strings split on blanks). */
  List<String> command(String service) {
    return words(service(service).path("command"));
  }

  static List<String> words(JsonNode node) {
    List<String> out = new ArrayList<>();
    if (node.isArray()) {
      node.forEach(n -> out.add(n.asText()));
    } else if (node.isTextual()) {
      for (String w : node.asText().trim().split("\\s+")) {
        if (!w.isEmpty()) {
          out.add(w);
        }
      }
    }
    return out;
  }

  /** A bind mount: a file or directory of the repository (relative to the compose file) mounted at target. */
  record Bind(String source, String target) {}

  /** Named volume mounts: volume name to container path. */
  record Named(String volume, String target) {}

  List<Bind> binds(String service) {
    List<Bind> out = new ArrayList<>();
    for (JsonNode v : service(service).path("volumes")) {
      if (v.isTextual()) {
        String[] parts = v.asText().split(":");
        if (parts.length >= 2 && isPath(parts[0])) {
          out.add(new Bind(normalize(parts[0]), parts[1]));
        }
      } else if ("bind".equals(v.path("type").asText())) {
        out.add(new Bind(normalize(v.path("source").asText()), v.path("target").asText()));
      }
    }
    return out;
  }

  List<Named> namedVolumes(String service) {
    List<Named> out = new ArrayList<>();
    for (JsonNode v : service(service).path("volumes")) {
      if (v.isTextual()) {
        String[] parts = v.asText().split(":");
        if (parts.length >= 2 && !isPath(parts[0])) {
          out.add(new Named(parts[0], parts[1]));
        }
      } else if ("volume".equals(v.path("type").asText())) {
        out.add(new Named(v.path("source").asText(), v.path("target").asText()));
      }
    }
    return out;
  }

  private static boolean isPath(String s) {
    return s.startsWith(".") || s.startsWith("/") || s.startsWith("~");
  }

  /** "./config/x" to "config/x"; "." to "". */
  static String normalize(String path) {
    String p = path.replace('\\', '/');
    while (p.startsWith("./")) {
      p = p.substring(2);
    }
    if (p.equals(".")) {
      return "";
    }
    return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  /** The repository file a container path of the service comes from, if a bind mount provides it. */
  Optional<String> hostFile(String service, String containerPath) {
    for (Bind b : binds(service)) {
      if (b.target().equals(containerPath)) {
        return Optional.of(b.source());
      }
      String dir = b.target().endsWith("/") ? b.target() : b.target() + "/";
      if (containerPath.startsWith(dir)) {
        return Optional.of(join(b.source(), containerPath.substring(dir.length())));
      }
    }
    return Optional.empty();
  }

  static String join(String dir, String file) {
    return dir.isEmpty() ? file : dir + "/" + file;
  }

  /** Container ports of the service's {@code ports}, by the host port they are published on. */
  Map<String, Integer> publishedPorts(String service) {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (JsonNode p : service(service).path("ports")) {
      if (p.isObject()) {
        out.put(p.path("published").asText(), p.path("target").asInt());
      } else {
        String s = p.asText().replaceAll("/(tcp|udp)$", "");
        String[] parts = s.split(":");
        String container = parts[parts.length - 1];
        String host = parts.length >= 2 ? parts[parts.length - 2] : container;
        out.put(host, Integer.parseInt(container));
      }
    }
    return out;
  }

  /** depends_on as service to condition (the short list form means service_started). */
  Map<String, String> dependsOn(String service) {
    Map<String, String> out = new LinkedHashMap<>();
    JsonNode d = service(service).path("depends_on");
    if (d.isArray()) {
      d.forEach(n -> out.put(n.asText(), "service_started"));
    } else if (d.isObject()) {
      d.fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().path("condition").asText("service_started")));
    }
    return out;
  }

  /** Services built from the repository's Dockerfile, or running the image such a service builds. */
  List<String> verifierServices() {
    Set<String> images = new LinkedHashSet<>();
    List<String> built = new ArrayList<>();
    for (String s : serviceNames()) {
      if (buildsVerifier(s)) {
        built.add(s);
        if (!image(s).isEmpty()) {
          images.add(image(s));
        }
      }
    }
    List<String> out = new ArrayList<>();
    for (String s : serviceNames()) {
      if (built.contains(s) || images.contains(image(s))) {
        out.add(s);
      }
    }
    return out;
  }

  private boolean buildsVerifier(String service) {
    JsonNode b = service(service).path("build");
    if (b.isMissingNode()) {
      return false;
    }
    String context = normalize(b.isTextual() ? b.asText() : b.path("context").asText("."));
    String dockerfile = b.isTextual() ? "Dockerfile" : b.path("dockerfile").asText("Dockerfile");
    return context.isEmpty() && dockerfile.equals("Dockerfile");
  }

  /** The value following {@code --name} or {@code -n} (or {@code --name=v}) in the words, if any. */
  static Optional<String> option(List<String> words, String... names) {
    for (int i = 0; i < words.size(); i++) {
      for (String n : names) {
        if (words.get(i).equals(n) && i + 1 < words.size()) {
          return Optional.of(words.get(i + 1));
        }
        if (words.get(i).startsWith(n + "=")) {
          return Optional.of(words.get(i).substring(n.length() + 1));
        }
      }
    }
    return Optional.empty();
  }

  // ---- Dockerfile -----------------------------------------------------------------------------

  /** Dockerfile instructions (continuation lines joined), as "INSTRUCTION rest". */
  List<String> dockerfileInstructions() {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : read("Dockerfile").split("\n")) {
      String t = line.strip();
      if (t.startsWith("#") || (t.isEmpty() && current.length() == 0)) {
        continue;
      }
      if (t.endsWith("\\")) {
        current.append(t, 0, t.length() - 1).append(' ');
        continue;
      }
      current.append(t);
      if (current.length() > 0) {
        out.add(current.toString().strip());
      }
      current.setLength(0);
    }
    return out;
  }

  /** The words of the final stage's exec-form instruction (CMD or ENTRYPOINT), last one wins. */
  List<String> dockerfileExecForm(String instruction) {
    List<String> found = List.of();
    for (String i : dockerfileInstructions()) {
      if (i.toUpperCase(Locale.ROOT).startsWith(instruction + " ")) {
        String json = i.substring(instruction.length()).strip();
        try {
          List<String> words = new ArrayList<>();
          YAML.readTree(json).forEach(n -> words.add(n.asText()));
          found = words;
        } catch (IOException e) {
          throw new IllegalStateException("Dockerfile: " + instruction + " is not in exec form: " + json, e);
        }
      }
    }
    return found;
  }

  // ---- init SQL -------------------------------------------------------------------------------

  /** The database engine of a service, from its image: postgres, mariadb or null. */
  static String engine(String image) {
    String i = image.toLowerCase(Locale.ROOT);
    String name = i.contains("/") ? i.substring(i.lastIndexOf('/') + 1) : i;
    if (name.startsWith("postgres")) {
      return "postgres";
    }
    if (name.startsWith("mariadb") || name.startsWith("mysql")) {
      return "mariadb";
    }
    return null;
  }

  /** The port the database server of the service listens on inside its container. */
  int databasePort(String service) {
    List<String> cmd = command(service);
    if ("postgres".equals(engine(image(service)))) {
      for (int i = 0; i + 1 < cmd.size(); i++) {
        if (cmd.get(i).equals("-c") && cmd.get(i + 1).startsWith("port=")) {
          return Integer.parseInt(cmd.get(i + 1).substring(5));
        }
      }
      return option(cmd, "-p").map(Integer::parseInt).orElse(5432);
    }
    return option(cmd, "--port", "-P").map(Integer::parseInt).orElse(3306);
  }

  /** The database the image creates at initialization. */
  Optional<String> initialDatabase(String service) {
    Map<String, String> env = environment(service);
    if ("postgres".equals(engine(image(service)))) {
      return Optional.ofNullable(env.getOrDefault("POSTGRES_DB", env.getOrDefault("POSTGRES_USER", "postgres")));
    }
    return Optional.ofNullable(env.getOrDefault("MARIADB_DATABASE", env.get("MYSQL_DATABASE")));
  }

  /**
   * The text of every SQL and shell init file bind-mounted into the service, comments dropped and
   * the service's environment substituted into shell files (their SQL reads ${MARIADB_DATABASE}).
   */
  Map<String, String> initFiles(String service) {
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, String> env = environment(service);
    for (Bind b : binds(service)) {
      if (!(b.source().endsWith(".sql") || b.source().endsWith(".sh")) || !exists(b.source())) {
        continue;
      }
      String text = read(b.source());
      if (b.source().endsWith(".sh")) {
        for (Map.Entry<String, String> e : env.entrySet()) {
          text = text.replace("${" + e.getKey() + "}", e.getValue());
        }
      }
      out.put(b.source(), text.replaceAll("(?m)--.*$", ""));
    }
    return out;
  }

  /** What init SQL of one database service creates. */
  record Schema(String engine, String defaultSchema, Map<String, List<String>> tables, Map<String, String> roles,
      Set<String> databases, List<Grant> grants, Map<String, Set<String>> publications) {

    /** A table name as the database resolves it: PostgreSQL's default schema public, MariaDB's database. */
    String qualify(String table) {
      String t = table.replace("\"", "").replace("`", "").toLowerCase(Locale.ROOT);
      return t.contains(".") ? t : defaultSchema + "." + t;
    }

    boolean granted(String user, String privilege, String table) {
      String q = qualify(table);
      String db = q.substring(0, q.indexOf('.'));
      return grants.stream().anyMatch(g -> g.grantees().contains(user) && g.privileges().contains(privilege)
          && (g.objects().contains(q) || g.objects().contains(db + ".*") || g.objects().contains("*.*")));
    }

    /** Privileges on the table the user holds. */
    Set<String> privileges(String user, String table) {
      Set<String> out = new LinkedHashSet<>();
      for (String p : List.of("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "TRUNCATE", "ALL")) {
        if (granted(user, p, table) || granted(user, "ALL PRIVILEGES", table)) {
          out.add(p);
        }
      }
      return out;
    }

    /** Whether the user may read change logs: PostgreSQL REPLICATION attribute, MariaDB REPLICATION SLAVE. */
    boolean canReplicate(String user) {
      if (engine.equals("postgres")) {
        return roles.getOrDefault(user, "").contains("REPLICATION") && !roles.getOrDefault(user, "").contains("NOREPLICATION");
      }
      return grants.stream().anyMatch(g -> g.grantees().contains(user) && g.privileges().contains("REPLICATION SLAVE"));
    }
  }

  record Grant(Set<String> privileges, Set<String> objects, Set<String> grantees) {}

  private static final Pattern CREATE_TABLE =
      Pattern.compile("(?i)CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?([\\w.\"`]+)\\s*\\(");
  private static final Pattern CREATE_ROLE =
      Pattern.compile("(?i)CREATE\\s+(?:ROLE|USER)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?['\"`]?(\\w+)['\"`]?([^;]*);");
  private static final Pattern CREATE_DATABASE =
      Pattern.compile("(?i)CREATE\\s+DATABASE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?['\"`]?(\\w+)");
  private static final Pattern GRANT =
      Pattern.compile("(?is)GRANT\\s+([^;]+?)\\s+ON\\s+(?!SCHEMA\\s)(?:TABLE\\s+)?([^;]+?)\\s+TO\\s+([^;]+);");
  private static final Pattern PUBLICATION =
      Pattern.compile("(?is)CREATE\\s+PUBLICATION\\s+(\\w+)\\s+FOR\\s+TABLE\\s+([^;]+);");
  private static final Set<String> NOT_COLUMNS =
      Set.of("PRIMARY", "CONSTRAINT", "UNIQUE", "FOREIGN", "CHECK", "KEY", "INDEX", "EXCLUDE");

  Schema schema(String service) {
    String engine = engine(image(service));
    String defaultSchema = "postgres".equals(engine) ? "public" : initialDatabase(service).orElse("").toLowerCase(Locale.ROOT);
    Map<String, List<String>> tables = new LinkedHashMap<>();
    Map<String, String> roles = new LinkedHashMap<>();
    Set<String> databases = new LinkedHashSet<>();
    initialDatabase(service).ifPresent(databases::add);
    List<Grant> grants = new ArrayList<>();
    Map<String, Set<String>> publications = new LinkedHashMap<>();
    Schema schema = new Schema(engine, defaultSchema, tables, roles, databases, grants, publications);
    for (String text : initFiles(service).values()) {
      Matcher t = CREATE_TABLE.matcher(text);
      while (t.find()) {
        String body = parenthesized(text, t.end() - 1);
        tables.put(schema.qualify(t.group(1)), columns(body));
      }
      Matcher r = CREATE_ROLE.matcher(text);
      while (r.find()) {
        roles.put(r.group(1), r.group(2).toUpperCase(Locale.ROOT));
      }
      Matcher d = CREATE_DATABASE.matcher(text);
      while (d.find()) {
        databases.add(d.group(1));
      }
      Matcher g = GRANT.matcher(text);
      while (g.find()) {
        Set<String> privileges = new LinkedHashSet<>();
        for (String p : g.group(1).split(",")) {
          privileges.add(p.strip().replaceAll("\\s+", " ").toUpperCase(Locale.ROOT));
        }
        Set<String> objects = new LinkedHashSet<>();
        for (String o : g.group(2).split(",")) {
          String obj = o.strip().replace("`", "").replace("\"", "").toLowerCase(Locale.ROOT);
          objects.add(obj.equals("*.*") || obj.endsWith(".*") ? obj : schema.qualify(obj));
        }
        Set<String> grantees = new LinkedHashSet<>();
        for (String u : g.group(3).split(",")) {
          grantees.add(u.strip().replaceAll("@.*$", "").replaceAll("['\"`]", ""));
        }
        grants.add(new Grant(privileges, objects, grantees));
      }
      Matcher p = PUBLICATION.matcher(text);
      while (p.find()) {
        Set<String> members = new LinkedHashSet<>();
        for (String m : p.group(2).split(",")) {
          members.add(schema.qualify(m.strip()));
        }
        publications.put(p.group(1), members);
      }
    }
    return schema;
  }

  /** The text between the parenthesis at {@code open} and its match. */
  private static String parenthesized(String text, int open) {
    int depth = 0;
    for (int i = open; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        return text.substring(open + 1, i);
      }
    }
    throw new IllegalStateException("unbalanced parentheses in a CREATE TABLE at " + open);
  }

  private static List<String> columns(String body) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    StringBuilder item = new StringBuilder();
    for (char c : (body + ",").toCharArray()) {
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      }
      if (c == ',' && depth == 0) {
        String first = item.toString().strip().split("\\s+")[0].replace("\"", "").replace("`", "");
        if (!first.isEmpty() && !NOT_COLUMNS.contains(first.toUpperCase(Locale.ROOT))) {
          out.add(first.toLowerCase(Locale.ROOT));
        }
        item.setLength(0);
      } else {
        item.append(c);
      }
    }
    return out;
  }
}
