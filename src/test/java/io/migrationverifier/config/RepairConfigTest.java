package io.migrationverifier.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.migrationverifier.testutil.Configs;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code repair:} and {@code http:} sections and {@code tables[].repair}. */
class RepairConfigTest {
  private static final String BASE = """
      name: shop
      source: {type: postgres, database: legacy, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
      target: {type: mariadb, database: modern, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
      """;

  private static VerifierConfig parse(String yaml) {
    return ConfigLoader.parse(BASE + yaml, Configs.ENV);
  }

  private static List<String> problems(String yaml) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
    assertThat(e).as("expected a ConfigException").isNotNull();
    return e.problems();
  }

  @Test
  void defaultsWhenTheSectionsAreAbsent() {
    VerifierConfig c = parse("""
        tables:
          - {name: orders, key: [id]}
        """);
    assertThat(c.repair()).isEqualTo(RepairSettings.DEFAULTS);
    assertThat(c.http()).isEqualTo(HttpSettings.DEFAULTS);
    TableConfig t = c.tables().get(0);
    assertThat(t.repair()).as("detect-only is the default").isEqualTo(TableRepair.DETECT_ONLY);
    assertThat(t.repair().enabled()).isFalse();
    assertThat(c.anyRepairEnabled()).isFalse();
    assertThat(c.topics().repairsLog()).isEqualTo("shop.repairs.log");
    assertThat(c.topics().repairsRetry()).isEqualTo("shop.repairs.retry");
    assertThat(c.topics().repairsDlq()).isEqualTo("shop.repairs.dlq");
    assertThat(c.topics().review()).isEqualTo("shop.review");
    assertThat(RepairSettings.groupId("shop")).isEqualTo("shop.repair");
  }

  @Test
  void validSectionsParse() {
    VerifierConfig c = parse("""
        repair:
          max-attempts: 7
          backoff: 250ms
          max-backoff: 10s
          fence-retries: 0
          outage-probe-interval: 500ms
          rate-limit: 100
        http: {enabled: false, bind: 0.0.0.0, port: 0}
        tables:
          - name: orders
            key: [id]
            repair: {}
          - name: accounts
            key: [id]
            repair: {policy: last-write-wins, version-column: updated_at, skew-tolerance: 2s, rate-limit: 5}
          - name: notes
            key: [id]
            repair: {enabled: true, policy: manual}
          - name: carts
            key: [id]
            repair: {policy: custom, resolver: com.example.CartResolver, rate-limit: 0}
          - name: audit
            key: [id]
            repair: {enabled: false, policy: manual}
        """);
    RepairSettings r = c.repair();
    assertThat(r.maxAttempts()).isEqualTo(7);
    assertThat(r.backoff()).isEqualTo(Duration.ofMillis(250));
    assertThat(r.maxBackoff()).isEqualTo(Duration.ofSeconds(10));
    assertThat(r.fenceRetries()).isZero();
    assertThat(r.outageProbeInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(r.rateLimit()).isEqualTo(100);
    assertThat(c.http()).isEqualTo(new HttpSettings(false, "0.0.0.0", 0));

    TableRepair orders = c.tables().get(0).repair();
    assertThat(orders.enabled()).as("a repair section enables repair").isTrue();
    assertThat(orders.policy()).isEqualTo(RepairPolicy.SOURCE_WINS);
    assertThat(orders.effectiveRateLimit(r)).as("the role's default").isEqualTo(100);

    TableRepair accounts = c.tables().get(1).repair();
    assertThat(accounts.policy()).isEqualTo(RepairPolicy.LAST_WRITE_WINS);
    assertThat(accounts.versionColumn()).isEqualTo("updated_at");
    assertThat(accounts.skewTolerance()).isEqualTo(Duration.ofSeconds(2));
    assertThat(accounts.effectiveRateLimit(r)).isEqualTo(5);

    assertThat(c.tables().get(2).repair().policy()).isEqualTo(RepairPolicy.MANUAL);
    TableRepair carts = c.tables().get(3).repair();
    assertThat(carts.policy()).isEqualTo(RepairPolicy.CUSTOM);
    assertThat(carts.resolverClass()).isEqualTo("com.example.CartResolver");
    assertThat(carts.effectiveRateLimit(r)).as("0 = unlimited, not the default").isZero();
    assertThat(c.tables().get(4).repair().enabled()).isFalse();
    assertThat(c.anyRepairEnabled()).isTrue();
  }

  @Test
  void backoffDoublesUpToItsCap() {
    RepairSettings r = parse("""
        repair: {backoff: 1s, max-backoff: 5s}
        tables:
          - {name: orders, key: [id]}
        """).repair();
    assertThat(r.delayBefore(2)).isEqualTo(Duration.ofSeconds(1));
    assertThat(r.delayBefore(3)).isEqualTo(Duration.ofSeconds(2));
    assertThat(r.delayBefore(4)).isEqualTo(Duration.ofSeconds(4));
    assertThat(r.delayBefore(5)).isEqualTo(Duration.ofSeconds(5));
    assertThat(r.delayBefore(80)).as("no overflow").isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void everyBadValueIsReportedAtOnceWithItsPath() {
    List<String> p = problems("""
        repair:
          max-attempts: 0
          backoff: 10s
          max-backoff: 1s
          fence-retries: -1
          outage-probe-interval: soon
          rate-limit: -5
          retries: 3
        http: {enabled: maybe, port: 70000, tls: true}
        tables:
          - name: a
            key: [id]
            repair: {policy: first-write-wins}
          - name: b
            key: [id]
            repair: {policy: last-write-wins}
          - name: c
            key: [id]
            repair: {policy: custom}
          - name: d
            key: [id]
            repair: {policy: source-wins, resolver: com.example.R}
          - name: e
            key: [id]
            repair: {policy: manual, version-column: ver}
          - name: f
            key: [id]
            repair: {policy: last-write-wins, version-column: id, rate-limit: -1}
          - name: g
            key: [id]
            columns:
              - {name: ver, ignore: true}
            repair: {policy: last-write-wins, version-column: ver, skew-tolerance: later}
          - name: h
            key: [id]
            repair: {policy: custom, resolver: "not a class", colour: red}
        """);
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("repair.max-attempts:").contains("out of range"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("repair.max-backoff:").contains("shorter than"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("repair.fence-retries:"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("repair.outage-probe-interval:").contains("duration"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("repair.rate-limit:").contains("-5"));
    assertThat(p).anySatisfy(s -> assertThat(s).contains("repair").contains("retries").contains("unknown"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("http.enabled:"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("http.port:").contains("out of range"));
    assertThat(p).anySatisfy(s -> assertThat(s).contains("http").contains("tls"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[0].repair.policy:")
        .contains("first-write-wins", "source-wins", "last-write-wins", "manual", "custom"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[1].repair.version-column:")
        .contains("required by policy last-write-wins"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[2].repair.resolver:")
        .contains("required by policy custom", "ConflictResolver"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[3].repair.resolver:")
        .contains("only used by policy custom"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[4].repair.version-column:")
        .contains("only used by policy last-write-wins"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[5].repair.version-column:").contains("key column"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[5].repair.rate-limit:"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[6].repair.version-column:").contains("ignored"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[6].repair.skew-tolerance:").contains("duration"));
    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("tables[7].repair.resolver:").contains("not a Java class"));
    assertThat(p).anySatisfy(s -> assertThat(s).contains("tables[7].repair").contains("colour"));
    assertThat(p).hasSizeGreaterThanOrEqualTo(20);
  }

  @Test
  void aProblemFreeFileNamesNoRepairPaths() {
    VerifierConfig c = parse("""
        repair: {backoff: 1s, max-backoff: 1s}
        tables:
          - {name: orders, key: [id], repair: {policy: last-write-wins, version-column: ver}}
          - {name: items, key: [id], repair: {policy: last-write-wins, version-column: ver, skew-tolerance: 0s}}
        """);
    assertThat(c.repair().backoff()).isEqualTo(c.repair().maxBackoff());
    assertThat(c.tables().get(0).repair().skewTolerance()).isEqualTo(Duration.ZERO);
    assertThat(c.tables().get(1).repair().skewTolerance()).as("zero is a tolerance").isEqualTo(Duration.ZERO);
  }
}
