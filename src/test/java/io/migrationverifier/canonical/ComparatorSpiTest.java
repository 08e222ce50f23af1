package io.migrationverifier.canonical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.Side;
import io.migrationverifier.testutil.Configs;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ComparatorSpiTest {
  @Test
  void registeredAndClassNamedComparatorsDecideEquality() {
    Canonicalizer c = Canonicalizer.forConfig(Configs.withTables("""
        tables:
          - name: people
            key: [id]
            columns:
              - {name: phone, comparator: digits-only}
              - {name: balance, type: decimal, comparator: within-a-cent}
              - {name: fee, type: decimal, comparator: io.migrationverifier.canonical.CentsTolerantComparator}
        """, null));
    TableCanonicalizer src = c.table(Side.SOURCE, "people").orElseThrow();
    TableCanonicalizer tgt = c.table(Side.TARGET, "people").orElseThrow();
    RowComparator cmp = c.comparator("people").orElseThrow();
    CanonicalRow a = src.row(Map.of("id", 1, "phone", "+1 (555) 010-0199", "balance", "10.00", "fee", "1"), Map.of());
    CanonicalRow b = tgt.row(Map.of("id", 1, "phone", "15550100199", "balance", "10.01", "fee", "1.005"), Map.of());
    assertThat(a.get("phone")).isEqualTo("15550100199");
    assertThat(cmp.equivalent(a, b)).isTrue();
    CanonicalRow off = tgt.row(Map.of("id", 1, "phone", "15550100199", "balance", "10.02", "fee", "1"), Map.of());
    assertThat(cmp.diff(a, off)).extracting(FieldDiff::name).containsExactly("balance");
  }

  @Test
  void anUnknownComparatorIsAConfigError() {
    assertThatThrownBy(() -> Canonicalizer.forConfig(Configs.withTables("""
        tables:
          - name: people
            key: [id]
            columns: [{name: phone, comparator: no-such-thing}]
        """, null)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tables[0].columns[0].comparator: no ValueComparator named \"no-such-thing\"");
  }
}
