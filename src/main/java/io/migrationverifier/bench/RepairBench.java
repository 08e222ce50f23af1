package io.migrationverifier.bench;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.kafka.TopicAdmin;
import io.migrationverifier.repair.RepairEngine;
import io.migrationverifier.repair.RepairListener;
import io.migrationverifier.repair.RepairWorker;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Repair throughput into PostgreSQL (issue 4, BENCHMARKS.md "Repair") against a plain batched
 * JDBC upsert of the same rows, in the same run, on the same embedded PostgreSQL.
 *
 * <p>Each round makes every one of {@code rows} target rows differ from its source row (one
 * column), then:
 * <ul>
 *   <li><b>baseline</b>: {@code INSERT ... ON CONFLICT (id) DO UPDATE} of the source rows, JDBC
 *       batches of 500, one commit per batch: the fastest way to make the target equal, with no
 *       checking at all;</li>
 *   <li><b>engine</b>: {@link RepairEngine#repairBatch} over every key in batches of 100, no
 *       Kafka: re-read both rows, judge, fenced writes (lock, re-read, update; one commit per
 *       batch), read back;</li>
 *   <li><b>role</b>: the {@code repair} role ({@link RepairWorker}) consuming one VALUE_MISMATCH
 *       discrepancy per row from Kafka and producing the repair log; timed from its first applied
 *       repair to its last (the consumer group's join is not counted).</li>
 * </ul>
 * The target is reset between the runs, which alternate in ABBA order across rounds.
 */
final class RepairBench {
  private static final int BATCH = 500;
  /** As the repair role batches its fenced writes. */
  private static final int ENGINE_BATCH = 100;

  private final String bootstrap;
  private final int rows;
  private final int rounds;
  private final PrintWriter out;
  private final List<EndToEndBench.Figure> figures;
  private final List<String> notes;

  RepairBench(String bootstrap, int rows, int rounds, PrintWriter out, List<EndToEndBench.Figure> figures,
      List<String> notes) {
    this.bootstrap = bootstrap;
    this.rows = rows;
    this.rounds = rounds;
    this.out = out;
    this.figures = figures;
    this.notes = notes;
  }

  void run(Path work) throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().setDataDirectory(work.resolve("pg"))
        .setCleanDataDirectory(true).setServerConfig("timezone", "UTC").start()) {
      try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE bench_source");
        s.execute("CREATE DATABASE bench_target");
      }
      try (Connection source = pg.getDatabase("postgres", "bench_source").getConnection();
           Connection target = pg.getDatabase("postgres", "bench_target").getConnection()) {
        for (Connection c : List.of(source, target)) {
          try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, total NUMERIC(12,2)"
                + " NOT NULL, status TEXT NOT NULL, placed_at TIMESTAMP(6) NOT NULL, note TEXT, qty INT NOT NULL,"
                + " gift BOOLEAN NOT NULL)");
          }
        }
        insertAll(source, 0);
        double[] sums = new double[3];
        int measured = 0;
        warmUp(pg, target);
        for (int round = 1; round <= rounds; round++) {
          List<String> order = round % 2 == 1 ? List.of("baseline", "engine", "role")
              : List.of("role", "engine", "baseline");
          for (String kind : order) {
            reset(target);
            double rate = switch (kind) {
              case "baseline" -> baseline(target);
              case "engine" -> engine(config(pg, "bench-repair-e" + round));
              default -> role(config(pg, "bench-repair-r" + round));
            };
            out.printf("repair: round %d %-8s %,10.0f rows/s%n", round, kind, rate);
            out.flush();
            sums[kind.equals("baseline") ? 0 : kind.equals("engine") ? 1 : 2] += rate;
            checkRepaired(target);
          }
          measured++;
        }
        double base = sums[0] / measured;
        figures.add(new EndToEndBench.Figure("repair role (Kafka, fenced) into PostgreSQL", "rows/s",
            sums[2] / measured, base, null));
        figures.add(new EndToEndBench.Figure("repair engine (fenced, no Kafka) into PostgreSQL", "rows/s",
            sums[1] / measured, base, null));
        notes.add(String.format("repair: %,d differing rows per run, %d rounds (ABBA); baseline = batched JDBC"
            + " upsert (INSERT ... ON CONFLICT DO UPDATE, batches of %d) at %,.0f rows/s", rows, measured, BATCH,
            base));
      }
    }
  }

  private VerifierConfig config(EmbeddedPostgres pg, String name) {
    return ConfigLoader.parse("""
        name: %s
        kafka: {bootstrap-servers: "%s", partitions: 4}
        source: {type: postgres, port: %d, database: bench_source, user: postgres}
        target: {type: postgres, port: %d, database: bench_target, user: postgres}
        http: {enabled: false}
        tables:
          - name: items
            key: [id]
            repair: {policy: source-wins}
        """.formatted(name, bootstrap, pg.getPort(), pg.getPort()), v -> null);
  }

  /** One unreported pass of each, so that JIT and connection set-up do not favour the later runs. */
  private void warmUp(EmbeddedPostgres pg, Connection target) throws Exception {
    reset(target);
    baseline(target);
    reset(target);
    engine(config(pg, "bench-repair-warm"));
  }

  private static Object[] row(long id) {
    return new Object[] {id, 1 + id % 997, BigDecimal.valueOf(id * 37 % 100_000, 2), id % 3 == 0 ? "shipped" : "open",
        new Timestamp(1_764_000_000_000L + id * 1_000), id % 4 == 0 ? null : "note " + id, (int) (id % 9) + 1,
        id % 2 == 0};
  }

  private void insertAll(Connection c, int totalDelta) throws SQLException {
    c.setAutoCommit(false);
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (long id = 1; id <= rows; id++) {
        Object[] r = row(id);
        for (int i = 0; i < r.length; i++) {
          ps.setObject(i + 1, r[i]);
        }
        ps.addBatch();
        if (id % BATCH == 0) {
          ps.executeBatch();
        }
      }
      ps.executeBatch();
    }
    c.commit();
    c.setAutoCommit(true);
  }

  /** Every target row differs from its source row in {@code total}. */
  private void reset(Connection target) throws SQLException {
    try (Statement s = target.createStatement()) {
      s.execute("TRUNCATE items");
    }
    insertAll(target, 0);
    try (Statement s = target.createStatement()) {
      s.execute("UPDATE items SET total = total + 1");
      s.execute("VACUUM ANALYZE items");
    }
  }

  private void checkRepaired(Connection target) throws SQLException {
    try (Statement s = target.createStatement();
         ResultSet rs = s.executeQuery("SELECT count(*) FROM items WHERE total <> (id * 37 % 100000) / 100.0")) {
      rs.next();
      long wrong = rs.getLong(1);
      if (wrong != 0) {
        throw new IllegalStateException(wrong + " target rows still differ after the run");
      }
    }
  }

  private double baseline(Connection target) throws SQLException {
    long start = System.nanoTime();
    target.setAutoCommit(false);
    try (PreparedStatement ps = target.prepareStatement("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        + " ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, total = EXCLUDED.total,"
        + " status = EXCLUDED.status, placed_at = EXCLUDED.placed_at, note = EXCLUDED.note, qty = EXCLUDED.qty,"
        + " gift = EXCLUDED.gift")) {
      for (long id = 1; id <= rows; id++) {
        Object[] r = row(id);
        for (int i = 0; i < r.length; i++) {
          ps.setObject(i + 1, r[i]);
        }
        ps.addBatch();
        if (id % BATCH == 0) {
          ps.executeBatch();
          target.commit();
        }
      }
      ps.executeBatch();
      target.commit();
    } finally {
      target.setAutoCommit(true);
    }
    return rows * 1e9 / (System.nanoTime() - start);
  }

  private double engine(VerifierConfig config) throws Exception {
    try (RepairEngine engine = RepairEngine.open(config, Canonicalizer.forConfig(config))) {
      long start = System.nanoTime();
      for (long from = 1; from <= rows; from += ENGINE_BATCH) {
        List<RepairEngine.Request> batch = new ArrayList<>();
        for (long id = from; id < from + ENGINE_BATCH && id <= rows; id++) {
          batch.add(new RepairEngine.Request("items", Map.of("id", Long.toString(id)), null, "bench"));
        }
        for (RepairEngine.Result r : engine.repairBatch(batch)) {
          if (r.failure() != null || r.outcome().status() != RepairEngine.Status.APPLIED) {
            throw new IllegalStateException("repair failed: " + (r.failure() != null ? r.failure()
                : r.outcome().status()));
          }
        }
      }
      return rows * 1e9 / (System.nanoTime() - start);
    }
  }

  private double role(VerifierConfig config) throws Exception {
    Properties admin = new Properties();
    admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin a = Admin.create(admin)) {
      TopicAdmin.ensureTopics(a, config, Duration.ofSeconds(60));
    }
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(RepairWorker.producerProps(config, bootstrap, "bench"),
        new ByteArraySerializer(), new ByteArraySerializer())) {
      List<Future<RecordMetadata>> sends = new ArrayList<>();
      for (long id = 1; id <= rows; id++) {
        TreeMap<String, String> key = new TreeMap<>(Map.of("id", Long.toString(id)));
        Discrepancy d = new Discrepancy("bench-" + id, DiscrepancyKind.VALUE_MISMATCH, "items", key, "stream", 0, 0,
            null, null, List.of(), null, null, null, null, 0);
        sends.add(p.send(new ProducerRecord<>(config.topics().discrepancies(), CanonicalKey.of("items", key).toBytes(),
            EventCodec.encode(d))));
      }
      p.flush();
      for (Future<RecordMetadata> f : sends) {
        f.get();
      }
    }
    AtomicLong applied = new AtomicLong();
    AtomicLong first = new AtomicLong();
    AtomicLong last = new AtomicLong();
    RepairListener listener = new RepairListener() {
      @Override
      public void outcome(String table, RepairEngine.Status status) {
        if (status == RepairEngine.Status.APPLIED) {
          long n = applied.incrementAndGet();
          if (n == 1) {
            first.set(System.nanoTime());
          }
          last.set(System.nanoTime());
        }
      }
    };
    try (RepairWorker worker = new RepairWorker(config, bootstrap, listener)) {
      worker.start();
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      while (applied.get() < rows && System.nanoTime() < deadline && !worker.stopped().isDone()) {
        Thread.sleep(20); // polling a counter the role's thread updates; bounded by the deadline
      }
      if (applied.get() < rows) {
        throw new IllegalStateException("the repair role applied " + applied.get() + " of " + rows + " repairs");
      }
    }
    return (rows - 1) * 1e9 / Math.max(1, last.get() - first.get());
  }
}
