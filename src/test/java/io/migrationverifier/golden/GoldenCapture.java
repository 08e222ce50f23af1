package io.migrationverifier.golden;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.migrationverifier.capture.DebeziumSettings;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TimeZone;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Captures golden Debezium change events from a real PostgreSQL (zonky embedded) and a real
 * MariaDB ({@code mariadbd} from Debian's {@code mariadb-server}), using exactly the engine
 * properties of {@link DebeziumSettings}, and writes the value JSON of every event, one per line,
 * to {@code src/test/resources/golden/postgres/traps.jsonl} and
 * {@code src/test/resources/golden/mariadb/traps.jsonl}.
 *
 * <p>Not a JUnit test: it needs MariaDB installed and is run by hand when the capture settings
 * change. Rerun from the project root:
 *
 * <pre>
 * apt-get update                      # once, for mariadbd and mariadb-install-db
 * apt-get install -y mariadb-server
 * mvn -q test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:exec \
 *     -Dexec.executable=java -Dexec.classpathScope=test \
 *     "-Dexec.args=-cp %classpath io.migrationverifier.golden.GoldenCapture"
 * </pre>
 *
 * <p>System properties (pass them before {@code -cp} in {@code exec.args}):
 * {@code golden.mariadb.bin} = directory holding {@code mariadbd} and {@code mariadb-install-db}
 * (default: search PATH, then /usr/sbin and /usr/bin); {@code golden.outputDir} = output root
 * (default {@code src/test/resources/golden}).
 */
public final class GoldenCapture {

  private static final Logger LOG = LoggerFactory.getLogger(GoldenCapture.class);

  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration EVENT_TIMEOUT = Duration.ofSeconds(90);

  static final int SNAPSHOT_ROWS = 13;
  static final int LIVE_CHANGES = 5;

  private static final String PG_DB = "legacy";
  private static final String MARIA_DB = "modern";
  private static final String MARIA_USER = "verifier";
  private static final String MARIA_PASSWORD = "golden-pw";

  private static final List<String> COLUMNS = List.of(
      "id", "amount", "ratio", "score", "doc", "doc_json", "created_at", "updated_at", "name",
      "code", "active", "big_unsigned", "note", "ext_id", "payload", "day", "at_time", "qty");

  private static final String PG_DDL = """
      CREATE TABLE traps (
        id BIGINT PRIMARY KEY,
        amount NUMERIC(12,4),
        ratio NUMERIC,
        score DOUBLE PRECISION,
        doc JSONB,
        doc_json JSON,
        created_at TIMESTAMP(6),
        updated_at TIMESTAMPTZ,
        name VARCHAR(50),
        code CHAR(8),
        active BOOLEAN,
        big_unsigned NUMERIC(20,0),
        note TEXT,
        ext_id UUID,
        payload BYTEA,
        day DATE,
        at_time TIME(3),
        qty INTEGER
      )""";

  private static final String MARIA_DDL = """
      CREATE TABLE traps (
        id BIGINT PRIMARY KEY,
        amount DECIMAL(12,2),
        ratio DECIMAL(10,4),
        score DOUBLE,
        doc JSON,
        doc_json JSON,
        created_at DATETIME(3),
        updated_at TIMESTAMP(6) NULL,
        name VARCHAR(50),
        code CHAR(8),
        active TINYINT(1),
        big_unsigned BIGINT UNSIGNED,
        note TEXT,
        ext_id CHAR(36),
        payload VARBINARY(64),
        day DATE,
        at_time TIME(3),
        qty INT
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""";

  /** Column values (SQL literals) used when a row does not override them. */
  private static final Map<String, String> PG_DEFAULTS = defaults(true);
  private static final Map<String, String> MARIA_DEFAULTS = defaults(false);

  private GoldenCapture() {}

  private static Map<String, String> defaults(boolean pg) {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("amount", "10");
    d.put("ratio", "0.5");
    d.put("score", "1.5");
    d.put("doc", "'{\"k\":1}'");
    d.put("doc_json", "'{\"k\":1}'");
    d.put("created_at", "'2024-05-01 10:00:00'");
    d.put("updated_at", pg ? "'2024-05-01 10:00:00+00'" : "'2024-05-01 10:00:00'");
    d.put("name", "'n'");
    d.put("code", "'C1'");
    d.put("active", pg ? "true" : "1");
    d.put("big_unsigned", "1");
    d.put("note", "'x'");
    d.put("ext_id", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'");
    d.put("payload", pg ? "decode('cafe','hex')" : "X'CAFE'");
    d.put("day", "'2024-05-01'");
    d.put("at_time", "'10:00:00.000'");
    d.put("qty", "1");
    return Collections.unmodifiableMap(d);
  }

  /** One row: id plus the columns that differ from the defaults, for PG and for MariaDB. */
  private record Row(long id, Map<String, String> pg, Map<String, String> maria) {}

  private static Row row(long id, String... columnPgMaria) {
    Map<String, String> pg = new LinkedHashMap<>();
    Map<String, String> maria = new LinkedHashMap<>();
    for (int i = 0; i < columnPgMaria.length; i += 3) {
      pg.put(columnPgMaria[i], columnPgMaria[i + 1]);
      maria.put(columnPgMaria[i], columnPgMaria[i + 2]);
    }
    return new Row(id, pg, maria);
  }

  private static final List<Row> SNAPSHOT = List.of(
      row(1, "amount", "1.80", "1.8"),
      row(2, "ratio", ".71", ".71"),
      row(3, "score", "'-0'::float8", "0", "amount", "-0", "0"),
      row(4,
          "doc", "'{\"b\": 1, \"a\": [1, 2]}'", "'{\"a\":[1,2],\"b\":1}'",
          "doc_json", "'{ \"b\" : 1,  \"a\":[1,2]}'", "'{\"a\": [1, 2], \"b\": 1}'"),
      row(5,
          "created_at", "'2024-05-01 10:00:00.123456'", "'2024-05-01 10:00:00.123'",
          "updated_at", "'2024-05-01 10:00:00.654321+00'", "'2024-05-01 10:00:00.654321'"),
      row(6, "name", "'abc   '", "'abc'", "code", "'AB'", "'AB'"),
      row(7, "active", "true", "1"),
      row(8, "active", "false", "0"),
      row(9, "big_unsigned", "18446744073709551615", "18446744073709551615"),
      row(10, "note", "NULL", "''"),
      row(11, "ext_id", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
          "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"),
      row(12, "amount", "1.80", "1.81"),
      row(13, "name", "'Alice'", "'ALICE'", "score", "0.30000000000000004", "0.3"));

  private static List<String> liveStatements(boolean pg) {
    Map<String, String> defaults = pg ? PG_DEFAULTS : MARIA_DEFAULTS;
    return List.of(
        insert(20, defaults, Map.of()),
        "UPDATE traps SET qty = 2 WHERE id = 1",
        "UPDATE traps SET amount = " + (pg ? "1.80" : "1.8") + " WHERE id = 12",
        "DELETE FROM traps WHERE id = 8",
        insert(21, defaults,
            Map.of("at_time", "'23:59:59.999'", "day", "'1999-12-31'", "note", "NULL")));
  }

  private static String insert(long id, Map<String, String> defaults, Map<String, String> over) {
    List<String> values = new ArrayList<>();
    for (String c : COLUMNS) {
      values.add(c.equals("id") ? Long.toString(id) : over.getOrDefault(c, defaults.get(c)));
    }
    return "INSERT INTO traps (" + String.join(", ", COLUMNS) + ") VALUES ("
        + String.join(", ", values) + ")";
  }

  public static void main(String[] args) throws Exception {
    // Measured: the MariaDB connector reads TIMESTAMP columns during the SNAPSHOT with a calendar
    // in the JVM default time zone (ResultSet.getTimestamp(i, Calendar.getInstance())), so with a
    // JVM in America/New_York every snapshot updated_at came out 4 h late while streamed values
    // were right; database.timezone / database.connectionTimeZone did not help. The server runs
    // in UTC, so the JVM must too (the product has to do the same).
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    quietLogging();
    Path outRoot = Paths.get(System.getProperty("golden.outputDir", "src/test/resources/golden"));
    MariaBinaries maria = MariaBinaries.locate();
    Path work = Files.createTempDirectory("golden-capture");
    int exit = 0;
    try {
      run(outRoot, maria, work);
    } catch (Exception | AssertionError e) {
      LOG.error("golden capture failed", e);
      exit = 1;
    } finally {
      deleteRecursively(work);
    }
    // Debezium / JDBC leave non-daemon threads behind; the work is done.
    System.exit(exit);
  }

  private static void run(Path outRoot, MariaBinaries mariaBin, Path work) throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
            .setServerConfig("wal_level", "logical")
            .setServerConfig("max_replication_slots", "4")
            .setServerConfig("max_wal_senders", "4")
            .setServerConfig("timezone", "UTC")
            .start();
        MariaServer maria = MariaServer.start(mariaBin, work.resolve("mariadb"))) {
      String pgVersion;
      try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE " + PG_DB);
        pgVersion = scalar(s, "SHOW server_version");
      }
      String pgUrl = pg.getJdbcUrl("postgres", PG_DB);
      try (Connection c = DriverManager.getConnection(pgUrl, "postgres", "")) {
        setUp(c, PG_DDL, PG_DEFAULTS, true);
        try (Statement s = c.createStatement()) {
          s.execute("ALTER TABLE traps REPLICA IDENTITY FULL");
        }
      }
      String mariaVersion;
      try (Connection c = maria.connect(MARIA_DB)) {
        setUp(c, MARIA_DDL, MARIA_DEFAULTS, false);
        try (Statement s = c.createStatement()) {
          mariaVersion = scalar(s, "SELECT VERSION()");
        }
      }
      LOG.info("PostgreSQL {} on port {}, MariaDB {} on port {}", pgVersion, pg.getPort(),
          mariaVersion, maria.port);

      String slot = "golden_slot";
      Properties pgProps = DebeziumSettings.postgres("legacy", "127.0.0.1", pg.getPort(), PG_DB,
          "postgres", "", slot, "golden_pub", work.resolve("pg-offsets.dat"),
          List.of("public.traps"));
      Properties mariaProps = DebeziumSettings.mariadb("modern", "127.0.0.1", maria.port,
          MARIA_DB, MARIA_USER, MARIA_PASSWORD, 5401, work.resolve("maria-offsets.dat"),
          work.resolve("maria-history.dat"), List.of(MARIA_DB + ".traps"));

      Capture pgCapture = new Capture("postgres", pgProps);
      Capture mariaCapture = new Capture("mariadb", mariaProps);
      try {
        pgCapture.start();
        mariaCapture.start();
        pgCapture.awaitEvents(SNAPSHOT_ROWS, "snapshot");
        mariaCapture.awaitEvents(SNAPSHOT_ROWS, "snapshot");
        LOG.info("snapshots complete; running live changes");

        try (Connection c = DriverManager.getConnection(pgUrl, "postgres", "")) {
          execute(c, liveStatements(true));
        }
        try (Connection c = maria.connect(MARIA_DB)) {
          execute(c, liveStatements(false));
        }
        pgCapture.awaitEvents(SNAPSHOT_ROWS + LIVE_CHANGES, "live");
        mariaCapture.awaitEvents(SNAPSHOT_ROWS + LIVE_CHANGES, "live");
      } finally {
        pgCapture.close();
        mariaCapture.close();
      }
      dropSlot(pgUrl, slot);
      pgCapture.verifyCount(SNAPSHOT_ROWS + LIVE_CHANGES);
      mariaCapture.verifyCount(SNAPSHOT_ROWS + LIVE_CHANGES);

      pgCapture.write(outRoot.resolve("postgres/traps.jsonl"));
      mariaCapture.write(outRoot.resolve("mariadb/traps.jsonl"));
      LOG.info("wrote {} postgres and {} mariadb events under {}", pgCapture.events.size(),
          mariaCapture.events.size(), outRoot.toAbsolutePath());
    }
  }

  private static void setUp(Connection c, String ddl, Map<String, String> defaults, boolean pg)
      throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(ddl);
      for (Row r : SNAPSHOT) {
        s.execute(insert(r.id(), defaults, pg ? r.pg() : r.maria()));
      }
    }
  }

  private static void execute(Connection c, List<String> statements) throws SQLException {
    try (Statement s = c.createStatement()) {
      for (String sql : statements) {
        s.execute(sql);
      }
    }
  }

  private static String scalar(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** The slot survives the engine and would hold WAL: drop it once the engine released it. */
  private static void dropSlot(String pgUrl, String slot) throws Exception {
    try (Connection c = DriverManager.getConnection(pgUrl, "postgres", "");
        Statement s = c.createStatement()) {
      await(Duration.ofSeconds(30), "slot " + slot + " to become inactive", () -> {
        try (ResultSet rs = s.executeQuery(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot
                + "' AND active")) {
          rs.next();
          return rs.getLong(1) == 0;
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
          + " WHERE slot_name = '" + slot + "'");
    }
  }

  /** One embedded engine and the value JSON of the events it delivered, in delivery order. */
  private static final class Capture implements AutoCloseable {
    private final String label;
    private final Properties props;
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final ExecutorService executor;
    private DebeziumEngine<ChangeEvent<String, String>> engine;
    private volatile boolean stopped;

    Capture(String label, Properties props) {
      this.label = label;
      this.props = props;
      this.executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "golden-engine-" + label);
        t.setDaemon(true);
        return t;
      });
    }

    void start() {
      engine = DebeziumEngine.create(Json.class)
          .using(props)
          .using((success, message, error) -> {
            stopped = true;
            if (!success) {
              failure.compareAndSet(null,
                  error != null ? error : new IllegalStateException(message));
            }
          })
          .notifying((ChangeEvent<String, String> e) -> {
            if (e.value() != null) { // no tombstones expected (tombstones.on.delete=false)
              events.add(e.value());
            }
          })
          .build();
      executor.execute(engine);
    }

    void awaitEvents(int count, String phase) throws Exception {
      await(EVENT_TIMEOUT, label + " " + phase + " events (" + count + ")", () -> {
        Throwable t = failure.get();
        if (t != null || stopped) {
          throw new IllegalStateException(label + " engine stopped", t);
        }
        return events.size() >= count;
      });
      if (events.size() > count) {
        throw new IllegalStateException(label + ": expected " + count + " events, got "
            + events.size());
      }
    }

    /** After the engine stopped: nothing unexpected (tombstone, duplicate) arrived late. */
    void verifyCount(int count) {
      if (events.size() != count) {
        throw new IllegalStateException(label + ": expected " + count + " events, got "
            + events.size());
      }
    }

    void write(Path file) throws IOException {
      Files.createDirectories(file.getParent());
      Files.write(file, events, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws Exception {
      if (engine != null) {
        engine.close();
      }
      executor.shutdown();
      if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException(label + " engine did not stop within 30 s");
      }
    }
  }

  /** Where mariadbd and mariadb-install-db live. */
  private record MariaBinaries(Path mariadbd, Path installDb) {
    static MariaBinaries locate() {
      String dir = System.getProperty("golden.mariadb.bin");
      List<Path> dirs = new ArrayList<>();
      if (dir != null) {
        dirs.add(Paths.get(dir));
      } else {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
          if (!d.isEmpty()) {
            dirs.add(Paths.get(d));
          }
        }
        dirs.add(Paths.get("/usr/sbin"));
        dirs.add(Paths.get("/usr/bin"));
      }
      Path server = find(dirs, "mariadbd");
      Path install = find(dirs, "mariadb-install-db");
      if (server == null || install == null) {
        throw new IllegalStateException("mariadbd and mariadb-install-db not found in "
            + (dir != null ? "-Dgolden.mariadb.bin=" + dir : "PATH, /usr/sbin, /usr/bin")
            + ". Install them (Debian: apt-get update && apt-get install -y mariadb-server)"
            + " or pass -Dgolden.mariadb.bin=<directory holding both>.");
      }
      return new MariaBinaries(server, install);
    }

    private static Path find(List<Path> dirs, String name) {
      for (Path d : dirs) {
        Path p = d.resolve(name);
        if (Files.isRegularFile(p) && Files.isExecutable(p)) {
          return p;
        }
      }
      return null;
    }
  }

  /** A throw-away mariadbd with binlog in ROW/FULL mode, UTC, utf8mb4. */
  private static final class MariaServer implements AutoCloseable {
    private final Process process;
    private final int port;

    private MariaServer(Process process, int port) {
      this.process = process;
      this.port = port;
    }

    static MariaServer start(MariaBinaries bin, Path dir) throws Exception {
      Path data = dir.resolve("data");
      Files.createDirectories(data);
      boolean root = "root".equals(System.getProperty("user.name"));
      List<String> install = new ArrayList<>(List.of(bin.installDb().toString(), "--no-defaults",
          "--datadir=" + data, "--auth-root-authentication-method=socket", "--skip-test-db"));
      if (root) {
        install.add("--user=root");
      }
      runToCompletion(install, dir.resolve("install.log"));

      // Runs at every start, before connections are accepted: the capture user (with a password,
      // over TCP, like production) and the database.
      Path init = dir.resolve("init.sql");
      Files.writeString(init, String.join("\n",
          "CREATE DATABASE IF NOT EXISTS " + MARIA_DB + " CHARACTER SET utf8mb4;",
          "CREATE USER IF NOT EXISTS '" + MARIA_USER + "'@'%' IDENTIFIED BY '" + MARIA_PASSWORD
              + "';",
          "GRANT ALL PRIVILEGES ON *.* TO '" + MARIA_USER + "'@'%';", ""));

      int port = freePort();
      List<String> cmd = new ArrayList<>(List.of(bin.mariadbd().toString(), "--no-defaults",
          "--datadir=" + data, "--port=" + port, "--bind-address=127.0.0.1",
          "--socket=" + dir.resolve("mysqld.sock"), "--pid-file=" + dir.resolve("mysqld.pid"),
          "--log-error=" + dir.resolve("error.log"), "--init-file=" + init,
          "--log-bin=" + data.resolve("mysql-bin"), "--binlog-format=ROW",
          "--binlog-row-image=FULL", "--server-id=1", "--character-set-server=utf8mb4",
          "--default-time-zone=+00:00", "--skip-name-resolve"));
      if (root) {
        cmd.add("--user=root");
      }
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(dir.resolve("mariadbd.out").toFile()).start();
      MariaServer server = new MariaServer(p, port);
      try {
        await(STARTUP_TIMEOUT, "mariadbd to accept connections on port " + port, () -> {
          if (!p.isAlive()) {
            throw new IllegalStateException("mariadbd exited with " + p.exitValue() + ": "
                + tail(dir.resolve("error.log")));
          }
          try (Connection c = server.connect("")) {
            return true;
          } catch (SQLException e) {
            return false;
          }
        });
      } catch (Exception | Error e) {
        server.close();
        throw e;
      }
      return server;
    }

    Connection connect(String db) throws SQLException {
      return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port + "/" + db,
          MARIA_USER, MARIA_PASSWORD);
    }

    @Override
    public void close() throws Exception {
      process.destroy(); // SIGTERM: clean shutdown
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static void runToCompletion(List<String> cmd, Path log) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
    if (!p.waitFor(STARTUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(cmd.get(0) + " timed out: " + tail(log));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(cmd.get(0) + " exited with " + p.exitValue() + ": "
          + tail(log));
    }
  }

  private static void await(Duration timeout, String what, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out after " + timeout + " waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no " + file + ")";
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      LOG.warn("could not delete {}: {}", dir, e.toString());
    }
  }

  /** Logback prints DEBUG by default without a configuration file: keep the console readable. */
  private static void quietLogging() {
    org.slf4j.Logger root = LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    if (root instanceof ch.qos.logback.classic.Logger logback) {
      logback.setLevel(ch.qos.logback.classic.Level.WARN);
      ((ch.qos.logback.classic.Logger) LOG).setLevel(ch.qos.logback.classic.Level.INFO);
    }
  }
}
