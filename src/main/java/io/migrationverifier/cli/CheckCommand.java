package io.migrationverifier.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.check.KeyCheck;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.event.PiiMasker;
import io.migrationverifier.ops.CheckJson;
import io.migrationverifier.ops.OnDemandCheck;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.RepairEngine;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code check}: compares one key in both databases now, with the same canonicalizer as the stream. */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Reads one key's current row from the source and the target database and compares them with the"
        + " table's rules: prints the verdict and the differing columns (or, with --json, the discrepancy event).",
    footer = {"", "Example: check --config config/verifier.yaml --table orders --key id=42 [--repair]",
        "", "--repair: when the rows differ, repair the target with the table's repair policy (source-wins,"
        + " last-write-wins, manual, custom), fenced like the repair role. An explicit --repair repairs even a"
        + " detect-only table (repair.enabled false), using its configured policy. The repair log entry (or the"
        + " review record) goes to <name>.repairs.log (<name>.review), so `repair undo` can revert it; Kafka must"
        + " be reachable first, else nothing is written. With kafka.bootstrap-servers: embedded nothing goes to"
        + " Kafka: the entry is printed instead.",
        "", "Exit codes: 0 consistent (both rows equal, or both absent), or repaired by --repair; 3 different (missing"
        + " in target, unexpected in target or value mismatch) and not repaired (no --repair, or the policy sent it"
        + " to review or skipped it); 1 runtime failure (a database or Kafka unreachable, a query or the repair"
        + " failed); 2 invalid config or command line (unknown table, key columns that are not the table's key,"
        + " bad syntax)."})
public final class CheckCommand implements Callable<Integer> {
  private record Args(VerifierConfig config, Canonicalizer canonicalizer, Map<String, String> key) {}


  private static final JsonFactory JSON = new JsonFactory();
  /** How long --repair waits for Kafka before it gives up (and writes nothing). */
  private static final Duration KAFKA_PROBE = Duration.ofSeconds(10);

  @Mixin
  ConfigOption config;

  @Option(names = {"-t", "--table"}, required = true, paramLabel = "TABLE", description = "Logical table name.")
  String table;

  @Option(names = {"-k", "--key"}, required = true, split = ",", paramLabel = "COL=VALUE",
      description = "The key: every key column of the table once, as col=value (comma-separated or repeated).")
  List<String> key;

  @Option(names = "--json", description = "Print JSON: the discrepancy event (detector \"check\") of a difference,"
      + " else {\"verdict\":\"CONSISTENT\",...}; with --repair the answer of POST /check (verdict, fields, rows,"
      + " repair).")
  boolean json;

  @Option(names = "--repair", description = "Repair the target when the rows differ, per the table's policy (see"
      + " below).")
  boolean repair;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Args a = config.prepare(err, cfg -> new Args(cfg, Canonicalizer.forConfig(cfg),
        parseKey(key, ConfigOption.table(cfg, table))));
    if (a == null) {
      return ExitCodes.INVALID;
    }
    VerifierConfig c = a.config();
    Canonicalizer canonicalizer = a.canonicalizer();
    Map<String, String> k = a.key();
    if (repair) {
      return checkAndRepair(c, canonicalizer, k, out, err);
    }
    KeyCheck.Result r;
    try (RowReader reader = new RowReader(c, canonicalizer)) {
      r = new KeyCheck(canonicalizer, reader).check(table, k).masked(PiiMasker.forConfig(c));
    } catch (IllegalArgumentException e) {
      err.println("--key: " + e.getMessage());
      err.flush();
      return ExitCodes.INVALID;
    } catch (SQLException | RuntimeException e) {
      err.println("check failed: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
      err.flush();
      return ExitCodes.FAILURE;
    }
    if (json) {
      Optional<io.migrationverifier.event.Discrepancy> d = r.discrepancy();
      out.println(d.isPresent() ? new String(EventCodec.encode(d.get()), StandardCharsets.UTF_8) : consistentJson(r));
    } else {
      print(r, out);
    }
    out.flush();
    return r.consistent() ? ExitCodes.OK : ExitCodes.DIFFERENT;
  }

  /** {@code --repair}: the check, then the repair and its outputs to Kafka (see the footer). */
  private int checkAndRepair(VerifierConfig c, Canonicalizer canonicalizer, Map<String, String> k, PrintWriter out,
      PrintWriter err) {
    boolean toKafka = !c.kafka().embedded();
    KafkaProducer<byte[], byte[]> producer = null;
    try {
      if (toKafka) {
        String bootstrap = c.kafka().bootstrapServers();
        try (Admin admin = OpsKafka.admin(c, bootstrap, KAFKA_PROBE)) {
          // Before any database write: a repair whose log entry cannot be written could not be undone.
          OpsKafka.ensureTopics(admin, c, bootstrap, KAFKA_PROBE);
        }
        producer = OpsKafka.producer(c, bootstrap, "check-repair");
      }
      OnDemandCheck.Result res;
      try (OnDemandCheck checks = new OnDemandCheck(c, canonicalizer, producer)) {
        res = checks.check(table, k, true);
      } catch (OnDemandCheck.OutputsLostException e) {
        printRepair(c, e.result(), out);
        out.flush();
        err.println("the repair was applied, but its outputs could not be written to Kafka: " + e.getMessage());
        printLost(e.result(), err);
        err.flush();
        return ExitCodes.FAILURE;
      } catch (OnDemandCheck.RepairFailedException e) {
        print(e.check(), out);
        out.flush();
        err.println("the repair failed, nothing was written: " + e.getMessage());
        err.flush();
        return ExitCodes.FAILURE;
      }
      if (json) {
        out.println(CheckJson.text(CheckJson.toJson(res, !PiiMasker.forConfig(c).masks(table))));
      } else {
        print(res.check(), out);
        printRepair(c, res, out);
      }
      if (!toKafka && !res.outputs().isEmpty()) {
        out.println("kafka.bootstrap-servers is embedded: nothing was written to Kafka (" + c.topics().repairsLog()
            + " / " + c.topics().review() + "); keep the record above, undo needs the before-image");
        if (!json) {
          printLost(res, out);
        }
      }
      out.flush();
      if (res.check().consistent() || res.repair() != null && (res.repair().status() == RepairEngine.Status.APPLIED
          || res.repair().status() == RepairEngine.Status.CONSISTENT)) {
        return ExitCodes.OK;
      }
      return ExitCodes.DIFFERENT;
    } catch (IllegalArgumentException e) {
      err.println("--key: " + e.getMessage());
      err.flush();
      return ExitCodes.INVALID;
    } catch (OpsKafka.KafkaUnavailableException e) {
      err.println("check --repair: " + e.getMessage() + "; nothing was written");
      err.flush();
      return ExitCodes.FAILURE;
    } catch (SQLException | RepairEngine.StaleRepairException | RuntimeException e) {
      err.println("check --repair failed: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
      err.flush();
      return ExitCodes.FAILURE;
    } finally {
      if (producer != null) {
        producer.close(Duration.ofSeconds(10));
      }
    }
  }

  private static void printRepair(VerifierConfig c, OnDemandCheck.Result res, PrintWriter out) {
    RepairEngine.Outcome o = res.repair();
    if (o == null) {
      out.println("repair: nothing to do (consistent)");
      return;
    }
    switch (o.status()) {
      case APPLIED -> out.printf("repair: APPLIED (%s by %s, repair id %s)%s%n", o.log().action(), o.policy(),
          o.log().id(), res.logged() ? "; logged to " + c.topics().repairsLog() : "");
      case CONSISTENT -> out.println("repair: nothing to do: the rows agree now (re-read before repairing)");
      case REVIEW -> out.printf("repair: REVIEW (%s): %s%s%n", o.policy(), o.reason(),
          res.logged() ? "; sent to " + c.topics().review() : "");
      default -> out.printf("repair: %s (%s)%s%n", o.status(), o.policy(), o.reason() == null ? ""
          : ": " + o.reason());
    }
  }

  /** The outputs that did not reach Kafka, as JSON lines: the operator keeps them. */
  private static void printLost(OnDemandCheck.Result res, PrintWriter w) {
    for (ProducerRecord<byte[], byte[]> r : res.outputs()) {
      w.println(r.topic() + ": " + new String(r.value(), StandardCharsets.UTF_8));
    }
  }

  /** {@code ["id=42", "region=eu"]} to a map; every key column of the table exactly once. */
  static Map<String, String> parseKey(List<String> parts, TableConfig t) {
    Map<String, String> k = new LinkedHashMap<>();
    for (String part : parts) {
      int eq = part.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("--key: \"" + part + "\" must be col=value");
      }
      String col = part.substring(0, eq).trim();
      if (k.put(col, part.substring(eq + 1)) != null) {
        throw new IllegalArgumentException("--key: column \"" + col + "\" is given twice");
      }
    }
    if (!new TreeSet<>(k.keySet()).equals(new TreeSet<>(t.key()))) {
      throw new IllegalArgumentException("--key: table \"" + t.name() + "\" is keyed by " + t.key() + ", got "
          + k.keySet());
    }
    return k;
  }

  private static void print(KeyCheck.Result r, PrintWriter out) {
    out.printf("%s %s: %s%n", r.key().table(), r.key().key(), r.verdict());
    switch (r.verdict()) {
      case CONSISTENT -> out.println(r.source() == null ? "  absent on both sides"
          : "  rows equal (hash " + r.source().hash() + ")");
      case MISSING_IN_TARGET -> {
        out.println("  target: no row");
        printRow("source", r.source(), out);
      }
      case UNEXPECTED_IN_TARGET -> {
        out.println("  source: no row");
        printRow("target", r.target(), out);
      }
      case VALUE_MISMATCH -> {
        int w = r.fields().stream().mapToInt(f -> f.name().length()).max().orElse(0);
        for (FieldDiff f : r.fields()) {
          String note = f.missingOn() == null ? "" : "   (column missing on " + f.missingOn() + ")";
          out.printf("  %-" + w + "s  source=%s  target=%s%s%n", f.name(), show(f.source()), show(f.target()), note);
        }
      }
    }
  }

  private static void printRow(String side, CanonicalRow row, PrintWriter out) {
    out.println("  " + side + ":");
    int w = row.values().keySet().stream().mapToInt(String::length).max().orElse(0);
    row.values().forEach((n, v) -> out.printf("    %-" + w + "s  %s%n", n, show(v)));
  }

  /** NULL, and text quoted so that '' and trailing blanks show. */
  private static String show(String v) {
    return v == null ? "NULL" : "'" + v.replace("'", "''") + "'";
  }

  private static String consistentJson(KeyCheck.Result r) {
    StringWriter w = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(w)) {
      g.writeStartObject();
      g.writeStringField("verdict", r.verdict().name());
      g.writeStringField("table", r.key().table());
      g.writeObjectFieldStart("key");
      for (Map.Entry<String, String> e : r.key().key().entrySet()) {
        g.writeStringField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
      g.writeStringField("detector", KeyCheck.DETECTOR);
      g.writeBooleanField("present", r.source() != null);
      if (r.source() != null) {
        g.writeStringField("hash", r.source().hash());
      }
      g.writeNumberField("checkedAt", r.checkedAt());
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return w.toString();
  }
}
