package io.migrationverifier.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.canonical.TableCanonicalizer;
import io.migrationverifier.capture.DebeziumChange;
import io.migrationverifier.capture.DebeziumJson;
import io.migrationverifier.cli.CheckCommand;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.testutil.Configs;
import io.migrationverifier.testutil.MariaDbServer;
import io.migrationverifier.testutil.PostgresServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TimeZone;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The on-demand read path must agree with the stream to the bit: the golden {@code traps} table
 * (src/test/resources/golden/README.md) is created in a real PostgreSQL and a real MariaDB with
 * the same rows and live changes that produced the golden Debezium events, every id is read with
 * {@link RowReader}, and each canonical row must equal, column by column and hash by hash, the
 * canonical row the capture makes of the LAST golden event of that id (absent after the delete).
 *
 * <p>The JVM's default time zone is set to America/New_York for the whole class: nothing on the
 * read path may depend on it (Debezium's MariaDB snapshot does, FIELD-NOTES; this reader must not).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RowReaderIT {

  /** The rules of GoldenEventsTest (RULES). */
  private static final String RULES = """
      tables:
        - name: traps
          source-table: public.traps
          target-table: modern.traps
          key: [id]
          columns:
            - {name: doc, type: json}          # MariaDB JSON is LONGTEXT to Debezium
            - {name: doc_json, type: json}
            - {name: created_at, precision: millis}   # DATETIME(3) on the target
            - {name: name, trim: true}
            - {name: ext_id, type: uuid}       # CHAR(36) on the target
      """;

  // ---- the golden table (copied from GoldenCapture) ---------------------------------------------

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

  private static final Map<String, String> PG_DEFAULTS = defaults(true);
  private static final Map<String, String> MARIA_DEFAULTS = defaults(false);

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

  private static final List<Long> GOLDEN_IDS = List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 20L, 21L);

  // ---- fixture ------------------------------------------------------------------------------

  static PostgresServer pg;
  static MariaDbServer maria;
  static TimeZone previousZone;
  static VerifierConfig config;
  static Canonicalizer canonicalizer;
  static RowReader reader;

  @BeforeAll
  static void start() throws Exception {
    previousZone = TimeZone.getDefault();
    TimeZone.setDefault(TimeZone.getTimeZone("America/New_York"));
    pg = PostgresServer.start();
    pg.createDatabase("legacy");
    try (Connection c = pg.connect("legacy")) {
      setUp(c, PG_DDL, PG_DEFAULTS, true);
    }
    if (MariaDbServer.available()) {
      maria = MariaDbServer.start();
      maria.createDatabase("modern");
      try (Connection c = maria.connect("modern")) {
        setUp(c, MARIA_DDL, MARIA_DEFAULTS, false);
      }
    }
    config = Configs.parse(configYaml(maria == null ? 1 : maria.port()));
    canonicalizer = Canonicalizer.forConfig(config);
    reader = new RowReader(config, canonicalizer);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (reader != null) {
        reader.close();
      }
      if (maria != null) {
        maria.close();
      }
      if (pg != null) {
        pg.close();
      }
    } finally {
      TimeZone.setDefault(previousZone);
    }
  }

  private static String configYaml(int mariaPort) {
    return configYaml(mariaPort, "${env:MV_TEST_MARIADB_PASSWORD}");
  }

  /** For {@code check} run in this JVM, which reads System.getenv: the password from a file. */
  private static String configFileYaml(int mariaPort) {
    return configYaml(mariaPort, "${file:" + Configs.secretFile(Configs.MARIADB_PASSWORD) + "}");
  }

  private static String configYaml(int mariaPort, String password) {
    return "name: check-it\n"
        + "kafka: {bootstrap-servers: embedded}\n"
        + "source: {type: postgres, host: 127.0.0.1, port: " + pg.port() + ", database: legacy, user: "
        + PostgresServer.USER + ", password: \"\"}\n"
        + "target: {type: mariadb, host: 127.0.0.1, port: " + mariaPort + ", database: modern, user: "
        + MariaDbServer.USER + ", password: \"" + password + "\"}\n"
        + RULES;
  }

  private static void setUp(Connection c, String ddl, Map<String, String> defaults, boolean isPg) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(ddl);
      for (Row r : SNAPSHOT) {
        s.execute(insert(r.id(), defaults, isPg ? r.pg() : r.maria()));
      }
      for (String sql : liveStatements(isPg)) {
        s.execute(sql);
      }
    }
  }

  // ---- golden events --------------------------------------------------------------------------

  /** The state after the last golden event of each id: its canonical row, or empty after a delete. */
  record Golden(Map<Long, Optional<CanonicalRow>> rows, Map<String, ColumnType> types) {}

  static Golden golden(String db, Side side, Canonicalizer c) throws IOException {
    Map<Long, Optional<CanonicalRow>> rows = new TreeMap<>();
    Map<String, ColumnType> types = null;
    try (InputStream in = RowReaderIT.class.getResourceAsStream("/golden/" + db + "/traps.jsonl")) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      for (String line : text.split("\n")) {
        if (line.isBlank()) {
          continue;
        }
        DebeziumChange ch = DebeziumJson.parse(line);
        TableCanonicalizer tc = c.physicalTable(side, ch.schemaOrDatabase() + "." + ch.table()).orElseThrow();
        CanonicalRow row = tc.row(ch.image(), ch.types());
        long id = Long.parseLong(tc.key(row).key().get("id"));
        rows.put(id, ch.op() == Op.DELETE ? Optional.empty() : Optional.of(row));
        if (types == null) {
          types = ch.types();
        }
      }
    }
    return new Golden(rows, types);
  }

  private static void assertSameAsGolden(String db, Side side) throws Exception {
    Golden golden = golden(db, side, canonicalizer);
    assertThat(golden.rows().keySet()).containsExactlyElementsOf(GOLDEN_IDS);
    for (long id : GOLDEN_IDS) {
      Optional<CanonicalRow> expected = golden.rows().get(id);
      Optional<CanonicalRow> actual = reader.read(side, "traps", Map.of("id", Long.toString(id)));
      assertThat(actual.isPresent()).as(db + " id " + id + " present").isEqualTo(expected.isPresent());
      if (expected.isEmpty()) {
        continue;
      }
      CanonicalRow e = expected.get();
      CanonicalRow a = actual.get();
      assertThat(a.values().keySet()).as(db + " id " + id + " columns").containsExactlyElementsOf(e.values().keySet());
      for (String col : e.values().keySet()) {
        assertThat(a.get(col)).as(db + " id " + id + " column " + col).isEqualTo(e.get(col));
      }
      assertThat(a.hash()).as(db + " id " + id + " hash").isEqualTo(e.hash());
      assertThat(a).isEqualTo(e);
    }
  }

  private static void assertTypesAsDebeziumSays(String db, Side side) throws Exception {
    Map<String, ColumnType> expected = golden(db, side, canonicalizer).types();
    Map<String, ColumnType> actual = reader.columnTypes(side, "traps");
    assertThat(actual.keySet()).containsExactlyElementsOf(COLUMNS);
    for (String col : COLUMNS) {
      assertThat(actual.get(col)).as(db + " column " + col).isEqualTo(expected.get(col));
    }
  }

  // ---- tests -----------------------------------------------------------------------------------

  @Test
  void postgresRowsCanonicalizeExactlyAsTheirGoldenDebeziumEvents() throws Exception {
    assertSameAsGolden("postgres", Side.SOURCE);
  }

  @Test
  void postgresColumnTypesAreDebeziumsTypes() throws Exception {
    assertTypesAsDebeziumSays("postgres", Side.SOURCE);
  }

  @Test
  void mariadbRowsCanonicalizeExactlyAsTheirGoldenDebeziumEvents() throws Exception {
    assumeTrue(maria != null, "mariadbd not installed");
    assertSameAsGolden("mariadb", Side.TARGET);
  }

  @Test
  void mariadbColumnTypesAreDebeziumsTypes() throws Exception {
    assumeTrue(maria != null, "mariadbd not installed");
    assertTypesAsDebeziumSays("mariadb", Side.TARGET);
  }

  @Test
  void keysAreBoundByTypeAndNormalized() throws Exception {
    // "007" for a BIGINT key is the integer 7
    assertThat(reader.read(Side.SOURCE, "traps", Map.of("id", "007"))).isPresent();
    assertThat(reader.canonicalKey(Side.SOURCE, "traps", Map.of("id", " 007")).key()).containsEntry("id", "7");
    assertThat(reader.read(Side.SOURCE, "traps", Map.of("id", "999"))).isEmpty();
    assertThat(reader.read(Side.SOURCE, "traps", Map.of("id", "8"))).isEmpty(); // deleted
    assertThatThrownBy(() -> reader.read(Side.SOURCE, "traps", Map.of("id", "abc")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id");
    assertThatThrownBy(() -> reader.read(Side.SOURCE, "nope", Map.of("id", "1")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown table");
    assertThatThrownBy(() -> reader.read(Side.SOURCE, "traps", Map.of("qty", "1")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyed by");
  }

  @Test
  void keysOfOtherTypesAreBoundWithTheirColumnTypes() throws Exception {
    // uuid / timestamptz / date / numeric / bytea / boolean / text / timestamp keys on PostgreSQL,
    // each read back as the same canonical row the full-table reader gives
    String yaml = configYaml(maria == null ? 1 : maria.port()).replace(RULES, """
        tables:
          - {name: by_uuid, source-table: public.traps, target-table: modern.traps, key: [ext_id]}
          - {name: by_zoned, source-table: public.traps, target-table: modern.traps, key: [updated_at]}
          - {name: by_local, source-table: public.traps, target-table: modern.traps, key: [created_at]}
          - {name: by_day, source-table: public.traps, target-table: modern.traps, key: [day, at_time]}
          - {name: by_amount, source-table: public.traps, target-table: modern.traps, key: [amount]}
          - {name: by_payload, source-table: public.traps, target-table: modern.traps, key: [payload]}
          - {name: by_name, source-table: public.traps, target-table: modern.traps, key: [name, active]}
        """);
    VerifierConfig cfg = Configs.parse(yaml);
    Canonicalizer c = Canonicalizer.forConfig(cfg);
    try (RowReader r = new RowReader(cfg, c)) {
      Optional<CanonicalRow> row5 = r.read(Side.SOURCE, "by_zoned", Map.of("updated_at", "2024-05-01T10:00:00.654321Z"));
      assertThat(row5).isPresent();
      assertThat(row5.get().get("id")).isEqualTo("5");
      // the zone-less TIMESTAMP(6) key in its canonical form (UTC instant of the side's zone: UTC here)
      Optional<CanonicalRow> byLocal = r.read(Side.SOURCE, "by_local",
          Map.of("created_at", "2024-05-01T10:00:00.123456Z"));
      assertThat(byLocal.map(x -> x.get("id"))).contains("5");
      // ... and as the database's own text
      assertThat(r.read(Side.SOURCE, "by_local", Map.of("created_at", "2024-05-01 10:00:00.123456"))
          .map(x -> x.get("id"))).contains("5");
      assertThat(r.read(Side.SOURCE, "by_day", Map.of("day", "1999-12-31", "at_time", "23:59:59.999"))
          .map(x -> x.get("id"))).contains("21");
      assertThat(r.read(Side.SOURCE, "by_amount", Map.of("amount", "-0")).map(x -> x.get("id"))).contains("3");
      assertThat(r.read(Side.SOURCE, "by_payload", Map.of("payload", "cafe"))).isPresent();
      assertThat(r.read(Side.SOURCE, "by_name", Map.of("name", "Alice", "active", "true"))
          .map(x -> x.get("id"))).contains("13");
      // canonical uuid text is lower case; PG stores uuids, the upper-case literal of id 11 included
      assertThat(r.read(Side.SOURCE, "by_uuid", Map.of("ext_id", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")))
          .isPresent();
      if (maria != null) {
        assertThat(r.read(Side.TARGET, "by_zoned", Map.of("updated_at", "2024-05-01T10:00:00.654321Z"))
            .map(x -> x.get("id"))).contains("5");
        assertThat(r.read(Side.TARGET, "by_local", Map.of("created_at", "2024-05-01T10:00:00.123Z"))
            .map(x -> x.get("id"))).contains("5");
        assertThat(r.read(Side.TARGET, "by_day", Map.of("day", "1999-12-31", "at_time", "23:59:59.999"))
            .map(x -> x.get("id"))).contains("21");
        assertThat(r.read(Side.TARGET, "by_payload", Map.of("payload", "CAFE"))).isPresent();
        // utf8mb4_general_ci matches 'ALICE' for 'alice'; the canonical key must still be equal
        assertThat(r.read(Side.TARGET, "by_name", Map.of("name", "alice", "active", "true"))).isEmpty();
        assertThat(r.read(Side.TARGET, "by_name", Map.of("name", "ALICE", "active", "true"))
            .map(x -> x.get("id"))).contains("13");
      }
    }
  }

  @Test
  void reconnectsAfterTheConnectionBreaks() throws Exception {
    try (RowReader r = new RowReader(config, canonicalizer)) {
      assertThat(r.read(Side.SOURCE, "traps", Map.of("id", "1"))).isPresent();
      try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
        s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'legacy'"
            + " AND pid <> pg_backend_pid()");
      }
      assertThat(r.read(Side.SOURCE, "traps", Map.of("id", "1"))).isPresent();
    }
    // the shared reader was cut off too: it reconnects as well
    assertThat(reader.read(Side.SOURCE, "traps", Map.of("id", "2"))).isPresent();
  }

  // ---- KeyCheck ------------------------------------------------------------------------------------

  @Test
  void keyCheckVerdicts() throws Exception {
    assumeTrue(maria != null, "mariadbd not installed");
    try (Connection p = pg.connect("legacy"); Statement ps = p.createStatement();
        Connection m = maria.connect("modern"); Statement ms = m.createStatement()) {
      ps.execute("DELETE FROM traps WHERE id IN (30, 31)");
      ms.execute("DELETE FROM traps WHERE id IN (30, 31)");
      ps.execute(insert(30, PG_DEFAULTS, Map.of()));
      ms.execute(insert(31, MARIA_DEFAULTS, Map.of()));
    }
    KeyCheck check = new KeyCheck(canonicalizer, reader, () -> 1_700_000_000_000L);
    // every trap that is no real difference: consistent (1 was updated on both, 12 fixed by the update)
    for (long id : List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 9L, 11L, 12L, 20L, 21L)) {
      KeyCheck.Result r = check.check("traps", Map.of("id", Long.toString(id)));
      assertThat(r.verdict()).as("id " + id + ": " + r.fields()).isEqualTo(KeyCheck.Verdict.CONSISTENT);
      assertThat(r.source().hash()).isEqualTo(r.target().hash());
      assertThat(r.discrepancy()).isEmpty();
    }
    // deleted on both: agreement
    KeyCheck.Result gone = check.check("traps", Map.of("id", "8"));
    assertThat(gone.verdict()).isEqualTo(KeyCheck.Verdict.CONSISTENT);
    assertThat(gone.source()).isNull();
    assertThat(gone.target()).isNull();

    KeyCheck.Result note = check.check("traps", Map.of("id", "10"));
    assertThat(note.verdict()).isEqualTo(KeyCheck.Verdict.VALUE_MISMATCH);
    assertThat(note.fields()).containsExactly(new FieldDiff("note", null, "", null));
    KeyCheck.Result alice = check.check("traps", Map.of("id", "13"));
    assertThat(alice.fields()).extracting(FieldDiff::name).containsExactly("name", "score");

    KeyCheck.Result missing = check.check("traps", Map.of("id", "30"));
    assertThat(missing.verdict()).isEqualTo(KeyCheck.Verdict.MISSING_IN_TARGET);
    assertThat(missing.source()).isNotNull();
    assertThat(missing.target()).isNull();
    KeyCheck.Result unexpected = check.check("traps", Map.of("id", "31"));
    assertThat(unexpected.verdict()).isEqualTo(KeyCheck.Verdict.UNEXPECTED_IN_TARGET);
    assertThat(unexpected.source()).isNull();

    // the discrepancy event
    JsonNode d = new ObjectMapper().readTree(EventCodec.encode(note.discrepancy().orElseThrow()));
    assertThat(d.get("kind").asText()).isEqualTo(DiscrepancyKind.VALUE_MISMATCH.name());
    assertThat(d.get("detector").asText()).isEqualTo("check");
    assertThat(d.get("table").asText()).isEqualTo("traps");
    assertThat(d.get("key").get("id").asText()).isEqualTo("10");
    assertThat(d.get("divergedSince").asLong()).isEqualTo(1_700_000_000_000L);
    assertThat(d.get("detectedAt").asLong()).isEqualTo(1_700_000_000_000L);
    assertThat(d.get("source").get("note").isNull()).isTrue();
    assertThat(d.get("target").get("note").asText()).isEmpty();
    assertThat(d.get("fields")).hasSize(1);
    assertThat(d.get("fields").get(0).get("name").asText()).isEqualTo("note");
    assertThat(d.get("id").asText()).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    JsonNode m = new ObjectMapper().readTree(EventCodec.encode(missing.discrepancy().orElseThrow()));
    assertThat(m.get("kind").asText()).isEqualTo("MISSING_IN_TARGET");
    assertThat(m.get("target").isNull()).isTrue();
    assertThat(m.get("fields")).isEmpty();
    assertThat(missing.key()).isEqualTo(CanonicalKey.of("traps", Map.of("id", "30")));
  }

  // ---- CheckCommand -----------------------------------------------------------------------------

  record Run(int code, String out, String err) {}

  private static Run check(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new CheckCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void checkCommandExitCodes(@TempDir Path dir) throws Exception {
    assumeTrue(maria != null, "mariadbd not installed");
    Path cfg = dir.resolve("verifier.yaml");
    Files.writeString(cfg, configFileYaml(maria.port()));
    String f = cfg.toString();

    Run ok = check("--config", f, "--table", "traps", "--key", "id=1");
    assertThat(ok.code()).as(ok.err()).isEqualTo(0);
    assertThat(ok.out()).contains("CONSISTENT");
    assertThat(check("--config", f, "--table", "traps", "--key", "id=8").code()).isEqualTo(0); // absent on both

    Run diff = check("--config", f, "--table", "traps", "--key", "id=13");
    assertThat(diff.code()).as(diff.err()).isEqualTo(3);
    assertThat(diff.out()).contains("VALUE_MISMATCH").contains("name").contains("'Alice'").contains("'ALICE'");

    Run json = check("--config", f, "--table", "traps", "-k", "id=10", "--json");
    assertThat(json.code()).isEqualTo(3);
    JsonNode event = new ObjectMapper().readTree(json.out());
    assertThat(event.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
    assertThat(event.get("detector").asText()).isEqualTo("check");
    assertThat(event.get("fields").get(0).get("name").asText()).isEqualTo("note");

    Run consistentJson = check("--config", f, "--table", "traps", "--key", "id=12", "--json");
    assertThat(consistentJson.code()).isEqualTo(0);
    assertThat(new ObjectMapper().readTree(consistentJson.out()).get("verdict").asText()).isEqualTo("CONSISTENT");

    // invalid: unknown table, wrong key columns, bad syntax, a value that is no BIGINT, no --key, bad config
    assertThat(check("--config", f, "--table", "nope", "--key", "id=1").code()).isEqualTo(2);
    assertThat(check("--config", f, "--table", "traps", "--key", "qty=1").code()).isEqualTo(2);
    assertThat(check("--config", f, "--table", "traps", "--key", "id=1,qty=2").code()).isEqualTo(2);
    assertThat(check("--config", f, "--table", "traps", "--key", "id").code()).isEqualTo(2);
    assertThat(check("--config", f, "--table", "traps", "--key", "id=1", "--key", "id=2").code()).isEqualTo(2);
    Run notANumber = check("--config", f, "--table", "traps", "--key", "id=abc");
    assertThat(notANumber.code()).isEqualTo(2);
    assertThat(notANumber.err()).contains("id");
    assertThat(check("--config", f, "--table", "traps").code()).isEqualTo(2);
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "name: x\n");
    assertThat(check("--config", bad.toString(), "--table", "traps", "--key", "id=1").code()).isEqualTo(2);

    // a database that is not there: runtime failure
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    Path down = dir.resolve("down.yaml");
    Files.writeString(down, configFileYaml(closedPort));
    Run unreachable = check("--config", down.toString(), "--table", "traps", "--key", "id=1");
    assertThat(unreachable.code()).as(unreachable.out() + unreachable.err()).isEqualTo(1);
    assertThat(unreachable.err()).contains("cannot connect");
  }
}
