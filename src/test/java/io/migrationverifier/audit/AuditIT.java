package io.migrationverifier.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit engine on real databases (PostgreSQL on both sides; a MariaDB target for the text key
 * whose collation orders differently from code point), rows hashed in the JVM: every kind of
 * difference found exactly, bisection confined to the differing segment, time-window segments,
 * in-flight writes not reported, resume after a crash without re-scanning, and a 1M-row table.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class AuditIT {
  static PostgresServer pg;
  static MariaDbServer maria;

  @TempDir
  static Path dir;

  @BeforeAll
  static void start() throws SQLException {
    pg = PostgresServer.start();
    pg.createDatabase("legacy");
    pg.createDatabase("modern");
    if (MariaDbServer.available()) {
      maria = MariaDbServer.start();
      maria.createDatabase("modern");
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (maria != null) {
      maria.close();
    }
    if (pg != null) {
      pg.close();
    }
  }

  static void sql(String db, String... statements) throws SQLException {
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      for (String q : statements) {
        s.execute(q);
      }
    }
  }

  static void both(String... statements) throws SQLException {
    sql("legacy", statements);
    sql("modern", statements);
  }

  static VerifierConfig config(String name, String audit, String tables) {
    return Configs.parse("""
        name: %s
        kafka: {bootstrap-servers: embedded}
        source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: postgres, password: ""}
        target: {type: postgres, host: 127.0.0.1, port: %d, database: modern, user: postgres, password: ""}
        verify: {state-dir: "%s", window: 300ms}
        audit: %s
        """.formatted(name, pg.port(), pg.port(), dir.resolve("state-" + name), audit) + tables);
  }

  static Audit.TableReport audit(VerifierConfig c, String table, Audit.Options o, Audit.Listener l)
      throws Exception {
    try (Audit a = new Audit(c, Canonicalizer.forConfig(c), o, l, null)) {
      return a.run(table);
    }
  }

  static Audit.Options jvm(String segments, boolean resume) {
    return new Audit.Options(segments, resume, "jvm");
  }

  /** "KIND key" per difference, sorted. */
  static List<String> found(Audit.TableReport r) {
    return r.discrepancies().stream().map(d -> d.kind() + " " + d.key()).sorted().toList();
  }

  @Test
  void identicalTablesHaveNoDifference() throws Exception {
    both("CREATE TABLE same (id BIGINT PRIMARY KEY, amount NUMERIC(12,2), note TEXT, at TIMESTAMPTZ)",
        "INSERT INTO same SELECT g, g * 1.5, 'n' || g, TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 minute'"
            + " FROM generate_series(1, 5000) g");
    VerifierConfig c = config("same", "{segment-rows: 1000, bisect-rows: 100}", "tables: [{name: same, key: [id]}]");
    Audit.TableReport r = audit(c, "same", jvm("key", false), null);
    assertThat(r.differenceCount()).isZero();
    assertThat(r.suspects()).isZero();
    assertThat(r.sourceRows()).isEqualTo(5000);
    assertThat(r.targetRows()).isEqualTo(5000);
    assertThat(r.segments()).isBetween(5, 6);
    assertThat(r.differingSegments()).isZero();
    assertThat(r.hashing()).isEqualTo("jvm");
    assertThat(AuditCheckpoint.file(c.verify().stateDir(), "same")).doesNotExist();

    // segments sized by time instead of rows: the same verdict, the segment size adapted
    VerifierConfig timed = config("same2", "{segment-rows: 200, target-chunk-time: 200ms}",
        "tables: [{name: same, key: [id]}]");
    Audit.TableReport t = audit(timed, "same", jvm("key", false), null);
    assertThat(t.differenceCount()).isZero();
    assertThat(t.sourceRows()).isEqualTo(5000);
    assertThat(t.segments()).isLessThan(25);
  }

  @Test
  void scatteredDifferencesOfEachKindAreFoundExactly() throws Exception {
    both("CREATE TABLE scattered (id BIGINT PRIMARY KEY, amount NUMERIC(12,2), note TEXT)",
        "INSERT INTO scattered SELECT g, g * 1.5, 'n' || g FROM generate_series(1, 20000) g");
    sql("modern", "DELETE FROM scattered WHERE id IN (1, 7777, 20000)",
        "INSERT INTO scattered VALUES (-5, 1, 'below'), (25000, 2, 'above'), (12345000, 3, 'far')",
        "UPDATE scattered SET note = 'changed' WHERE id = 3333",
        "UPDATE scattered SET amount = 0 WHERE id = 15001",
        "UPDATE scattered SET amount = NULL, note = NULL WHERE id = 19999");
    VerifierConfig c = config("scat", "{segment-rows: 2000, bisect-rows: 100}",
        "tables: [{name: scattered, key: [id]}]");
    Audit.TableReport r = audit(c, "scattered", jvm("key", false), null);
    assertThat(found(r)).containsExactly(
        "MISSING_IN_TARGET {id=1}", "MISSING_IN_TARGET {id=20000}", "MISSING_IN_TARGET {id=7777}",
        "UNEXPECTED_IN_TARGET {id=-5}", "UNEXPECTED_IN_TARGET {id=12345000}", "UNEXPECTED_IN_TARGET {id=25000}",
        "VALUE_MISMATCH {id=15001}", "VALUE_MISMATCH {id=19999}", "VALUE_MISMATCH {id=3333}");
    assertThat(r.differences()).containsEntry(DiscrepancyKind.MISSING_IN_TARGET, 3)
        .containsEntry(DiscrepancyKind.UNEXPECTED_IN_TARGET, 3).containsEntry(DiscrepancyKind.VALUE_MISMATCH, 3);
    Discrepancy m = r.discrepancies().stream().filter(d -> d.key().get("id").equals("19999")).findFirst().get();
    assertThat(m.detector()).isEqualTo("audit");
    assertThat(m.fields()).extracting(f -> f.name()).containsExactly("amount", "note");
    assertThat(m.source()).containsEntry("note", "n19999");
    assertThat(m.target()).containsEntry("note", null);
    Discrepancy missing = r.discrepancies().stream().filter(d -> d.key().get("id").equals("1")).findFirst().get();
    assertThat(missing.target()).isNull();
    assertThat(missing.source()).containsEntry("amount", "1.5");
    assertThat(r.sourceRows()).isEqualTo(20000);
    assertThat(r.targetRows()).isEqualTo(20000);
  }

  @Test
  void differencesConcentratedInOneSegmentBisectOnlyThatSegment() throws Exception {
    both("CREATE TABLE dense (id INT PRIMARY KEY, v TEXT)",
        "INSERT INTO dense SELECT g, md5(g::text) FROM generate_series(1, 10000) g");
    sql("modern", "UPDATE dense SET v = 'x' WHERE id BETWEEN 4001 AND 4010",
        "DELETE FROM dense WHERE id IN (4500, 4501)");
    VerifierConfig c = config("dense", "{segment-rows: 1000, bisect-rows: 50}", "tables: [{name: dense, key: [id]}]");
    Audit.TableReport r = audit(c, "dense", jvm("key", false), null);
    assertThat(r.differingSegments()).isEqualTo(1);
    assertThat(r.differences()).containsEntry(DiscrepancyKind.VALUE_MISMATCH, 10)
        .containsEntry(DiscrepancyKind.MISSING_IN_TARGET, 2);
    assertThat(r.differenceCount()).isEqualTo(12);
  }

  @Test
  void timeWindowSegmentsCompareRowsByKeyWithinADifferingWindow() throws Exception {
    both("CREATE TABLE events (id BIGINT PRIMARY KEY, created_at TIMESTAMP, payload TEXT)",
        "INSERT INTO events SELECT g, TIMESTAMP '2024-05-01 00:00' + g * INTERVAL '10 seconds', 'p' || g"
            + " FROM generate_series(1, 3600) g",
        "INSERT INTO events VALUES (5000, NULL, 'no time'), (5001, NULL, 'no time either')");
    // 3600 rows over 10 hours; differences in the 3rd hour, the last, the NULL segment, and after the source's range
    sql("modern", "UPDATE events SET payload = 'changed' WHERE id = 800",
        "DELETE FROM events WHERE id IN (3599, 5001)",
        "INSERT INTO events VALUES (9000, TIMESTAMP '2024-05-03 00:00', 'late')");
    VerifierConfig c = config("ev", "{time-window: 1h, bisect-rows: 50}", "tables: [{name: events, key: [id]}]");
    List<KeyRange> seen = new ArrayList<>();
    Audit.TableReport r = audit(c, "events", jvm("time:created_at", false), new Audit.Listener() {
      @Override
      public void segmentDone(String table, int done, KeyRange range) {
        seen.add(range);
      }
    });
    assertThat(found(r)).containsExactly("MISSING_IN_TARGET {id=3599}", "MISSING_IN_TARGET {id=5001}",
        "UNEXPECTED_IN_TARGET {id=9000}", "VALUE_MISMATCH {id=800}");
    // 00:00..10:00 = 11 hourly windows (the last open above), plus the NULL segment
    assertThat(r.segments()).isEqualTo(12);
    assertThat(r.differingSegments()).isEqualTo(4);
    assertThat(r.sourceRows()).isEqualTo(3602);
    assertThat(r.targetRows()).isEqualTo(3601);
    assertThat(seen).hasSize(12);

    // interrupted after 5 windows, resumed: the same windows (cut from the checkpoint's plan), the same findings
    assertThatThrownBy(() -> audit(c, "events", jvm("time:created_at", false), new Audit.Listener() {
      @Override
      public void segmentDone(String table, int done, KeyRange range) {
        if (done == 5) {
          throw new IllegalStateException("killed");
        }
      }
    })).hasMessage("killed");
    List<Integer> resumed = new ArrayList<>();
    Audit.TableReport again = audit(c, "events", jvm("time:created_at", true), new Audit.Listener() {
      @Override
      public void segmentDone(String table, int done, KeyRange range) {
        resumed.add(done);
      }
    });
    assertThat(resumed).containsExactly(6, 7, 8, 9, 10, 11, 12);
    assertThat(found(again)).isEqualTo(found(r));
    assertThat(again.sourceRows()).isEqualTo(3602);

    // a checkpoint of time segments is not resumed as key segments
    assertThatThrownBy(() -> audit(c, "events", jvm("time:created_at", false), new Audit.Listener() {
      @Override
      public void segmentDone(String table, int done, KeyRange range) {
        throw new IllegalStateException("killed");
      }
    })).hasMessage("killed");
    assertThatThrownBy(() -> audit(c, "events", jvm("key", true), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was made with time:created_at");
    // nor with another window length: its windows are counted from the start, so some would be skipped
    VerifierConfig daily = config("ev", "{time-window: 1d, bisect-rows: 50}", "tables: [{name: events, key: [id]}]");
    assertThatThrownBy(() -> audit(daily, "events", jvm("time:created_at", true), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("audit.time-window PT1H");

    assertThatThrownBy(() -> audit(c, "events", jvm("time:payload", false), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a timestamp");
  }

  @Test
  void compositeTextKeyOrdersByCodePointOnBothSidesAgainstAMariaDbTarget() throws Exception {
    assumeTrue(maria != null, "mariadbd not installed");
    String[] words = {"apple", "Banana", "cherry", "Élan", "zeta", "Zulu", "日本", "éclair", "a b", "ab", "Ab2",
        "Ωmega", "straße", "x"};
    StringBuilder values = new StringBuilder();
    for (int i = 0; i < words.length; i++) {
      for (int j = 0; j < words.length; j++) {
        for (int n = 0; n < 10; n++) {
          if (values.length() > 0) {
            values.append(", ");
          }
          values.append("('").append(words[i]).append("', '").append(words[j]).append(n).append("', ")
              .append(i * 1000 + j * 10 + n).append(")");
        }
      }
    }
    sql("legacy", "CREATE TABLE labels (region TEXT, code VARCHAR(40), val INT, PRIMARY KEY (region, code))",
        "INSERT INTO labels VALUES " + values);
    try (Connection m = maria.connect("modern"); Statement s = m.createStatement()) {
      s.execute("CREATE TABLE labels (region VARCHAR(40) COLLATE utf8mb4_general_ci,"
          + " code VARCHAR(40) COLLATE utf8mb4_general_ci, val INT, PRIMARY KEY (region, code))"
          + " CHARACTER SET utf8mb4");
      s.execute("INSERT INTO labels VALUES " + values);
      s.execute("UPDATE labels SET val = -1 WHERE region = 'Élan' AND code = 'Banana3'");
      s.execute("DELETE FROM labels WHERE region = '日本' AND code = 'zeta0'");
      s.execute("INSERT INTO labels VALUES ('Zulu', 'new', 1)");
    }
    VerifierConfig c = Configs.parse("""
        name: txt
        kafka: {bootstrap-servers: embedded}
        source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: postgres, password: ""}
        target: {type: mariadb, host: 127.0.0.1, port: %d, database: modern, user: %s, password: "${env:MV_TEST_MARIADB_PASSWORD}"}
        verify: {state-dir: "%s", window: 300ms}
        audit: {segment-rows: 97, bisect-rows: 20}
        tables: [{name: labels, key: [region, code]}]
        """.formatted(pg.port(), maria.port(), MariaDbServer.USER, dir.resolve("txt")));
    Audit.TableReport r = audit(c, "labels", jvm("key", false), null);
    assertThat(found(r)).containsExactly("MISSING_IN_TARGET {code=zeta0, region=日本}",
        "UNEXPECTED_IN_TARGET {code=new, region=Zulu}", "VALUE_MISMATCH {code=Banana3, region=Élan}");
    assertThat(r.sourceRows()).isEqualTo(words.length * words.length * 10L);
    assertThat(r.targetRows()).isEqualTo(r.sourceRows());
    assertThat(r.differingSegments()).isBetween(2, 3);
  }

  @Test
  void aLatin1TextKeyOnAMariaDbSourceIsCutByCodePointLikeOnPostgres() throws Exception {
    assumeTrue(maria != null, "mariadbd not installed");
    String[] words = {"apple", "Zebra", "éclair", "Ärger", "zoo", "Éa", "ñu", "ÿes", "Ab", "b"};
    StringBuilder values = new StringBuilder();
    for (String w : words) {
      for (int n = 0; n < 30; n++) {
        values.append(values.length() > 0 ? ", " : "").append("('").append(w).append(n).append("', ").append(n)
            .append(")");
      }
    }
    try (Connection m = maria.connect("modern"); Statement st = m.createStatement()) {
      // a legacy latin1 table: its own bytes do not order like the UTF-8 of the bounds bound against them
      st.execute("CREATE TABLE names_l1 (name VARCHAR(40) COLLATE latin1_swedish_ci PRIMARY KEY, n INT)"
          + " CHARACTER SET latin1");
      st.execute("INSERT INTO names_l1 VALUES " + values);
    }
    sql("modern", "CREATE TABLE names_l1 (name TEXT PRIMARY KEY, n INT)", "INSERT INTO names_l1 VALUES " + values,
        "UPDATE names_l1 SET n = -1 WHERE name = 'ñu7'", "DELETE FROM names_l1 WHERE name = 'Ärger29'");
    VerifierConfig c = Configs.parse("""
        name: l1
        kafka: {bootstrap-servers: embedded}
        source: {type: mariadb, host: 127.0.0.1, port: %d, database: modern, user: %s, password: "${env:MV_TEST_MARIADB_PASSWORD}"}
        target: {type: postgres, host: 127.0.0.1, port: %d, database: modern, user: postgres, password: ""}
        verify: {state-dir: "%s", window: 300ms}
        audit: {segment-rows: 23, bisect-rows: 10}
        tables: [{name: names_l1, key: [name]}]
        """.formatted(maria.port(), MariaDbServer.USER, pg.port(), dir.resolve("l1")));
    Audit.TableReport r = audit(c, "names_l1", jvm("key", false), null);
    assertThat(found(r)).containsExactly("MISSING_IN_TARGET {name=Ärger29}", "VALUE_MISMATCH {name=ñu7}");
    assertThat(r.sourceRows()).isEqualTo(300);
    assertThat(r.differingSegments()).isBetween(1, 2);
  }

  @Test
  void timeWindowsOverAMariaDbTargetsDatetimeColumn() throws Exception {
    assumeTrue(maria != null, "mariadbd not installed");
    sql("legacy", "CREATE TABLE visits (id INT PRIMARY KEY, at TIMESTAMP(3), who TEXT)",
        "INSERT INTO visits SELECT g, TIMESTAMP '2024-05-01 00:00' + g * INTERVAL '1 minute', 'w' || g"
            + " FROM generate_series(1, 600) g");
    try (Connection m = maria.connect("modern"); Statement s = m.createStatement()) {
      s.execute("CREATE TABLE visits (id INT PRIMARY KEY, at DATETIME(3), who VARCHAR(20))");
      StringBuilder v = new StringBuilder();
      for (int g = 1; g <= 600; g++) {
        v.append(g == 1 ? "" : ", ").append("(").append(g).append(", TIMESTAMP '2024-05-01 00:00' + INTERVAL ")
            .append(g).append(" MINUTE, 'w").append(g).append("')");
      }
      s.execute("INSERT INTO visits VALUES " + v);
      s.execute("UPDATE visits SET who = 'other' WHERE id = 130");
      s.execute("UPDATE visits SET at = at + INTERVAL 1 SECOND WHERE id = 599"); // moves within its hour
      s.execute("DELETE FROM visits WHERE id = 60"); // 01:00:00 exactly: the first row of the second window
    }
    VerifierConfig c = Configs.parse("""
        name: mtime
        kafka: {bootstrap-servers: embedded}
        source: {type: postgres, host: 127.0.0.1, port: %d, database: legacy, user: postgres, password: ""}
        target: {type: mariadb, host: 127.0.0.1, port: %d, database: modern, user: %s, password: "${env:MV_TEST_MARIADB_PASSWORD}"}
        verify: {state-dir: "%s", window: 300ms}
        audit: {time-window: 1h, bisect-rows: 20}
        tables: [{name: visits, key: [id]}]
        """.formatted(pg.port(), maria.port(), MariaDbServer.USER, dir.resolve("mtime")));
    Audit.TableReport r = audit(c, "visits", jvm("time:at", false), null);
    assertThat(found(r)).containsExactly("MISSING_IN_TARGET {id=60}", "VALUE_MISMATCH {id=130}",
        "VALUE_MISMATCH {id=599}");
    assertThat(r.segments()).isEqualTo(12); // 00:00 .. 10:00, plus NULL
    assertThat(r.differingSegments()).isEqualTo(3);
    assertThat(r.targetRows()).isEqualTo(599);
  }

  @Test
  void writesInFlightDuringTheAuditAreNotReported() throws Exception {
    both("CREATE TABLE hot (id INT PRIMARY KEY, v TEXT)",
        "INSERT INTO hot SELECT g, 'v' FROM generate_series(1, 20000) g");
    sql("modern", "UPDATE hot SET v = 'real' WHERE id = 12345");
    VerifierConfig c = config("hot", "{segment-rows: 1000, bisect-rows: 100, max-rows-per-second: 40000}",
        "tables: [{name: hot, key: [id], window: 2s}]");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger writes = new AtomicInteger();
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      Random rnd = new Random(7);
      try (Connection s = pg.connect("legacy"); Connection t = pg.connect("modern")) {
        while (!stop.get()) {
          int id = 1 + rnd.nextInt(20000);
          if (id == 12345 || id == 12500) {
            continue;
          }
          String v = "w" + writes.incrementAndGet();
          try (Statement st = s.createStatement()) {
            st.execute("UPDATE hot SET v = '" + v + "' WHERE id = " + id);
          }
          Thread.sleep(30); // the replication lag: well under the 1 s window
          try (Statement st = t.createStatement()) {
            st.execute("UPDATE hot SET v = '" + v + "' WHERE id = " + id);
          }
        }
      } catch (Throwable e) {
        failed.set(e);
      }
    }, "writer");
    writer.start();
    // besides the random writes, one that is certainly in flight when the scan reaches its row: written
    // on the source after segment 3, on the target 1.5 s later (the scan reaches segment 13 well before)
    Thread lagging = new Thread(() -> {
      try {
        Thread.sleep(1500);
        sql("modern", "UPDATE hot SET v = 'in flight' WHERE id = 12500");
      } catch (Exception e) {
        failed.set(e);
      }
    }, "lagging");
    Audit.TableReport r;
    try {
      r = audit(c, "hot", jvm("key", false), new Audit.Listener() {
        @Override
        public void segmentDone(String table, int done, KeyRange range) {
          if (done == 3) {
            try {
              sql("legacy", "UPDATE hot SET v = 'in flight' WHERE id = 12500");
            } catch (SQLException e) {
              throw new IllegalStateException(e);
            }
            lagging.start();
          }
        }
      });
    } finally {
      stop.set(true);
      writer.join(10_000);
      lagging.join(10_000);
    }
    assertThat(r.suspects()).as("the in-flight write was seen").isGreaterThanOrEqualTo(2);
    assertThat(failed.get()).isNull();
    assertThat(writes.get()).isGreaterThan(10);
    assertThat(found(r)).containsExactly("VALUE_MISMATCH {id=12345}");
    System.out.printf("AUDIT-HOT: %d writes during the audit, %d suspect rows, all cleared but the real one%n",
        writes.get(), r.suspects());
  }

  @Test
  void resumeAfterACrashContinuesWithoutRescanningAndReportsTheSameDifferences() throws Exception {
    both("CREATE TABLE crash (id BIGINT PRIMARY KEY, v TEXT)",
        "INSERT INTO crash SELECT g, md5(g::text) FROM generate_series(1, 10000) g");
    sql("modern", "UPDATE crash SET v = 'x' WHERE id = 1500", "DELETE FROM crash WHERE id = 7500");
    VerifierConfig c = config("crash", "{segment-rows: 1000, bisect-rows: 100}", "tables: [{name: crash, key: [id]}]");
    Path cp = AuditCheckpoint.file(c.verify().stateDir(), "crash");

    assertThatThrownBy(() -> audit(c, "crash", jvm("key", false), new Audit.Listener() {
      @Override
      public void segmentDone(String table, int done, KeyRange range) {
        if (done == 4) {
          throw new IllegalStateException("killed");
        }
      }
    })).hasMessage("killed");
    AuditCheckpoint saved = AuditCheckpoint.read(cp).orElseThrow();
    assertThat(saved.segmentsDone()).isEqualTo(4);
    assertThat(saved.lower()).containsExactly("4000");
    assertThat(saved.suspects()).extracting(s -> s.key().key().get("id")).containsExactly("1500");

    List<Integer> resumed = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    Audit.TableReport r = audit(c, "crash", jvm("key", true), new Audit.Listener() {
      @Override
      public void segmentDone(String table, int done, KeyRange range) {
        resumed.add(done);
        assertThat(range.lower()).isNotNull(); // nothing below 4000 again
      }

      @Override
      public void note(String message) {
        notes.add(message);
      }
    });
    assertThat(resumed).startsWith(5).doesNotContain(1, 2, 3, 4);
    assertThat(r.segmentsResumed()).isEqualTo(4);
    assertThat(found(r)).containsExactly("MISSING_IN_TARGET {id=7500}", "VALUE_MISMATCH {id=1500}");
    assertThat(r.sourceRows()).isEqualTo(10000);
    assertThat(notes).anyMatch(n -> n.contains("resuming after 4 segments with 1 suspects"));
    assertThat(cp).doesNotExist();

    // a checkpoint without --resume is ignored, and said so
    new AuditCheckpoint("crash", "key", List.of("9000"), null, null, 9, 0, 9000, 9000, 10, false, List.of())
        .write(cp);
    notes.clear();
    Audit.TableReport fresh = audit(c, "crash", jvm("key", false), new Audit.Listener() {
      @Override
      public void note(String message) {
        notes.add(message);
      }
    });
    assertThat(notes).anyMatch(n -> n.contains("ignoring the checkpoint"));
    assertThat(fresh.segmentsResumed()).isZero();
    assertThat(found(fresh)).hasSize(2);
  }

  @Test
  void aMillionRowsWithAFewDifferences() throws Exception {
    both("CREATE TABLE big (id BIGINT PRIMARY KEY, amount NUMERIC(12,2), note TEXT, at TIMESTAMPTZ)",
        "INSERT INTO big SELECT g, g * 0.25, 'note ' || g, TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 second'"
            + " FROM generate_series(1, 1000000) g",
        "ANALYZE big");
    sql("modern", "DELETE FROM big WHERE id IN (17, 654321)", "UPDATE big SET note = 'drift' WHERE id = 999999",
        "UPDATE big SET amount = amount + 0.01 WHERE id = 400000", "INSERT INTO big VALUES (1000001, 1, 'x', NULL)");
    VerifierConfig c = config("big", "{segment-rows: 20000, bisect-rows: 1000, fetch-size: 10000}",
        "tables: [{name: big, key: [id]}]");
    long t0 = System.nanoTime();
    Audit.TableReport r = audit(c, "big", jvm("key", false), null);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(found(r)).containsExactly("MISSING_IN_TARGET {id=17}", "MISSING_IN_TARGET {id=654321}",
        "UNEXPECTED_IN_TARGET {id=1000001}", "VALUE_MISMATCH {id=400000}", "VALUE_MISMATCH {id=999999}");
    assertThat(r.sourceRows()).isEqualTo(1_000_000);
    System.out.printf("AUDIT-1M jvm: %d ms, %d rows/s (both sides), %d segments, %d differing%n", ms,
        r.rowsPerSecond(), r.segments(), r.differingSegments());

    // The same audit with the checksums pushed into SQL (every column type of this table allows it):
    // the same five differences, found through the same bisection.
    long t1 = System.nanoTime();
    Audit.TableReport sql = audit(c, "big", new Audit.Options("key", false, "auto"), null);
    assertThat(sql.hashing()).isEqualTo("sql");
    assertThat(found(sql)).isEqualTo(found(r));
    System.out.printf("AUDIT-1M sql: %d ms, %d rows/s (both sides), %d segments, %d differing%n",
        (System.nanoTime() - t1) / 1_000_000, sql.rowsPerSecond(), sql.segments(), sql.differingSegments());
  }
}
