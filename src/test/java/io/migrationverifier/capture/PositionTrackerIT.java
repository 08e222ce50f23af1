package io.migrationverifier.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.migrationverifier.config.Dialect;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TimeZone;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link PositionTracker} against real Debezium engines on a real PostgreSQL and a real MariaDB:
 * snapshot, then single-row, multi-statement, multi-row-statement and interleaved concurrent
 * transactions; positions must be strictly increasing in delivery order, delivery must be commit
 * order; then a restart from an offset flushed in the MIDDLE of a transaction must give every
 * re-delivered change the position it had the first time, and changes delivered for the first
 * time afterwards must sort after everything before.
 *
 * <p>The mid-transaction restart point is real, not constructed: the engine runs with batches of
 * at most 4 records and offsets flushed after every batch; the consumer blocks on the 11th change
 * of a 20-row transaction, at which moment the offset file holds the end of an earlier batch of
 * that transaction; the test copies that file (and, for PostgreSQL, the replication slot, whose
 * confirmed position would otherwise be past it) and restarts from the copies later.
 */
class PositionTrackerIT {

  private static final Logger LOG = LoggerFactory.getLogger(PositionTrackerIT.class);
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int BIG = 20;
  private static final int BLOCK_AT = 11; // 1-based change number within the big transaction

  @TempDir
  Path work;

  @BeforeAll
  static void utc() {
    // The MariaDB connector reads TIMESTAMP columns during the snapshot with a calendar in the
    // JVM default zone (FIELD-NOTES); the servers run in UTC, so the test JVM does too.
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
  }

  /** The database-specific parts of the scenario. */
  private interface Db {
    Dialect dialect();

    Connection connect() throws SQLException;

    Properties engineProps(Path offsets, String slot);

    /** Makes the engine's restart state (other than the offset file) restorable; returns its name. */
    String saveRestartState() throws SQLException;

    boolean copySupported();
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void postgres() throws Exception {
    try (PostgresServer pg = PostgresServer.start()) {
      pg.createDatabase("legacy");
      try (Connection c = pg.connect("legacy"); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200), tx VARCHAR(20))");
        s.execute("ALTER TABLE t REPLICA IDENTITY FULL");
      }
      run(new Db() {
        @Override
        public Dialect dialect() {
          return Dialect.POSTGRES;
        }

        @Override
        public Connection connect() throws SQLException {
          return pg.connect("legacy");
        }

        @Override
        public Properties engineProps(Path offsets, String slot) {
          return DebeziumSettings.postgres("legacy", "127.0.0.1", pg.port(), "legacy",
              PostgresServer.USER, "", slot, "pt_pub", offsets, List.of("public.t"));
        }

        @Override
        public String saveRestartState() throws SQLException {
          // Debezium confirms positions to the slot after each offset flush: a restart from an
          // older offset file needs a slot that was not confirmed further.
          try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute("SELECT pg_copy_logical_replication_slot('pt_slot', 'pt_slot_restart')");
          }
          return "pt_slot_restart";
        }

        @Override
        public boolean copySupported() {
          return true;
        }
      });
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void mariadb() throws Exception {
    Assumptions.assumeTrue(MariaDbServer.available(), "mariadbd not installed (mariadb-server)");
    try (MariaDbServer maria = MariaDbServer.start()) {
      maria.createDatabase("modern");
      try (Connection c = maria.connect("modern"); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200), tx VARCHAR(20))"
            + " ENGINE=InnoDB");
      }
      Path history = work.resolve("maria-history.dat");
      run(new Db() {
        @Override
        public Dialect dialect() {
          return Dialect.MARIADB;
        }

        @Override
        public Connection connect() throws SQLException {
          return maria.connect("modern");
        }

        @Override
        public Properties engineProps(Path offsets, String slot) {
          return DebeziumSettings.mariadb("modern", "127.0.0.1", maria.port(), "modern",
              MariaDbServer.USER, MariaDbServer.PASSWORD, 5501, offsets, history,
              List.of("modern.t"));
        }

        @Override
        public String saveRestartState() {
          return null; // the binlog is kept; the offset file is all the state
        }

        @Override
        public boolean copySupported() {
          return false;
        }
      });
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** One delivered change: what it is (for matching across runs) and its position. */
  private record Delivered(String op, int id, String tx, String content, String pos,
      String source) {}

  private void run(Db db) throws Exception {
    long started = System.nanoTime();
    Path offsets = work.resolve("offsets.dat");
    Path savedOffsets = work.resolve("offsets-saved.dat");

    // Snapshot rows.
    exec(db, "INSERT INTO t VALUES (1,'s','snap'),(2,'s','snap'),(3,'s','snap'),(4,'s','snap'),"
        + "(5,'s','snap')");

    // Expected delivery: groups of (op,id) in commit order; order inside a group is free.
    List<Set<String>> expected = new ArrayList<>();
    expected.add(set("r1", "r2", "r3", "r4", "r5"));

    Capture run1 = new Capture(db.engineProps(offsets, "pt_slot"), new PositionTracker(db.dialect()));
    Capture run2 = null;
    try {
      run1.start();
      run1.awaitCount(5);

      // Phase A: the transaction shapes.
      exec(db, "INSERT INTO t VALUES (10,'single','T1')");
      expected.add(set("c10"));
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        c.setAutoCommit(false);
        s.execute("INSERT INTO t VALUES (11,'a','T2')");
        s.execute("INSERT INTO t VALUES (12,'b','T2')");
        s.execute("UPDATE t SET v='u', tx='T2' WHERE id=1");
        s.execute("DELETE FROM t WHERE id=2");
        c.commit();
      }
      expected.add(set("c11", "c12", "u1", "d2"));
      exec(db, "INSERT INTO t VALUES (20,'m','T3'),(21,'m','T3'),(22,'m','T3'),(23,'m','T3')");
      expected.add(set("c20", "c21", "c22", "c23"));
      exec(db, "UPDATE t SET v='mu', tx='T4' WHERE id >= 20 AND id < 30");
      expected.add(set("u20", "u21", "u22", "u23"));
      interleaved(db, 30, 40);
      expected.add(set("c40")); // B committed first
      expected.add(set("c30", "c31"));
      if (db.copySupported()) {
        try (Connection c = db.connect()) {
          c.unwrap(org.postgresql.PGConnection.class).getCopyAPI().copyIn("COPY t FROM STDIN",
              new StringReader("50\tcopy\tT5\n51\tcopy\tT5\n52\tcopy\tT5\n"));
        }
        expected.add(set("c50", "c51", "c52"));
      }
      int phaseA = count(expected);
      run1.awaitCount(phaseA);

      // Phase B: a 20-row transaction; the consumer blocks in its middle so the offset file can
      // be saved at a mid-transaction batch boundary; then more transactions.
      run1.blockOn(d -> d.id() == 100 + BLOCK_AT - 1 && d.op().equals("c"));
      StringBuilder big = new StringBuilder("INSERT INTO t VALUES ");
      Set<String> bigSet = new LinkedHashSet<>();
      for (int i = 0; i < BIG; i++) {
        big.append(i == 0 ? "" : ",").append("(").append(100 + i).append(",'big','TB')");
        bigSet.add("c" + (100 + i));
      }
      exec(db, big.toString());
      expected.add(bigSet);
      run1.awaitBlocked();
      Files.copy(offsets, savedOffsets, StandardCopyOption.REPLACE_EXISTING);
      String restartSlot = db.saveRestartState();
      LOG.info("{}: saved offsets at the {}th change of the big transaction: {}", db.dialect(),
          BLOCK_AT, readOffsets(savedOffsets));
      run1.release();
      exec(db, "UPDATE t SET v='after', tx='T6' WHERE id=10");
      expected.add(set("u10"));
      interleaved(db, 60, 70);
      expected.add(set("c70"));
      expected.add(set("c60", "c61"));
      run1.awaitCount(count(expected));
      run1.close();
      run1.assertNoFailure();

      List<Delivered> first = run1.delivered();
      assertThat(first).hasSize(count(expected));
      assertCommitOrder(first, expected);
      assertStrictlyIncreasing(first);
      assertThat(run1.tracker.clampCount()).isZero();
      logPositions(db, "run 1", first);

      // Run 2: restart from the saved mid-transaction offsets with a fresh tracker.
      Files.copy(savedOffsets, offsets, StandardCopyOption.REPLACE_EXISTING);
      run2 = new Capture(db.engineProps(offsets, restartSlot == null ? "pt_slot" : restartSlot),
          new PositionTracker(db.dialect()));
      run2.start();
      Delivered lastOfRun1 = first.get(first.size() - 1);
      run2.awaitMatch(d -> d.content().equals(lastOfRun1.content()));
      List<Delivered> replayed = run2.delivered();

      // The replay is a suffix of run 1 that starts inside the big transaction...
      Map<String, Delivered> byContent = new HashMap<>();
      first.forEach(d -> byContent.put(d.content(), d));
      assertThat(replayed).isNotEmpty();
      int start = first.indexOf(byContent.get(replayed.get(0).content()));
      assertThat(start).as("first replayed change %s found in run 1", replayed.get(0)).isNotNegative();
      assertThat(replayed.stream().map(Delivered::content).toList())
          .isEqualTo(first.subList(start, first.size()).stream().map(Delivered::content).toList());
      assertThat(replayed.get(0).tx()).as("replay starts inside the big transaction").isEqualTo("TB");
      assertThat(replayed.get(0).id()).as("replay starts after its first change").isGreaterThan(100);
      LOG.info("{}: replay started at {} ({} of {} events re-delivered)", db.dialect(),
          replayed.get(0), replayed.size(), first.size());
      // ...and every re-delivered change has exactly the position it had the first time.
      for (Delivered d : replayed) {
        assertThat(d.pos()).as("position of re-delivered %s", d).isEqualTo(byContent.get(d.content()).pos());
      }

      // Phase C: first-time deliveries after the replay sort after everything before.
      exec(db, "INSERT INTO t VALUES (80,'new','T7')");
      interleaved(db, 90, 95);
      List<Set<String>> phaseC = List.of(set("c80"), set("c95"), set("c90", "c91"));
      run2.awaitCount(replayed.size() + count(phaseC));
      run2.close();
      run2.assertNoFailure();
      List<Delivered> second = run2.delivered();
      assertThat(second).hasSize(replayed.size() + count(phaseC));
      List<Delivered> fresh = second.subList(replayed.size(), second.size());
      assertCommitOrder(fresh, phaseC);
      assertStrictlyIncreasing(second);
      assertThat(run2.tracker.clampCount()).isZero();
      String maxBefore = first.stream().map(Delivered::pos).max(String::compareTo).orElseThrow();
      assertThat(fresh.get(0).pos()).isGreaterThan(maxBefore);
      logPositions(db, "run 2 (new)", fresh);
      LOG.info("{}: scenario took {} ms", db.dialect(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    } finally {
      run1.close();
      if (run2 != null) {
        run2.close();
      }
    }
    snapshotRestart(db);
  }

  /**
   * A snapshot interrupted after a few rows (offsets saved mid-snapshot, nothing written since)
   * and redone from scratch: no row may get a position below the one it got in the first attempt,
   * and rows the first attempt did not deliver must sort after everything it delivered.
   */
  private void snapshotRestart(Db db) throws Exception {
    Path offsets = work.resolve("snap-offsets.dat");
    Path saved = work.resolve("snap-offsets-saved.dat");
    Capture first = new Capture(db.engineProps(offsets, "pt_slot_snap"),
        new PositionTracker(db.dialect()));
    Capture second = null;
    try {
      first.blockOn(d -> first.delivered.size() == 6);
      first.start();
      first.awaitBlocked();
      Files.copy(offsets, saved, StandardCopyOption.REPLACE_EXISTING);
      LOG.info("{}: offsets saved mid-snapshot: {}", db.dialect(), readOffsets(saved));
      first.release();
      first.close(); // the "crash": a later offset flush is thrown away below
      first.assertNoFailure();
      List<Delivered> before = first.delivered();
      assertThat(before).allMatch(d -> d.op().equals("r"));
      assertStrictlyIncreasing(before);

      Files.copy(saved, offsets, StandardCopyOption.REPLACE_EXISTING);
      second = new Capture(db.engineProps(offsets, "pt_slot_snap"), new PositionTracker(db.dialect()));
      second.start();
      int rows;
      try (Connection c = db.connect(); Statement s = c.createStatement();
          java.sql.ResultSet rs = s.executeQuery("SELECT count(*) FROM t")) {
        rs.next();
        rows = rs.getInt(1);
      }
      second.awaitCount(rows);
      second.close();
      second.assertNoFailure();
      List<Delivered> again = second.delivered();
      assertThat(again).hasSize(rows).allMatch(d -> d.op().equals("r"));
      assertStrictlyIncreasing(again);
      Map<String, String> firstPos = new HashMap<>();
      before.forEach(d -> firstPos.put(d.content(), d.pos()));
      String maxFirst = before.get(before.size() - 1).pos();
      for (Delivered d : again) {
        String old = firstPos.get(d.content());
        if (old != null) {
          assertThat(d.pos()).as("re-snapshotted %s", d).isGreaterThanOrEqualTo(old);
        } else {
          assertThat(d.pos()).as("first-time snapshot row %s", d).isGreaterThan(maxFirst);
        }
      }
      LOG.info("{}: snapshot attempt 1 delivered {} rows, last pos {}; attempt 2 first pos {}",
          db.dialect(), before.size(), maxFirst, again.get(0).pos());
    } finally {
      first.close();
      if (second != null) {
        second.close();
      }
    }
  }

  /** A begins and inserts {@code a}, B inserts {@code b} and commits, A inserts a+1 and commits. */
  private static void interleaved(Db db, int a, int b) throws SQLException {
    try (Connection ca = db.connect(); Connection cb = db.connect();
        Statement sa = ca.createStatement(); Statement sb = cb.createStatement()) {
      ca.setAutoCommit(false);
      cb.setAutoCommit(false);
      sa.execute("INSERT INTO t VALUES (" + a + ",'A','A" + a + "')");
      sb.execute("INSERT INTO t VALUES (" + b + ",'B','B" + b + "')");
      cb.commit();
      sa.execute("INSERT INTO t VALUES (" + (a + 1) + ",'A','A" + a + "')");
      ca.commit();
    }
  }

  private static void exec(Db db, String sql) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static Set<String> set(String... items) {
    return new HashSet<>(List.of(items));
  }

  private static int count(List<Set<String>> groups) {
    return groups.stream().mapToInt(Set::size).sum();
  }

  private static void assertCommitOrder(List<Delivered> delivered, List<Set<String>> expected) {
    int i = 0;
    for (Set<String> group : expected) {
      Set<String> got = new HashSet<>();
      for (int k = 0; k < group.size() && i < delivered.size(); k++, i++) {
        got.add(delivered.get(i).op() + delivered.get(i).id());
      }
      assertThat(got).as("transaction delivered as a contiguous group in commit order").isEqualTo(group);
    }
  }

  private static void assertStrictlyIncreasing(List<Delivered> delivered) {
    for (int i = 1; i < delivered.size(); i++) {
      assertThat(delivered.get(i).pos())
          .as("pos of %s after %s", delivered.get(i), delivered.get(i - 1))
          .isGreaterThan(delivered.get(i - 1).pos());
    }
  }

  private static void logPositions(Db db, String label, List<Delivered> delivered) {
    for (Delivered d : delivered) {
      LOG.info("{} {}: {}{} {} pos={} source={}", db.dialect(), label, d.op(), d.id(), d.tx(),
          d.pos(), d.source());
    }
  }

  /** The JSON offsets in a FileOffsetBackingStore file (a serialized map of byte arrays). */
  private static String readOffsets(Path file) {
    try (ObjectInputStream in = new ObjectInputStream(Files.newInputStream(file))) {
      Map<?, ?> m = (Map<?, ?>) in.readObject();
      List<String> out = new ArrayList<>();
      m.forEach((k, v) -> out.add(new String((byte[]) k, StandardCharsets.UTF_8) + " -> "
          + new String((byte[]) v, StandardCharsets.UTF_8)));
      return String.join("; ", out);
    } catch (IOException | ClassNotFoundException e) {
      return "(unreadable: " + e + ")";
    }
  }

  /** One async engine run, its tracker, and what it delivered. */
  private static final class Capture implements AutoCloseable {
    final PositionTracker tracker;
    private final Properties props;
    private final List<Delivered> delivered = Collections.synchronizedList(new ArrayList<>());
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "position-it-engine");
      t.setDaemon(true);
      return t;
    });
    private volatile Predicate<Delivered> blockOn;
    private final CountDownLatch blocked = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private DebeziumEngine<ChangeEvent<String, String>> engine;
    private boolean closed;

    Capture(Properties props, PositionTracker tracker) {
      this.props = props;
      this.tracker = tracker;
      // Small batches, offsets flushed after each: the offset file moves in steps of <= 4 events.
      props.setProperty("max.batch.size", "4");
      props.setProperty("offset.flush.interval.ms", "0");
    }

    void start() {
      engine = DebeziumEngine.create(Json.class)
          .using(props)
          .using((success, message, error) -> {
            if (!success) {
              failure.compareAndSet(null, error != null ? error : new IllegalStateException(message));
            }
          })
          .notifying((ChangeEvent<String, String> e) -> {
            if (e.value() != null) {
              accept(e.value());
            }
          })
          .build();
      executor.execute(engine);
    }

    private void accept(String json) {
      try {
        JsonNode root = MAPPER.readTree(json);
        JsonNode payload = root.path("payload");
        DebeziumChange change = DebeziumJson.parse(root);
        JsonNode image = payload.path("after").isNull() ? payload.path("before") : payload.path("after");
        String content = payload.path("op").asText() + "|" + payload.path("before") + "|"
            + payload.path("after");
        Delivered d = new Delivered(payload.path("op").asText(), image.path("id").asInt(),
            image.path("tx").asText(), content, tracker.position(change), change.source().toString());
        delivered.add(d);
        Predicate<Delivered> p = blockOn;
        if (p != null && p.test(d)) {
          blockOn = null;
          blocked.countDown();
          if (!released.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("not released");
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        failure.compareAndSet(null, e);
        throw e;
      }
    }

    void blockOn(Predicate<Delivered> p) {
      blockOn = p;
    }

    void awaitBlocked() {
      await().atMost(WAIT).until(() -> {
        assertNoFailure();
        return blocked.getCount() == 0;
      });
    }

    void release() {
      released.countDown();
    }

    void awaitCount(int n) {
      await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
        assertNoFailure();
        return delivered.size() >= n;
      });
    }

    void awaitMatch(Predicate<Delivered> p) {
      await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
        assertNoFailure();
        synchronized (delivered) {
          return delivered.stream().anyMatch(p);
        }
      });
    }

    List<Delivered> delivered() {
      synchronized (delivered) {
        return new ArrayList<>(delivered);
      }
    }

    void assertNoFailure() {
      Throwable t = failure.get();
      if (t != null) {
        throw new AssertionError("engine failed", t);
      }
    }

    @Override
    public void close() throws Exception {
      if (closed) {
        return;
      }
      closed = true;
      released.countDown();
      if (engine != null) {
        engine.close();
      }
      executor.shutdown();
      if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("engine did not stop within 30 s");
      }
    }
  }
}
