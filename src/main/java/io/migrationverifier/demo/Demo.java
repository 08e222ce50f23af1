package io.migrationverifier.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.capture.CaptureListener;
import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.KafkaSettings;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.check.KeyCheck;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.TableRepair;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.config.VerifySettings;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.ops.HttpEndpoint;
import io.migrationverifier.ops.Metrics;
import io.migrationverifier.ops.OpsEndpoint;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The zero-setup demo: an embedded Kafka broker and an embedded PostgreSQL holding a "legacy" and
 * a "modern" database, a dual-writing workload with seeded faults, the real pipeline (both
 * captures and the verifier) and a report of injected faults against detected discrepancies.
 */
public final class Demo {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The faults the workload can inject, and the discrepancy each must produce. */
  public enum Fault {
    DROPPED("dropped", "MISSING_IN_TARGET"),
    CORRUPTED("corrupted", "VALUE_MISMATCH"),
    EXTRA("extra", "UNEXPECTED_IN_TARGET"),
    MISSED_DELETE("missed-delete", "UNEXPECTED_IN_TARGET"),
    DELAYED_WITHIN("delayed-within", null),
    DELAYED_BEYOND("delayed-beyond", "VALUE_MISMATCH");

    final String id;
    final String expectedKind;

    Fault(String id, String expectedKind) {
      this.id = id;
      this.expectedKind = expectedKind;
    }

    public String id() {
      return id;
    }

    public static Fault fromId(String id) {
      for (Fault f : values()) {
        if (f.id.equals(id)) {
          return f;
        }
      }
      throw new IllegalArgumentException("unknown fault \"" + id + "\"; faults: dropped, corrupted, extra,"
          + " missed-delete, delayed-within, delayed-beyond");
    }
  }

  /** @param repair whether the repair role fixes what is detected (tables with repair enabled in the config) */
  public record Options(VerifierConfig config, Duration duration, int rate, long seed, Map<Fault, Integer> faults,
      boolean repair) {}

  /**
   * What the demo found, per fault kind, and whether it passed.
   *
   * @param repaired          per fault kind: keys whose discrepancy was RESOLVED by a repair
   * @param repairP50Ms       time to repair: RESOLVED's resolvedAt minus the report's detectedAt, median
   * @param repairMaxMs       the same, worst
   * @param consistentAtEnd   faulted keys that both databases hold equally at the end (read back over JDBC)
   */
  public record Report(Map<Fault, Integer> injected, Map<Fault, Integer> detected, int falsePositives,
      int resolvedDelayed, List<String> problems, long p50LatencyMs, long p99LatencyMs, long operations,
      boolean repair, Map<Fault, Integer> repaired, long repairP50Ms, long repairMaxMs, int consistentAtEnd,
      int faultedKeys) {
    public boolean passed() {
      return problems.isEmpty();
    }
  }

  private final Options options;
  private final PrintWriter out;
  private final Random random;
  private final long windowMs;
  private final Map<String, Fault> faultedKeys = new ConcurrentHashMap<>();
  private final List<Long> liveOrders = Collections.synchronizedList(new ArrayList<>());
  private final Map<Long, Long> targetNotBefore = new ConcurrentHashMap<>();
  private final AtomicLong nextOrder = new AtomicLong(1_000);
  private final AtomicLong operations = new AtomicLong();
  private final AtomicLongArray captured = new AtomicLongArray(2);
  private final AtomicLong heartbeats = new AtomicLong();
  private boolean repairing;

  private Demo(Options options, PrintWriter out) {
    this.options = options;
    this.out = out;
    this.random = new Random(options.seed());
    this.windowMs = options.config().verify().window().toMillis();
  }

  public static Report run(Options options, PrintWriter out) throws Exception {
    return new Demo(options, out).run();
  }

  private Report run() throws Exception {
    long started = System.currentTimeMillis();
    Path work = Files.createTempDirectory("migration-verifier-demo");
    out.printf("demo: seed %d, %d s at %d ops/s, window %d ms, faults %s%n", options.seed(),
        options.duration().toSeconds(), options.rate(), windowMs, describe(options.faults()));
    out.flush();
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
        .setServerConfig("wal_level", "logical")
        .setServerConfig("max_replication_slots", "10")
        .setServerConfig("max_wal_senders", "10")
        .setServerConfig("timezone", "UTC")
        .setDataDirectory(work.resolve("pg"))
        .setCleanDataDirectory(true)
        .start()) {
      try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE legacy");
        s.execute("CREATE DATABASE modern");
      }
      VerifierConfig localized = localize(options.config(), pg.getPort(), work);
      VerifierConfig config = options.repair() ? localized : detectOnly(localized);
      repairing = options.repair() && config.anyRepairEnabled();
      try (Connection legacy = connect(pg, "legacy"); Connection modern = connect(pg, "modern")) {
        createSchema(legacy, modern);
        seed(legacy, modern);
        out.println("demo: PostgreSQL on port " + pg.getPort() + " with databases legacy and modern; starting the pipeline");
        out.flush();
        Listener listener = new Listener();
        try (Metrics metrics = new Metrics(config);
            Pipeline pipeline = Pipeline.start(config, Role.all(), null, CaptureListener.both(listener, metrics),
                metrics, metrics);
            HttpEndpoint status = statusPage(config, pipeline, metrics)) {
          Detected detected = new Detected(config, pipeline.bootstrapServers());
          detected.start();
          try {
            awaitLive();
            out.printf("demo: pipeline live after %d ms (snapshot compared); running the workload%n",
                System.currentTimeMillis() - started);
            out.flush();
            Workload w = new Workload(legacy, modern);
            w.run();
            return settleAndReport(detected, pipeline, config);
          } finally {
            detected.close();
          }
        }
      } finally {
        dropSlots(pg);
      }
    } finally {
      deleteQuietly(work);
    }
  }

  /** The demo config with the embedded server's port and a fresh state directory. */
  static VerifierConfig localize(VerifierConfig c, int port, Path work) {
    DatabaseSettings s = c.source();
    DatabaseSettings t = c.target();
    DatabaseSettings source = new DatabaseSettings(s.dialect(), "localhost", port, s.database(), s.user(), s.password(),
        s.timeZone(), s.properties());
    DatabaseSettings target = new DatabaseSettings(t.dialect(), "localhost", port, t.database(), t.user(), t.password(),
        t.timeZone(), t.properties());
    VerifySettings verify = c.verify().withStateDir(work.resolve("state"));
    KafkaSettings k = c.kafka();
    KafkaSettings kafka = new KafkaSettings(k.bootstrapServers(), k.embedded() ? 0 : k.embeddedPort(), k.partitions(),
        k.replicationFactor(), k.properties());
    return new VerifierConfig(c.name(), kafka, source, target, c.tables(), verify, c.capture(), c.repair(), c.http());
  }

  /** The config with every table detect-only ({@code demo --detect-only}). */
  static VerifierConfig detectOnly(VerifierConfig c) {
    List<TableConfig> tables = c.tables().stream().map(t -> new TableConfig(t.name(), t.sourceTable(),
        t.targetTable(), t.key(), t.columns(), t.window(), TableRepair.DETECT_ONLY, t.state())).toList();
    return new VerifierConfig(c.name(), c.kafka(), c.source(), c.target(), tables, c.verify(), c.capture(),
        c.repair(), c.http());
  }

  private static Connection connect(EmbeddedPostgres pg, String db) throws SQLException {
    Connection c = pg.getDatabase("postgres", db).getConnection();
    c.setAutoCommit(true);
    return c;
  }

  private static void createSchema(Connection legacy, Connection modern) throws SQLException {
    try (Statement s = legacy.createStatement()) {
      s.execute("CREATE TABLE customers (id BIGINT PRIMARY KEY, email TEXT NOT NULL, name TEXT, created_at TIMESTAMPTZ NOT NULL)");
      s.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, total NUMERIC(12,2) NOT NULL,"
          + " placed_at TIMESTAMP(6) NOT NULL, attributes JSONB, note TEXT)");
      s.execute("ALTER TABLE orders REPLICA IDENTITY FULL");
      s.execute("ALTER TABLE customers REPLICA IDENTITY FULL");
    }
    try (Statement s = modern.createStatement()) {
      // The modern side: a renamed table and column, another decimal scale, millisecond timestamps,
      // JSON instead of JSONB, upper-cased e-mail addresses: none of it a difference.
      s.execute("CREATE TABLE customers (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL, name TEXT, created_at TIMESTAMPTZ NOT NULL)");
      s.execute("CREATE TABLE purchase_orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL,"
          + " total_amount NUMERIC(14,4) NOT NULL, placed_at TIMESTAMP(3) NOT NULL, attributes JSON, note TEXT)");
      s.execute("ALTER TABLE purchase_orders REPLICA IDENTITY FULL");
      s.execute("ALTER TABLE customers REPLICA IDENTITY FULL");
    }
  }

  private void seed(Connection legacy, Connection modern) throws SQLException {
    for (long id = 1; id <= 50; id++) {
      String email = "user" + id + "@example.com";
      // one timestamp for both copies: two now() calls would be a real difference (and it is reported)
      java.sql.Timestamp created = new java.sql.Timestamp(1_764_000_000_000L + id * 1_000);
      exec(legacy, "INSERT INTO customers VALUES (?, ?, ?, ?)", id, email, "Customer " + id, created);
      exec(modern, "INSERT INTO customers VALUES (?, ?, ?, ?)", id, email.toUpperCase(), "Customer " + id, created);
    }
    for (long id = 1; id <= 200; id++) {
      Order o = randomOrder(id);
      o.insert(legacy, modern);
      liveOrders.add(id);
    }
  }

  private void awaitLive() throws InterruptedException {
    long deadline = System.currentTimeMillis() + 60_000;
    while (heartbeats.get() < 4 && System.currentTimeMillis() < deadline) {
      Thread.sleep(50); // polling a counter the capture threads update; bounded by the deadline
    }
    if (heartbeats.get() < 4) {
      throw new IllegalStateException("the captures did not start streaming within 60 s");
    }
  }

  // ---- the workload --------------------------------------------------------------------------

  private record Order(long id, long customer, BigDecimal total, String placedAt, String attributes, String note) {
    void insert(Connection legacy, Connection modern) throws SQLException {
      insertLegacy(legacy);
      insertModern(modern, total);
    }

    void insertLegacy(Connection legacy) throws SQLException {
      exec(legacy, "INSERT INTO orders VALUES (?, ?, ?, ?::timestamp, ?::jsonb, ?)", id, customer, total, placedAt,
          attributes, note);
    }

    void insertModern(Connection modern, BigDecimal amount) throws SQLException {
      exec(modern, "INSERT INTO purchase_orders VALUES (?, ?, ?, ?::timestamp, ?::json, ?)", id, customer, amount,
          placedAt, attributes, note);
    }
  }

  private Order randomOrder(long id) {
    long customer = 1 + random.nextInt(50);
    BigDecimal total = BigDecimal.valueOf(random.nextInt(100_000), 2);
    String placedAt = "2026-11-" + String.format("%02d", 1 + random.nextInt(28)) + " 1" + random.nextInt(10) + ":"
        + String.format("%02d", random.nextInt(60)) + ":00." + String.format("%03d", random.nextInt(1000));
    String attributes = "{\"channel\": \"" + (random.nextBoolean() ? "web" : "store") + "\", \"items\": "
        + (1 + random.nextInt(5)) + "}";
    String note = random.nextInt(4) == 0 ? null : "note " + random.nextInt(100);
    return new Order(id, customer, total, placedAt, attributes, note);
  }

  private final class Workload {
    private final Connection legacy;
    private final Connection modern;
    private final ScheduledExecutorService replicator = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "demo-replicator");
      t.setDaemon(true);
      return t;
    });
    private final List<Fault> plan = new ArrayList<>();

    Workload(Connection legacy, Connection modern) {
      this.legacy = legacy;
      this.modern = modern;
      options.faults().forEach((f, n) -> {
        for (int i = 0; i < n; i++) {
          plan.add(f);
        }
      });
      Collections.shuffle(plan, random);
    }

    void run() throws Exception {
      long total = options.duration().toSeconds() * options.rate();
      long periodNanos = 1_000_000_000L / Math.max(1, options.rate());
      long start = System.nanoTime();
      // faults are spread over the first 70 % of the run so the window passes before it ends
      long faultEvery = plan.isEmpty() ? Long.MAX_VALUE : Math.max(1, (long) (total * 0.7) / plan.size());
      int nextFault = 0;
      long lastProgress = System.currentTimeMillis();
      for (long i = 0; i < total; i++) {
        long due = start + i * periodNanos;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait); // pacing the workload to the requested rate
        }
        if (nextFault < plan.size() && i > 0 && i % faultEvery == 0) {
          inject(plan.get(nextFault++));
        } else {
          mirrored();
        }
        operations.incrementAndGet();
        if (System.currentTimeMillis() - lastProgress >= 2_000) {
          lastProgress = System.currentTimeMillis();
          out.printf("  %5d ops | captured source=%d target=%d | faults injected %d/%d%n", operations.get(),
              captured.get(0), captured.get(1), nextFault, plan.size());
          out.flush();
        }
      }
      while (nextFault < plan.size()) {
        inject(plan.get(nextFault++));
      }
      replicator.shutdown();
      if (!replicator.awaitTermination(windowMs * 4 + 10_000, TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("the replicated writes did not finish");
      }
    }

    /** A correct dual write: the target copy follows with a lag well inside the window. */
    private void mirrored() throws SQLException {
      int action = random.nextInt(10);
      if (action < 4 || liveOrders.size() < 20) {
        long id = nextOrder.getAndIncrement();
        Order o = randomOrder(id);
        o.insertLegacy(legacy);
        replicate(id, windowMs / 4, () -> o.insertModern(modern, o.total()));
        liveOrders.add(id);
      } else if (action < 9) {
        long id = pickLive();
        BigDecimal total = BigDecimal.valueOf(random.nextInt(100_000), 2);
        exec(legacy, "UPDATE orders SET total = ?, note = ? WHERE id = ?", total, "updated", id);
        replicate(id, windowMs / 4, () -> exec(modern,
            "UPDATE purchase_orders SET total_amount = ?, note = ? WHERE id = ?", total, "updated", id));
      } else {
        long id = pickLive();
        liveOrders.remove(id);
        exec(legacy, "DELETE FROM orders WHERE id = ?", id);
        replicate(id, windowMs / 4, () -> exec(modern, "DELETE FROM purchase_orders WHERE id = ?", id));
      }
    }

    private void inject(Fault f) throws SQLException {
      switch (f) {
        case DROPPED -> {
          long id = nextOrder.getAndIncrement();
          randomOrder(id).insertLegacy(legacy); // the target write is lost
          faultedKeys.put(key(id), f);
        }
        case CORRUPTED -> {
          long id = takeLive();
          BigDecimal total = BigDecimal.valueOf(random.nextInt(100_000), 2);
          exec(legacy, "UPDATE orders SET total = ? WHERE id = ?", total, id);
          replicate(id, windowMs / 4, () -> exec(modern, "UPDATE purchase_orders SET total_amount = ? WHERE id = ?",
              total.add(BigDecimal.ONE), id));
          faultedKeys.put(key(id), f);
        }
        case EXTRA -> {
          long id = nextOrder.getAndIncrement();
          Order o = randomOrder(id);
          o.insertModern(modern, o.total()); // a row only the new service wrote
          faultedKeys.put(key(id), f);
        }
        case MISSED_DELETE -> {
          long id = takeLive();
          exec(legacy, "DELETE FROM orders WHERE id = ?", id); // the target delete is lost
          faultedKeys.put(key(id), f);
        }
        case DELAYED_WITHIN, DELAYED_BEYOND -> {
          long id = takeLive();
          BigDecimal total = BigDecimal.valueOf(random.nextInt(100_000), 2);
          exec(legacy, "UPDATE orders SET total = ? WHERE id = ?", total, id);
          long delay = f == Fault.DELAYED_WITHIN ? windowMs / 2 : windowMs * 2 + 500;
          replicate(id, delay, () -> exec(modern, "UPDATE purchase_orders SET total_amount = ? WHERE id = ?", total,
              id));
          faultedKeys.put(key(id), f);
        }
        default -> throw new IllegalStateException(f.toString());
      }
    }

    private long pickLive() {
      return liveOrders.get(random.nextInt(liveOrders.size()));
    }

    /** A live order no later operation touches, so each fault's expected outcome is exact. */
    private long takeLive() {
      long id = pickLive();
      liveOrders.remove(id);
      return id;
    }

    /** Runs the target copy after {@code delay} ms, never before an earlier copy of the same row. */
    private void replicate(long id, long delay, SqlAction action) {
      long now = System.currentTimeMillis();
      long at = Math.max(now + random.nextInt((int) Math.max(1, delay)) + (delay > windowMs / 4 ? delay / 2 : 0),
          targetNotBefore.getOrDefault(id, 0L) + 1);
      targetNotBefore.put(id, at);
      replicator.schedule(() -> {
        try {
          action.run();
        } catch (SQLException e) {
          out.println("demo: a replicated write failed: " + e.getMessage());
        }
      }, at - now, TimeUnit.MILLISECONDS);
    }
  }

  private interface SqlAction {
    void run() throws SQLException;
  }

  private static String key(long id) {
    return "orders/" + id;
  }

  // ---- what the verifier reported ------------------------------------------------------------

  private static final class Detected implements AutoCloseable {
    final List<JsonNode> events = Collections.synchronizedList(new ArrayList<>());
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String topic;
    private volatile boolean running = true;
    private Thread thread;

    Detected(VerifierConfig config, String servers) {
      Properties p = new Properties();
      config.kafka().properties().forEach(p::setProperty);
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
      p.put(ConsumerConfig.GROUP_ID_CONFIG, config.name() + "-demo-report");
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      topic = config.topics().discrepancies();
    }

    void start() {
      consumer.subscribe(List.of(topic));
      thread = new Thread(() -> {
        while (running) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
            try {
              events.add(JSON.readTree(r.value()));
            } catch (java.io.IOException e) {
              throw new IllegalStateException(e);
            }
          }
        }
        consumer.close();
      }, "demo-discrepancies");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(5_000);
    }
  }

  /**
   * The status page and metrics of {@code run}, when the config enables HTTP: a newcomer can watch
   * the demo's discrepancies appear and resolve. Null when disabled or the port is taken (the demo
   * goes on without it).
   */
  private HttpEndpoint statusPage(VerifierConfig config, Pipeline pipeline, Metrics metrics) {
    if (!config.http().enabled()) {
      return null;
    }
    if (pipeline.streams() != null) {
      metrics.bind(pipeline.streams());
    }
    HttpEndpoint ep = null;
    try {
      ep = OpsEndpoint.build(config, pipeline, metrics);
      ep.start(config.http().bind(), config.http().port(), 2);
      out.printf("demo: status page on http://%s:%d/ (metrics on /metrics)%n", ep.address().getHostString(),
          ep.address().getPort());
      out.flush();
      return ep;
    } catch (IOException | RuntimeException e) {
      if (ep != null) {
        ep.close();
      }
      out.println("demo: no status page (" + e.getMessage() + "); set http.port to a free port or 0");
      return null;
    }
  }

  private final class Listener implements CaptureListener {
    @Override
    public void batch(Side side, int changes, long watermark) {
      captured.addAndGet(side.ordinal(), changes);
    }

    @Override
    public void heartbeat(Side side, long ts) {
      heartbeats.incrementAndGet();
    }
  }

  private Report settleAndReport(Detected detected, Pipeline pipeline, VerifierConfig config)
      throws InterruptedException {
    Map<String, Fault> expected = new HashMap<>();
    faultedKeys.forEach((k, f) -> {
      if (f.expectedKind != null) {
        expected.put(k, f);
      }
    });
    // Wait (bounded) for every expected report and the RESOLVED of delayed writes, then one more
    // window with heartbeats so that a false positive would have had time to show.
    long deadline = System.currentTimeMillis() + windowMs * 6 + 30_000;
    while (System.currentTimeMillis() < deadline && !complete(detected, expected, repairing)) {
      Thread.sleep(100); // polling what the report consumer collected; bounded by the deadline
    }
    Thread.sleep(windowMs * 2 + 1_000); // give any false positive its chance to be reported
    Map<Fault, Integer> injected = new EnumMap<>(Fault.class);
    faultedKeys.values().forEach(f -> injected.merge(f, 1, Integer::sum));
    Map<Fault, Integer> found = new EnumMap<>(Fault.class);
    List<String> problems = new ArrayList<>();
    int falsePositives = 0;
    int resolvedDelayed = 0;
    List<Long> latencies = new ArrayList<>();
    List<Long> repairTimes = new ArrayList<>();
    Map<Fault, Integer> repaired = new EnumMap<>(Fault.class);
    Set<String> reportedKeys = new HashSet<>();
    Set<String> resolvedKeys = new HashSet<>();
    synchronized (detected.events) {
      for (JsonNode d : detected.events) {
        String k = d.get("table").asText() + "/" + d.get("key").get("id").asText();
        String kind = d.get("kind").asText();
        Fault f = faultedKeys.get(k);
        if (kind.equals("RESOLVED")) {
          resolvedKeys.add(k);
          if (f == Fault.DELAYED_BEYOND) {
            resolvedDelayed++;
          }
          if ("repaired".equals(d.path("resolution").asText()) && f != null) {
            repaired.merge(f, 1, Integer::sum);
            repairTimes.add(d.get("resolvedAt").asLong() - d.get("detectedAt").asLong());
          }
          continue;
        }
        latencies.add(d.get("emittedAt").asLong() - d.get("detectedAt").asLong());
        if (f == null || f.expectedKind == null) {
          falsePositives++;
          problems.add("false positive: " + kind + " " + k + " " + d.get("fields"));
        } else if (!f.expectedKind.equals(kind)) {
          problems.add("wrong kind for " + f.id + " " + k + ": " + kind + " (expected " + f.expectedKind + ")");
        } else if (reportedKeys.add(k)) {
          found.merge(f, 1, Integer::sum);
        } else {
          problems.add("reported twice: " + k);
        }
      }
    }
    for (Map.Entry<String, Fault> e : expected.entrySet()) {
      if (!reportedKeys.contains(e.getKey())) {
        problems.add("missed: " + e.getValue().id + " " + e.getKey());
      }
    }
    int delayedBeyond = injected.getOrDefault(Fault.DELAYED_BEYOND, 0);
    if (resolvedDelayed != delayedBeyond) {
      problems.add("RESOLVED for " + resolvedDelayed + " of " + delayedBeyond + " delayed-beyond writes");
    }
    int consistent = 0;
    if (repairing) {
      for (Map.Entry<String, Fault> e : expected.entrySet()) {
        if (!resolvedKeys.contains(e.getKey())) {
          problems.add("not repaired: " + e.getValue().id + " " + e.getKey() + " (no RESOLVED)");
        }
      }
      consistent = countConsistent(config, problems);
    }
    Collections.sort(latencies);
    Collections.sort(repairTimes);
    long p50 = percentile(latencies, 0.5);
    long p99 = percentile(latencies, 0.99);
    return new Report(injected, found, falsePositives, resolvedDelayed, problems, p50, p99, operations.get(),
        repairing, repaired, percentile(repairTimes, 0.5), repairTimes.isEmpty() ? 0 : repairTimes.get(
            repairTimes.size() - 1), consistent, faultedKeys.size());
  }

  private static long percentile(List<Long> sorted, double q) {
    if (sorted.isEmpty()) {
      return 0;
    }
    return sorted.get(Math.max(0, (int) Math.ceil(sorted.size() * q) - 1));
  }

  /** Reads every faulted key back from both databases: after repair, all must agree. */
  private int countConsistent(VerifierConfig config, List<String> problems) {
    int n = 0;
    Canonicalizer canonicalizer = Canonicalizer.forConfig(config);
    try (RowReader reader = new RowReader(config, canonicalizer)) {
      KeyCheck check = new KeyCheck(canonicalizer, reader);
      for (String k : new java.util.TreeSet<>(faultedKeys.keySet())) {
        String[] parts = k.split("/", 2);
        KeyCheck.Result r = check.check(parts[0], Map.of("id", parts[1]));
        if (r.consistent()) {
          n++;
        } else {
          problems.add("still different at the end: " + k + " " + r.verdict());
        }
      }
    } catch (SQLException e) {
      problems.add("could not read the faulted keys back: " + e.getMessage());
    }
    return n;
  }

  private static boolean complete(Detected detected, Map<String, Fault> expected, boolean repairing) {
    Set<String> seen = new HashSet<>();
    Set<String> resolvedKeys = new HashSet<>();
    synchronized (detected.events) {
      for (JsonNode d : detected.events) {
        String k = d.get("table").asText() + "/" + d.get("key").get("id").asText();
        if (d.get("kind").asText().equals("RESOLVED")) {
          resolvedKeys.add(k);
        } else {
          seen.add(k);
        }
      }
    }
    boolean delayedResolved = expected.entrySet().stream().filter(e -> e.getValue() == Fault.DELAYED_BEYOND)
        .allMatch(e -> resolvedKeys.contains(e.getKey()));
    return seen.containsAll(expected.keySet()) && delayedResolved
        && (!repairing || resolvedKeys.containsAll(expected.keySet()));
  }

  public static void print(Report r, PrintWriter out) {
    out.println();
    out.println("fault            injected  detected  expected kind");
    for (Fault f : Fault.values()) {
      int n = r.injected().getOrDefault(f, 0);
      out.printf("%-16s %8d  %8s  %s%n", f.id, n,
          f.expectedKind == null ? "-" : Integer.toString(r.detected().getOrDefault(f, 0)),
          f.expectedKind == null ? "none (within the window: replication lag)" : f.expectedKind
              + (f == Fault.DELAYED_BEYOND ? " then RESOLVED (" + r.resolvedDelayed() + ")" : ""));
    }
    out.printf("false positives: %d%n", r.falsePositives());
    if (r.repair()) {
      int repairedTotal = r.repaired().values().stream().mapToInt(Integer::intValue).sum();
      out.printf("repaired: %d (%s); time to repair after detection: p50 %d ms, max %d ms%n", repairedTotal,
          describe(r.repaired()), r.repairP50Ms(), r.repairMaxMs());
      out.printf("faulted keys consistent at the end: %d of %d%n", r.consistentAtEnd(), r.faultedKeys());
    } else {
      out.println("repair: off (detect-only)");
    }
    out.printf("operations: %d; detection latency beyond the window: p50 %d ms, p99 %d ms%n", r.operations(),
        r.p50LatencyMs(), r.p99LatencyMs());
    if (r.passed()) {
      out.println("PASSED: every injected fault detected with the right kind, no false positive"
          + (r.repair() ? ", every one repaired" : ""));
    } else {
      out.println("FAILED:");
      r.problems().forEach(p -> out.println("  - " + p));
    }
    out.flush();
  }

  private static String describe(Map<Fault, Integer> faults) {
    StringBuilder sb = new StringBuilder();
    faults.forEach((f, n) -> sb.append(sb.length() == 0 ? "" : ",").append(f.id).append('=').append(n));
    return sb.toString();
  }

  private static void exec(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }

  private static void dropSlots(EmbeddedPostgres pg) {
    try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
      s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active");
    } catch (SQLException ignored) {
      // the server is about to be removed with its data directory
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (java.io.IOException ignored) {
      // a temp directory left behind
    }
  }
}
