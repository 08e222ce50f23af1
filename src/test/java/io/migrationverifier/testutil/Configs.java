package io.migrationverifier.testutil;

import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;

/** Config snippets for tests: a valid base with the given tables section and verify section. */
public final class Configs {
  private Configs() {}

  public static VerifierConfig parse(String yaml) {
    return ConfigLoader.parse(yaml, name -> null);
  }

  /**
   * PostgreSQL on both sides (millisecond commit times, so no commit-time grace: windows are
   * exactly as configured); {@link #withTargetDialect} for another target.
   */
  public static VerifierConfig withTables(String tablesYaml, String verifyYaml) {
    return withTargetDialect("postgres", tablesYaml, verifyYaml);
  }

  public static VerifierConfig withTargetDialect(String dialect, String tablesYaml, String verifyYaml) {
    return parse("""
        name: test
        kafka: {bootstrap-servers: embedded}
        source: {type: postgres, database: legacy, user: verifier, password: pw}
        target: {type: %s, database: modern, user: verifier, password: pw}
        """.formatted(dialect) + (verifyYaml == null ? "" : verifyYaml + "\n") + tablesYaml);
  }
}
