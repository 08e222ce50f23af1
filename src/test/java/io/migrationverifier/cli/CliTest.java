package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Main.run(args);
      return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void validateAcceptsTheDemoConfig() {
    Run r = run("validate", "--config", "config/demo.yaml");
    assertThat(r.code()).isEqualTo(ExitCodes.OK);
    assertThat(r.out()).contains("valid", "orders: public.orders -> public.purchase_orders");
  }

  @Test
  void validateListsEveryProblemAndExitsTwoWithoutPrintingSecrets(@TempDir Path dir) throws Exception {
    Path f = Files.writeString(dir.resolve("bad.yaml"), """
        name: ok
        source: {type: postgres, database: legacy, user: u, password: canary-secret-1}
        target: {type: mariadb, database: modern, user: u, password: canary-secret-2, port: -1}
        tables:
          - {name: orders, key: [id], columns: [{name: id, target: null}, {name: x, comparator: nope}]}
        verify: {window: never}
        """);
    Run r = run("validate", "--config", f.toString());
    assertThat(r.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(r.err()).contains("target.port: -1 is out of range", "verify.window:",
        "tables[0].key: column \"id\" is not mapped on the target side",
        // passwords written in the file are refused, by path, without quoting them
        "source.password: must not be written in the file; use ${env:VAR} or ${file:/path}",
        "target.password: must not be written in the file; use ${env:VAR} or ${file:/path}");
    assertThat(r.out() + r.err()).doesNotContain("canary-secret");
  }

  @Test
  void benchRefusesAnUnknownVerifyStateBeforeStartingAnything() {
    Run r = run("bench", "--only", "verify", "--verify-state", "hashes");
    assertThat(r.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(r.err()).contains("--verify-state: \"hashes\" must be full or hash-only");
    assertThat(r.out()).doesNotContain("verify round");
  }

  @Test
  void anInjectionAttemptAsTheAuditTimeColumnIsRejectedBeforeAnyDatabaseIsTouched() {
    Run r = run("audit", "--config", "config/demo.yaml", "--segments", "time:id\" OR 1=1 --");
    assertThat(r.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(r.err()).contains("--segments:", "is not a valid column name");
  }

  @Test
  void unknownComparatorsAreReportedByValidate(@TempDir Path dir) throws Exception {
    Path f = Files.writeString(dir.resolve("cmp.yaml"), """
        name: ok
        source: {type: postgres, database: legacy, user: u}
        target: {type: mariadb, database: modern, user: u}
        tables:
          - {name: orders, key: [id], columns: [{name: x, comparator: no-such-comparator}]}
        """);
    Run r = run("validate", "--config", f.toString());
    assertThat(r.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(r.err()).contains("no ValueComparator named \"no-such-comparator\"");
  }

  @Test
  void usageErrorsExitTwo() {
    assertThat(run("validate").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(run("no-such-command").code()).isEqualTo(ExitCodes.INVALID);
  }

  @Test
  void topologyPrintsTheDescriptionAndMermaid() {
    Run text = run("topology", "--config", "config/demo.yaml");
    assertThat(text.code()).isZero();
    assertThat(text.out()).contains("Processor: verify", "demo.changes.source");
    Run mermaid = run("topology", "--config", "config/demo.yaml", "--format", "mermaid");
    assertThat(mermaid.out()).startsWith("flowchart LR");
  }
}
