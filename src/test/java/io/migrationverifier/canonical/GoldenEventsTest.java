package io.migrationverifier.canonical;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.capture.DebeziumChange;
import io.migrationverifier.capture.DebeziumJson;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Op;
import io.migrationverifier.testutil.Configs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Real Debezium events captured from PostgreSQL (source) and MariaDB (target) with the
 * product's converter settings (see src/test/resources/golden/README.md), run through the
 * canonicalizer: every known false-mismatch trap must compare equal under the documented rules,
 * and every real difference must stay a difference.
 */
class GoldenEventsTest {

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

  private static final String LENIENT = """
      tables:
        - name: traps
          source-table: public.traps
          target-table: modern.traps
          key: [id]
          columns:
            - {name: doc, type: json}
            - {name: doc_json, type: json}
            - {name: created_at, precision: millis}
            - {name: name, trim: true, case-insensitive: true}
            - {name: ext_id, type: uuid}
            - {name: score, tolerance: 0.000001}
      """;

  record Captured(Op op, CanonicalKey key, CanonicalRow row) {}

  @Test
  void everyTrapComparesEqualUnderItsRuleAndRealDifferencesRemain() throws IOException {
    Canonicalizer c = Canonicalizer.forConfig(Configs.withTables(RULES, null));
    Map<String, Captured> pg = snapshot(load("postgres", Side.SOURCE, c));
    Map<String, Captured> maria = snapshot(load("mariadb", Side.TARGET, c));
    RowComparator cmp = c.comparator("traps").orElseThrow();

    assertThat(pg.keySet()).containsExactlyInAnyOrderElementsOf(maria.keySet()).hasSize(13);
    for (String id : pg.keySet()) {
      // identical record-key bytes on both sides: this is what co-partitions the change topics
      assertThat(pg.get(id).key().toBytes()).isEqualTo(maria.get(id).key().toBytes());
    }
    Map<String, List<String>> differing = new LinkedHashMap<>();
    for (String id : pg.keySet()) {
      List<FieldDiff> diff = cmp.diff(pg.get(id).row(), maria.get(id).row());
      if (!diff.isEmpty()) {
        differing.put(id, diff.stream().map(FieldDiff::name).toList());
      }
      assertThat(cmp.equivalent(pg.get(id).row(), maria.get(id).row())).isEqualTo(diff.isEmpty());
    }
    // 10: NULL vs '' must differ; 12: 1.80 vs 1.81; 13: 'Alice' vs 'ALICE' and 0.1+0.2 vs 0.3
    assertThat(differing).containsOnly(
        Map.entry("10", List.of("note")),
        Map.entry("12", List.of("amount")),
        Map.entry("13", List.of("name", "score")));
    // equal rows hash equal: agreement is one string comparison on the hot path
    assertThat(pg.get("1").row().hash()).isEqualTo(maria.get("1").row().hash());
    FieldDiff note = cmp.diff(pg.get("10").row(), maria.get("10").row()).get(0);
    assertThat(note.source()).isNull();
    assertThat(note.target()).isEmpty();
  }

  @Test
  void canonicalValuesOfTheTraps() throws IOException {
    Canonicalizer c = Canonicalizer.forConfig(Configs.withTables(RULES, null));
    Map<String, Captured> pg = snapshot(load("postgres", Side.SOURCE, c));
    Map<String, Captured> maria = snapshot(load("mariadb", Side.TARGET, c));
    assertThat(pg.get("1").row().get("amount")).isEqualTo("1.8");        // "1.8000"
    assertThat(maria.get("1").row().get("amount")).isEqualTo("1.8");     // "1.80"
    assertThat(maria.get("2").row().get("ratio")).isEqualTo("0.71");     // ".71" -> "0.7100"
    assertThat(pg.get("3").row().get("score")).isEqualTo("0");           // -0.0
    assertThat(pg.get("3").row().get("amount")).isEqualTo("0");          // "0.0000"
    assertThat(pg.get("4").row().get("doc")).isEqualTo("{\"a\":[1,2],\"b\":1}");
    assertThat(maria.get("4").row().get("doc_json")).isEqualTo("{\"a\":[1,2],\"b\":1}");
    assertThat(pg.get("5").row().get("created_at")).isEqualTo("2024-05-01T10:00:00.123Z");
    assertThat(pg.get("5").row().get("updated_at")).isEqualTo("2024-05-01T10:00:00.654321Z");
    assertThat(maria.get("5").row().get("updated_at")).isEqualTo("2024-05-01T10:00:00.654321Z");
    assertThat(pg.get("6").row().get("code")).isEqualTo("AB");           // CHAR(8) padding is not data
    assertThat(maria.get("7").row().get("active")).isEqualTo("true");    // tinyint(1)
    assertThat(maria.get("8").row().get("active")).isEqualTo("false");
    assertThat(maria.get("9").row().get("big_unsigned")).isEqualTo("18446744073709551615");
    assertThat(pg.get("9").row().get("big_unsigned")).isEqualTo("18446744073709551615");
    assertThat(maria.get("11").row().get("ext_id")).isEqualTo("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assertThat(pg.get("12").row().get("payload")).isEqualTo("cafe");
    assertThat(pg.get("1").row().get("day")).isEqualTo("2024-05-01");    // isostring's "2024-05-01Z"
    assertThat(pg.get("1").row().get("at_time")).isEqualTo("10:00:00.000000");
  }

  @Test
  void withoutRulesTheRepresentationTrapsShowAndWithLenientRulesOnlyRealDifferencesRemain() throws IOException {
    Canonicalizer plain = Canonicalizer.forConfig(Configs.withTables("""
        tables:
          - {name: traps, source-table: public.traps, target-table: modern.traps, key: [id]}
        """, null));
    Map<String, Captured> pg = snapshot(load("postgres", Side.SOURCE, plain));
    Map<String, Captured> maria = snapshot(load("mariadb", Side.TARGET, plain));
    RowComparator cmp = plain.comparator("traps").orElseThrow();
    // MariaDB JSON arrives as LONGTEXT, DATETIME(3) truncates, 'abc   ' keeps its blanks:
    // the rules are what makes them equal, not a blind spot of the comparison.
    // (doc's MariaDB literal happens to be compact and sorted already, so only doc_json shows it)
    assertThat(names(cmp.diff(pg.get("4").row(), maria.get("4").row()))).containsExactly("doc_json");
    assertThat(names(cmp.diff(pg.get("5").row(), maria.get("5").row()))).containsExactly("created_at");
    assertThat(names(cmp.diff(pg.get("6").row(), maria.get("6").row()))).containsExactly("name");
    assertThat(names(cmp.diff(pg.get("11").row(), maria.get("11").row()))).containsExactly("ext_id");
    // decimals, -0, booleans, unsigned and CHAR padding need no rule at all
    for (String id : List.of("1", "2", "3", "7", "8", "9")) {
      assertThat(cmp.diff(pg.get(id).row(), maria.get(id).row())).as("id " + id).isEmpty();
    }

    Canonicalizer lenient = Canonicalizer.forConfig(Configs.withTables(LENIENT, null));
    Map<String, Captured> pgL = snapshot(load("postgres", Side.SOURCE, lenient));
    Map<String, Captured> mariaL = snapshot(load("mariadb", Side.TARGET, lenient));
    RowComparator cmpL = lenient.comparator("traps").orElseThrow();
    assertThat(cmpL.equivalent(pgL.get("13").row(), mariaL.get("13").row())).isTrue();
    assertThat(cmpL.equivalent(pgL.get("12").row(), mariaL.get("12").row())).isFalse();
    assertThat(cmpL.equivalent(pgL.get("10").row(), mariaL.get("10").row())).isFalse();
  }

  @Test
  void liveChangesKeepTheirOpsAndConvergeAfterTheFix() throws IOException {
    Canonicalizer c = Canonicalizer.forConfig(Configs.withTables(RULES, null));
    List<Captured> pg = load("postgres", Side.SOURCE, c);
    List<Captured> maria = load("mariadb", Side.TARGET, c);
    assertThat(pg.stream().map(x -> x.op().code() + x.key().key().get("id")).collect(Collectors.joining(" ")))
        .isEqualTo("r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11 r12 r13 c20 u1 u12 d8 c21");
    assertThat(maria.stream().map(x -> x.op().code() + x.key().key().get("id")).collect(Collectors.joining(" ")))
        .isEqualTo("r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11 r12 r13 c20 u1 u12 d8 c21");
    RowComparator cmp = c.comparator("traps").orElseThrow();
    for (int i = 13; i < pg.size(); i++) {
      if (pg.get(i).op() != Op.DELETE) {
        assertThat(cmp.equivalent(pg.get(i).row(), maria.get(i).row())).as("live event " + i).isTrue();
      }
    }
    // the update fixed id 12 on both sides: 1.80 == 1.8
    assertThat(pg.get(15).row().hash()).isEqualTo(maria.get(15).row().hash());
    // id 21: NULL note on both sides, end-of-day time, 1999 date
    assertThat(pg.get(17).row().get("at_time")).isEqualTo("23:59:59.999000");
    assertThat(maria.get(17).row().get("day")).isEqualTo("1999-12-31");
  }

  private static List<String> names(List<FieldDiff> diffs) {
    return diffs.stream().map(FieldDiff::name).toList();
  }

  private static Map<String, Captured> snapshot(List<Captured> events) {
    Map<String, Captured> m = new LinkedHashMap<>();
    events.stream().filter(e -> e.op() == Op.READ).forEach(e -> m.put(e.key().key().get("id"), e));
    return m;
  }

  static List<Captured> load(String db, Side side, Canonicalizer c) throws IOException {
    List<Captured> out = new ArrayList<>();
    try (InputStream in = GoldenEventsTest.class.getResourceAsStream("/golden/" + db + "/traps.jsonl")) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      for (String line : text.split("\n")) {
        if (line.isBlank()) {
          continue;
        }
        DebeziumChange ch = DebeziumJson.parse(line);
        TableCanonicalizer tc = c.physicalTable(side, ch.schemaOrDatabase() + "." + ch.table()).orElseThrow();
        CanonicalRow row = tc.row(ch.image(), ch.types());
        out.add(new Captured(ch.op(), tc.key(row), row));
      }
    }
    return out;
  }
}
