package io.migrationverifier.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.event.RepairLogEntry;
import io.migrationverifier.event.Watermark;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;

/**
 * The verify topology under TopologyTestDriver with a fixed wall clock (it must not matter) and
 * explicit event times. Events are written as DESIGN section 3 says capture writes them.
 */
final class VerifyHarness implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  final VerifierConfig config;
  final TopologyTestDriver driver;
  private final TestInputTopic<byte[], byte[]> sourceIn;
  private final TestInputTopic<byte[], byte[]> targetIn;
  private final TestInputTopic<byte[], byte[]> repairsLogIn;
  final TestOutputTopic<byte[], byte[]> discrepancies;
  final TestOutputTopic<byte[], byte[]> health;
  final TestOutputTopic<byte[], byte[]> dlq;
  private final Path stateDir;
  private final Map<Side, Long> pos = new java.util.EnumMap<>(Map.of(Side.SOURCE, 0L, Side.TARGET, 0L));

  /** Where the tests' histories begin: both captures start (first watermark) just before it. */
  static final long STREAMS_START = 1_700_000_000_000L - 1;

  /** Both sides' streams start at {@link #STREAMS_START}, as a capture's first watermark would say. */
  VerifyHarness(VerifierConfig config) {
    this(config, VerifyListener.NONE, true);
  }

  /** With {@code startStreams} false, the test sends each side's first watermark itself. */
  VerifyHarness(VerifierConfig config, VerifyListener listener, boolean startStreams) {
    this.config = config;
    try {
      stateDir = Files.createTempDirectory("verify-ttd");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Properties p = VerifyStreamsConfig.properties(config, "ttd:9092");
    p.put("state.dir", stateDir.toString());
    driver = new TopologyTestDriver(VerifyTopology.build(config, listener), p, Instant.parse("2030-01-01T00:00:00Z"));
    ByteArraySerializer ser = new ByteArraySerializer();
    ByteArrayDeserializer de = new ByteArrayDeserializer();
    sourceIn = driver.createInputTopic(config.topics().changes(Side.SOURCE), ser, ser);
    targetIn = driver.createInputTopic(config.topics().changes(Side.TARGET), ser, ser);
    repairsLogIn = driver.createInputTopic(config.topics().repairsLog(), ser, ser);
    discrepancies = driver.createOutputTopic(config.topics().discrepancies(), de, de);
    health = driver.createOutputTopic(config.topics().health(), de, de);
    dlq = driver.createOutputTopic(config.topics().changesDlq(), de, de);
    if (startStreams) {
      watermarks(STREAMS_START);
    }
  }

  static Map<String, String> row(String... kv) {
    Map<String, String> m = new TreeMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  /** Upsert of row {@code id} (plus columns) on a side at commit time {@code ts}, with the next position. */
  VerifyHarness put(Side side, String table, String id, long ts, String... columns) {
    Map<String, String> r = row(columns);
    r.put("id", id);
    return send(side, event(side, table, id, Op.UPDATE, CanonicalRow.of(r), ts, nextPos(side)));
  }

  VerifyHarness delete(Side side, String table, String id, long ts) {
    return send(side, event(side, table, id, Op.DELETE, null, ts, nextPos(side)));
  }

  VerifyHarness watermark(Side side, long wm) {
    byte[] v = EventCodec.encode(new Watermark(side, wm));
    input(side).pipeInput(new TestRecord<>(null, v));
    return this;
  }

  VerifyHarness watermarks(long wm) {
    return watermark(Side.SOURCE, wm).watermark(Side.TARGET, wm);
  }

  VerifyHarness send(Side side, ChangeEvent e) {
    input(side).pipeInput(new TestRecord<>(e.canonicalKey().toBytes(), EventCodec.encode(e)));
    return this;
  }

  VerifyHarness raw(Side side, byte[] key, byte[] value) {
    input(side).pipeInput(new TestRecord<>(key, value));
    return this;
  }

  /** A record on {@code <name>.repairs.log} as the repair role writes it: keyed by the row's canonical key. */
  VerifyHarness repairLogged(RepairLogEntry e) {
    repairsLogIn.pipeInput(new TestRecord<>(CanonicalKey.of(e.table(), e.key()).toBytes(), RepairEvents.encode(e)));
    return this;
  }

  VerifyHarness rawRepairLog(byte[] key, byte[] value) {
    repairsLogIn.pipeInput(new TestRecord<>(key, value));
    return this;
  }

  String nextPos(Side side) {
    long p = pos.merge(side, 1L, Long::sum);
    return String.format("%020d", p);
  }

  static ChangeEvent event(Side side, String table, String id, Op op, CanonicalRow row, long ts, String pos) {
    return ChangeEvent.of(side, table, new TreeMap<>(Map.of("id", id)), op, row, ts, pos);
  }

  TestInputTopic<byte[], byte[]> input(Side side) {
    return side == Side.SOURCE ? sourceIn : targetIn;
  }

  /** Every discrepancy event emitted so far, parsed, in order. */
  List<JsonNode> readDiscrepancies() {
    return readAll(discrepancies);
  }

  List<JsonNode> readHealth() {
    return readAll(health);
  }

  static List<JsonNode> readAll(TestOutputTopic<byte[], byte[]> topic) {
    List<JsonNode> out = new ArrayList<>();
    for (byte[] v : topic.readValuesToList()) {
      try {
        out.add(JSON.readTree(v));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  long keyStateEntries() {
    return entries(VerifyTopology.KEY_STATE_STORE);
  }

  /** Entries of {@code verify-repairs}, its expiry index included (one of each per kept repair). */
  long repairStoreEntries() {
    return entries(VerifyTopology.REPAIRS_STORE);
  }

  private long entries(String store) {
    try (var it = driver.<org.apache.kafka.common.utils.Bytes, byte[]>getKeyValueStore(store).all()) {
      long n = 0;
      while (it.hasNext()) {
        it.next();
        n++;
      }
      return n;
    }
  }

  @Override
  public void close() {
    driver.close();
    try (var files = Files.walk(stateDir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind is not a test failure
    }
  }
}
