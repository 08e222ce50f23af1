package io.migrationverifier.testutil;

import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;

/** Config snippets for tests: a valid base with the given tables section and verify section. */
public final class Configs {
  private Configs() {}

  public static VerifierConfig parse(String yaml) {
    return ConfigLoader.parse(yaml, name -> null);
  }

  public static VerifierConfig withTables(String tablesYaml, String verifyYaml) {
    return parse("""
        name: test
        kafka: {bootstrap-servers: embedded}
        source: {type: postgres, database: legacy, user: verifier, password: pw}
        target: {type: mariadb, database: modern, user: verifier, password: pw}
        """ + (verifyYaml == null ? "" : verifyYaml + "\n") + tablesYaml);
  }
}
