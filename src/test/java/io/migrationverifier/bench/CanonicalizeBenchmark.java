package io.migrationverifier.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.RowComparator;
import io.migrationverifier.canonical.TableCanonicalizer;
import io.migrationverifier.capture.DebeziumChange;
import io.migrationverifier.capture.DebeziumJson;
import io.migrationverifier.config.Side;
import io.migrationverifier.testutil.Configs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Canonicalize + hash + compare of a typical 20-column row from each database (goal: at least
 * 300k rows/s on one core), with and without parsing the Debezium JSON, against the baseline of
 * a plain Jackson {@code readTree} of the same event.
 *
 * <p>The rows are the real golden snapshot events of id 1 ({@code golden/{postgres,mariadb}/traps.jsonl},
 * 18 columns) widened in {@link #setup()} to 20 columns by a VARCHAR {@code email} and an INT
 * {@code version}, in the shapes Debezium gives the existing {@code name} and {@code qty} columns.
 * Each operation canonicalizes anew, so the row hash (cached per {@link CanonicalRow} instance) is
 * recomputed every time; the other side's canonical row is built and hashed once in setup. The
 * setup's own {@code DebeziumJson.parse} of each event puts its schema in the reader's schema
 * cache, so the {@code *WithParse*} operations measure the steady state of a stream, where every
 * event repeats a schema seen before.
 *
 * <p>Run: {@code mvn -q -Pbench test-compile exec:exec} (see BENCHMARKS.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Threads(1)
// 5 x 2 s of warm-up, not 3: the *WithParse benchmarks were still at 5-20 % of their steady rate after 6 s.
@Warmup(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
public class CanonicalizeBenchmark {

  /** The column rules of GoldenEventsTest.RULES. */
  static final String RULES = """
      tables:
        - name: traps
          source-table: public.traps
          target-table: modern.traps
          key: [id]
          columns:
            - {name: doc, type: json}
            - {name: doc_json, type: json}
            - {name: created_at, precision: millis}
            - {name: name, trim: true}
            - {name: ext_id, type: uuid}
      """;

  private static final String P = "__debezium.source.column.";
  private static final int COLUMNS = 20;

  private final ObjectMapper mapper = new ObjectMapper();

  byte[] pgBytes;
  byte[] mariaBytes;
  String pgText;
  DebeziumChange pgChange;
  DebeziumChange mariaChange;
  TableCanonicalizer pgTable;
  TableCanonicalizer mariaTable;
  RowComparator comparator;
  CanonicalRow pgCanonical;
  CanonicalRow mariaCanonical;

  @Setup(Level.Trial)
  public void setup() throws IOException {
    Canonicalizer c = Canonicalizer.forConfig(Configs.withTables(RULES, null));
    pgTable = c.physicalTable(Side.SOURCE, "public.traps").orElseThrow();
    mariaTable = c.physicalTable(Side.TARGET, "modern.traps").orElseThrow();
    comparator = c.comparator("traps").orElseThrow();

    pgBytes = widen(snapshotRow("postgres", 1));
    mariaBytes = widen(snapshotRow("mariadb", 1));
    pgText = new String(pgBytes, StandardCharsets.UTF_8);
    pgChange = DebeziumJson.parse(pgBytes);
    mariaChange = DebeziumJson.parse(mariaBytes);
    check(pgChange, "postgres");
    check(mariaChange, "mariadb");
    check(DebeziumJson.parse(pgText), "postgres (String)");
    // from here on the schemas are cached: the cached reading must equal the full tree's
    for (byte[] event : new byte[][] {pgBytes, mariaBytes}) {
      DebeziumChange full = DebeziumJson.parse(mapper.readTree(event));
      if (!DebeziumJson.parse(event).equals(full)
          || !DebeziumJson.parse(new String(event, StandardCharsets.UTF_8)).equals(full)) {
        throw new IllegalStateException("the schema-cached reading differs from the full tree's");
      }
    }

    pgCanonical = pgTable.row(pgChange.image(), pgChange.types());
    mariaCanonical = mariaTable.row(mariaChange.image(), mariaChange.types());
    if (pgCanonical.values().size() != COLUMNS || mariaCanonical.values().size() != COLUMNS) {
      throw new IllegalStateException("canonical rows should have " + COLUMNS + " columns: " + pgCanonical
          + " / " + mariaCanonical);
    }
    // The benchmark measures the common case: the two sides agree, decided by the hash alone.
    if (!pgCanonical.hash().equals(mariaCanonical.hash())
        || !comparator.diff(pgCanonical, mariaCanonical).isEmpty()) {
      throw new IllegalStateException("the widened rows should be equal: "
          + comparator.diff(pgCanonical, mariaCanonical));
    }
  }

  /** Canonicalize the parsed PostgreSQL image, hash it, compare with the MariaDB canonical row. */
  @Benchmark
  public void pgRow(Blackhole bh) {
    CanonicalRow row = pgTable.row(pgChange.image(), pgChange.types());
    bh.consume(row.hash());
    bh.consume(comparator.equivalent(row, mariaCanonical));
  }

  /** Canonicalize the parsed MariaDB image, hash it, compare with the PostgreSQL canonical row. */
  @Benchmark
  public void mariadbRow(Blackhole bh) {
    CanonicalRow row = mariaTable.row(mariaChange.image(), mariaChange.types());
    bh.consume(row.hash());
    bh.consume(comparator.equivalent(pgCanonical, row));
  }

  /** {@link #pgRow} plus {@code DebeziumJson.parse} of the whole event JSON. */
  @Benchmark
  public void pgRowWithParse(Blackhole bh) throws IOException {
    DebeziumChange ch = DebeziumJson.parse(pgBytes);
    CanonicalRow row = pgTable.row(ch.image(), ch.types());
    bh.consume(row.hash());
    bh.consume(comparator.equivalent(row, mariaCanonical));
  }

  /** {@link #mariadbRow} plus {@code DebeziumJson.parse} of the whole event JSON. */
  @Benchmark
  public void mariadbRowWithParse(Blackhole bh) throws IOException {
    DebeziumChange ch = DebeziumJson.parse(mariaBytes);
    CanonicalRow row = mariaTable.row(ch.image(), ch.types());
    bh.consume(row.hash());
    bh.consume(comparator.equivalent(pgCanonical, row));
  }

  /**
   * {@link #pgRowWithParse} from the event as a String, the form the embedded Debezium engine
   * hands to {@code CaptureEngine}.
   */
  @Benchmark
  public void pgRowWithParseString(Blackhole bh) throws IOException {
    DebeziumChange ch = DebeziumJson.parse(pgText);
    CanonicalRow row = pgTable.row(ch.image(), ch.types());
    bh.consume(row.hash());
    bh.consume(comparator.equivalent(row, mariaCanonical));
  }

  /** What every consumer of the event pays: Jackson's tree of the same PostgreSQL event. */
  @Benchmark
  public JsonNode baselineJacksonParse() throws IOException {
    return mapper.readTree(pgBytes);
  }

  /**
   * A cross-check for a busy machine: runs the named benchmark methods (all when none is named)
   * in this thread and prints operations per second of this thread's CPU time, which other
   * processes' load hardly changes, next to operations per wall-clock second. 4 warm-up rounds
   * and 6 measured rounds of 1.5 s each; no fork, so a JMH run stays the reference.
   */
  public static void main(String[] args) throws Exception {
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    CanonicalizeBenchmark b = new CanonicalizeBenchmark();
    b.setup();
    Blackhole bh = new Blackhole(
        "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
    java.util.List<String> names = args.length > 0 ? java.util.List.of(args) : java.util.List.of("pgRow", "mariadbRow",
        "pgRowWithParse", "mariadbRowWithParse", "pgRowWithParseString", "baselineJacksonParse");
    for (String name : names) {
      java.lang.reflect.Method m = CanonicalizeBenchmark.class.getMethod(name,
          name.equals("baselineJacksonParse") ? new Class<?>[0] : new Class<?>[] {Blackhole.class});
      StringBuilder cpu = new StringBuilder();
      StringBuilder wall = new StringBuilder();
      for (int round = 0; round < 10; round++) {
        long c0 = mx.getCurrentThreadCpuTime();
        long w0 = System.nanoTime();
        long ops = 0;
        while (System.nanoTime() - w0 < 1_500_000_000L) {
          for (int i = 0; i < 1000; i++) {
            bh.consume(m.getParameterCount() == 0 ? m.invoke(b) : m.invoke(b, bh));
          }
          ops += 1000;
        }
        long c1 = mx.getCurrentThreadCpuTime();
        long w1 = System.nanoTime();
        if (round >= 4) {
          cpu.append(String.format(" %,.0f", ops / ((c1 - c0) / 1e9)));
          wall.append(String.format(" %,.0f", ops / ((w1 - w0) / 1e9)));
        }
      }
      System.out.printf("%-22s ops per CPU-second:%s | per wall-second:%s%n", name, cpu, wall);
    }
  }

  /** The golden snapshot ("r") event of the row with the given id, as a JSON tree. */
  private ObjectNode snapshotRow(String db, long id) throws IOException {
    try (InputStream in = CanonicalizeBenchmark.class.getResourceAsStream("/golden/" + db + "/traps.jsonl")) {
      if (in == null) {
        throw new IllegalStateException("golden/" + db + "/traps.jsonl is not on the test classpath");
      }
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode root = mapper.readTree(line);
        JsonNode payload = root.path("payload");
        if ("r".equals(payload.path("op").asText()) && payload.path("after").path("id").asLong() == id) {
          return (ObjectNode) root;
        }
      }
    }
    throw new IllegalStateException("no snapshot event of id " + id + " in golden/" + db);
  }

  /**
   * Adds a VARCHAR(255) {@code email} (shaped like {@code name}) and an INT {@code version}
   * (shaped like {@code qty}) to the before/after schemas and to the after image.
   */
  private byte[] widen(ObjectNode root) throws IOException {
    int widened = 0;
    for (JsonNode f : root.path("schema").path("fields")) {
      String name = f.path("field").asText();
      if (!name.equals("before") && !name.equals("after")) {
        continue;
      }
      ArrayNode cols = (ArrayNode) f.get("fields");
      cols.add(copyColumn(cols, "name", "email", "255"));
      cols.add(copyColumn(cols, "qty", "version", null));
      widened++;
    }
    if (widened != 2) {
      throw new IllegalStateException("expected before and after schemas, widened " + widened);
    }
    ObjectNode after = (ObjectNode) root.path("payload").get("after");
    after.put("email", "alice.example@example.com");
    after.put("version", 3);
    return mapper.writeValueAsBytes(root);
  }

  /** A copy of column {@code template}'s schema under a new name, optionally with another length. */
  private static ObjectNode copyColumn(ArrayNode cols, String template, String newName, String length) {
    for (JsonNode col : cols) {
      if (template.equals(col.path("field").asText())) {
        ObjectNode copy = col.deepCopy();
        copy.put("field", newName);
        ObjectNode params = (ObjectNode) copy.get("parameters");
        params.put(P + "name", newName);
        if (length != null) {
          params.put(P + "length", length);
        }
        return copy;
      }
    }
    throw new IllegalStateException("no column " + template + " in the event schema");
  }

  private static void check(DebeziumChange ch, String db) {
    if (ch.image().size() != COLUMNS || ch.types().size() != COLUMNS) {
      throw new IllegalStateException(db + ": widened event should have " + COLUMNS + " columns, has "
          + ch.image().size() + " values and " + ch.types().size() + " types");
    }
  }
}
