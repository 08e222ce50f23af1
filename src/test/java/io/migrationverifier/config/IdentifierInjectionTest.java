package io.migrationverifier.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.migrationverifier.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every place the config names a SQL identifier rejects an injection attempt at validation, with
 * the place's path, all of them at once: nothing reaches a database. The quoting that SQL builders
 * use refuses such a name too, as a second line.
 */
class IdentifierInjectionTest {
  /** Closes a quoted identifier, adds a condition and comments out the rest: classic injection. */
  static final String EVIL = "id\" OR 1=1 --";
  /** The same against MariaDB's backquotes. */
  static final String EVIL_MARIADB = "id` OR 1=1 -- ";

  /** Every identifier the config can name, each set to {@code evil}; the paths that must be reported. */
  static String everyIdentifier(String evil) {
    String e = "'" + evil.replace("'", "''") + "'";
    return """
        name: shop
        source: {type: postgres, database: %1$s, user: verifier}
        target: {type: mariadb, database: modern, user: verifier}
        capture: {heartbeat-table: %1$s}
        tables:
          - name: %1$s
            key: [id]
          - name: orders
            source-table: %1$s
            target-table: "public.%2$s"
            key: [%1$s]
            columns:
              - {name: %1$s}
              - {name: total, source: %1$s}
              - {name: note, target: %1$s}
              - {name: version}
            repair: {policy: last-write-wins, version-column: %1$s}
        """.formatted(e, evil.replace("\\", "\\\\").replace("\"", "\\\""));
  }

  static final List<String> PATHS = List.of("source.database", "capture.heartbeat-table", "tables[0].name",
      "tables[1].source-table", "tables[1].target-table", "tables[1].key[0]", "tables[1].columns[0].name",
      "tables[1].columns[1].source", "tables[1].columns[2].target", "tables[1].repair.version-column");

  @Test
  void everyIdentifierPlaceRejectsAnInjectionAttemptWithItsPath() {
    for (String evil : List.of(EVIL, EVIL_MARIADB, "orders; DROP TABLE orders", "a b", "1id", "x'y", "a.b.c.d",
        "na\u00efve", "x".repeat(64), "")) {
      ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(everyIdentifier(evil), n -> null),
          ConfigException.class);
      assertThat(e).as("config with identifier %s", evil).isNotNull();
      for (String path : PATHS) {
        if (evil.equals("a.b.c.d") || evil.isEmpty()) {
          continue; // checked per path below: a qualified name or an empty value have their own messages
        }
        assertThat(e.problems()).as("%s rejected at %s", evil, path).anySatisfy(p -> assertThat(p).startsWith(path + ":"));
      }
    }
  }

  @Test
  void qualifiedNamesAllowSchemaDotTableOnlyForTables() {
    ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(everyIdentifier("a.b"), n -> null),
        ConfigException.class);
    // a.b is a valid table (schema.table) but not a column, database or logical name
    assertThat(e.problems()).noneSatisfy(p -> assertThat(p).startsWith("tables[1].source-table:"));
    assertThat(e.problems()).noneSatisfy(p -> assertThat(p).startsWith("capture.heartbeat-table:"));
    for (String path : List.of("source.database", "tables[0].name", "tables[1].key[0]", "tables[1].columns[0].name",
        "tables[1].columns[1].source", "tables[1].columns[2].target", "tables[1].repair.version-column")) {
      assertThat(e.problems()).as(path).anySatisfy(p -> assertThat(p).startsWith(path + ":"));
    }
  }

  @Test
  void validateExitsTwoListingEveryPlace(@TempDir Path dir) throws Exception {
    Path f = Files.writeString(dir.resolve("evil.yaml"), everyIdentifier(EVIL));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    int code;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      code = Main.run("validate", "--config", f.toString());
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    String printed = err.toString(StandardCharsets.UTF_8);
    assertThat(code).isEqualTo(2);
    for (String path : PATHS) {
      assertThat(printed).as("validate names %s", path).contains(path + ": ");
    }
    assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("valid.");
  }

  @Test
  void quotingRefusesWhatValidationWouldRejectAndQuotesTheRest() {
    for (String evil : List.of(EVIL, EVIL_MARIADB, "a;b", "a b", "")) {
      assertThatThrownBy(() -> Dialect.POSTGRES.quote(evil)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> Dialect.MARIADB.quote(evil)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(Dialect.POSTGRES.quote("public.Orders")).isEqualTo("\"public\".\"Orders\"");
    assertThat(Dialect.MARIADB.quote("shop.order$1")).isEqualTo("`shop`.`order$1`");
  }
}
