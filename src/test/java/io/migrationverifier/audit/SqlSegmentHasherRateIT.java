package io.migrationverifier.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.migrationverifier.audit.SegmentHasher.Summary;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How fast a no-difference audit scans PostgreSQL to PostgreSQL with the hashing in SQL: 1M rows
 * of a typical table (integers, decimal, text, timestamp, boolean) per side, summarized whole and
 * in ten 100k-row segments. Prints rows/s; asserts only that the sides agree. For comparison the
 * JVM path ({@link JvmSegmentHasher}) on the first 200k rows, and PostgreSQL to MariaDB.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class SqlSegmentHasherRateIT {
  private static final int ROWS = 1_000_000;

  private static final String DDL = """
      CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INTEGER NOT NULL, amount NUMERIC(12,2),
        status VARCHAR(20), note TEXT, created_at TIMESTAMP(6), paid BOOLEAN)""";

  private static final String FILL = """
      INSERT INTO orders SELECT g, g % 10007, (g % 100000) * 0.25, 'status-' || (g % 5),
        CASE WHEN g % 10 = 0 THEN NULL ELSE 'note for order ' || g END,
        TIMESTAMP '2024-01-01' + g * interval '1.000123 second', g % 2 = 0
      FROM generate_series(1, :rows) g""".replace(":rows", Integer.toString(ROWS));

  private static final String MARIA_DDL = """
      CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2),
        status VARCHAR(20), note TEXT, created_at DATETIME(6), paid TINYINT(1)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""";

  private static final String MARIA_FILL = """
      INSERT INTO orders SELECT seq, seq % 10007, (seq % 100000) * 0.25, CONCAT('status-', seq % 5),
        CASE WHEN seq % 10 = 0 THEN NULL ELSE CONCAT('note for order ', seq) END,
        TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (seq * 1000123) MICROSECOND, seq % 2 = 0
      FROM seq_1_to_:rows""".replace(":rows", Integer.toString(ROWS));

  static PostgresServer pg;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresServer.start();
    for (String db : List.of("legacy", "modern")) {
      pg.createDatabase(db);
      try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
        s.execute(DDL);
        s.execute(FILL);
        s.execute("VACUUM ANALYZE orders");
      }
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  /** PostgreSQL to MariaDB, SQL path only: both sides' whole table, one after the other. */
  @Test
  void noDifferenceScanRatePostgresToMariaDb() throws Exception {
    assumeTrue(MariaDbServer.available(), "mariadbd not installed");
    try (MariaDbServer maria = MariaDbServer.start()) {
      maria.createDatabase("modern");
      try (Connection c = maria.connect("modern"); Statement s = c.createStatement()) {
        s.execute(MARIA_DDL);
        s.execute(MARIA_FILL);
        s.execute("ANALYZE TABLE orders");
      }
      VerifierConfig config = Configs.parse("name: rate\n"
          + "kafka: {bootstrap-servers: embedded}\n"
          + "source: {type: postgres, host: 127.0.0.1, port: " + pg.port()
          + ", database: legacy, user: postgres, password: \"\"}\n"
          + "target: {type: mariadb, host: 127.0.0.1, port: " + maria.port() + ", database: modern, user: "
          + MariaDbServer.USER + ", password: \"${env:MV_TEST_MARIADB_PASSWORD}\"}\n"
          + "tables:\n"
          + "  - {name: orders, source-table: public.orders, target-table: orders, key: [id]}\n");
      try (RowReader reader = new RowReader(config, Canonicalizer.forConfig(config));
          SqlSegmentHasher h = SqlSegmentHasher.forTable(config, "orders", reader).orElseThrow()) {
        h.summarize(Side.TARGET, "orders", new KeyRange(null, List.of("1000")));
        long t0 = System.nanoTime();
        Summary s = h.summarize(Side.SOURCE, "orders", KeyRange.ALL);
        double pgSeconds = (System.nanoTime() - t0) / 1e9;
        long t1 = System.nanoTime();
        Summary t = h.summarize(Side.TARGET, "orders", KeyRange.ALL);
        double mariaSeconds = (System.nanoTime() - t1) / 1e9;
        assertThat(t).isEqualTo(s);
        System.out.println(String.format(Locale.ROOT,
            "SQL-HASH RATE PG->MariaDB, %d rows per side, no differences: PostgreSQL side %.2f s = %.0f rows/s,"
                + " MariaDB side %.2f s = %.0f rows/s, both one after the other %.0f rows/s",
            ROWS, pgSeconds, ROWS / pgSeconds, mariaSeconds, ROWS / mariaSeconds, ROWS / (pgSeconds + mariaSeconds)));
      }
    }
  }

  @Test
  void noDifferenceScanRate() throws Exception {
    {
      VerifierConfig config = Configs.parse("name: rate\n"
          + "kafka: {bootstrap-servers: embedded}\n"
          + "source: {type: postgres, host: 127.0.0.1, port: " + pg.port()
          + ", database: legacy, user: postgres, password: \"\"}\n"
          + "target: {type: postgres, host: 127.0.0.1, port: " + pg.port()
          + ", database: modern, user: postgres, password: \"\"}\n"
          + "tables:\n"
          + "  - {name: orders, source-table: public.orders, target-table: public.orders, key: [id]}\n");
      try (RowReader reader = new RowReader(config, Canonicalizer.forConfig(config));
          SqlSegmentHasher h = SqlSegmentHasher.forTable(config, "orders", reader).orElseThrow()) {
        h.summarize(Side.SOURCE, "orders", new KeyRange(null, List.of("1000"))); // connect, warm up

        long t0 = System.nanoTime();
        Summary s = h.summarize(Side.SOURCE, "orders", KeyRange.ALL);
        Summary t = h.summarize(Side.TARGET, "orders", KeyRange.ALL);
        double whole = (System.nanoTime() - t0) / 1e9;
        assertThat(s.count()).isEqualTo(ROWS);
        assertThat(t).isEqualTo(s);

        long t1 = System.nanoTime();
        int segment = ROWS / 10;
        for (int i = 0; i < 10; i++) {
          KeyRange r = new KeyRange(i == 0 ? null : List.of(Long.toString((long) i * segment)),
              List.of(Long.toString((long) (i + 1) * segment)));
          Summary a = h.summarize(Side.SOURCE, "orders", r);
          assertThat(h.summarize(Side.TARGET, "orders", r)).isEqualTo(a);
          assertThat(a.count()).isEqualTo(segment);
        }
        double segmented = (System.nanoTime() - t1) / 1e9;

        int jvmRows = 200_000;
        JvmSegmentHasher jvm = new JvmSegmentHasher(reader, 10_000);
        KeyRange jr = new KeyRange(null, List.of(Long.toString(jvmRows)));
        long t2 = System.nanoTime();
        Summary js = jvm.summarize(Side.SOURCE, "orders", jr);
        Summary jt = jvm.summarize(Side.TARGET, "orders", jr);
        double jvmSeconds = (System.nanoTime() - t2) / 1e9;
        assertThat(jt).isEqualTo(js);

        System.out.println(String.format(Locale.ROOT,
            "SQL-HASH RATE PG->PG, %d rows per side, no differences, both sides summarized one after the other:"
                + " whole table %.2f s = %.0f rows/s; 10 segments %.2f s = %.0f rows/s;"
                + " JVM path %d rows %.2f s = %.0f rows/s",
            ROWS, whole, ROWS / whole, segmented, ROWS / segmented, jvmRows, jvmSeconds,
            jvmRows / jvmSeconds));
      }
    }
  }
}
