package io.migrationverifier.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secrets come from {@code ${env:VAR}} or {@code ${file:/path}}, never from the file itself: a
 * non-empty literal password or secret-like pass-through property is refused, by path, without
 * quoting it, together with every other problem.
 */
class SecretSourcesTest {
  static final String FIX = ": must not be written in the file; use ${env:VAR} or ${file:/path}";
  static final Function<String, String> NO_ENV = name -> null;

  /** A valid config but for {@code source}, {@code target} and {@code kafka}, which the caller writes. */
  static String config(String kafka, String source, String target) {
    return """
        name: shop
        kafka: %s
        source: %s
        target: %s
        tables:
          - {name: orders, key: [id]}
        """.formatted(kafka, source, target);
  }

  static String pg(String extra) {
    return "{type: postgres, database: legacy, user: verifier" + extra + "}";
  }

  static ConfigException refused(String yaml, Function<String, String> env) {
    ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(yaml, env), ConfigException.class);
    assertThat(e).as("expected a ConfigException").isNotNull();
    return e;
  }

  @Test
  void aLiteralPasswordIsRefusedByPathWithoutQuotingIt() {
    ConfigException e = refused(config("{}", pg(", password: Canary-pw-7d1e"), pg("")), NO_ENV);
    assertThat(e.problems()).containsExactly("source.password" + FIX);
    assertThat(e.getMessage()).doesNotContain("Canary-pw-7d1e").doesNotContain("Canary");
  }

  @Test
  void everyLiteralSecretIsListedAtOnceWithTheOtherProblems() {
    String yaml = """
        name: shop
        kafka:
          properties:
            sasl.jaas.config: 'org.apache.kafka.common.security.plain.PlainLoginModule required password="Canary-1";'
            ssl.keystore.password: Canary-2
            sasl.oauthbearer.Token: Canary-3
            sasl.client.SECRET: Canary-4
            my.credentials: Canary-5
        source:
          type: postgres
          database: legacy
          user: verifier
          password: Canary-6
          properties: {driver.sslpassword: Canary-7}
        target:
          type: mariadb
          database: modern
          user: verifier
          password: 12345
          properties: {database.ssl.truststore.password: Canary-8}
        verify: {window: soon}
        tables:
          - {name: orders, key: [id]}
        """;
    ConfigException e = refused(yaml, NO_ENV);
    assertThat(e.problems()).contains(
        "verify.window: \"soon\" is not a duration; write e.g. 500ms, 30s, 5m, 1h or PT30S",
        "source.password" + FIX,
        "target.password" + FIX,
        "kafka.properties.sasl.jaas.config" + FIX,
        "kafka.properties.ssl.keystore.password" + FIX,
        "kafka.properties.sasl.oauthbearer.Token" + FIX,
        "kafka.properties.sasl.client.SECRET" + FIX,
        "kafka.properties.my.credentials" + FIX,
        "source.properties.driver.sslpassword" + FIX,
        "target.properties.database.ssl.truststore.password" + FIX);
    assertThat(e.problems()).hasSize(10);
    assertThat(e.getMessage()).doesNotContain("Canary").doesNotContain("12345");
  }

  @Test
  void anEmptyOrMissingPasswordIsAllowed() {
    VerifierConfig c = ConfigLoader.parse(config("{properties: {ssl.truststore.password: ''}}",
        pg(", password: ''"), pg("")), NO_ENV);
    assertThat(c.source().password().isEmpty()).isTrue();
    assertThat(c.target().password().isEmpty()).isTrue();
  }

  @Test
  void secretsFromTheEnvironmentOrAFilePass(@TempDir Path dir) throws Exception {
    Path pw = Files.writeString(dir.resolve("target-pw"), "from-a-file\n");
    Path jaas = Files.writeString(dir.resolve("jaas"), "PlainLoginModule required password=\"j\";");
    VerifierConfig c = ConfigLoader.parse(config(
        "{properties: {sasl.jaas.config: \"${file:" + jaas + "}\", ssl.truststore.password: \"${env:TS_PW}\"}}",
        pg(", password: \"${env:SOURCE_PW}\", properties: {driver.sslpassword: \"${env:SSL_PW}\"}"),
        pg(", password: \"${file:" + pw + "}\"")),
        Map.of("SOURCE_PW", "from-env", "SSL_PW", "ssl-from-env", "TS_PW", "ts-from-env")::get);
    assertThat(c.source().password().reveal()).isEqualTo("from-env");
    assertThat(c.target().password().reveal()).isEqualTo("from-a-file");
    assertThat(c.source().properties()).containsEntry("driver.sslpassword", "ssl-from-env");
    assertThat(c.kafka().properties()).containsEntry("ssl.truststore.password", "ts-from-env")
        .containsEntry("sasl.jaas.config", "PlainLoginModule required password=\"j\";");
  }

  @Test
  void aLiteralJaasLineIsRefusedAndOneWithASubstitutedPasswordAccepted() {
    String literal = "{properties: {sasl.jaas.config: 'org.apache.kafka.common.security.scram.ScramLoginModule"
        + " required username=\"mv\" password=\"Canary-jaas\";'}}";
    ConfigException e = refused(config(literal, pg(""), pg("")), NO_ENV);
    assertThat(e.problems()).containsExactly("kafka.properties.sasl.jaas.config" + FIX);
    assertThat(e.getMessage()).doesNotContain("Canary").doesNotContain("ScramLoginModule");

    String partly = literal.replace("Canary-jaas", "${env:KAFKA_PW}");
    VerifierConfig c = ConfigLoader.parse(config(partly, pg(""), pg("")), Map.of("KAFKA_PW", "kafka-pw")::get);
    assertThat(c.kafka().properties().get("sasl.jaas.config"))
        .isEqualTo("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"mv\""
            + " password=\"kafka-pw\";");
  }

  @Test
  void aLiteralDriverSslPasswordIsRefused() {
    ConfigException e = refused(config("{}", pg(", properties: {driver.sslmode: verify-full,"
        + " driver.sslpassword: Canary-ssl}"), pg("")), NO_ENV);
    assertThat(e.problems()).containsExactly("source.properties.driver.sslpassword" + FIX);
    assertThat(e.getMessage()).doesNotContain("Canary");
  }

  @Test
  void propertiesThatAreNoSecretsMayBeWrittenInTheFile() {
    VerifierConfig c = ConfigLoader.parse(config(
        "{properties: {security.protocol: SSL, ssl.truststore.location: /etc/verifier/ts.p12,"
            + " ssl.keystore.location: /etc/verifier/ks.p12, ssl.keystore.type: PKCS12}}",
        pg(", properties: {driver.sslmode: verify-full, driver.sslrootcert: /etc/verifier/ca.pem}"),
        pg(", properties: {database.ssl.truststore: /etc/verifier/db-ts.p12}")), NO_ENV);
    assertThat(c.kafka().properties()).containsEntry("ssl.truststore.location", "/etc/verifier/ts.p12")
        .containsEntry("ssl.keystore.location", "/etc/verifier/ks.p12");
    assertThat(c.source().properties()).containsEntry("driver.sslrootcert", "/etc/verifier/ca.pem");
  }
}
