package io.migrationverifier.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.Op;
import io.migrationverifier.testutil.Configs;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;

/**
 * {@code tables[].state: hash-only}: an agreeing key costs flags and a hash (goal: at most 100
 * bytes plus the key), and reports keep their rows and field diffs by taking the other side's row
 * from the change's before-image; without one, the report names the row it does not hold.
 */
class HashOnlyStateTest {
  private static final long T = VerifyHarness.STREAMS_START + 1;
  private static final long W = 1_000;

  private static VerifierConfig config(String state) {
    return Configs.withTables("tables:\n  - {name: orders, key: [id], state: " + state + "}\n",
        "verify: {window: 1s, stall-threshold: 1h}");
  }

  private static Map<String, String> wideRow(String id, String status) {
    Map<String, String> r = new TreeMap<>();
    for (int c = 0; c < 10; c++) {
      r.put("column_" + c, "value number " + c + " of a typical row");
    }
    r.put("id", id);
    r.put("status", status);
    return r;
  }

  private static ChangeEvent change(VerifyHarness h, Side side, String id, Op op, Map<String, String> row,
      Map<String, String> before, long ts) {
    ChangeEvent e = VerifyHarness.event(side, "orders", id, op, row == null ? null : CanonicalRow.of(row), ts,
        h.nextPos(side));
    return before == null ? e : e.withBefore(CanonicalRow.of(before));
  }

  /** Row {@code id} created on both sides at {@code ts} (the target 10 ms later), both watermarks past it. */
  private static void agree(VerifyHarness h, String id, Map<String, String> row, long ts) {
    h.send(Side.SOURCE, change(h, Side.SOURCE, id, Op.CREATE, row, null, ts));
    h.send(Side.TARGET, change(h, Side.TARGET, id, Op.CREATE, row, null, ts + 10));
    h.watermarks(ts + 100);
  }

  private static byte[] stored(VerifyHarness h, String id) {
    KeyValueStore<Bytes, byte[]> store = h.driver.getKeyValueStore(VerifyTopology.KEY_STATE_STORE);
    return store.get(Bytes.wrap(CanonicalKey.of("orders", new TreeMap<>(Map.of("id", id))).toBytes()));
  }

  @Test
  void anAgreeingKeyCostsItsHashNotItsRow() {
    Map<String, String> row = wideRow("1", "paid");
    int rowJson = EventCodec.encode(ChangeEvent.of(Side.SOURCE, "orders", new TreeMap<>(Map.of("id", "1")), Op.CREATE,
        CanonicalRow.of(row), T, "1")).length;
    byte[] full;
    byte[] hashOnly;
    try (VerifyHarness h = new VerifyHarness(config("full"))) {
      agree(h, "1", row, T);
      full = stored(h, "1");
    }
    try (VerifyHarness h = new VerifyHarness(config("hash-only"))) {
      agree(h, "1", row, T);
      hashOnly = stored(h, "1");
      assertThat(h.readDiscrepancies()).isEmpty();
    }
    System.out.printf("verify-key-state value of an agreeing key (12 columns, change event %d B): full %d B,"
        + " hash-only %d B%n", rowJson, full.length, hashOnly.length);
    assertThat(hashOnly.length).as("goal: at most 100 bytes plus the key").isLessThanOrEqualTo(100);
    assertThat(full.length).as("full state holds the row once").isGreaterThan(300);
    KeyState back = KeyState.decode(hashOnly);
    assertThat(back.sourcePresent).isTrue();
    assertThat(back.targetPresent).isTrue();
    assertThat(back.sourceRow).isNull();
    assertThat(back.targetHash).isEqualTo(CanonicalRow.of(row).hash());
  }

  @Test
  void aChangeThatBreaksAgreementIsReportedWithBothRowsFromItsBeforeImage() {
    Map<String, String> paid = wideRow("1", "paid");
    Map<String, String> refunded = wideRow("1", "refunded");
    try (VerifyHarness h = new VerifyHarness(config("hash-only"))) {
      agree(h, "1", paid, T);
      // the source moves on, the target never follows
      h.send(Side.SOURCE, change(h, Side.SOURCE, "1", Op.UPDATE, refunded, paid, T + 200));
      h.watermarks(T + 200 + W + 10);
      List<JsonNode> out = h.readDiscrepancies();
      assertThat(out).hasSize(1);
      JsonNode d = out.get(0);
      assertThat(d.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
      assertThat(d.get("source").get("status").asText()).isEqualTo("refunded");
      assertThat(d.get("target").get("status").asText()).isEqualTo("paid");
      assertThat(d.get("fields")).hasSize(1);
      assertThat(d.get("fields").get(0).get("name").asText()).isEqualTo("status");
      assertThat(d.get("fields").get(0).get("target").asText()).isEqualTo("paid");
      assertThat(d.has("rowsNotKept")).isFalse();
      SchemaConformanceTest.assertValid("discrepancy.schema.json", d);

      // a delete on the target of an agreeing key: the source's row comes from the delete's image
      agree(h, "2", wideRow("2", "new"), T + 3000);
      h.send(Side.TARGET, change(h, Side.TARGET, "2", Op.DELETE, null, wideRow("2", "new"), T + 3200));
      h.watermarks(T + 3200 + W + 10);
      JsonNode missing = h.readDiscrepancies().get(0);
      assertThat(missing.get("kind").asText()).isEqualTo("MISSING_IN_TARGET");
      assertThat(missing.get("source").get("status").asText()).isEqualTo("new");
      assertThat(missing.get("target").isNull()).isTrue();
      assertThat(missing.has("rowsNotKept")).isFalse();
    }
  }

  @Test
  void withoutABeforeImageTheReportNamesTheRowItDoesNotHoldAndResolvesWithRows() {
    Map<String, String> paid = wideRow("1", "paid");
    Map<String, String> refunded = wideRow("1", "refunded");
    try (VerifyHarness h = new VerifyHarness(config("hash-only"))) {
      agree(h, "1", paid, T);
      // a database without full before-images (PostgreSQL REPLICA IDENTITY DEFAULT), and an image
      // that does not hash to the target's row (only the key of it) are alike: no target row
      h.send(Side.SOURCE, change(h, Side.SOURCE, "1", Op.UPDATE, refunded, Map.of("id", "1"), T + 200));
      h.watermarks(T + 200 + W + 10);
      JsonNode d = h.readDiscrepancies().get(0);
      assertThat(d.get("kind").asText()).isEqualTo("VALUE_MISMATCH");
      assertThat(d.get("source").get("status").asText()).isEqualTo("refunded");
      assertThat(d.get("target").isNull()).isTrue();
      assertThat(d.get("fields")).isEmpty();
      assertThat(d.get("rowsNotKept").toString()).isEqualTo("[\"target\"]");
      SchemaConformanceTest.assertValid("discrepancy.schema.json", d);

      h.send(Side.TARGET, change(h, Side.TARGET, "1", Op.UPDATE, refunded, null, T + 5000));
      h.watermarks(T + 5100);
      JsonNode resolved = h.readDiscrepancies().get(0);
      assertThat(resolved.get("kind").asText()).isEqualTo("RESOLVED");
      assertThat(resolved.get("source").get("status").asText()).isEqualTo("refunded");
      assertThat(resolved.get("target").get("status").asText()).isEqualTo("refunded");
      assertThat(resolved.has("rowsNotKept")).isFalse();
      // and the key is back to its hash only
      assertThat(KeyState.decode(stored(h, "1")).targetRow).isNull();
    }
  }

  /**
   * Back to {@code full} (with a tolerance that hash-only did not allow): a key the hash-only state
   * left without rows takes them from the first change that shows them (an equal row, or a
   * before-image), after which the tolerance applies as for any key.
   */
  @Test
  void aKeyLeftByHashOnlyStateRegainsItsRowsInFullState() {
    VerifierConfig full = Configs.withTables("""
        tables:
          - name: orders
            key: [id]
            columns:
              - {name: amount, type: decimal, tolerance: 0.01}
        """, "verify: {window: 1s, stall-threshold: 1h}");
    Map<String, String> row = Map.of("id", "1", "amount", "10.00", "status", "paid");
    try (VerifyHarness h = new VerifyHarness(full)) {
      KeyState left = new KeyState(); // as hash-only state stores an agreeing key
      left.set(Side.SOURCE, true, CanonicalRow.of(row).hash(), null);
      left.set(Side.TARGET, true, CanonicalRow.of(row).hash(), null);
      h.driver.<Bytes, byte[]>getKeyValueStore(VerifyTopology.KEY_STATE_STORE).put(
          Bytes.wrap(CanonicalKey.of("orders", new TreeMap<>(Map.of("id", "1"))).toBytes()), left.encode());
      // the target re-writes the same row: its row now stands for both sides
      h.send(Side.TARGET, change(h, Side.TARGET, "1", Op.UPDATE, row, null, T));
      Map<String, String> within = new TreeMap<>(row);
      within.put("amount", "10.001");
      h.send(Side.SOURCE, change(h, Side.SOURCE, "1", Op.UPDATE, within, null, T + 100));
      h.watermarks(T + 100 + W + 10);
      assertThat(h.readDiscrepancies()).as("within the tolerance: nothing to report").isEmpty();
      KeyState now = KeyState.decode(stored(h, "1"));
      assertThat(now.sourceRow).isEqualTo(within);
      assertThat(now.targetRow).isEqualTo(row);
    }
  }

  @Test
  void hashOnlyIsRefusedWhereAgreementNeedsTheRows() {
    assertThatThrownBy(() -> Configs.withTables("""
        tables:
          - name: orders
            key: [id]
            state: hash-only
            columns:
              - {name: amount, type: decimal, tolerance: 0.01}
        """, null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tables[0].state: hash-only cannot be combined with column \"amount\"'s tolerance");
    assertThatThrownBy(() -> Configs.withTables("tables:\n  - {name: orders, key: [id], state: hashes}\n", null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tables[0].state: \"hashes\" must be one of full, hash-only");
  }
}
