package io.migrationverifier.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.capture.CaptureEngine;
import io.migrationverifier.capture.CaptureListener;
import io.migrationverifier.capture.CaptureNames;
import io.migrationverifier.capture.DebeziumSettings;
import io.migrationverifier.cli.BenchCommand;
import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.StateMode;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.demo.Demo;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.Watermark;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.kafka.TopicAdmin;
import io.migrationverifier.verify.VerifyListener;
import io.migrationverifier.verify.VerifyStreamsConfig;
import io.migrationverifier.verify.VerifyTopology;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import picocli.CommandLine;

/**
 * End-to-end benchmark (issue 3, BENCHMARKS.md "End-to-end"): the product's capture and verify
 * against bare baselines on the same data in the same run, and the detection latency of a live
 * run with injected faults.
 *
 * <ul>
 *   <li><b>capture</b>: our {@link CaptureEngine} (canonicalize, produce to Kafka, wait for the
 *       acks, acknowledge Debezium) against a bare Debezium async engine whose consumer only counts,
 *       with the same {@link DebeziumSettings} properties, on the same embedded PostgreSQL table
 *       and the same rows: the initial snapshot of {@code rows} rows, then {@code rows} rows
 *       inserted while the engine streams (live), then {@code rows} rows inserted while it is
 *       stopped and read after its restart (catch-up). Events/s are counted from the end of the
 *       first batch to the end of the last one, which is symmetric: both sides' batch ends mean
 *       "handled" (ours: produced and acknowledged by Kafka).
 *   <li><b>verify</b>: the verify topology ({@link VerifyTopology#build}, the production Streams
 *       settings with exactly_once_v2) against a minimal topology that reads both change topics,
 *       parses each value with Jackson {@code readTree} and puts it into a RocksDB store with the
 *       same caching and changelog, on the same pre-produced change events and watermarks. Each
 *       run has its own application id and reads from the start; records/s are counted from the
 *       first processed record until the committed offsets reach the end of every partition.
 *   <li><b>latency</b>: {@link Demo#run} with many faults: {@code emittedAt - detectedAt} of the
 *       reported discrepancies (time beyond the window until the verifier emitted the report).
 * </ul>
 *
 * <p>Runs alternate (baseline, ours, ours, baseline, ...) after an unreported full-size warm-up
 * run of each side, so that drift of a noisy machine hits both sides alike. Next to each rate, the
 * CPU time of the whole JVM per event (engines, Kafka clients and the embedded broker) is reported:
 * on a shared 2-core machine it varies less than wall-clock rates. {@code --only mariadb} repeats
 * the capture comparison on a local {@code mariadbd}.
 */
public final class EndToEndBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TABLE = "orders";
  private static final int INSERT_BATCH = 1_000;
  private static final long PHASE_TIMEOUT_MS = 600_000;

  /**
   * What can be run on its own with {@code --only}; {@code mariadb} (capture on MariaDB) and
   * {@code audit} (millions of rows: several minutes) only on request.
   */
  public enum Section {
    CAPTURE, VERIFY, LATENCY, MARIADB, REPAIR, AUDIT;

    /** The sections of a run without {@code --only}. */
    public static Set<Section> defaults() {
      return java.util.EnumSet.of(CAPTURE, VERIFY, LATENCY, REPAIR);
    }

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Section fromId(String id) {
      for (Section s : values()) {
        if (s.id().equals(id.trim().toLowerCase(Locale.ROOT))) {
          return s;
        }
      }
      throw new IllegalArgumentException("unknown section \"" + id + "\": use capture, verify, latency, mariadb, repair or"
          + " audit");
    }
  }

  public record Options(Set<Section> sections, int rows, int verifyEvents, int rounds, Duration latencyDuration,
      int latencyRate, int latencyFaults, long seed, boolean verbose, int repairRows, List<Integer> auditRows,
      int auditScanRows, StateMode verifyState) {

    public Options(Set<Section> sections, int rows, int verifyEvents, int rounds, Duration latencyDuration,
        int latencyRate, int latencyFaults, long seed, boolean verbose, int repairRows, List<Integer> auditRows,
        int auditScanRows) {
      this(sections, rows, verifyEvents, rounds, latencyDuration, latencyRate, latencyFaults, seed, verbose, repairRows,
          auditRows, auditScanRows, StateMode.FULL);
    }
  }

  /** A goal on a figure: {@code ratio >= min} or {@code value <= max}. */
  public record Goal(String text, boolean met) {}

  /** One line of the result table. {@code baseline} and {@code goal} may be null. */
  public record Figure(String name, String unit, double value, Double baseline, Goal goal) {
    public Double ratio() {
      return baseline == null || baseline == 0 ? null : value / baseline;
    }
  }

  public record Result(List<Figure> figures, List<String> notes) {
    public boolean goalsMet() {
      return figures.stream().allMatch(f -> f.goal() == null || f.goal().met());
    }
  }

  private final Options options;
  private final PrintWriter out;
  private final List<Figure> figures = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  private EndToEndBench(Options options, PrintWriter out) {
    this.options = options;
    this.out = out;
  }

  /** {@code java -cp ... io.migrationverifier.bench.EndToEndBench [options]}: the same as {@code bench}. */
  public static void main(String[] args) {
    CommandLine cl = new CommandLine(new BenchCommand());
    cl.setExitCodeExceptionMapper(e -> e instanceof ConfigException || e instanceof CommandLine.ParameterException
        ? 2 : 1);
    System.exit(cl.execute(args));
  }

  public static Result run(Options options, PrintWriter out) throws Exception {
    return new EndToEndBench(options, out).run();
  }

  private Result run() throws Exception {
    Path work = Files.createTempDirectory("migration-verifier-bench");
    out.println("bench: " + machine());
    out.printf("bench: sections %s, rows %,d, verify events %,d, rounds %d, seed %d%n",
        options.sections().stream().map(Section::id).toList(), options.rows(), options.verifyEvents(),
        options.rounds(), options.seed());
    out.flush();
    long started = System.nanoTime();
    try {
      Set<Section> s = options.sections();
      if (s.contains(Section.CAPTURE) || s.contains(Section.VERIFY) || s.contains(Section.MARIADB)
          || s.contains(Section.REPAIR)) {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, work.resolve("kafka"))) {
          if (s.contains(Section.CAPTURE)) {
            new CaptureBench(kafka.bootstrapServers(), work.resolve("capture"), false).run();
          }
          if (s.contains(Section.MARIADB)) {
            new CaptureBench(kafka.bootstrapServers(), work.resolve("capture-mariadb"), true).run();
          }
          if (options.sections().contains(Section.VERIFY)) {
            new VerifyBench(kafka.bootstrapServers(), work.resolve("verify")).run();
          }
          if (options.sections().contains(Section.REPAIR)) {
            new RepairBench(kafka.bootstrapServers(), options.repairRows(), options.rounds(), out, figures, notes)
                .run(work.resolve("repair"));
          }
        }
      }
      if (options.sections().contains(Section.LATENCY)) {
        latency();
      }
      if (options.sections().contains(Section.AUDIT)) {
        new AuditBench(options.auditRows(), options.auditScanRows(), options.rounds(), out, figures, notes)
            .run(work.resolve("audit"));
      }
    } finally {
      deleteQuietly(work);
    }
    notes.add(String.format("total %d s; load average at the end %.2f", TimeUnit.NANOSECONDS.toSeconds(
        System.nanoTime() - started), ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
    return new Result(figures, notes);
  }

  // ==== capture ===============================================================================

  private enum Kind {
    BASELINE("baseline"), OURS("ours");

    final String id;

    Kind(String id) {
      this.id = id;
    }
  }

  /** Baseline-first in odd rounds, ours-first in even ones: ABBA. */
  private static List<Kind> order(int round) {
    return round % 2 == 1 ? List.of(Kind.BASELINE, Kind.OURS) : List.of(Kind.OURS, Kind.BASELINE);
  }

  /** Counts handled change events and times a phase: end of the first batch to end of the last. */
  private static final class Progress {
    private long count;
    private long target = Long.MAX_VALUE;
    private long firstCount;
    private long firstNanos;
    private long lastNanos;
    private long firstCpu;
    private long lastCpu;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    synchronized void add(int n) {
      if (n <= 0) {
        return;
      }
      count += n;
      long now = System.nanoTime();
      if (firstNanos == 0) {
        firstNanos = now;
        firstCount = count;
        firstCpu = processCpuNanos();
      }
      if (count >= target && lastNanos == 0) {
        lastNanos = now;
        lastCpu = processCpuNanos();
      }
    }

    synchronized void expect(long events) {
      count = 0;
      firstCount = 0;
      firstNanos = 0;
      lastNanos = 0;
      target = events;
    }

    synchronized long count() {
      return count;
    }

    void fail(Throwable t) {
      failure.compareAndSet(null, t);
    }

    Measured await(String what) throws InterruptedException {
      long deadline = System.currentTimeMillis() + PHASE_TIMEOUT_MS;
      while (System.currentTimeMillis() < deadline) {
        Throwable t = failure.get();
        if (t != null) {
          throw new IllegalStateException(what + ": the engine failed: " + t, t);
        }
        synchronized (this) {
          if (lastNanos != 0) {
            return new Measured(target, firstCount, lastNanos - firstNanos, lastCpu - firstCpu);
          }
        }
        Thread.sleep(10); // polling a counter the engine threads update; bounded by the deadline
      }
      throw new IllegalStateException(what + ": only " + count() + " of " + target + " events within "
          + PHASE_TIMEOUT_MS / 1000 + " s");
    }
  }

  /**
   * {@code events} handled, the first batch of them ({@code firstBatch}) before the clock started;
   * wall time and the CPU time of the whole JVM (engines, Kafka clients, the embedded broker) meanwhile.
   */
  private record Measured(long events, long firstBatch, long nanos, long cpuNanos) {
    double rate() {
      return nanos <= 0 ? 0 : (events - firstBatch) * 1e9 / nanos;
    }

    double cpuMicrosPerEvent() {
      return events <= firstBatch ? 0 : cpuNanos / 1e3 / (events - firstBatch);
    }
  }

  /** CPU time of this JVM so far (all threads), or 0 where the JVM does not tell. */
  static long processCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return Math.max(0, os.getProcessCpuTime());
    }
    return 0;
  }

  private interface Engine extends AutoCloseable {
    void start() throws Exception;

    @Override
    void close();
  }

  /** Debezium's async engine with the same properties, a consumer that only counts and acknowledges. */
  private static final class BareEngine implements Engine {
    private final Properties props;
    private final Progress progress;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();
    private DebeziumEngine<io.debezium.engine.ChangeEvent<String, String>> engine;

    BareEngine(Properties props, Progress progress) {
      this.props = props;
      this.progress = progress;
    }

    @Override
    public void start() {
      engine = DebeziumEngine.create(Json.class)
          .using(props)
          .notifying((records, committer) -> {
            int n = 0;
            for (io.debezium.engine.ChangeEvent<String, String> r : records) {
              if (r.value() != null && r.destination() != null && !r.destination().startsWith("__debezium")) {
                n++;
              }
              committer.markProcessed(r);
            }
            committer.markBatchFinished();
            progress.add(n);
          })
          .using((success, message, error) -> {
            if (!success) {
              progress.fail(error != null ? error : new IllegalStateException(message));
            }
          })
          .build();
      executor.execute(engine);
    }

    @Override
    public void close() {
      try {
        if (engine != null) {
          engine.close();
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      executor.shutdown();
      try {
        executor.awaitTermination(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The product's capture of the source side. */
  private static final class OurEngine implements Engine {
    private final VerifierConfig config;
    private final String bootstrap;
    private final Progress progress;
    private CaptureEngine engine;

    OurEngine(VerifierConfig config, String bootstrap, Progress progress) {
      this.config = config;
      this.bootstrap = bootstrap;
      this.progress = progress;
    }

    @Override
    public void start() throws Exception {
      engine = new CaptureEngine(config, Side.SOURCE, bootstrap, new CaptureListener() {
        @Override
        public void batch(Side side, int changes, long watermark) {
          progress.add(changes);
        }

        @Override
        public void deadLettered(Side side, Exception e) {
          progress.fail(new IllegalStateException("a change event was dead-lettered: " + e, e));
        }
      });
      engine.start();
      engine.stopped().whenComplete((v, e) -> {
        if (e != null) {
          progress.fail(e);
        }
      });
    }

    @Override
    public void close() {
      if (engine != null) {
        engine.close();
      }
    }
  }

  /** The database a capture comparison runs on: PostgreSQL (zonky) or a local mariadbd. */
  private interface BenchDb extends AutoCloseable {
    /** {@code PostgreSQL 17.6}: for the figures' names. */
    String label();

    /** The config's {@code source} block (without tables). */
    String sourceYaml();

    /** The config's {@code source-table}. */
    String sourceTable();

    Connection connect() throws SQLException;

    void createTable() throws SQLException;

    /** Rows {@code from..to} generated by the server, in one statement. */
    String insertSql(long from, long to);

    /** Debezium properties of a bare engine for run {@code tag} (as {@link CaptureEngine} builds them). */
    Properties bareProperties(String engineName, String tag, Path dir);

    /** The replication slot of a run, or null (MariaDB has none). */
    String slot(Kind kind, String tag, VerifierConfig config);

    /** After an engine stopped and before it restarts on the same slot. */
    default void awaitReleased(String slot) throws Exception {}

    /** After a run: drop what it left behind. */
    default void cleanUp(String slot) throws Exception {}

    @Override
    void close();
  }

  private final class PostgresDb implements BenchDb {
    private final EmbeddedPostgres pg;
    private final String version;

    PostgresDb(Path dir) throws IOException, SQLException {
      pg = EmbeddedPostgres.builder()
          .setServerConfig("wal_level", "logical")
          .setServerConfig("max_replication_slots", "20")
          .setServerConfig("max_wal_senders", "20")
          .setServerConfig("timezone", "UTC")
          .setDataDirectory(dir)
          .setCleanDataDirectory(true)
          .start();
      try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE bench");
        try (var rs = s.executeQuery("SHOW server_version")) {
          rs.next();
          version = rs.getString(1);
        }
      }
    }

    @Override
    public String label() {
      return "PostgreSQL " + version;
    }

    @Override
    public String sourceYaml() {
      return "{type: postgres, host: localhost, port: " + pg.getPort() + ", database: bench, user: postgres}";
    }

    @Override
    public String sourceTable() {
      return "public." + TABLE;
    }

    @Override
    public Connection connect() throws SQLException {
      return pg.getDatabase("postgres", "bench").getConnection();
    }

    @Override
    public void createTable() throws SQLException {
      try (Connection c = connect(); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE " + TABLE + " (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL,"
            + " total NUMERIC(12,2) NOT NULL, placed_at TIMESTAMP(6) NOT NULL, attributes JSONB, note TEXT,"
            + " email VARCHAR(200), status TEXT, qty INT, created_at TIMESTAMPTZ)");
        s.execute("ALTER TABLE " + TABLE + " REPLICA IDENTITY FULL");
      }
    }

    @Override
    public String insertSql(long from, long to) {
      return "INSERT INTO " + TABLE + " (id, customer_id, total, placed_at, attributes, note, email, status, qty,"
          + " created_at) SELECT g, abs(g) % 1000, (abs(g) % 100000) / 100.0,"
          + " TIMESTAMP '2026-11-01 10:00:00' + g * INTERVAL '1 millisecond',"
          + " jsonb_build_object('channel', CASE WHEN g % 2 = 0 THEN 'web' ELSE 'store' END, 'items', abs(g) % 5 + 1),"
          + " 'note ' || g, 'user' || g || '@example.com', 'NEW', (abs(g) % 10)::int,"
          + " TIMESTAMPTZ '2026-11-01 00:00:00+00' + g * INTERVAL '1 second'"
          + " FROM generate_series(" + from + "::bigint, " + to + "::bigint) g";
    }

    @Override
    public Properties bareProperties(String engineName, String tag, Path dir) {
      String slot = slot(Kind.BASELINE, tag, null);
      return DebeziumSettings.postgres(engineName, "localhost", pg.getPort(), "bench", "postgres", "", slot, slot,
          dir.resolve("baseline-offsets.dat"), List.of("public\\." + TABLE));
    }

    @Override
    public String slot(Kind kind, String tag, VerifierConfig config) {
      return kind == Kind.OURS ? CaptureNames.slot(config, Side.SOURCE)
          : ("bench_" + tag).replaceAll("[^a-z0-9_]", "_");
    }

    @Override
    public void awaitReleased(String slot) throws Exception {
      for (int i = 0; i < 300; i++) {
        if (!slotActive(slot)) {
          return;
        }
        Thread.sleep(20); // the stopped engine's walsender is still exiting
      }
      throw new IllegalStateException("replication slot " + slot + " still active 6 s after its engine stopped");
    }

    @Override
    public void cleanUp(String slot) throws Exception {
      awaitReleased(slot);
      try (Connection c = pg.getPostgresDatabase().getConnection();
          PreparedStatement drop = c.prepareStatement(
              "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ?")) {
        drop.setString(1, slot);
        drop.execute();
      }
    }

    private boolean slotActive(String slot) throws SQLException {
      try (Connection c = pg.getPostgresDatabase().getConnection();
          PreparedStatement ps = c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setString(1, slot);
        try (var rs = ps.executeQuery()) {
          return rs.next() && rs.getBoolean(1);
        }
      }
    }

    @Override
    public void close() {
      try {
        pg.close();
      } catch (IOException e) {
        notes.add("capture: PostgreSQL did not stop cleanly: " + e);
      }
    }
  }

  /**
   * A throw-away {@code mariadbd} (Debian package {@code mariadb-server}) with a binlog as
   * Debezium needs it; the minimal logic of the tests' {@code MariaDbServer}.
   */
  static final class MariaDb implements BenchDb {
    static final String USER = "bench";
    static final String PASSWORD = "bench-pw";
    /** The variable a config names for {@link #PASSWORD} ({@code ${env:...}}): a literal password is refused. */
    static final String PASSWORD_VARIABLE = "MV_BENCH_MARIADB_PASSWORD";
    /** The environment the benchmark configs are loaded with: {@link #PASSWORD_VARIABLE} only. */
    static String env(String variable) {
      return PASSWORD_VARIABLE.equals(variable) ? PASSWORD : null;
    }
    private final Path dir;
    private final Process process;
    private final int port;
    private final String version;
    private int serverIds = 7_000;

    MariaDb(Path dir) throws Exception {
      this(dir, List.of());
    }

    /** @param extraArgs more {@code mariadbd} options (the audit bench's larger buffer pool) */
    MariaDb(Path dir, List<String> extraArgs) throws Exception {
      this.dir = Files.createDirectories(dir);
      Path mariadbd = locate("mariadbd");
      Path installDb = locate("mariadb-install-db");
      if (mariadbd == null || installDb == null) {
        throw new IllegalStateException("mariadbd / mariadb-install-db not found on PATH, /usr/sbin or /usr/bin"
            + " (apt-get install -y mariadb-server)");
      }
      Path data = Files.createDirectories(dir.resolve("data"));
      boolean root = "root".equals(System.getProperty("user.name"));
      List<String> install = new ArrayList<>(List.of(installDb.toString(), "--no-defaults", "--datadir=" + data,
          "--auth-root-authentication-method=socket", "--skip-test-db"));
      if (root) {
        install.add("--user=root");
      }
      Process p = new ProcessBuilder(install).redirectErrorStream(true)
          .redirectOutput(dir.resolve("install.log").toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException("mariadb-install-db failed: see " + dir.resolve("install.log"));
      }
      List<String> init = new ArrayList<>();
      for (String host : List.of("%", "127.0.0.1", "localhost")) {
        init.add("CREATE USER IF NOT EXISTS '" + USER + "'@'" + host + "' IDENTIFIED BY '" + PASSWORD + "';");
        init.add("GRANT ALL PRIVILEGES ON *.* TO '" + USER + "'@'" + host + "';");
      }
      Files.writeString(dir.resolve("init.sql"), String.join("\n", init) + "\n");
      try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
        port = s.getLocalPort();
      }
      List<String> cmd = new ArrayList<>(List.of(mariadbd.toString(), "--no-defaults", "--datadir=" + data,
          "--port=" + port, "--bind-address=127.0.0.1", "--socket=" + dir.resolve("mysqld.sock"),
          "--pid-file=" + dir.resolve("mysqld.pid"), "--log-error=" + dir.resolve("error.log"),
          "--init-file=" + dir.resolve("init.sql"), "--log-bin=" + data.resolve("mysql-bin"), "--binlog-format=ROW",
          "--binlog-row-image=FULL", "--server-id=1", "--character-set-server=utf8mb4",
          "--collation-server=utf8mb4_general_ci", "--default-time-zone=+00:00", "--skip-name-resolve"));
      cmd.addAll(extraArgs);
      if (root) {
        cmd.add("--user=root");
      }
      process = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(dir.resolve("mariadbd.out").toFile()).start();
      long deadline = System.currentTimeMillis() + 60_000;
      String v = null;
      while (v == null) {
        if (!process.isAlive() || System.currentTimeMillis() > deadline) {
          process.destroyForcibly();
          throw new IllegalStateException("mariadbd did not start: see " + dir.resolve("error.log"));
        }
        try (Connection c = java.sql.DriverManager.getConnection(url(""), USER, PASSWORD);
            Statement s = c.createStatement(); var rs = s.executeQuery("SELECT VERSION()")) {
          rs.next();
          v = rs.getString(1);
          s.execute("CREATE DATABASE bench CHARACTER SET utf8mb4");
        } catch (SQLException e) {
          Thread.sleep(100); // the server is still starting; bounded by the deadline
        }
      }
      version = v.replaceAll("-.*", "");
    }

    int port() {
      return port;
    }

    private static Path locate(String name) {
      List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
      dirs.addAll(List.of("/usr/sbin", "/usr/bin"));
      return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, name)).filter(Files::isExecutable)
          .findFirst().orElse(null);
    }

    private String url(String db) {
      return "jdbc:mariadb://127.0.0.1:" + port + "/" + db;
    }

    @Override
    public String label() {
      return "MariaDB " + version;
    }

    @Override
    public String sourceYaml() {
      return "{type: mariadb, host: 127.0.0.1, port: " + port + ", database: bench, user: " + USER
          + ", password: \"${env:" + PASSWORD_VARIABLE + "}\"}";
    }

    @Override
    public String sourceTable() {
      return TABLE;
    }

    @Override
    public Connection connect() throws SQLException {
      return java.sql.DriverManager.getConnection(url("bench"), USER, PASSWORD);
    }

    @Override
    public void createTable() throws SQLException {
      try (Connection c = connect(); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE " + TABLE + " (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL,"
            + " total DECIMAL(12,2) NOT NULL, placed_at DATETIME(6) NOT NULL, attributes JSON, note TEXT,"
            + " email VARCHAR(200), status VARCHAR(20), qty INT, created_at TIMESTAMP(6) NULL)");
      }
    }

    @Override
    public String insertSql(long from, long to) {
      // the SEQUENCE engine's seq_<from>_to_<to> tables generate the ids (positive only: pings are single rows)
      String source = from >= 1 ? "seq_" + from + "_to_" + to : "(SELECT " + from + " AS seq) s";
      return "INSERT INTO " + TABLE + " (id, customer_id, total, placed_at, attributes, note, email, status, qty,"
          + " created_at) SELECT seq, ABS(seq) % 1000, (ABS(seq) % 100000) / 100,"
          + " TIMESTAMP'2026-11-01 10:00:00' + INTERVAL seq * 1000 MICROSECOND,"
          + " JSON_OBJECT('channel', IF(seq % 2 = 0, 'web', 'store'), 'items', ABS(seq) % 5 + 1),"
          + " CONCAT('note ', seq), CONCAT('user', seq, '@example.com'), 'NEW', ABS(seq) % 10,"
          + " TIMESTAMP'2026-11-01 00:00:00' + INTERVAL ABS(seq) SECOND FROM " + source;
    }

    @Override
    public Properties bareProperties(String engineName, String tag, Path dir) {
      return DebeziumSettings.mariadb(engineName, "127.0.0.1", port, "bench", USER, PASSWORD, serverIds++,
          dir.resolve("baseline-offsets.dat"), dir.resolve("baseline-schema-history.dat"),
          List.of("bench\\." + TABLE));
    }

    @Override
    public String slot(Kind kind, String tag, VerifierConfig config) {
      return null;
    }

    @Override
    public void close() {
      process.destroy(); // SIGTERM: a clean shutdown
      try {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  private final class CaptureBench {
    private final String bootstrap;
    private final Path work;
    private final boolean mariadb;
    private BenchDb db;
    private long pingId = -1;

    CaptureBench(String bootstrap, Path work, boolean mariadb) {
      this.bootstrap = bootstrap;
      this.work = work;
      this.mariadb = mariadb;
    }

    void run() throws Exception {
      Files.createDirectories(work);
      try (BenchDb server = mariadb ? new MariaDb(work.resolve("mariadb")) : new PostgresDb(work.resolve("pg"))) {
        db = server;
        db.createTable();
        String label = db.label().replaceAll(" .*", "");
        int rows = options.rows();
        out.printf("capture: %s; an unreported warm-up run of each engine (snapshot and live)%n", db.label());
        out.flush();
        // with 20k-row warm-ups the first measured run was still up to 1.5x slower (JIT, heap sizing)
        for (Kind k : List.of(Kind.BASELINE, Kind.OURS)) {
          runOnce(k, "warm-" + k.id, rows, false);
        }
        Map<Kind, List<double[]>> results = new EnumMap<>(Kind.class);
        for (int round = 1; round <= options.rounds(); round++) {
          for (Kind k : order(round)) {
            double[] r = runOnce(k, k.id + "-" + round, rows, true);
            results.computeIfAbsent(k, x -> new ArrayList<>()).add(r);
            out.printf("capture %s round %d %-8s snapshot %,7.0f  live %,7.0f  catch-up %,7.0f events/s;"
                + " JVM CPU %.0f / %.0f / %.0f us/event (live rows inserted in %.1f s)%n", label, round, k.id, r[0],
                r[1], r[2], r[4], r[5], r[6], r[3]);
            out.flush();
          }
        }
        String[] names = {"capture snapshot", "capture live", "capture catch-up"};
        for (int i = 0; i < names.length; i++) {
          double ours = mean(results.get(Kind.OURS), i);
          double base = mean(results.get(Kind.BASELINE), i);
          Goal goal = i == 1 ? new Goal(">= 0.80x", ours / base >= 0.8) : null;
          figures.add(new Figure(names[i] + " (" + label + ")", "events/s", ours, base, goal));
        }
        for (int i = 0; i < names.length; i++) {
          figures.add(new Figure(names[i] + " JVM CPU (" + label + ")", "us/event",
              mean(results.get(Kind.OURS), 4 + i), mean(results.get(Kind.BASELINE), 4 + i), null));
        }
        notes.add(String.format("capture (%s): %,d rows per phase, %d round(s) per side, mean of rounds;"
            + " baseline = bare Debezium async engine, counting consumer", db.label(), rows, options.rounds()));
      } finally {
        db = null;
      }
    }

    /**
     * One engine through snapshot, live and (optionally) catch-up: events/s of each, the live
     * insert time, JVM CPU per event of each.
     */
    private double[] runOnce(Kind kind, String tag, int n, boolean catchUp) throws Exception {
      Progress progress = new Progress();
      String name = "capbench-" + tag;
      Path dir = Files.createDirectories(work.resolve(tag));
      VerifierConfig config = config(name, bootstrap, db.sourceYaml(), db.sourceTable(), dir);
      String slot = db.slot(kind, tag, config);
      if (kind == Kind.OURS) {
        ensureTopics(bootstrap, config);
      }
      Properties bare = kind == Kind.BASELINE ? db.bareProperties(name + "-source", tag, dir) : null;
      java.util.function.Supplier<Engine> factory = () -> {
        if (kind == Kind.OURS) {
          return new OurEngine(config, bootstrap, progress);
        }
        Properties p = new Properties();
        p.putAll(bare);
        p.setProperty("snapshot.mode", "initial");
        return new BareEngine(p, progress);
      };
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("TRUNCATE TABLE " + TABLE);
      }
      // snapshot, live, catch-up events/s; live insert seconds; snapshot, live, catch-up JVM CPU us/event
      double[] result = new double[7];
      long next = 1;
      insert(next, next + n - 1);
      next += n;
      Engine engine = factory.get();
      try {
        progress.expect(n);
        engine.start();
        Measured m = progress.await(tag + " snapshot");
        result[0] = m.rate();
        result[4] = m.cpuMicrosPerEvent();
        awaitStreaming(progress, tag);
        progress.expect(n);
        long t0 = System.nanoTime();
        insert(next, next + n - 1);
        next += n;
        result[3] = (System.nanoTime() - t0) / 1e9;
        m = progress.await(tag + " live");
        result[1] = m.rate();
        result[5] = m.cpuMicrosPerEvent();
        checkNoExtra(progress, n, tag + " live");
        if (catchUp) {
          Thread.sleep(1_500); // let the engine flush its offsets (offset.flush.interval.ms = 1000)
          engine.close();
          if (slot != null) {
            db.awaitReleased(slot); // else the restarted engine waits 10 s to retry ("slot is active")
          }
          insert(next, next + n - 1);
          next += n;
          progress.expect(n);
          engine = factory.get();
          engine.start();
          m = progress.await(tag + " catch-up");
          result[2] = m.rate();
          result[6] = m.cpuMicrosPerEvent();
          checkNoExtra(progress, n, tag + " catch-up");
        }
      } finally {
        engine.close();
        if (slot != null) {
          db.cleanUp(slot);
        }
      }
      return result;
    }

    /** Inserts ping rows until one arrives: from then on the engine streams. */
    private void awaitStreaming(Progress progress, String tag) throws Exception {
      progress.expect(Long.MAX_VALUE);
      long deadline = System.currentTimeMillis() + 120_000;
      while (progress.count() == 0) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException(tag + ": the engine did not start streaming within 120 s");
        }
        insert(pingId, pingId);
        pingId--;
        Thread.sleep(200); // waiting for the ping's change event; bounded by the deadline
      }
      Thread.sleep(300); // let the pings still in flight arrive before the counter is reset
    }

    private void checkNoExtra(Progress progress, long n, String what) throws InterruptedException {
      Thread.sleep(200);
      long c = progress.count();
      if (c != n) {
        notes.add(what + ": " + c + " events counted for " + n + " rows (duplicates after a restart?)");
      }
    }

    /** Rows {@code from..to}, {@value #INSERT_BATCH} per statement and transaction, generated server-side. */
    private void insert(long from, long to) throws SQLException {
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        c.setAutoCommit(true);
        for (long lo = from; lo <= to; lo += INSERT_BATCH) {
          s.executeUpdate(db.insertSql(lo, Math.min(to, lo + INSERT_BATCH - 1)));
        }
      }
    }
  }

  private static double mean(List<double[]> runs, int i) {
    return runs.stream().mapToDouble(r -> r[i]).average().orElse(0);
  }

  // ==== verify ================================================================================

  private final class VerifyBench {
    private static final int WATERMARK_EVERY = 256;
    private static final long TARGET_LAG_MS = 20;

    private final String bootstrap;
    private final Path work;

    VerifyBench(String bootstrap, Path work) {
      this.bootstrap = bootstrap;
      this.work = work;
    }

    void run() throws Exception {
      VerifierConfig config = verifyConfig("verifybench", bootstrap, work.resolve("state"), options.verifyState());
      long t0 = System.nanoTime();
      Map<TopicPartition, Long> end = input(config, options.verifyEvents());
      long total = end.values().stream().mapToLong(Long::longValue).sum();
      out.printf("verify: %,d records (%,d change events, the rest watermarks) on %d partitions produced in %.1f s%n",
          total, options.verifyEvents() / 2 * 2, end.size(), (System.nanoTime() - t0) / 1e9);
      out.flush();
      // an unreported warm-up run of each app on the same input: with shorter ones the first
      // measured run was still 2-3x slower (JIT, heap sizing)
      for (Kind k : List.of(Kind.BASELINE, Kind.OURS)) {
        runApp(k, config, "warm-" + k.id, end);
      }
      Map<Kind, List<double[]>> results = new EnumMap<>(Kind.class);
      for (int round = 1; round <= options.rounds(); round++) {
        for (Kind k : order(round)) {
          double[] r = runApp(k, config, k.id + "-" + round, end);
          results.computeIfAbsent(k, x -> new ArrayList<>()).add(r);
          out.printf("verify round %d %-8s %,9.0f records/s; JVM CPU %.1f us/record%n", round, k.id, r[0], r[1]);
          out.flush();
        }
      }
      double ours = mean(results.get(Kind.OURS), 0);
      double base = mean(results.get(Kind.BASELINE), 0);
      figures.add(new Figure("verify (exactly_once_v2)", "records/s", ours, base,
          new Goal(">= 0.70x", ours / base >= 0.7)));
      figures.add(new Figure("verify JVM CPU", "us/record", mean(results.get(Kind.OURS), 1),
          mean(results.get(Kind.BASELINE), 1), null));
      notes.add(String.format("verify: %,d records, %d round(s) per app, mean of rounds; baseline = readTree +"
          + " RocksDB put (cached, logged) per record, same Streams settings", total, options.rounds()));
    }

    /** Creates the topics of {@code config} and produces {@code events} to them: the end offsets. */
    private Map<TopicPartition, Long> input(VerifierConfig config, int events) throws Exception {
      ensureTopics(bootstrap, config);
      long records = produce(config, events);
      Map<TopicPartition, Long> end = endOffsets(config);
      long total = end.values().stream().mapToLong(Long::longValue).sum();
      if (total != records) {
        throw new IllegalStateException("verify: produced " + records + " records but the topics hold " + total);
      }
      return end;
    }

    /** Both change topics: the same history on each side, the target 20 ms behind, watermarks as capture writes them. */
    private long produce(VerifierConfig config, int events) throws Exception {
      String sourceTopic = config.topics().changes(Side.SOURCE);
      String targetTopic = config.topics().changes(Side.TARGET);
      int partitions = config.kafka().partitions();
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
      p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
      AtomicReference<Exception> failed = new AtomicReference<>();
      long sent = 0;
      Random random = new Random(options.seed());
      int perSide = events / 2;
      long base = System.currentTimeMillis() - 3_600_000L;
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
          new ByteArraySerializer())) {
        org.apache.kafka.clients.producer.Callback check = (md, e) -> {
          if (e != null) {
            failed.compareAndSet(null, e);
          }
        };
        // each side's stream begins with a watermark (its baseline), as capture writes it
        for (int part = 0; part < partitions; part++) {
          producer.send(new ProducerRecord<>(sourceTopic, part, base - 1, null,
              EventCodec.encode(new Watermark(Side.SOURCE, base - 1))), check);
          producer.send(new ProducerRecord<>(targetTopic, part, base - 1, null,
              EventCodec.encode(new Watermark(Side.TARGET, base - 1))), check);
          sent += 2;
        }
        List<Long> live = new ArrayList<>();
        long nextKey = 1;
        // hash-only tables' updates and deletes carry the row before them, as capture writes them
        boolean before = config.tables().get(0).hashOnly();
        Map<Long, CanonicalRow> current = before ? new HashMap<>() : null;
        for (int j = 0; j < perSide; j++) {
          double r = random.nextDouble();
          Op op;
          long key;
          if (live.size() < 1_000 || r < 0.7) {
            key = nextKey++;
            op = Op.CREATE;
            live.add(key);
          } else if (r < 0.9) {
            key = live.get(random.nextInt(live.size()));
            op = Op.UPDATE;
          } else {
            int i = random.nextInt(live.size());
            key = live.get(i);
            live.set(i, live.get(live.size() - 1));
            live.remove(live.size() - 1);
            op = Op.DELETE;
          }
          TreeMap<String, String> k = new TreeMap<>(Map.of("id", Long.toString(key)));
          byte[] recordKey = CanonicalKey.of(TABLE, k).toBytes();
          CanonicalRow row = op == Op.DELETE ? null : CanonicalRow.of(row(key, j));
          long ts = base + j;
          String pos = String.format("%016d", j);
          ChangeEvent s = ChangeEvent.of(Side.SOURCE, TABLE, k, op, row, ts, pos);
          ChangeEvent t = ChangeEvent.of(Side.TARGET, TABLE, k, op, row, ts + TARGET_LAG_MS, pos);
          if (before) {
            CanonicalRow old = op == Op.DELETE ? current.remove(key) : current.put(key, row);
            if (op != Op.CREATE && old != null) {
              s = s.withBefore(old);
              t = t.withBefore(old);
            }
          }
          producer.send(new ProducerRecord<>(sourceTopic, null, ts, recordKey, EventCodec.encode(s)), check);
          producer.send(new ProducerRecord<>(targetTopic, null, ts + TARGET_LAG_MS, recordKey, EventCodec.encode(t)),
              check);
          sent += 2;
          boolean last = j == perSide - 1;
          if ((j + 1) % WATERMARK_EVERY == 0 || last) {
            // at the end: far enough ahead that every buffered change and deadline is settled
            long ws = last ? ts + 3_600_000L : ts - 1;
            long wt = last ? ts + 3_600_000L : ts + TARGET_LAG_MS - 1;
            // (record timestamps stay those of the last changes: not in the broker's future)
            for (int part = 0; part < partitions; part++) {
              producer.send(new ProducerRecord<>(sourceTopic, part, Math.min(ws, ts), null,
                  EventCodec.encode(new Watermark(Side.SOURCE, ws))), check);
              producer.send(new ProducerRecord<>(targetTopic, part, Math.min(wt, ts + TARGET_LAG_MS), null,
                  EventCodec.encode(new Watermark(Side.TARGET, wt))), check);
              sent += 2;
            }
          }
        }
        producer.flush();
      }
      if (failed.get() != null) {
        throw new IllegalStateException("verify: producing the input failed: " + failed.get(), failed.get());
      }
      return sent;
    }

    /** A row shaped like the capture benchmark's canonical rows (10 columns). */
    private static Map<String, String> row(long key, int version) {
      Map<String, String> m = new HashMap<>();
      m.put("id", Long.toString(key));
      m.put("customer_id", Long.toString(key % 1000));
      m.put("total", String.format(Locale.ROOT, "%d.%02d", version % 1000, version % 100));
      m.put("placed_at", "2026-11-01T10:" + String.format("%02d:%02d.%03dZ", (key / 60) % 60, key % 60, key % 1000));
      m.put("attributes", "{\"channel\":\"" + (key % 2 == 0 ? "web" : "store") + "\",\"items\":" + (key % 5 + 1) + "}");
      m.put("note", "note " + version);
      m.put("email", "user" + key + "@example.com");
      m.put("status", version % 3 == 0 ? "NEW" : "PAID");
      m.put("qty", Long.toString(key % 10));
      m.put("created_at", "2026-11-01T00:00:00.000000Z");
      return m;
    }

    private Map<TopicPartition, Long> endOffsets(VerifierConfig config) throws Exception {
      Map<TopicPartition, OffsetSpec> request = new HashMap<>();
      for (Side side : Side.values()) {
        for (int part = 0; part < config.kafka().partitions(); part++) {
          request.put(new TopicPartition(config.topics().changes(side), part), OffsetSpec.latest());
        }
      }
      try (Admin admin = admin(bootstrap)) {
        Map<TopicPartition, Long> end = new HashMap<>();
        admin.listOffsets(request).all().get(60, TimeUnit.SECONDS).forEach((tp, info) -> end.put(tp, info.offset()));
        return end;
      }
    }

    /** One app from the start of both topics with a fresh application id: records/s and JVM CPU us/record. */
    private double[] runApp(Kind kind, VerifierConfig config, String tag, Map<TopicPartition, Long> end) throws Exception {
      String appId = config.name() + "-" + tag;
      Properties props = VerifyStreamsConfig.properties(config, bootstrap);
      props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
      props.put(StreamsConfig.STATE_DIR_CONFIG, work.resolve("streams").toString());
      Start first = new Start();
      AtomicLong reported = new AtomicLong();
      // ours carries the metrics `run` keeps, so the figure includes their cost
      io.migrationverifier.ops.Metrics metrics = new io.migrationverifier.ops.Metrics(config);
      Topology topology = kind == Kind.OURS
          ? VerifyTopology.build(config, new VerifyListener() {
            @Override
            public void watermark(int partition, Side side, long watermark) {
              first.mark();
              metrics.watermark(partition, side, watermark);
            }

            @Override
            public void changeApplied(String table, Side side) {
              first.mark();
              metrics.changeApplied(table, side);
            }

            @Override
            public void pendingChanged(String table, int delta) {
              metrics.pendingChanged(table, delta);
            }

            @Override
            public void converged(String table, long disagreedForMs) {
              metrics.converged(table, disagreedForMs);
            }

            @Override
            public void reported(String table, io.migrationverifier.event.DiscrepancyKind k) {
              reported.incrementAndGet();
              metrics.reported(table, k);
            }

            @Override
            public void malformed(String topic, String reason) {
              reported.incrementAndGet();
              metrics.malformed(topic, reason);
            }
          })
          : baselineTopology(config, first);
      AtomicReference<Throwable> failed = new AtomicReference<>();
      KafkaStreams streams = new KafkaStreams(topology, props);
      streams.setUncaughtExceptionHandler(e -> {
        failed.compareAndSet(null, e);
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      long endNanos;
      long endCpu;
      try (Admin admin = admin(bootstrap)) {
        streams.start();
        long deadline = System.currentTimeMillis() + PHASE_TIMEOUT_MS;
        while (true) {
          if (failed.get() != null) {
            throw new IllegalStateException("verify " + tag + " failed: " + failed.get(), failed.get());
          }
          if (System.currentTimeMillis() > deadline) {
            throw new IllegalStateException("verify " + tag + ": not at the end of the input within "
                + PHASE_TIMEOUT_MS / 1000 + " s");
          }
          Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(appId)
              .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
          boolean done = end.entrySet().stream().allMatch(e -> {
            OffsetAndMetadata o = committed.get(e.getKey());
            return e.getValue() == 0 || (o != null && o.offset() >= e.getValue());
          });
          if (done) {
            endNanos = System.nanoTime();
            endCpu = processCpuNanos();
            break;
          }
          Thread.sleep(20); // polling the committed offsets; bounded by the deadline
        }
      } finally {
        streams.close(Duration.ofSeconds(30));
        streams.cleanUp();
        metrics.close();
      }
      if (reported.get() > 0) {
        notes.add("verify " + tag + ": " + reported.get() + " discrepancies or malformed records on agreeing input");
      }
      long total = end.values().stream().mapToLong(Long::longValue).sum();
      return new double[] {total * 1e9 / (endNanos - first.nanos.get()), (endCpu - first.cpu) / 1e3 / total};
    }
  }

  /** When the first record was processed: wall clock and JVM CPU time. */
  static final class Start {
    private final AtomicLong nanos = new AtomicLong();
    private volatile long cpu;

    void mark() {
      if (nanos.get() == 0 && nanos.compareAndSet(0, System.nanoTime())) {
        cpu = processCpuNanos();
      }
    }
  }

  /** Reads both change topics, parses every value into a Jackson tree and puts it into a RocksDB store. */
  static Topology baselineTopology(VerifierConfig config, Start first) {
    String store = "baseline-store";
    Topology t = new Topology();
    t.addSource("changes", new ByteArrayDeserializer(), new ByteArrayDeserializer(),
        config.topics().changes(Side.SOURCE), config.topics().changes(Side.TARGET));
    t.addProcessor("parse-put", () -> new Processor<byte[], byte[], Void, Void>() {
      private KeyValueStore<Bytes, byte[]> kv;

      @Override
      public void init(ProcessorContext<Void, Void> context) {
        kv = context.getStateStore(store);
      }

      @Override
      public void process(Record<byte[], byte[]> record) {
        first.mark();
        JsonNode n;
        try {
          n = JSON.readTree(record.value());
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
        if (n == null || !n.isObject()) {
          throw new IllegalStateException("not a JSON object");
        }
        byte[] key = record.key() != null ? record.key()
            : ("watermark/" + n.path("side").asText()).getBytes(StandardCharsets.UTF_8);
        kv.put(Bytes.wrap(key), record.value());
      }
    }, "changes");
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(store), Serdes.Bytes(),
        Serdes.ByteArray()).withCachingEnabled().withLoggingEnabled(Map.of()), "parse-put");
    return t;
  }

  // ==== latency ===============================================================================

  private void latency() throws Exception {
    VerifierConfig demo;
    try (InputStream in = EndToEndBench.class.getResourceAsStream("/config/demo.yaml")) {
      if (in == null) {
        throw new IllegalStateException("config/demo.yaml is not on the class path");
      }
      demo = ConfigLoader.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), System::getenv);
    }
    Map<Demo.Fault, Integer> faults = new EnumMap<>(Demo.Fault.class);
    List<Demo.Fault> kinds = List.of(Demo.Fault.DROPPED, Demo.Fault.CORRUPTED, Demo.Fault.EXTRA,
        Demo.Fault.MISSED_DELETE);
    for (int i = 0; i < options.latencyFaults(); i++) {
      faults.merge(kinds.get(i % kinds.size()), 1, Integer::sum);
    }
    out.printf("latency: demo workload for %d s at %d ops/s with %d faults (window %d ms)%n",
        options.latencyDuration().toSeconds(), options.latencyRate(), options.latencyFaults(),
        demo.verify().window().toMillis());
    out.flush();
    PrintWriter demoOut = options.verbose() ? out : new PrintWriter(Writer.nullWriter());
    Demo.Report report = Demo.run(new Demo.Options(demo, options.latencyDuration(), options.latencyRate(),
        options.seed(), faults, false), demoOut);
    int detected = report.detected().values().stream().mapToInt(Integer::intValue).sum();
    out.printf("latency: %d of %d faults detected, %d false positives, %s%n", detected, options.latencyFaults(),
        report.falsePositives(), report.passed() ? "demo PASSED" : "demo FAILED " + report.problems());
    out.flush();
    figures.add(new Figure("detection latency beyond window p50", "ms", report.p50LatencyMs(), null, null));
    figures.add(new Figure("detection latency beyond window p99", "ms", report.p99LatencyMs(), null,
        new Goal("<= 1000 ms", report.p99LatencyMs() <= 1_000)));
    notes.add(String.format("latency: emittedAt - detectedAt of %d reported discrepancies (demo, %d s at %d ops/s,"
        + " window %d ms, commit interval %d ms)%s", detected, options.latencyDuration().toSeconds(),
        options.latencyRate(), demo.verify().window().toMillis(), demo.verify().commitInterval().toMillis(),
        report.passed() ? "" : "; demo problems: " + report.problems()));
  }

  // ==== shared ================================================================================

  /** The benchmark's deployment: one {@code orders} table, the same database on both sides, no heartbeat. */
  static VerifierConfig config(String name, String bootstrap, String databaseYaml, String table, Path stateDir) {
    return config(name, bootstrap, databaseYaml, table, stateDir, StateMode.FULL);
  }

  static VerifierConfig config(String name, String bootstrap, String databaseYaml, String table, Path stateDir,
      StateMode state) {
    String yaml = """
        name: %s
        kafka: {bootstrap-servers: "%s", partitions: 4}
        source: %s
        target: %s
        verify: {state-dir: "%s"}
        capture: {heartbeat-table: none}
        tables:
          - name: orders
            source-table: %s
            target-table: %s
            key: [id]
            state: %s
            columns:
              - {name: email, trim: true, case-insensitive: true}
              - {name: placed_at, precision: millis}
              - {name: attributes, type: json}
        """.formatted(name, bootstrap, databaseYaml, databaseYaml, stateDir.toString().replace("\\", "/"), table,
        table, state.id());
    return ConfigLoader.parse(yaml, MariaDb::env);
  }

  /** The verify benchmark's config: no database is contacted. */
  static VerifierConfig verifyConfig(String name, String bootstrap, Path stateDir, StateMode state) {
    return config(name, bootstrap, "{type: postgres, host: localhost, port: 5432, database: bench, user: postgres}",
        "public.orders", stateDir, state);
  }

  private static Admin admin(String bootstrap) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    return Admin.create(p);
  }

  private static void ensureTopics(String bootstrap, VerifierConfig config) {
    try (Admin admin = admin(bootstrap)) {
      TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(60));
    }
  }

  /** nproc, CPU model, memory, Java and load average: the context every figure needs. */
  public static String machine() {
    String cpu = "unknown CPU";
    String mem = "unknown memory";
    try {
      cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
      mem = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
          .findFirst().map(l -> String.format("%.1f GiB", Long.parseLong(l.replaceAll("\\D", "")) / 1048576.0))
          .orElse(mem);
    } catch (IOException | RuntimeException ignored) {
      // not Linux: the JVM's view below still says something
    }
    return String.format("%d cores (%s), %s, Java %s (%s), max heap %d MiB, load average %.2f",
        Runtime.getRuntime().availableProcessors(), cpu, mem, System.getProperty("java.runtime.version"),
        System.getProperty("java.vm.name"), Runtime.getRuntime().maxMemory() / 1048576,
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
  }

  public static void print(Result r, PrintWriter out) {
    out.println();
    out.printf("%-50s %12s %12s %7s  %s%n", "figure", "ours", "baseline", "ratio", "goal");
    for (Figure f : r.figures()) {
      Double ratio = f.ratio();
      out.printf("%-50s %12s %12s %7s  %s%n", f.name() + ", " + f.unit(), number(f.value()),
          f.baseline() == null ? "-" : number(f.baseline()),
          ratio == null ? "-" : String.format("%.2fx", ratio),
          f.goal() == null ? "-" : f.goal().text() + (f.goal().met() ? "  met" : "  NOT MET"));
    }
    out.println();
    r.notes().forEach(n -> out.println("note: " + n));
    out.println(r.goalsMet() ? "all goals met" : "some goals NOT met");
    out.flush();
  }

  private static String number(double v) {
    return Math.abs(v) < 100 ? String.format("%.1f", v) : String.format("%,.0f", v);
  }

  private static void deleteQuietly(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException | RuntimeException ignored) {
      // a temp directory left behind
    }
  }
}
