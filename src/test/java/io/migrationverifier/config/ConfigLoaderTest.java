package io.migrationverifier.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  private static final String BASE = """
      name: shop
      source: {type: postgres, host: db1, database: legacy, user: verifier, password: "${env:SRC_PW}"}
      target: {type: mariadb, database: modern, user: verifier, password: "${file:%s}"}
      tables:
        - name: orders
          target-table: modern.purchase_orders
          key: [id]
          columns:
            - {name: total, target: total_amount, type: decimal, scale: 2}
            - {name: legacy_flag, target: null}
          window: 10s
      """;

  @Test
  void loadsAValidFileWithDefaultsAndSecrets(@TempDir Path dir) throws Exception {
    Path secret = Files.writeString(dir.resolve("pw"), "file-secret\n");
    VerifierConfig c = ConfigLoader.parse(BASE.formatted(secret), Map.of("SRC_PW", "env-secret")::get);
    assertThat(c.name()).isEqualTo("shop");
    assertThat(c.kafka().embedded()).isTrue();
    assertThat(c.kafka().partitions()).isEqualTo(4);
    assertThat(c.source().port()).isEqualTo(5432);
    assertThat(c.target().port()).isEqualTo(3306);
    assertThat(c.source().password().reveal()).isEqualTo("env-secret");
    assertThat(c.target().password().reveal()).isEqualTo("file-secret");
    assertThat(c.verify().window()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.verify().processingGuarantee()).isEqualTo("exactly_once_v2");
    TableConfig orders = c.tables().get(0);
    assertThat(orders.sourceTable()).isEqualTo("orders");
    assertThat(orders.targetTable()).isEqualTo("modern.purchase_orders");
    assertThat(orders.effectiveWindow(c.verify())).isEqualTo(Duration.ofSeconds(10));
    assertThat(orders.column("total").orElseThrow().targetName()).isEqualTo("total_amount");
    assertThat(orders.column("legacy_flag").orElseThrow().ignore()).as("absent on the target side").isTrue();
    assertThat(c.topics().changes(Side.SOURCE)).isEqualTo("shop.changes.source");
    assertThat(c.topics().discrepancies()).isEqualTo("shop.discrepancies");
  }

  @Test
  void secretsNeverAppearInToString(@TempDir Path dir) throws Exception {
    Path secret = Files.writeString(dir.resolve("pw"), "canary-file-pw");
    VerifierConfig c = ConfigLoader.parse(BASE.formatted(secret) + """
        kafka:
          properties: {sasl.jaas.config: "${env:KAFKA_JAAS}", client.id: visible}
        """, Map.of("SRC_PW", "canary-env-pw", "KAFKA_JAAS", "canary-jaas")::get);
    String shown = c.toString();
    assertThat(shown).doesNotContain("canary-env-pw", "canary-file-pw", "canary-jaas").contains("****", "visible");
  }

  @Test
  void everyProblemIsReportedAtOnceWithItsPath() {
    String yaml = """
        name: "Bad Name!"
        kafka: {partitions: 0, colour: blue}
        source: {type: oracle, database: legacy, user: u, port: 99999}
        target: {type: mariadb, user: u, password: "${env:NOPE}"}
        verify: {window: soon, processing-guarantee: maybe, timestamp-precision: hours}
        tables:
          - name: orders
            key: [id, id]
          - name: orders
            key: [id]
            columns:
              - {name: id, target: null}
              - {name: amount, type: money, tolerance: -1}
              - {name: total, type: text, scale: 2}
          - name: items
            source-table: 'x"; DROP TABLE t; --'
            key: ['id" OR 1=1 --']
            columns:
              - {name: 'id" OR 1=1 --'}
          - {name: lines}
        """;
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> ConfigLoader.parse(yaml, name -> null));
    assertThat(e.problems()).contains(
        "name: \"Bad Name!\" must be lower-case letters, digits, '.', '_' or '-' (at most 100): it prefixes every topic name",
        "kafka.colour: unknown setting; expected one of bootstrap-servers, embedded-port, partitions, replication-factor, properties",
        "kafka.partitions: 0 is out of range [1, 10000]",
        "source.type: \"oracle\" is not supported; use postgres or mariadb",
        "source.port: 99999 is out of range [0, 65535]",
        "target.database: required",
        "target.password: environment variable NOPE is not set (export it, or change ${env:NOPE})",
        "verify.window: \"soon\" is not a duration; write e.g. 500ms, 30s, 5m, 1h or PT30S",
        "verify.processing-guarantee: \"maybe\" must be exactly_once_v2 (default) or at_least_once",
        "verify.timestamp-precision: \"hours\" must be one of seconds, millis, micros or nanos",
        "tables[0].key[1]: column \"id\" is listed twice in the key",
        "tables[1].name: \"orders\" is configured twice; logical table names must be unique",
        "tables[1].key: column \"id\" is not mapped on the target side",
        "tables[1].columns[2].scale: applies to decimal columns only (type is text)",
        "tables[3].key: required; list the primary key column(s), e.g. key: [id]");
    assertThat(e.problems()).anyMatch(p -> p.startsWith("tables[1].columns[1].type: \"money\" must be one of"));
    assertThat(e.problems()).anyMatch(p -> p.startsWith("tables[1].columns[1].tolerance: must be a number >= 0"));
    // identifiers that would be SQL injection are rejected where they are written
    assertThat(e.problems()).anyMatch(p -> p.startsWith("tables[2].source-table: \"x\"; DROP TABLE t; --\" is not a valid table name"));
    assertThat(e.problems()).anyMatch(p -> p.startsWith("tables[2].key[0]: \"id\" OR 1=1 --\" is not a valid column name"));
    assertThat(e.problems()).anyMatch(p -> p.startsWith("tables[2].columns[0].name: \"id\" OR 1=1 --\" is not a valid column name"));
    assertThat(e.getMessage()).startsWith("invalid configuration (" + e.problems().size() + " problems):");
  }

  @Test
  void notYamlAndMissingFileAreClearErrors(@TempDir Path dir) {
    assertThatThrownBy(() -> ConfigLoader.parse("name: [unclosed", n -> null))
        .isInstanceOf(ConfigException.class).hasMessageContaining("not valid YAML at line");
    assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("missing.yaml")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("cannot read the config file");
    assertThatThrownBy(() -> ConfigLoader.parse("- a\n- b\n", n -> null))
        .isInstanceOf(ConfigException.class).hasMessageContaining("must hold a YAML mapping");
  }

  @Test
  void identifiersAreQuotedPerDialect() {
    assertThat(Dialect.POSTGRES.quote("public.orders")).isEqualTo("\"public\".\"orders\"");
    assertThat(Dialect.MARIADB.quote("shop.orders")).isEqualTo("`shop`.`orders`");
    assertThatThrownBy(() -> Dialect.POSTGRES.quote("id\" OR 1=1 --")).isInstanceOf(IllegalArgumentException.class);
    assertThat(Identifiers.isValidQualified("a.b.c")).isFalse();
    assertThat(Identifiers.isValidPart("1abc")).isFalse();
  }

  @Test
  void durationsAcceptShortAndIsoForms() {
    assertThat(ConfigLoader.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(ConfigLoader.parseDuration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(ConfigLoader.parseDuration("PT30S")).isEqualTo(Duration.ofSeconds(30));
    assertThat(ConfigLoader.parseDuration("forever")).isNull();
  }

  @Test
  void shippedConfigFilesAreValid() {
    for (String f : new String[] {"config/verifier.example.yaml", "config/demo.yaml"}) {
      VerifierConfig c = ConfigLoader.load(Path.of(f), Map.of("SOURCE_DB_PASSWORD", "x", "TARGET_DB_PASSWORD", "y")::get);
      assertThat(c.tables()).as(f).isNotEmpty();
    }
  }
}
