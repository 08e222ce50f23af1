package io.migrationverifier.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tables[].columns[].pii} and {@code verify.pii-key}; secrets kept out of problem messages. */
class PiiConfigTest {
  static final String KEY = "k3y-0f-at-least-16-chars";

  static String config(String verify, String columns) {
    return """
        name: shop
        source: {type: postgres, database: legacy, user: verifier}
        target: {type: postgres, database: modern, user: verifier}
        verify: %s
        tables:
          - name: customers
            key: [id]
            columns: %s
        """.formatted(verify, columns);
  }

  @Test
  void readsMaskAndHashWithAKeyFromTheEnvironmentOrAFile(@TempDir Path dir) throws Exception {
    VerifierConfig c = ConfigLoader.parse(config("{pii-key: \"${env:PII}\"}",
        "[{name: email, pii: hash}, {name: phone, pii: MASK}, {name: city}]"), Map.of("PII", KEY)::get);
    assertThat(c.table("customers").orElseThrow().column("email").orElseThrow().pii()).isEqualTo(PiiMode.HASH);
    assertThat(c.table("customers").orElseThrow().column("phone").orElseThrow().pii()).isEqualTo(PiiMode.MASK);
    assertThat(c.table("customers").orElseThrow().column("city").orElseThrow().pii()).isEqualTo(PiiMode.NONE);
    assertThat(c.verify().piiKey().reveal()).isEqualTo(KEY);
    assertThat(c.toString()).doesNotContain(KEY);

    Path f = Files.writeString(dir.resolve("pii-key"), KEY + "\n");
    VerifierConfig fromFile = ConfigLoader.parse(config("{pii-key: \"${file:" + f + "}\"}", "[{name: email, pii: hash}]"),
        n -> null);
    assertThat(fromFile.verify().piiKey().reveal()).isEqualTo(KEY);
  }

  @Test
  void maskNeedsNoKey() {
    VerifierConfig c = ConfigLoader.parse(config("{}", "[{name: email, pii: mask}]"), n -> null);
    assertThat(c.verify().piiKey().isEmpty()).isTrue();
  }

  @Test
  void everyPiiProblemIsReportedWithItsPath() {
    ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(config("{}",
        "[{name: id, pii: mask}, {name: email, pii: hash}, {name: phone, pii: blur}]"), n -> null),
        ConfigException.class);
    assertThat(e.problems()).anySatisfy(p -> assertThat(p).startsWith("tables[0].key: column \"id\" has pii: mask"));
    assertThat(e.problems()).anySatisfy(p -> assertThat(p).startsWith("verify.pii-key: required because")
        .contains("email"));
    assertThat(e.problems()).anySatisfy(p -> assertThat(p).startsWith("tables[0].columns[2].pii: \"blur\" must be"));
  }

  @Test
  void aMaskedVersionColumnIsRefused() {
    String yaml = config("{}", "[{name: updated_at, pii: mask}]").replace("key: [id]",
        "key: [id]\n    repair: {policy: last-write-wins, version-column: updated_at}");
    ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(yaml, n -> null), ConfigException.class);
    assertThat(e.problems()).singleElement().asString()
        .startsWith("tables[0].repair.version-column: column \"updated_at\" has pii");
  }

  @Test
  void theKeyMustBeASecretOfReasonableLength() {
    ConfigException literal = catchThrowableOfType(() -> ConfigLoader.parse(config("{pii-key: " + KEY + "}",
        "[{name: email, pii: hash}]"), n -> null), ConfigException.class);
    assertThat(literal.problems()).singleElement().asString()
        .startsWith("verify.pii-key: must not be written in the file").doesNotContain(KEY);
    ConfigException shortKey = catchThrowableOfType(() -> ConfigLoader.parse(config("{pii-key: \"${env:PII}\"}",
        "[{name: email, pii: hash}]"), Map.of("PII", "short-key")::get), ConfigException.class);
    assertThat(shortKey.problems()).singleElement().asString().startsWith("verify.pii-key: is 9 characters long")
        .doesNotContain("short-key");
  }

  @Test
  void aSecretUnderTheWrongSettingIsNotEchoedInProblems(@TempDir Path dir) throws Exception {
    String canary = "Canary-9f2c-not-a-port";
    Path f = Files.writeString(dir.resolve("secret"), canary);
    String yaml = """
        name: shop
        source: {type: postgres, database: legacy, user: verifier, port: "${env:SECRET}"}
        target: {type: "${file:%s}", database: "${env:SECRET}", user: verifier}
        verify: {window: "${env:SECRET}", processing-guarantee: "x-${env:SECRET}-y"}
        tables:
          - {name: "${env:SECRET}", key: [id]}
        """.formatted(f);
    ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(yaml, Map.of("SECRET", canary)::get),
        ConfigException.class);
    assertThat(e.problems()).hasSizeGreaterThanOrEqualTo(6);
    assertThat(e.problems()).anySatisfy(p -> assertThat(p).startsWith("source.port: \"****\" must be a whole number"));
    assertThat(e.getMessage()).doesNotContain(canary).doesNotContain(canary.substring(0, 20));
  }
}
