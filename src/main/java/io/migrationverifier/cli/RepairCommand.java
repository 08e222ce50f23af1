package io.migrationverifier.cli;

import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.OpsTime;
import io.migrationverifier.repair.RepairUndo;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code repair undo}: reverts applied repairs from {@code <name>.repairs.log}. */
@Command(name = "repair", mixinStandardHelpOptions = true,
    description = "Operations on applied repairs (<name>.repairs.log).",
    subcommands = {RepairCommand.Undo.class})
final class RepairCommand implements Callable<Integer> {
  private record Args(VerifierConfig config, long from, String bootstrap) {}

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getErr().println("repair: name a subcommand: undo");
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.INVALID;
  }

  @Command(name = "undo", mixinStandardHelpOptions = true,
      description = "Writes the before-images of the repairs applied since TIME back to the target, newest first,"
          + " each fenced like a repair: only where the target still holds what the repair wrote (otherwise it is"
          + " skipped: the row changed since, and is left as it is). Each undo is logged to <name>.repairs.log as"
          + " an entry of its own (undoes = the repair's id); repairs an earlier undo reverted are not undone again.",
      footer = {"", "Example: repair undo --config config/verifier.yaml --since 2h --table orders --dry-run",
          "", "Exit codes: 0 nothing failed (skipped rows are reported, not failures); 1 some undo failed, a"
          + " database or Kafka unreachable; 2 invalid config or command line."})
  static final class Undo implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--since", required = true, paramLabel = "TIME", description = "Undo repairs applied at or"
        + " after TIME: an ISO-8601 instant (2026-11-24T10:00:00Z) or a duration ago (30m, 2h, 1d).")
    String since;

    @Option(names = {"-t", "--table"}, paramLabel = "TABLE", description = "Only repairs of this logical table.")
    String table;

    @Option(names = "--dry-run", description = "Print what would be undone (reads the target rows); write nothing.")
    boolean dryRun;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Args a = config.prepare(err, cfg -> {
        long since = OpsTime.parse("--since", this.since, System.currentTimeMillis());
        if (table != null) {
          ConfigOption.table(cfg, table);
        }
        return new Args(cfg, since, OpsKafka.bootstrap(cfg));
      });
      if (a == null) {
        return ExitCodes.INVALID;
      }
      VerifierConfig c = a.config();
      long from = a.from();
      String bootstrap = a.bootstrap();
      String topic = c.topics().repairsLog();
      out.printf("repair undo of repairs applied since %s%s, from %s%s%n", OpsTime.format(from),
          table == null ? "" : " to table " + table, topic, dryRun ? "; dry run: nothing is written" : "");
      out.flush();
      RepairUndo.Summary s;
      try {
        s = new RepairUndo(c, bootstrap, out).run(new RepairUndo.Options(from, table, dryRun));
      } catch (RuntimeException e) {
        out.flush();
        err.println("repair undo: " + e.getMessage());
        err.flush();
        return ExitCodes.FAILURE;
      }
      if (!s.topicExists) {
        out.println(topic + " does not exist yet: no repair was ever applied");
        out.flush();
        return ExitCodes.OK;
      }
      out.println("summary:");
      out.printf("  %-22s %6d%s%n", "repairs in range", s.candidates,
          s.alreadyUndone > 0 ? "   (" + s.alreadyUndone + " more already undone by an earlier undo)" : "");
      out.printf("  %-22s %6d%n", dryRun ? "would undo" : "undone", s.undone);
      out.printf("  %-22s %6d   (target changed since the repair: left as it is)%n",
          dryRun ? "would skip" : "skipped", s.skippedChanged);
      out.printf("  %-22s %6d%n", "failed", s.failed);
      if (s.unreadable > 0) {
        out.printf("  %-22s %6d   (entries of %s that could not be read)%n", "unreadable", s.unreadable, topic);
      }
      if (s.outage != null) {
        out.flush();
        err.println("repair undo stopped: a database is unreachable (" + s.outage + "). The undos above are done"
            + " and logged; run the same command again when it is back (done ones are not undone twice).");
        err.flush();
        return ExitCodes.FAILURE;
      }
      out.flush();
      return s.failed > 0 ? ExitCodes.FAILURE : ExitCodes.OK;
    }
  }
}
