package io.migrationverifier.cli;

import io.migrationverifier.bench.EndToEndBench;
import io.migrationverifier.config.StateMode;
import io.migrationverifier.config.ConfigLoader;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TimeZone;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bench}: the end-to-end benchmark of BENCHMARKS.md, on an embedded PostgreSQL and an embedded Kafka. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measures capture and verify throughput against bare baselines (bare Debezium engine; a minimal"
        + " parse-and-store Kafka Streams app) on the same data in one run, the detection latency of a live"
        + " run with injected faults, and repair throughput against a plain batched JDBC upsert. Prints each"
        + " figure, its baseline, the ratio and the goal.",
    footer = {"", "Needs no setup: PostgreSQL and Kafka run embedded. The default run takes about 4-5 minutes on"
        + " 2 cores.", "Exit codes: 0 the benchmark ran (goals met or not: see the table); 1 it failed; 2 invalid"
        + " options."})
public final class BenchCommand implements Callable<Integer> {
  @Option(names = "--only", paramLabel = "SECTION", split = ",",
      description = "capture, verify, latency, repair, mariadb or audit (repeatable or comma-separated; default:"
          + " capture, verify, latency and repair). mariadb compares capture on a local mariadbd (Debian package"
          + " mariadb-server); audit compares the batch audit with pt-table-sync on a local mariadbd (Debian"
          + " packages mariadb-server and percona-toolkit) and measures its scan rate (about 3 minutes).")
  List<String> only;

  @Option(names = "--rows", defaultValue = "100000",
      description = "Capture: rows per phase (snapshot, live, catch-up) and engine run (default ${DEFAULT-VALUE}).")
  int rows;

  @Option(names = "--verify-events", defaultValue = "200000",
      description = "Verify: change events across both change topics, plus watermarks (default ${DEFAULT-VALUE}).")
  int verifyEvents;

  @Option(names = "--rounds", defaultValue = "2",
      description = "Measured runs per side, alternating baseline and ours, after a warm-up (default ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--latency-duration", defaultValue = "40s",
      description = "Latency: how long the fault-injecting workload runs (default ${DEFAULT-VALUE}).")
  String latencyDuration;

  @Option(names = "--latency-rate", defaultValue = "50",
      description = "Latency: workload operations per second (default ${DEFAULT-VALUE}).")
  int latencyRate;

  @Option(names = "--latency-faults", defaultValue = "100",
      description = "Latency: faults injected (dropped, corrupted, extra, missed-delete in turn; default"
          + " ${DEFAULT-VALUE}).")
  int latencyFaults;

  @Option(names = "--repair-rows", defaultValue = "5000",
      description = "Differing rows each repair run fixes (default ${DEFAULT-VALUE}).")
  int repairRows;

  @Option(names = "--audit-rows", split = ",", defaultValue = "1000000,5000000",
      description = "Audit: table sizes (rows per side) in which 10 differences are found, ours against"
          + " pt-table-sync (default ${DEFAULT-VALUE}).")
  List<Integer> auditRows;

  @Option(names = "--audit-scan-rows", defaultValue = "1000000",
      description = "Audit: rows per side of the no-difference scan-rate runs (default ${DEFAULT-VALUE}).")
  int auditScanRows;

  @Option(names = "--verify-state", defaultValue = "full", paramLabel = "full|hash-only",
      description = "Verify: the table's tables[].state (default ${DEFAULT-VALUE}); hash-only input carries"
          + " before-images as capture writes them for such tables.")
  String verifyState;

  @Option(names = "--seed", description = "Seed of the generated data and workload (default: random, printed).")
  Long seed;

  @Option(names = "--verbose", description = "Also print the latency workload's progress.")
  boolean verbose;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Set<EndToEndBench.Section> sections = EnumSet.noneOf(EndToEndBench.Section.class);
    Duration d = ConfigLoader.parseDuration(latencyDuration);
    try {
      if (only == null || only.isEmpty()) {
        sections.addAll(EndToEndBench.Section.defaults());
      } else {
        for (String s : only) {
          sections.add(EndToEndBench.Section.fromId(s));
        }
      }
      if (rows < 1_000 || rows > 10_000_000) {
        throw new IllegalArgumentException("--rows: " + rows + " must be between 1000 and 10000000");
      }
      if (verifyEvents < 2_000 || verifyEvents > 50_000_000) {
        throw new IllegalArgumentException("--verify-events: " + verifyEvents + " must be between 2000 and 50000000");
      }
      if (rounds < 1 || rounds > 20) {
        throw new IllegalArgumentException("--rounds: " + rounds + " must be between 1 and 20");
      }
      if (d == null || d.toSeconds() < 5) {
        throw new IllegalArgumentException("--latency-duration: \"" + latencyDuration
            + "\" must be a duration of at least 5s");
      }
      if (latencyRate < 1 || latencyRate > 5_000) {
        throw new IllegalArgumentException("--latency-rate: " + latencyRate + " must be between 1 and 5000");
      }
      if (latencyFaults < 1 || latencyFaults > 10_000) {
        throw new IllegalArgumentException("--latency-faults: " + latencyFaults + " must be between 1 and 10000");
      }
      for (int n : auditRows) {
        if (n < 1_000 || n > 50_000_000) {
          throw new IllegalArgumentException("--audit-rows: " + n + " must be between 1000 and 50000000");
        }
      }
      if (auditScanRows < 1_000 || auditScanRows > 50_000_000) {
        throw new IllegalArgumentException("--audit-scan-rows: " + auditScanRows
            + " must be between 1000 and 50000000");
      }
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
      err.flush();
      return ExitCodes.INVALID;
    }
    StateMode state = StateMode.fromId(verifyState);
    if (state == null) {
      err.println("--verify-state: \"" + verifyState + "\" must be full or hash-only");
      err.flush();
      return ExitCodes.INVALID;
    }
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    long s = seed != null ? seed : System.nanoTime();
    EndToEndBench.Result result = EndToEndBench.run(new EndToEndBench.Options(sections, rows, verifyEvents, rounds, d,
        latencyRate, latencyFaults, s, verbose, repairRows, List.copyOf(auditRows), auditScanRows, state), out);
    EndToEndBench.print(result, out);
    out.printf("(rerun with --seed %d)%n", s);
    out.flush();
    return ExitCodes.OK;
  }
}
