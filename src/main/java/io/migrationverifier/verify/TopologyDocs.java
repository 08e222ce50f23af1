package io.migrationverifier.verify;

import io.migrationverifier.config.Side;
import io.migrationverifier.config.Topics;
import io.migrationverifier.config.VerifierConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.streams.TopologyDescription;

/**
 * Generates {@code topology-docs/} from the code: the topology's own description, a Mermaid
 * diagram of it, an overview of topics and stores, and the JSON Schemas of the event contracts
 * (shipped in the jar under {@code schemas/}). A test regenerates them and fails when the
 * checked-in copy differs.
 */
public final class TopologyDocs {
  public static final List<String> SCHEMAS = List.of("change-event.schema.json", "watermark.schema.json",
      "discrepancy.schema.json", "health-event.schema.json", "coverage.schema.json");

  private TopologyDocs() {}

  /** File name to content, for the config given (topic names carry its {@code name}). */
  public static Map<String, String> generate(VerifierConfig config, String configPath) {
    TopologyDescription d = VerifyTopology.build(config).describe();
    Map<String, String> files = new LinkedHashMap<>();
    files.put("README.md", overview(config, configPath));
    files.put("topology.txt", d.toString());
    files.put("topology.mmd", mermaid(d));
    for (String s : SCHEMAS) {
      files.put(s, schema(s));
    }
    return files;
  }

  public static String schema(String name) {
    try (InputStream in = TopologyDocs.class.getResourceAsStream("/schemas/" + name)) {
      if (in == null) {
        throw new IllegalStateException("schema resource missing: " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String mermaid(TopologyDescription d) {
    StringBuilder sb = new StringBuilder("flowchart LR\n");
    Set<String> topics = new TreeSet<>();
    Set<String> stores = new TreeSet<>();
    StringBuilder edges = new StringBuilder();
    for (TopologyDescription.Subtopology sub : d.subtopologies()) {
      sb.append("  subgraph sub").append(sub.id()).append("[\"sub-topology ").append(sub.id()).append("\"]\n");
      for (TopologyDescription.Node n : sub.nodes()) {
        String kind = n instanceof TopologyDescription.Source ? "source"
            : n instanceof TopologyDescription.Sink ? "sink" : "processor";
        sb.append("    ").append(id(n.name())).append("[\"").append(n.name()).append(" (").append(kind)
            .append(")\"]\n");
        if (n instanceof TopologyDescription.Source src) {
          for (String t : src.topicSet()) {
            topics.add(t);
            edges.append("  ").append(id("topic " + t)).append(" --> ").append(id(n.name())).append('\n');
          }
        }
        if (n instanceof TopologyDescription.Sink sink) {
          topics.add(sink.topic());
          edges.append("  ").append(id(n.name())).append(" --> ").append(id("topic " + sink.topic())).append('\n');
        }
        if (n instanceof TopologyDescription.Processor p) {
          for (String s : new TreeSet<>(p.stores())) {
            stores.add(s);
            edges.append("  ").append(id(n.name())).append(" <--> ").append(id("store " + s)).append('\n');
          }
        }
        for (TopologyDescription.Node next : n.successors()) {
          edges.append("  ").append(id(n.name())).append(" --> ").append(id(next.name())).append('\n');
        }
      }
      sb.append("  end\n");
    }
    for (String t : topics) {
      sb.append("  ").append(id("topic " + t)).append("[/\"").append(t).append("\"/]\n");
    }
    for (String s : stores) {
      sb.append("  ").append(id("store " + s)).append("[(\"").append(s).append("\")]\n");
    }
    return sb.append(edges).toString();
  }

  private static String id(String name) {
    return name.replaceAll("[^A-Za-z0-9]", "_");
  }

  private static String overview(VerifierConfig config, String configPath) {
    Topics t = config.topics();
    String app = t.verifyApplicationId();
    return """
        # Verify topology (generated)

        Generated from the code by `java -jar target/migration-verifier.jar topology --config %s --docs-dir topology-docs`
        (topic names below carry that file's `name: %s`). Do not edit: `TopologyDocsTest` fails when this
        folder differs from what the code generates; rerun the command (or the test with
        `-Dtopology.docs.update=true`) and commit the result.

        - `topology.txt`: Kafka Streams' own description of the topology.
        - `topology.mmd`: the same as a Mermaid diagram.
        - `*.schema.json`: JSON Schemas (2020-12) of the event contracts, checked against encoded events by tests.

        ## Topics

        | topic | record key | value | written by |
        |---|---|---|---|
        | `%s` | canonical key `{"table":...,"key":{...}}`; null for watermarks | `change-event.schema.json` or `watermark.schema.json` | capture (source) |
        | `%s` | the same | the same | capture (target) |
        | `%s` | canonical key | a repair log entry (`RepairLogEntry`: id, action, discrepancyId, before, after, appliedAt, undoes) | repair (read by verify) |
        | `%s` | canonical key (compacted per row) | `discrepancy.schema.json` | verify |
        | `%s` | `{"side":...,"partition":N}` (compacted) | `health-event.schema.json` | verify |
        | `%s` | the original key | the original bytes of an unreadable change-topic or repair-log record, with `__streams.errors.*` headers (exception, message, stacktrace, topic, partition, offset) | verify |
        | `%s` | `{"table":...,"kind":"snapshot","side":...}` or `{"table":...,"kind":"audit"}` (compacted, 1 partition) | `coverage.schema.json` | capture (initial snapshot complete), `audit`; read by `gate` |

        Both change topics and the repair log must have the same number of partitions: they are
        co-partitioned by the canonical key, and a task owns one partition of each (`TopicAdmin`
        checks the counts; Kafka Streams does not for Processor API sources).

        ## Nodes and stores

        | name | what |
        |---|---|
        | `%s`, `%s` | sources of the two change topics |
        | `%s` | source of the repair log, into the same processor (so the same sub-topology and tasks) |
        | `%s` | the comparison (`VerifyProcessor`) |
        | `%s` | per key: each side's image (presence, hash, canonical row; stored once when they agree) and the open disagreement |
        | `%s` | changes waiting until BOTH sides' watermarks pass them, ordered by (event time, side, arrival) |
        | `%s` | index of deadlines (t0 + window) ordered by time, so due keys are found without a scan |
        | `%s` | per partition: watermarks, last accepted position per side, event-time frontier, stall flags |
        | `%s` | per key: the latest repair not undone (its id, discrepancy id, hash of the row it wrote, appliedAt), plus an index by appliedAt for expiry |
        | `%s`, `%s`, `%s` | sinks to the discrepancy, health and dead-letter topics |

        Every store has a changelog topic `%s-<store>-changelog` and the record cache enabled.
        `verify-key-state` is RocksDB; `verify-pending`, `verify-deadlines` and `verify-repairs` are on
        the heap by default (transient: a change waits only until both watermarks pass it, a repair is
        kept only until its write is applied), in RocksDB with `verify.buffer-store: rocksdb`;
        `verify-meta` (a record per partition) is on the heap.
        The application id is `%s`; processing guarantee `exactly_once_v2` by default.

        ## Semantics in one paragraph

        A change is applied only when the watermarks of both sides in its partition have passed its
        commit time; applied changes and deadlines interleave in event-time order (a change at time t
        before a deadline at t). A key agrees when both sides are absent or hold equivalent canonical
        rows. A disagreement starts at the commit time t0 of the change that broke agreement (but never
        before both sides' streams began, i.e. each side's first watermark in the partition: a side
        whose capture, and so whose snapshot baseline, started later is not "missing" everything); it is
        reported once, with the kind of the state at t0 + window, if it still holds at its deadline
        (when a side reports commit times in whole seconds, as MariaDB's binlog does, the deadline is
        t0 + window + 999 ms: a commit at x.900 reads as x.000, and must not shorten the window);
        a reported key that agrees again emits `RESOLVED`. A change at or before the last position seen
        for its side in its partition is a replay and is ignored. The outcome depends only on the two
        histories, never on consumption order or wall clock.

        ## Repairs and the `resolution` of RESOLVED

        `resolution` is `source-change` or `target-change` by the side whose change brought agreement
        back, and `repaired` when that target change is known to be the repair role's: the latest repair
        of the key on the repair log (kept in `verify-repairs` as soon as its record is consumed; an
        undo clears it) answered the open discrepancy, or wrote exactly that row image (same canonical
        hash) or that delete. The repair log changes nothing but this label. It relies on the log
        record being consumed before the target change is applied, which is the normal case: the record
        is produced right after the repair's commit, while the change goes through capture and then
        waits until both watermarks pass it. A repair is forgotten once used, once its write is applied,
        when the key agrees again, on an undo, or at the latest when both watermarks are %d minutes
        past its appliedAt; so the store holds at most the repairs of the last (verifier lag + %d
        minutes). Unreadable repair log records go to the dead-letter topic like unreadable changes.
        """.formatted(configPath, config.name(), t.changes(Side.SOURCE), t.changes(Side.TARGET), t.repairsLog(),
        t.discrepancies(), t.health(), t.changesDlq(), t.coverage(), VerifyTopology.SOURCE_NODE,
        VerifyTopology.TARGET_NODE,
        VerifyTopology.REPAIRS_LOG_NODE, VerifyTopology.VERIFY_NODE, VerifyTopology.KEY_STATE_STORE,
        VerifyTopology.PENDING_STORE, VerifyTopology.DEADLINE_STORE, VerifyTopology.META_STORE,
        VerifyTopology.REPAIRS_STORE, VerifyTopology.DISCREPANCY_SINK, VerifyTopology.HEALTH_SINK,
        VerifyTopology.DLQ_SINK, app, app, VerifyProcessor.REPAIR_EXPIRY_MS / 60_000,
        VerifyProcessor.REPAIR_EXPIRY_MS / 60_000);
  }
}
