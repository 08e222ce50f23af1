package io.migrationverifier.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.repair.DlqFilter;
import io.migrationverifier.repair.DlqReader;
import io.migrationverifier.repair.DlqReplay;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.OpsTime;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code dlq list} and {@code dlq replay}: the repair dead-letter topic {@code <name>.repairs.dlq}. */
@Command(name = "dlq", mixinStandardHelpOptions = true,
    description = "Inspects and replays <name>.repairs.dlq, the repairs that failed for good (a constraint, a value"
        + " the target cannot take) or ran out of attempts.",
    subcommands = {DlqCommand.ListDlq.class, DlqCommand.Replay.class})
final class DlqCommand implements Callable<Integer> {
  /** What both subcommands check before they start. */
  private record Args(VerifierConfig config, DlqFilter filter, String bootstrap) {}

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getErr().println("dlq: name a subcommand: list or replay");
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.INVALID;
  }

  /** The filters {@code list} and {@code replay} share. */
  static final class Filters {
    @Option(names = {"-t", "--table"}, paramLabel = "TABLE", description = "Only entries of this logical table.")
    String table;

    @Option(names = "--kind", paramLabel = "KIND", description = "Only entries of this discrepancy kind:"
        + " MISSING_IN_TARGET, UNEXPECTED_IN_TARGET or VALUE_MISMATCH.")
    String kind;

    @Option(names = "--since", paramLabel = "TIME", description = "Only entries dead-lettered at or after TIME: an"
        + " ISO-8601 instant (2026-11-24T10:00:00Z) or a duration ago (30m, 2h, 1d).")
    String since;

    @Option(names = "--until", paramLabel = "TIME", description = "Only entries dead-lettered at or before TIME"
        + " (same syntax).")
    String until;

    DlqFilter parse(VerifierConfig c) {
      return DlqFilter.parse(c, table, kind, since, until, System.currentTimeMillis());
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "Counts the DLQ's entries by table, discrepancy kind and error (exception class and the first"
          + " line of its message), with the oldest and newest failure time. Reads the topic from the beginning to"
          + " its end at the start; changes nothing.",
      footer = {"", "The DLQ is append-only: a replayed entry stays listed, and an entry that failed again is there"
          + " a second time (counted under \"failed again after a replay\"). \"Not yet replayed\" counts the"
          + " matching entries after the saved progress of `dlq replay` with the same filters.",
          "", "Exit codes: 0 listed; 1 Kafka unreachable; 2 invalid config or command line."})
  static final class ListDlq implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Mixin
    Filters filters;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Args a = config.prepare(err, cfg -> new Args(cfg, filters.parse(cfg), OpsKafka.bootstrap(cfg)));
      if (a == null) {
        return ExitCodes.INVALID;
      }
      VerifierConfig c = a.config();
      DlqFilter f = a.filter();
      String bootstrap = a.bootstrap();
      DlqReader.Listing l;
      try {
        l = DlqReader.list(c, bootstrap, f);
      } catch (RuntimeException e) {
        err.println("dlq list: " + e.getMessage());
        err.flush();
        return ExitCodes.FAILURE;
      }
      String topic = c.topics().repairsDlq();
      if (json) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        o.put("topic", topic);
        o.put("exists", l.exists());
        o.put("filters", f.describe());
        o.put("total", l.total());
        o.put("matched", l.matched());
        o.set("byTable", m.valueToTree(l.byTable()));
        o.set("byKind", m.valueToTree(l.byKind()));
        o.set("byError", m.valueToTree(l.byError()));
        o.put("oldest", l.oldest() == null ? null : OpsTime.format(l.oldest()));
        o.put("newest", l.newest() == null ? null : OpsTime.format(l.newest()));
        o.put("failedAgainAfterReplay", l.replayedAgain());
        o.put("notYetReplayed", l.pending());
        o.put("replayGroup", l.replayGroup());
        out.println(o);
        out.flush();
        return ExitCodes.OK;
      }
      if (!l.exists()) {
        out.println(topic + " does not exist yet: nothing was dead-lettered (the repair role creates it at start)");
        out.flush();
        return ExitCodes.OK;
      }
      out.printf("%s: %d entries, %d matching (filters: %s)%n", topic, l.total(), l.matched(), f.describe());
      if (l.matched() > 0) {
        out.printf("failed between %s and %s%n", OpsTime.format(l.oldest()), OpsTime.format(l.newest()));
        section(out, "by table", l.byTable());
        section(out, "by kind", l.byKind());
        section(out, "by error", l.byError());
        out.printf("failed again after a replay: %d%n", l.replayedAgain());
        out.printf("not yet replayed by `dlq replay` with these filters: %d (progress group %s)%n", l.pending(),
            l.replayGroup());
      }
      out.flush();
      return ExitCodes.OK;
    }

    private static void section(PrintWriter out, String title, Map<String, Long> counts) {
      out.println(title + ":");
      for (Map.Entry<String, Long> e : DlqReader.ranked(counts)) {
        out.printf("  %6d  %s%n", e.getValue(), e.getKey());
      }
    }
  }

  @Command(name = "replay", mixinStandardHelpOptions = true,
      description = "Replays matching DLQ entries through the repair path: each entry's rows are read again from"
          + " both databases before anything is written (already consistent: nothing written), then repaired per"
          + " the table's policy; the repair log and review records are written as by the repair role. An entry"
          + " that fails again goes back to the DLQ with its headers, attempts and a replay count.",
      footer = {"", "Idempotent: a second replay of repaired entries finds them consistent and writes nothing."
          + " Resumable: progress is saved after each batch as the offsets of the consumer group"
          + " <name>.dlq-replay.<hash of the filters> (\"all\" without filters), so an interrupted replay continues"
          + " where it stopped and each filter set has its own progress; --from-beginning ignores it. Relative"
          + " times (2h) count from each run. Entries a filter passes over are not looked at again by that"
          + " filter set, but stay in the DLQ for other filters and --from-beginning.",
          "", "A database unreachable during the replay stops it (exit 1) with the progress kept: run the same"
          + " command again when it is back.",
          "", "Exit codes: 0 nothing failed again; 1 some entries failed again (or would, with --dry-run), a"
          + " database or Kafka unreachable, or another runtime failure; 2 invalid config or command line."})
  static final class Replay implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Mixin
    Filters filters;

    @Option(names = "--limit", paramLabel = "N", description = "Replay at most N matching entries (the next run"
        + " continues after them).")
    Integer limit;

    @Option(names = "--dry-run", description = "Read both rows of each matching entry and print what would happen;"
        + " write nothing (no database, no Kafka, no progress). Cannot foresee failures of the write itself, such"
        + " as a constraint.")
    boolean dryRun;

    @Option(names = "--from-beginning", description = "Ignore the saved progress of these filters and start at"
        + " the DLQ's first entry.")
    boolean fromBeginning;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Args a = config.prepare(err, cfg -> {
        if (limit != null && limit < 1) {
          throw new IllegalArgumentException("--limit: " + limit + " must be at least 1");
        }
        return new Args(cfg, filters.parse(cfg), OpsKafka.bootstrap(cfg));
      });
      if (a == null) {
        return ExitCodes.INVALID;
      }
      VerifierConfig c = a.config();
      DlqFilter f = a.filter();
      String bootstrap = a.bootstrap();
      String topic = c.topics().repairsDlq();
      out.printf("dlq replay of %s (filters: %s; progress group %s)%s%n", topic, f.describe(),
          DlqReplay.groupId(c.name(), f), dryRun ? "; dry run: nothing is written" : "");
      out.flush();
      DlqReplay.Summary s;
      try {
        s = new DlqReplay(c, bootstrap, out).run(new DlqReplay.Options(f, limit, dryRun, fromBeginning));
      } catch (RuntimeException e) {
        out.flush();
        err.println("dlq replay: " + e.getMessage() + (dryRun ? "" : "; the progress of the entries whose outputs"
            + " were written is saved: run the same command again to continue"));
        err.flush();
        return ExitCodes.FAILURE;
      }
      if (!s.topicExists) {
        out.println(topic + " does not exist yet: nothing to replay");
        out.flush();
        return ExitCodes.OK;
      }
      out.println("summary:");
      row(out, "matched", s.matched, null);
      if (dryRun) {
        row(out, "would repair", s.wouldRepair, null);
        row(out, "already consistent", s.consistent, null);
        row(out, "would go to review", s.review, null);
        row(out, "would not repair", s.notRepaired, "policy skip, detect-only table, or not a repair request");
        row(out, "would fail", s.wouldFail, null);
      } else {
        row(out, "replayed", s.replayed, null);
        row(out, "repaired", s.repaired, null);
        row(out, "already consistent", s.consistent, null);
        row(out, "sent to review", s.review, c.topics().review());
        row(out, "not repaired", s.notRepaired, "policy skip, detect-only table, or not a repair request");
        row(out, "failed again", s.failedAgain, s.failedAgain > 0 ? "back in " + topic + "; see `dlq list`" : null);
      }
      row(out, "skipped by filter", s.skippedByFilter, null);
      if (s.limitReached) {
        out.printf("stopped at --limit %d: %s%n", limit, dryRun ? "(dry run: no progress saved)"
            : "run the same command again to continue");
      }
      if (s.outage != null) {
        out.flush();
        err.println("dlq replay stopped: a database is unreachable (" + s.outage + "). "
            + (dryRun ? "Nothing was written." : "Progress is saved up to the last entry handled: run the same"
            + " command again when the database is back."));
        err.flush();
        return ExitCodes.FAILURE;
      }
      out.flush();
      return s.failed() ? ExitCodes.FAILURE : ExitCodes.OK;
    }

    private static void row(PrintWriter out, String label, long n, String note) {
      out.printf("  %-20s %6d%s%n", label, n, note == null ? "" : "   (" + note + ")");
    }
  }
}
