package io.migrationverifier.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migrationverifier.config.Side;
import io.migrationverifier.event.DiscrepancyKind;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * What one key costs in {@code verify-key-state} (the bulk of the verifier's RocksDB data): an
 * agreeing key holds ONE copy of its row; rows that differ (a mismatch, or rows a tolerance calls
 * equal) hold the target as a difference from the source; values of the previous format still read.
 */
class BoundedRocksDbKeyStateTest {
  private static final String HASH = "0123456789abcdef0123456789abcdef";

  private static SortedMap<String, String> row(String... kv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return new TreeMap<>(m);
  }

  private static SortedMap<String, String> wide() {
    SortedMap<String, String> r = new TreeMap<>();
    for (int c = 0; c < 10; c++) {
      r.put("column_" + c, "value number " + c + " of a typical row");
    }
    return r;
  }

  /** The size of one row in this encoding: what "one copy" costs. */
  private static int rowBytes(SortedMap<String, String> row) {
    return new Bin.Out().map(row).toBytes().length;
  }

  private static KeyState state(SortedMap<String, String> source, String sourceHash, SortedMap<String, String> target,
      String targetHash) {
    KeyState s = new KeyState();
    s.set(Side.SOURCE, source != null, sourceHash, source);
    s.set(Side.TARGET, target != null, targetHash, target);
    return s;
  }

  @Test
  void anAgreeingKeyHoldsOneCopyOfItsRow() {
    SortedMap<String, String> r = wide();
    byte[] v = state(r, HASH, new TreeMap<>(r), HASH).encode();
    assertThat(v.length).as("one row, its hash, flags").isLessThan(rowBytes(r) + HASH.length() + 16);
    KeyState back = KeyState.decode(v);
    assertThat(back.sourceRow).isEqualTo(r);
    assertThat(back.targetRow).isEqualTo(r);
    assertThat(back.targetHash).isEqualTo(HASH);
  }

  @Test
  void rowsThatDifferInOneColumnCostOneColumnMoreNotASecondCopy() {
    SortedMap<String, String> source = wide();
    SortedMap<String, String> target = new TreeMap<>(source);
    target.put("column_3", "value number 3 of a typical row, within tolerance");
    byte[] v = state(source, HASH, target, "ffffffffffffffffffffffffffffffff").encode();
    assertThat(v.length).isLessThan(rowBytes(source) + 2 * HASH.length() + 100);
    KeyState back = KeyState.decode(v);
    assertThat(back.sourceRow).isEqualTo(source);
    assertThat(back.targetRow).isEqualTo(target);
    assertThat(back.targetHash).isEqualTo("ffffffffffffffffffffffffffffffff");
  }

  @Test
  void theDifferenceKeepsNullsAndColumnsOnlyOneSideHas() {
    SortedMap<String, String> source = row("id", "1", "a", "x", "gone", "y", "n", null);
    SortedMap<String, String> target = row("id", "1", "a", null, "n", "now set", "added", "z");
    KeyState s = state(source, "h1", target, "h2");
    s.t0 = 5;
    s.deadline = 10;
    s.reported = true;
    s.openId = "open-1";
    s.reportedKind = DiscrepancyKind.VALUE_MISMATCH;
    s.detectedAt = 10;
    KeyState back = KeyState.decode(s.encode());
    assertThat(back.sourceRow).isEqualTo(source);
    assertThat(back.targetRow).isEqualTo(target).containsEntry("a", null).doesNotContainKey("gone");
    assertThat(back.t0).isEqualTo(5);
    assertThat(back.deadline).isEqualTo(10);
    assertThat(back.openId).isEqualTo("open-1");
    assertThat(back.reportedKind).isEqualTo(DiscrepancyKind.VALUE_MISMATCH);

    // one side only: no difference to take
    KeyState missing = KeyState.decode(state(source, "h1", null, null).encode());
    assertThat(missing.targetPresent).isFalse();
    assertThat(missing.sourceRow).isEqualTo(source);
  }

  @Test
  void valuesOfThePreviousFormatStillRead() {
    // version 1, flags: both present, both rows in full
    SortedMap<String, String> source = row("id", "1", "a", "x");
    SortedMap<String, String> target = row("id", "1", "a", "y");
    byte[] v1 = new Bin.Out().b(1).b(1 | 2).s("h1").map(source).s("h2").map(target).toBytes();
    KeyState back = KeyState.decode(v1);
    assertThat(back.sourceRow).isEqualTo(source);
    assertThat(back.targetRow).isEqualTo(target);
    // and a value whose version and flags disagree is refused, never misread
    byte[] bad = new Bin.Out().b(1).b(1 | 2 | 32).s("h1").map(source).s("h2").map(target).toBytes();
    assertThatThrownBy(() -> KeyState.decode(bad)).hasMessageContaining("corrupt key-state value");
  }
}
