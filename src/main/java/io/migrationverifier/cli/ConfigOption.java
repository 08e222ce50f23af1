package io.migrationverifier.cli;

import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import java.io.PrintWriter;
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

  /** What a command checks before it starts anything: its arguments against the loaded config. */
  interface Setup<T> {
    T check(VerifierConfig config);
  }

  /**
   * Loads the config and runs the command's checks. Every problem is printed to {@code err} (the
   * config's, each with its path, or the argument's, naming the option) and null is returned: the
   * command then exits {@link ExitCodes#INVALID} without having started anything.
   */
  <T> T prepare(PrintWriter err, Setup<T> setup) {
    try {
      return setup.check(load());
    } catch (ConfigException e) {
      err.println(path + ": " + e.getMessage());
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
    }
    err.flush();
    return null;
  }

  /** The table named by {@code --table}, or an error listing the configured ones. */
  static TableConfig table(VerifierConfig config, String table) {
    return config.table(table).orElseThrow(() -> new IllegalArgumentException("--table: unknown table \"" + table
        + "\"; configured: " + config.tables().stream().map(TableConfig::name).toList()));
  }
}
