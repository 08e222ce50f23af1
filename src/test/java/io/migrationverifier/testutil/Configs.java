package io.migrationverifier.testutil;

import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

/**
 * Config snippets for tests: a valid base with the given tables section and verify section.
 *
 * <p>Secrets are never written in a config (the loader refuses a literal password): tests write
 * {@code password: ${env:MV_TEST_PASSWORD}} and {@link #parse} serves {@link #SECRETS} as the
 * environment. A config run by a child JVM gets the same variables ({@link #withSecrets}); one run
 * by the CLI in this JVM (which reads {@code System.getenv}) uses {@code ${file:...}} with
 * {@link #secretFile}.
 */
public final class Configs {
  private Configs() {}

  /** A test password: {@code "pw"}. */
  public static final String PASSWORD = "MV_TEST_PASSWORD";
  /** {@link MariaDbServer#PASSWORD}, the capture user's. */
  public static final String MARIADB_PASSWORD = "MV_TEST_MARIADB_PASSWORD";
  /** {@link MariaDbServer#ADMIN_PASSWORD}. */
  public static final String MARIADB_ADMIN_PASSWORD = "MV_TEST_MARIADB_ADMIN_PASSWORD";
  /** A driver/TLS store password: {@code "s3cret-pass"}. */
  public static final String SSL_PASSWORD = "MV_TEST_SSL_PASSWORD";

  /** The test environment's secrets, by variable. */
  public static final Map<String, String> SECRETS = Map.of(
      PASSWORD, "pw",
      MARIADB_PASSWORD, MariaDbServer.PASSWORD,
      MARIADB_ADMIN_PASSWORD, MariaDbServer.ADMIN_PASSWORD,
      SSL_PASSWORD, "s3cret-pass");

  /** {@link #SECRETS} as the loader's environment: any other variable is unset. */
  public static final Function<String, String> ENV = SECRETS::get;

  private static Path secretDir;

  public static VerifierConfig parse(String yaml) {
    return ConfigLoader.parse(yaml, ENV);
  }

  /** The environment of a child JVM that loads a test config: {@link #SECRETS} set. */
  public static ProcessBuilder withSecrets(ProcessBuilder pb) {
    pb.environment().putAll(SECRETS);
    return pb;
  }

  /**
   * A file holding the secret of {@code variable} (one of {@link #SECRETS}), for
   * {@code ${file:<path>}} in a config that the CLI loads in this JVM.
   */
  public static synchronized Path secretFile(String variable) {
    String value = SECRETS.get(variable);
    if (value == null) {
      throw new IllegalArgumentException(variable + " is not a test secret");
    }
    try {
      if (secretDir == null) {
        secretDir = Files.createTempDirectory("mv-test-secrets");
        secretDir.toFile().deleteOnExit();
      }
      Path f = secretDir.resolve(variable);
      if (!Files.exists(f)) {
        Files.writeString(f, value, StandardCharsets.UTF_8);
        f.toFile().deleteOnExit();
      }
      return f;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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
        source: {type: postgres, database: legacy, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
        target: {type: %s, database: modern, user: verifier, password: "${env:MV_TEST_PASSWORD}"}
        """.formatted(dialect) + (verifyYaml == null ? "" : verifyYaml + "\n") + tablesYaml);
  }
}
