package io.migrationverifier.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.Side;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The optional parts of the contracts added for hash-only tables: a change's {@code before}, a report's {@code rowsNotKept}. */
class BeforeImageCodecTest {
  private static final TreeMap<String, String> KEY = new TreeMap<>(Map.of("id", "7"));

  @Test
  void aChangeCarriesItsBeforeImageOnlyWhenItHasOne() {
    CanonicalRow after = CanonicalRow.of(Map.of("id", "7", "status", "refunded"));
    Map<String, String> old = new TreeMap<>();
    old.put("id", "7");
    old.put("status", "paid");
    old.put("note", null);
    ChangeEvent plain = ChangeEvent.of(Side.SOURCE, "orders", KEY, Op.UPDATE, after, 1_000, "0001");
    String json = new String(EventCodec.encode(plain), StandardCharsets.UTF_8);
    assertThat(json).doesNotContain("before");
    assertThat(((ChangeEvent) EventCodec.decodeChange(json.getBytes(StandardCharsets.UTF_8))).before()).isNull();

    ChangeEvent withBefore = plain.withBefore(CanonicalRow.of(old));
    ChangeEvent back = (ChangeEvent) EventCodec.decodeChange(EventCodec.encode(withBefore));
    assertThat(back.before().values()).isEqualTo(old); // a NULL column stays a NULL column
    assertThat(back.hash()).isEqualTo(after.hash());
    assertThat(back.row()).isEqualTo(after);

    String bad = json.substring(0, json.length() - 1) + ",\"before\":\"paid\"}";
    assertThatThrownBy(() -> EventCodec.decodeChange(bad.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(MalformedEventException.class).hasMessageContaining("\"before\" must be an object or null");
  }

  @Test
  void aReportNamesTheRowsItDoesNotHold() {
    Discrepancy d = new Discrepancy("00000000-0000-0000-0000-000000000001", DiscrepancyKind.MISSING_IN_TARGET,
        "orders", KEY, Discrepancy.DETECTOR_STREAM, 1, 2, null, null, List.of(), null, null, null, null, 3,
        List.of("source"));
    String json = new String(EventCodec.encode(d), StandardCharsets.UTF_8);
    assertThat(json).contains("\"rowsNotKept\":[\"source\"]");
    assertThat(RepairEvents.decodeDiscrepancy(json.getBytes(StandardCharsets.UTF_8)).rowsNotKept())
        .containsExactly("source");
    Discrepancy none = new Discrepancy(d.id(), d.kind(), d.table(), d.key(), d.detector(), 1, 2,
        new TreeMap<>(KEY), null, List.of(), null, null, null, null, 3);
    assertThat(new String(EventCodec.encode(none), StandardCharsets.UTF_8)).doesNotContain("rowsNotKept");
    String bad = json.replace("[\"source\"]", "[\"elsewhere\"]");
    assertThatThrownBy(() -> RepairEvents.decodeDiscrepancy(bad.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(MalformedEventException.class).hasMessageContaining("rowsNotKept");
  }
}
