package io.migrationverifier.cli;

import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --config} option shared by commands; loading also checks what needs the class path (comparators). */
final class ConfigOption {
  @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The YAML config file.")
  Path path;

  /** Loads and fully validates; throws ConfigException listing every problem. */
  VerifierConfig load() {
    VerifierConfig config = ConfigLoader.load(path);
    Canonicalizer.forConfig(config);
    return config;
  }
}
