package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** What {@code tail} prints for a report whose row the verifier does not hold (a hash-only table). */
class TailTextTest {

  @Test
  void aRowNotHeldIsNamedWithTheCommandThatReadsIt() {
    Discrepancy d = new Discrepancy("00000000-0000-0000-0000-000000000001", DiscrepancyKind.VALUE_MISMATCH, "orders",
        new TreeMap<>(Map.of("id", "42", "region", "eu")), Discrepancy.DETECTOR_STREAM, 1_000, 2_000,
        new TreeMap<>(Map.of("id", "42", "region", "eu", "status", "paid")), null, List.of(), null, null, null, null,
        3_000, List.of("target"));
    String text = TailCommand.Text.format(d, false);
    assertThat(text).contains("VALUE_MISMATCH orders")
        .contains("target row present but not held by the verifier (state: hash-only")
        .contains("check --config <config> --table orders --key id=42,region=eu");
    Discrepancy spaced = new Discrepancy(d.id(), d.kind(), d.table(), new TreeMap<>(Map.of("name", "O'Hara & Co")),
        d.detector(), 1_000, 2_000, null, null, List.of(), null, null, null, null, 3_000, List.of("source", "target"));
    assertThat(TailCommand.Text.format(spaced, false))
        .contains("source and target row present but not held")
        .contains("--key 'name=O'\\''Hara & Co'");

    Discrepancy plain = new Discrepancy(d.id(), d.kind(), d.table(), d.key(), d.detector(), 1_000, 2_000, d.source(),
        d.source(), List.of(), null, null, null, null, 3_000);
    assertThat(TailCommand.Text.format(plain, false)).doesNotContain("not held");
  }
}
