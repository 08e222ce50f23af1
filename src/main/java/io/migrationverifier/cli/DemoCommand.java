package io.migrationverifier.cli;

import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.demo.Demo;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.TimeZone;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Runs the whole product on an embedded Kafka and an embedded PostgreSQL with a dual-writing,"
        + " fault-injecting workload, repairs what it detects (tables with repair enabled), and reports injected"
        + " faults against detected discrepancies, repairs and time to repair.",
    footer = {"", "Exit codes: 0 every injected fault detected with the right kind, no false positive and (unless"
        + " --detect-only) every detected fault repaired; 1 otherwise (the report says what went wrong);"
        + " 2 invalid options."})
final class DemoCommand implements Callable<Integer> {
  static final String DEFAULT_FAULTS = "dropped=2,corrupted=2,extra=2,missed-delete=2,delayed-within=2,delayed-beyond=2";

  @Option(names = "--config", paramLabel = "FILE",
      description = "Demo config (default: config/demo.yaml, else the copy in the jar). Ports are filled in.")
  Path config;

  @Option(names = "--duration", defaultValue = "30s", description = "How long the workload runs (default ${DEFAULT-VALUE}).")
  String duration;

  @Option(names = "--rate", defaultValue = "50", description = "Operations per second (default ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--seed", description = "Seed of the workload and its faults (default: random, printed).")
  Long seed;

  @Option(names = "--faults", defaultValue = DEFAULT_FAULTS,
      description = "kind=N,...: dropped, corrupted, extra, missed-delete, delayed-within, delayed-beyond"
          + " (default ${DEFAULT-VALUE}).")
  String faults;

  @Option(names = "--detect-only", description = "Do not repair: the repair role stays off even for tables whose"
      + " config enables repair.")
  boolean detectOnly;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Duration d = ConfigLoader.parseDuration(duration);
    Map<Demo.Fault, Integer> plan = new EnumMap<>(Demo.Fault.class);
    VerifierConfig c;
    try {
      if (d == null || d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException("--duration: \"" + duration + "\" is not a positive duration (e.g. 30s)");
      }
      if (rate < 1 || rate > 5_000) {
        throw new IllegalArgumentException("--rate: " + rate + " must be between 1 and 5000");
      }
      for (String part : faults.split(",")) {
        if (part.isBlank()) {
          continue;
        }
        String[] kv = part.trim().split("=", 2);
        if (kv.length != 2 || !kv[1].matches("\\d{1,4}")) {
          throw new IllegalArgumentException("--faults: \"" + part + "\" must be kind=N");
        }
        plan.put(Demo.Fault.fromId(kv[0].trim()), Integer.parseInt(kv[1]));
      }
      c = loadConfig();
    } catch (IllegalArgumentException | ConfigException e) {
      err.println(e.getMessage());
      err.flush();
      return ExitCodes.INVALID;
    }
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    long s = seed != null ? seed : System.nanoTime();
    Demo.Report report = Demo.run(new Demo.Options(c, d, rate, s, plan, !detectOnly), out);
    Demo.print(report, out);
    out.printf("(rerun exactly with --seed %d)%n", s);
    out.flush();
    return report.passed() ? ExitCodes.OK : ExitCodes.FAILURE;
  }

  private VerifierConfig loadConfig() throws java.io.IOException {
    Path p = config != null ? config : Path.of("config", "demo.yaml");
    if (config != null || Files.exists(p)) {
      return ConfigLoader.load(p);
    }
    try (InputStream in = DemoCommand.class.getResourceAsStream("/config/demo.yaml")) {
      if (in == null) {
        throw new ConfigException(java.util.List.of("config/demo.yaml: not found here nor in the jar"));
      }
      return ConfigLoader.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), System::getenv);
    }
  }
}
