package io.migrationverifier.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Tags;
import io.migrationverifier.config.Side;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.repair.RepairEngine;
import io.migrationverifier.testutil.Configs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every metric of ours that {@code /metrics} can expose is documented in README (and README
 * documents none that does not exist), and each listener observation moves its metric.
 */
class MetricsDocTest {
  private static final Pattern FAMILY = Pattern.compile("^# TYPE (verifier_[a-z0-9_]+) ", Pattern.MULTILINE);
  /** A row of README's metrics table. */
  private static final Pattern MENTION = Pattern.compile("^\\| `(verifier_[a-z0-9_]+)` \\|", Pattern.MULTILINE);

  /** A Metrics that has seen one of everything, so every family is registered. */
  static Metrics exercised() {
    Metrics m = new Metrics(Configs.withTables("""
        tables:
          - {name: orders, key: [id]}
        """, null));
    m.batch(Side.SOURCE, 3, System.currentTimeMillis());
    m.deadLettered(Side.TARGET, new IllegalArgumentException("x"));
    m.changeApplied("orders", Side.SOURCE);
    m.duplicateIgnored(Side.SOURCE);
    m.lateChange(Side.TARGET, 5);
    m.malformed("t", "bad");
    m.pendingChanged("orders", 1);
    m.converged("orders", 120);
    m.reported("orders", DiscrepancyKind.VALUE_MISMATCH);
    m.resolved("orders", 3000);
    m.watermark(0, Side.SOURCE, System.currentTimeMillis());
    m.stalled(0, Side.TARGET, true);
    m.outcome("orders", RepairEngine.Status.APPLIED);
    m.retried("orders", 1, new RuntimeException());
    m.deadLettered("orders", new RuntimeException());
    m.paused("down");
    m.auditProgress("orders", 2, 10, 5000, 1);
    m.setTopicFigure("verifier.dlq.depth", Tags.of("topic", "repairs"), 4);
    return m;
  }

  @Test
  void everyMetricIsDocumentedInReadmeAndNothingElse() throws Exception {
    String text;
    try (Metrics m = exercised()) {
      text = m.scrape();
    }
    Set<String> families = new TreeSet<>();
    Matcher f = FAMILY.matcher(text);
    while (f.find()) {
      families.add(f.group(1));
    }
    assertThat(families).hasSizeGreaterThan(20);
    String readme = Files.readString(Path.of("README.md"));
    Set<String> documented = new TreeSet<>();
    Matcher d = MENTION.matcher(readme);
    while (d.find()) {
      documented.add(d.group(1));
    }
    assertThat(families).as("metrics /metrics exposes but README's metrics table does not list")
        .allMatch(documented::contains, "documented");
    Set<String> stale = new TreeSet<>(documented);
    stale.removeIf(n -> families.contains(n) || families.contains(n.replaceAll("_(bucket|count|sum|max)$", "")));
    assertThat(stale).as("metrics README documents that do not exist").isEmpty();
  }

  /** The shipped alert rules use only metrics that exist (a renamed metric would silence an alert). */
  @Test
  void alertRulesUseExistingMetrics() throws Exception {
    String text;
    try (Metrics m = exercised()) {
      text = m.scrape();
    }
    var rules = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
        .readTree(Path.of("config/alerts.yml").toFile());
    Set<String> used = new TreeSet<>();
    for (var group : rules.get("groups")) {
      for (var rule : group.get("rules")) {
        assertThat(rule.get("alert").asText()).isNotBlank();
        Matcher u = Pattern.compile("verifier_[a-z0-9_]+").matcher(rule.get("expr").asText());
        while (u.find()) {
          used.add(u.group());
        }
      }
    }
    assertThat(used).hasSizeGreaterThan(5);
    for (String name : used) {
      assertThat(text).as("alert rules use " + name).containsPattern("(?m)^" + name + "[{ ]");
    }
  }

  @Test
  void observationsMoveTheirMetrics() {
    try (Metrics m = exercised()) {
      String text = m.scrape();
      assertThat(text).contains("verifier_capture_changes_total{side=\"source\"} 3.0")
          .contains("verifier_change_events_total{side=\"source\",table=\"orders\"} 1.0")
          .contains("verifier_disagreements_pending{table=\"orders\"} 1.0")
          .contains("verifier_convergence_lag_seconds_count{table=\"orders\"} 2")
          .contains("verifier_discrepancies_emitted_total{kind=\"VALUE_MISMATCH\",table=\"orders\"} 1.0")
          .contains("verifier_discrepancies_emitted_total{kind=\"RESOLVED\",table=\"orders\"} 1.0")
          .contains("verifier_side_stalled{partition=\"0\",side=\"target\"} 1.0")
          .contains("verifier_repairs_total{outcome=\"applied\",table=\"orders\"} 1.0")
          .contains("verifier_repair_paused 1.0")
          .contains("verifier_audit_rows{table=\"orders\"} 5000.0")
          .contains("verifier_dlq_depth{topic=\"repairs\"} 4.0");
      assertThat(m.recentConvergence("orders")).containsExactly(120, 3000);
      m.pendingChanged("orders", -1);
      m.resumed(10);
      assertThat(m.scrape()).contains("verifier_disagreements_pending{table=\"orders\"} 0.0")
          .contains("verifier_repair_paused 0.0");
      // a partition that moved to another instance leaves no gauge behind to grow stale
      m.partitionClosed(0);
      assertThat(m.scrape()).doesNotContain("verifier_watermark_lag_seconds{partition=\"0\"")
          .doesNotContain("verifier_side_stalled{partition=\"0\"");
      m.watermark(0, Side.SOURCE, System.currentTimeMillis());
      assertThat(m.scrape()).contains("verifier_watermark_lag_seconds{partition=\"0\",side=\"source\"}");
    }
  }
}
