package io.migrationverifier.cli;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.ops.DiscrepancyFeed;
import io.migrationverifier.ops.WebhookAlerter;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.OpsKafka.KafkaUnavailableException;
import io.migrationverifier.repair.OpsTime;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** {@code tail}: the discrepancy topic as a readable live stream, as JSON lines, or posted to a webhook. */
@Command(name = "tail", mixinStandardHelpOptions = true,
    description = "Follows <name>.discrepancies: one block per event (time, kind, table, key, detector, how long the"
        + " rows diverged, then the differing columns with both values; for MISSING_IN_TARGET /"
        + " UNEXPECTED_IN_TARGET the row that exists; for RESOLVED how it resolved and how long it was open)."
        + " Starts at the end (new events only) unless --from-beginning. With --webhook, posts each event to a URL"
        + " instead of printing it.",
    footer = {"", "Examples:",
        "  tail --config verifier.yaml",
        "  tail --config verifier.yaml --from-beginning --no-follow --json > discrepancies.jsonl",
        "  tail --config verifier.yaml --kind missing_in_target,unexpected_in_target --table orders",
        "  tail --config verifier.yaml --webhook https://alerts.example/hook --group verifier-alerts"
            + " --kind VALUE_MISMATCH,MISSING_IN_TARGET,UNEXPECTED_IN_TARGET",
        "", "--from-beginning replays the topic first. It is compacted: per row only the latest event is sure to be"
            + " kept, so the replay is the recent state of every row, not the full history.",
        "", "Malformed records are reported on stderr with their partition and offset, then skipped.",
        "", "--group G keeps the progress as the committed offsets of consumer group G: a restarted tail (or"
            + " webhook poster) resumes after the last event it printed (posted). Partitions without a committed"
            + " offset start at the end, or at the beginning with --from-beginning. Run one process per group.",
        "", "Webhook delivery: the body is the event's JSON as on the topic; headers X-Discrepancy-Id,"
            + " X-Discrepancy-Kind, X-Discrepancy-Table. Connection errors, timeouts, 408, 429 and 5xx are retried"
            + " with exponential backoff (--webhook-backoff, doubling up to 1 min; Retry-After honoured, up to 10"
            + " min). Any other 3xx/4xx is logged on stderr and the event skipped (repeating the same request cannot"
            + " help). When every retry failed the poster stops with exit 1 and, with --group, without committing"
            + " that event: the next start posts it again. At least once into the webhook; the same id is posted"
            + " once per run (the newest " + WebhookAlerter.RECENT_IDS + " ids are remembered); receivers"
            + " de-duplicate across restarts by X-Discrepancy-Id.",
        "", "Ctrl-C or SIGTERM stops cleanly (exit 0; with --group the progress is saved).",
        "", "Exit codes: 0 stopped (signal, --max-events, --idle-timeout, or --no-follow at the end); 1 Kafka"
            + " unreachable, or the webhook failed every retry; 2 invalid config or command line."})
final class TailCommand implements Callable<Integer> {
  /** How long the broker may take to answer at the start. */
  private static final Duration KAFKA_PROBE = Duration.ofSeconds(10);

  private record Args(VerifierConfig config, String bootstrap, Set<String> tables, Set<DiscrepancyKind> kinds,
      Duration idle, WebhookAlerter.Settings webhook, boolean color) {}

  @Mixin
  ConfigOption config;

  @Option(names = "--from-beginning", description = "Replay the (compacted) topic first, then follow.")
  boolean fromBeginning;

  @Option(names = "--follow", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Keep waiting for new events (default). --no-follow stops at the end offsets taken at the start.")
  boolean follow;

  @Option(names = "--json", description = "One discrepancy JSON per line, exactly as on the topic.")
  boolean json;

  @Option(names = {"-t", "--table"}, paramLabel = "TABLE", split = ",",
      description = "Only events of these logical tables (repeatable or comma-separated).")
  List<String> tables;

  @Option(names = "--kind", paramLabel = "KIND", split = ",",
      description = "Only events of these kinds: MISSING_IN_TARGET, UNEXPECTED_IN_TARGET, VALUE_MISMATCH, RESOLVED"
          + " (case-insensitive, repeatable or comma-separated).")
  List<String> kinds;

  @Option(names = "--color", paramLabel = "auto|always|never", defaultValue = "auto",
      description = "Highlight kinds and differing values with ANSI colours: auto (default: when stdout is a"
          + " terminal and NO_COLOR is not set), always, never.")
  String color;

  @Option(names = "--max-events", paramLabel = "N",
      description = "Stop after N matching events (for scripts and tests).")
  Integer maxEvents;

  @Option(names = "--idle-timeout", paramLabel = "DURATION",
      description = "Stop when nothing new arrived for this long (30s, 5m), e.g. to drain the topic in a script.")
  String idleTimeout;

  @Option(names = "--group", paramLabel = "GROUP",
      description = "Consumer group that keeps the progress: a restart resumes after the last event handled.")
  String group;

  @Option(names = "--webhook", paramLabel = "URL",
      description = "POST each matching event to this http(s) URL instead of printing it.")
  String webhook;

  @Option(names = "--webhook-retries", paramLabel = "N", defaultValue = "8",
      description = "Retries after the first attempt before giving up (default 8).")
  int webhookRetries;

  @Option(names = "--webhook-timeout", paramLabel = "DURATION", defaultValue = "10s",
      description = "Per attempt: connecting and the whole answer (default 10s).")
  String webhookTimeout;

  @Option(names = "--webhook-backoff", paramLabel = "DURATION", defaultValue = "1s",
      description = "Wait before the first retry; doubles per retry up to 1 min (default 1s).")
  String webhookBackoff;

  @Option(names = "--webhook-header", paramLabel = "'NAME: VALUE'",
      description = "An extra request header (repeatable), e.g. 'Authorization: Bearer $${env:HOOK_TOKEN}': a value"
          + " $${env:VAR} is read from the environment, keeping secrets off the command line.")
  List<String> webhookHeaders;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Args a = config.prepare(err, this::check);
    if (a == null) {
      return ExitCodes.INVALID;
    }
    DiscrepancyFeed.Options options = new DiscrepancyFeed.Options(fromBeginning ? DiscrepancyFeed.Start.BEGINNING
        : DiscrepancyFeed.Start.END, group, follow, a.idle());
    DiscrepancyFeed feed;
    try {
      feed = DiscrepancyFeed.open(a.config(), a.bootstrap(), options, "tail", KAFKA_PROBE);
    } catch (KafkaUnavailableException e) {
      err.println("tail: " + e.getMessage());
      err.flush();
      return ExitCodes.FAILURE;
    }
    WebhookAlerter alerter = a.webhook() == null ? null : new WebhookAlerter(a.webhook(), err);
    Sink sink = alerter != null ? new WebhookSink(alerter, out) : json ? new JsonSink(out)
        : new TextSink(out, a.color());
    Feed listener = new Feed(a, feed.topic(), sink, err);
    CountDownLatch done = new CountDownLatch(1);
    Runnable restore = onStopSignals(() -> {
      feed.stop();
      if (alerter != null) {
        alerter.stop();
      }
    }, done);
    try {
      DiscrepancyFeed.Stopped why = feed.run(listener);
      err.println("tail: stopped (" + switch (why) {
        case STOPPED -> "signal";
        case LISTENER -> listener.outputClosed ? "stdout closed" : "--max-events " + maxEvents + " reached";
        case END -> "end of the topic";
        case IDLE -> "nothing new for " + idleTimeout;
      } + "); " + sink.summary(listener.matched));
      return ExitCodes.OK;
    } catch (WebhookAlerter.StoppedException e) {
      err.println("tail: stopped (signal) while delivering an event; it was not delivered" + (group == null ? ""
          : " nor committed: the next start with --group " + group + " posts it again") + "; "
          + sink.summary(listener.matched));
      return ExitCodes.OK;
    } catch (WebhookAlerter.GaveUpException e) {
      err.println("tail: " + e.getMessage() + "; stopping" + (group == null ? " (without --group a restart does not"
          + " resume here: use --from-beginning or a group)" : ": the progress of group " + group + " is saved up"
          + " to the event before it, so the same command posts it again") + "; " + sink.summary(listener.matched));
      return ExitCodes.FAILURE;
    } catch (KafkaUnavailableException e) {
      err.println("tail: " + e.getMessage());
      return ExitCodes.FAILURE;
    } finally {
      err.flush();
      out.flush();
      feed.close();
      done.countDown();
      restore.run();
    }
  }

  private Args check(VerifierConfig c) {
    String bootstrap = OpsKafka.bootstrap(c);
    Set<String> t = null;
    if (tables != null) {
      t = new LinkedHashSet<>();
      for (String name : tables) {
        t.add(ConfigOption.table(c, name.trim()).name());
      }
    }
    Set<DiscrepancyKind> k = null;
    if (kinds != null) {
      k = EnumSet.noneOf(DiscrepancyKind.class);
      for (String name : kinds) {
        try {
          k.add(DiscrepancyKind.valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_')));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("--kind: \"" + name + "\" is not a discrepancy kind; one of "
              + Arrays.toString(DiscrepancyKind.values()));
        }
      }
    }
    if (maxEvents != null && maxEvents < 1) {
      throw new IllegalArgumentException("--max-events: " + maxEvents + " must be at least 1");
    }
    Duration idle = idleTimeout == null ? null : duration("--idle-timeout", idleTimeout);
    boolean colored = switch (color.toLowerCase(Locale.ROOT)) {
      case "always" -> true;
      case "never" -> false;
      case "auto" -> System.console() != null && System.getenv("NO_COLOR") == null
          && !"dumb".equals(System.getenv("TERM"));
      default -> throw new IllegalArgumentException("--color: \"" + color + "\" must be auto, always or never");
    };
    if (group != null && group.isBlank()) {
      throw new IllegalArgumentException("--group: the group name is empty");
    }
    WebhookAlerter.Settings hook = null;
    if (webhook != null) {
      if (json) {
        throw new IllegalArgumentException("--json and --webhook exclude each other: the webhook gets the JSON");
      }
      hook = new WebhookAlerter.Settings(url(webhook), retries(), duration("--webhook-timeout", webhookTimeout),
          duration("--webhook-backoff", webhookBackoff), headers());
    } else if (webhookHeaders != null) {
      throw new IllegalArgumentException("--webhook-header needs --webhook");
    }
    return new Args(c, bootstrap, t, k, idle, hook, colored);
  }

  private int retries() {
    if (webhookRetries < 0) {
      throw new IllegalArgumentException("--webhook-retries: " + webhookRetries + " must be 0 or more");
    }
    return webhookRetries;
  }

  private static URI url(String text) {
    try {
      URI u = new URI(text.trim());
      if (u.getScheme() != null && (u.getScheme().equalsIgnoreCase("http") || u.getScheme().equalsIgnoreCase("https"))
          && u.getHost() != null) {
        return u;
      }
    } catch (URISyntaxException e) {
      // reported below with the expected form
    }
    throw new IllegalArgumentException("--webhook: \"" + text + "\" is not an http:// or https:// URL with a host");
  }

  private Map<String, String> headers() {
    Map<String, String> h = new LinkedHashMap<>();
    if (webhookHeaders == null) {
      return h;
    }
    for (String line : webhookHeaders) {
      int colon = line.indexOf(':');
      String name = colon < 0 ? "" : line.substring(0, colon).trim();
      if (name.isEmpty() || !name.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
        throw new IllegalArgumentException("--webhook-header: \"" + line + "\" must read 'Name: value'");
      }
      String value = line.substring(colon + 1).trim();
      if (value.startsWith("${env:") && value.endsWith("}")) {
        String var = value.substring(6, value.length() - 1);
        value = System.getenv(var);
        if (value == null) {
          throw new IllegalArgumentException("--webhook-header " + name + ": environment variable " + var
              + " is not set");
        }
      }
      h.put(name, value);
    }
    return h;
  }

  private static Duration duration(String option, String text) {
    Duration d = ConfigLoader.parseDuration(text);
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(option + ": \"" + text + "\" is not a positive duration (500ms, 30s, 5m,"
          + " 1h)");
    }
    return d;
  }

  /**
   * Ctrl-C and SIGTERM call {@code stop}; the command then returns normally (exit 0) instead of the
   * JVM dying mid-record. Where the signals cannot be caught (-Xrs), a shutdown hook stops the feed
   * and waits for it, at least so the progress is saved.
   *
   * @return restores the previous handlers
   */
  private static Runnable onStopSignals(Runnable stop, CountDownLatch done) {
    List<Runnable> restore = new ArrayList<>();
    boolean hook = false;
    for (String name : List.of("INT", "TERM")) {
      try {
        Signal signal = new Signal(name);
        SignalHandler previous = Signal.handle(signal, s -> stop.run());
        restore.add(() -> Signal.handle(signal, previous));
      } catch (IllegalArgumentException | UnsupportedOperationException e) {
        hook = true;
      }
    }
    if (hook) {
      Thread t = new Thread(() -> {
        stop.run();
        try {
          done.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "tail-shutdown");
      Runtime.getRuntime().addShutdownHook(t);
      restore.add(() -> {
        try {
          Runtime.getRuntime().removeShutdownHook(t);
        } catch (IllegalStateException e) {
          // the JVM is shutting down: the hook is running already
        }
      });
    }
    return () -> restore.forEach(Runnable::run);
  }

  /** Filters, counts, reports malformed records, and hands matching events to the sink. */
  private final class Feed implements DiscrepancyFeed.Listener {
    private final Args args;
    private final String topic;
    private final Sink sink;
    private final PrintWriter err;
    long matched;
    boolean outputClosed;

    Feed(Args args, String topic, Sink sink, PrintWriter err) {
      this.args = args;
      this.topic = topic;
      this.sink = sink;
      this.err = err;
    }

    @Override
    public void ready(Map<TopicPartition, Long> positions) {
      String from = group != null ? "the committed offsets of group " + group + " (else the "
          + (fromBeginning ? "beginning" : "end") + ")" : fromBeginning ? "the beginning" : "the end";
      err.printf("tail: %s %s (%d partitions) from %s%s%s%n", follow ? "following" : "reading", topic,
          positions.size(), from, follow ? "" : " up to its current end",
          follow ? "; Ctrl-C stops" : "");
      err.flush();
    }

    @Override
    public boolean event(DiscrepancyFeed.Event e) {
      Discrepancy d = e.discrepancy();
      if ((args.tables() != null && !args.tables().contains(d.table()))
          || (args.kinds() != null && !args.kinds().contains(d.kind()))) {
        return true;
      }
      boolean open = sink.accept(e); // a webhook that gave up throws: that event is not counted
      matched++;
      if (!open) {
        outputClosed = true; // e.g. `tail ... | head -3`: nobody reads any more
        return false;
      }
      return maxEvents == null || matched < maxEvents;
    }

    @Override
    public void malformed(int partition, long offset, byte[] value, String problem) {
      // Jackson's messages span lines and name a redacted source: one line, the position kept
      String why = problem.replaceAll("Source: REDACTED \\(`[^`]*` disabled\\); ", "").replaceAll("\\s+", " ");
      String v = new String(value, StandardCharsets.UTF_8);
      err.printf("tail: skipped a malformed record at %s partition %d offset %d: %s; value: %s%n", topic, partition,
          offset, why, Text.value(v.length() > 80 ? v.substring(0, 80) : v, false) + (v.length() > 80 ? "..." : ""));
      err.flush();
    }
  }

  /**
   * Whether stdout still has a reader. picocli's writer wraps System.out in an encoder, so a broken
   * pipe is recorded by System.out (a PrintStream never throws), not by the writer.
   */
  private static boolean open(PrintWriter out) {
    return !out.checkError() && !System.out.checkError();
  }

  private static String events(long n) {
    return n + (n == 1 ? " event" : " events");
  }

  /** Where matching events go. */
  private interface Sink {
    /** @return false when the output is gone (a closed pipe): stop */
    boolean accept(DiscrepancyFeed.Event e);

    String summary(long matched);
  }

  private record JsonSink(PrintWriter out) implements Sink {
    @Override
    public boolean accept(DiscrepancyFeed.Event e) {
      out.println(new String(e.value(), StandardCharsets.UTF_8));
      out.flush();
      return open(out);
    }

    @Override
    public String summary(long matched) {
      return events(matched);
    }
  }

  private record TextSink(PrintWriter out, boolean color) implements Sink {
    @Override
    public boolean accept(DiscrepancyFeed.Event e) {
      out.print(Text.format(e.discrepancy(), color));
      out.flush();
      return open(out);
    }

    @Override
    public String summary(long matched) {
      return events(matched);
    }
  }

  /** Posts each event; one line per delivery on stdout. */
  private static final class WebhookSink implements Sink {
    private final WebhookAlerter alerter;
    private final PrintWriter out;
    private final Map<WebhookAlerter.Outcome, Long> counts = new LinkedHashMap<>();

    WebhookSink(WebhookAlerter alerter, PrintWriter out) {
      this.alerter = alerter;
      this.out = out;
      for (WebhookAlerter.Outcome o : WebhookAlerter.Outcome.values()) {
        counts.put(o, 0L);
      }
    }

    @Override
    public boolean accept(DiscrepancyFeed.Event e) {
      Discrepancy d = e.discrepancy();
      WebhookAlerter.Result r = alerter.post(d, e.value());
      counts.merge(r.outcome(), 1L, Long::sum);
      String what = d.kind() + " " + d.table() + " " + d.key() + " id " + d.id();
      switch (r.outcome()) {
        case POSTED -> out.printf("posted %s: HTTP %d%s%n", what, r.status(),
            r.attempts() > 1 ? " after " + r.attempts() + " attempts" : "");
        case DUPLICATE -> out.printf("duplicate %s: posted before in this run, not again%n", what);
        case REJECTED -> out.printf("rejected %s: HTTP %d, skipped%n", what, r.status());
      }
      out.flush();
      return true; // the log line is a by-product: a closed stdout must not stop the alerts
    }

    @Override
    public String summary(long matched) {
      return events(matched) + ": posted " + counts.get(WebhookAlerter.Outcome.POSTED)
          + ", duplicates not posted again " + counts.get(WebhookAlerter.Outcome.DUPLICATE) + ", rejected "
          + counts.get(WebhookAlerter.Outcome.REJECTED);
    }
  }

  /** The human format of one event. */
  static final class Text {
    private static final String RESET = "\u001b[0m";
    private static final String BOLD = "\u001b[1m";
    private static final String RED = "\u001b[31m";
    private static final String GREEN = "\u001b[32m";
    private static final String YELLOW = "\u001b[33m";
    private static final String MAGENTA = "\u001b[35m";
    private static final int MAX_VALUE = 200;

    private Text() {}

    /**
     * <pre>
     * 2026-11-24T14:31:02.123Z VALUE_MISMATCH orders {id=42} detector=stream diverged 5.0s before detection
     *     (since 2026-11-24T14:30:57.123Z) id=...
     *     amount  source "10.5"  target "11.5"
     * </pre>
     * Values are JSON-quoted, so that NULL ({@code null}) and the text "null" differ, and spaces show.
     */
    static String format(Discrepancy d, boolean color) {
      StringBuilder b = new StringBuilder();
      boolean resolved = d.kind() == DiscrepancyKind.RESOLVED;
      long at = resolved && d.resolvedAt() != null ? d.resolvedAt() : d.detectedAt();
      b.append(OpsTime.format(at)).append(' ').append(paint(color, BOLD + kindColor(d.kind()), d.kind().name()))
          .append(' ').append(d.table()).append(' ').append(d.key()).append(" detector=").append(d.detector());
      if (resolved) {
        b.append(' ').append(resolution(d.resolution()));
        if (d.openForMs() != null) {
          b.append(" after ").append(WebhookAlerter.human(Duration.ofMillis(d.openForMs()))).append(" open");
        }
        b.append(" (diverged since ").append(OpsTime.format(d.divergedSince())).append(") id=").append(d.id())
            .append(" resolves=").append(d.resolves()).append('\n');
        return b.toString();
      }
      b.append(" diverged ").append(WebhookAlerter.human(Duration.ofMillis(Math.max(0,
          d.detectedAt() - d.divergedSince())))).append(" before detection (since ")
          .append(OpsTime.format(d.divergedSince())).append(") id=").append(d.id()).append('\n');
      switch (d.kind()) {
        case VALUE_MISMATCH -> fields(b, d.fields(), color);
        case MISSING_IN_TARGET -> row(b, "source row (no row in the target):", d.source(), color ? GREEN : null);
        case UNEXPECTED_IN_TARGET -> row(b, "target row (no row in the source):", d.target(), color ? RED : null);
        default -> { }
      }
      if (!d.rowsNotKept().isEmpty()) {
        b.append("    ").append(String.join(" and ", d.rowsNotKept())).append(" row present but not held by the verifier"
            + " (state: hash-only, no usable before-image); read it with: check --config <config> --table ")
            .append(d.table()).append(" --key ").append(checkKey(d.key())).append('\n');
      }
      return b.toString();
    }

    private static void fields(StringBuilder b, List<FieldDiff> fields, boolean color) {
      int nameWidth = fields.stream().mapToInt(f -> f.name().length()).max().orElse(0);
      int sourceWidth = fields.stream().mapToInt(f -> value(f.source(), "source".equals(f.missingOn())).length())
          .max().orElse(0);
      for (FieldDiff f : fields) {
        String s = value(f.source(), "source".equals(f.missingOn()));
        String t = value(f.target(), "target".equals(f.missingOn()));
        b.append("    ").append(paint(color, BOLD, pad(f.name(), nameWidth))).append("  source ")
            .append(paint(color, GREEN, s)).append(" ".repeat(Math.max(0, sourceWidth - s.length())))
            .append("  target ").append(paint(color, RED, t)).append('\n');
      }
    }

    private static void row(StringBuilder b, String title, SortedMap<String, String> row, String valueColor) {
      if (row == null) {
        return;
      }
      b.append("    ").append(title).append('\n');
      int width = row.keySet().stream().mapToInt(String::length).max().orElse(0);
      row.forEach((k, v) -> b.append("      ").append(pad(k, width)).append("  ")
          .append(paint(valueColor != null, valueColor, value(v, false))).append('\n'));
    }

    /** The key as {@code check --key} takes it ({@code col=value[,col=value]}), quoted for a POSIX shell when needed. */
    private static String checkKey(SortedMap<String, String> key) {
      StringBuilder k = new StringBuilder();
      key.forEach((c, v) -> k.append(k.length() == 0 ? "" : ",").append(c).append('=').append(v));
      String s = k.toString();
      return s.matches("[A-Za-z0-9_.,=:@+-]*") ? s : "'" + s.replace("'", "'\\''") + "'";
    }

    private static String resolution(String r) {
      if (r == null) {
        return "resolved";
      }
      return switch (r) {
        case "source-change" -> "resolved by a source change";
        case "target-change" -> "resolved by a target change";
        case "repaired" -> "resolved by a repair";
        case "audit" -> "resolved: an audit found the rows consistent";
        default -> "resolved (" + r + ")";
      };
    }

    static String value(String v, boolean missing) {
      if (missing) {
        return "(column missing)";
      }
      if (v == null) {
        return "null";
      }
      String s = v.length() > MAX_VALUE ? v.substring(0, MAX_VALUE) : v;
      String quoted = "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
      return v.length() > MAX_VALUE ? quoted + "...(" + v.length() + " chars)" : quoted;
    }

    private static String kindColor(DiscrepancyKind k) {
      return switch (k) {
        case VALUE_MISMATCH -> YELLOW;
        case MISSING_IN_TARGET -> RED;
        case UNEXPECTED_IN_TARGET -> MAGENTA;
        case RESOLVED -> GREEN;
      };
    }

    private static String paint(boolean color, String code, String text) {
      return color ? code + text + RESET : text;
    }

    private static String pad(String s, int width) {
      return s + " ".repeat(Math.max(0, width - s.length()));
    }
  }
}
