package io.migrationverifier.cli;

import io.migrationverifier.capture.ReplicationCleanup;
import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.DiscrepancyKind;
import io.micrometer.core.instrument.Counter;
import io.migrationverifier.ops.Metrics;
import io.migrationverifier.ops.OpsEndpoint;
import io.migrationverifier.ops.HttpEndpoint;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.Role;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TimeZone;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "run", mixinStandardHelpOptions = true,
    description = {"Runs the verifier's roles in this process until SIGTERM (Ctrl-C).",
        "With http.enabled (the default) it serves on http.bind:http.port (port 0: any free port, printed at start):"
        + " GET / (status page), /api/status, /health, /ready, /metrics (Prometheus), /topology, and POST /check:"
        + " {\"table\":\"orders\",\"key\":{\"id\":\"42\"},\"repair\":false} answers the verdict, the differing"
        + " fields, both rows and what a requested repair did."},
    footer = {"", "Exit codes: 0 --cleanup done; 1 a role failed (the log says which and why); 2 invalid config"
        + " or command line; 143 stopped by SIGTERM after a clean shutdown."})
final class RunCommand implements Callable<Integer> {
  @Mixin
  ConfigOption config;

  @Option(names = "--roles", split = ",", paramLabel = "ROLE",
      description = "Comma-separated: capture-source, capture-target, verify, repair (default: all).")
  List<String> roles;

  @Option(names = "--cleanup", description = "Drop this deployment's PostgreSQL replication slots and publications"
      + " (stop every capture first), then exit.")
  boolean cleanup;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    VerifierConfig c;
    Set<Role> selected;
    try {
      c = config.load();
      selected = roles == null ? Role.all() : EnumSet.noneOf(Role.class);
      if (roles != null) {
        for (String r : roles) {
          selected.add(Role.fromId(r));
        }
      }
    } catch (ConfigException | IllegalArgumentException e) {
      err.println(config.path + ": " + e.getMessage());
      return ExitCodes.INVALID;
    }
    if (cleanup) {
      for (String line : ReplicationCleanup.run(c)) {
        out.println(line);
      }
      out.flush();
      return ExitCodes.OK;
    }
    // Debezium's MariaDB snapshot reads TIMESTAMP columns in the JVM's default zone (FIELD-NOTES):
    // pin it, so snapshot and streamed values of the same row agree.
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    Metrics metrics = new Metrics(c);
    Pipeline pipeline = Pipeline.start(c, selected, null, metrics, metrics, metrics);
    if (pipeline.streams() != null) {
      metrics.bind(pipeline.streams());
    }
    Progress progress = new Progress(metrics);
    HttpEndpoint http = null;
    if (c.http().enabled()) {
      try {
        http = OpsEndpoint.build(c, pipeline, metrics);
        http.start(c.http().bind(), c.http().port(), 4);
      } catch (IOException | RuntimeException e) {
        err.println("http: cannot listen on " + c.http().bind() + ":" + c.http().port() + " (" + e.getMessage()
            + "): set http.port to a free port (0 = any), or http.enabled: false");
        err.flush();
        if (http != null) {
          http.close(); // the status model's threads and clients
        }
        pipeline.close();
        metrics.close();
        return ExitCodes.FAILURE;
      }
    }
    HttpEndpoint endpoint = http;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (endpoint != null) {
        endpoint.close();
      }
      pipeline.close();
      metrics.close();
      stopped.countDown();
    }, "shutdown"));
    out.printf("running %s for %s on %s; Ctrl-C or SIGTERM stops%n", selected.stream().map(Role::id).toList(),
        c.name(), pipeline.bootstrapServers());
    if (endpoint != null) {
      out.printf("http: %s on http://%s:%d%n", endpoint.routesText(), endpoint.address().getHostString(),
          endpoint.address().getPort());
    }
    out.flush();
    while (!pipeline.failure().isDone()) {
      if (stopped.await(10, TimeUnit.SECONDS)) {
        return ExitCodes.OK;
      }
      out.println(progress.line());
      out.flush();
    }
    try {
      pipeline.failure().join();
    } catch (RuntimeException e) {
      // Debezium wraps the database's own words ("Could not find GTID state ... binlog files have been
      // purged") under "An exception occurred in the change event producer": print every distinct cause
      StringBuilder why = new StringBuilder();
      for (Throwable t = e.getCause() != null ? e.getCause() : e; t != null; t = t.getCause()) {
        String m = t.getMessage();
        if (m != null && why.indexOf(m) < 0) {
          why.append(why.length() == 0 ? "" : " <- caused by: ").append(m);
        }
      }
      err.println("stopping: " + why);
    }
    if (endpoint != null) {
      endpoint.close();
    }
    pipeline.close();
    metrics.close();
    return ExitCodes.FAILURE;
  }

  /** The periodic progress line, from the process's metrics. */
  static final class Progress {
    private final Metrics metrics;

    Progress(Metrics metrics) {
      this.metrics = metrics;
    }

    String line() {
      long now = System.currentTimeMillis();
      return String.format("captured source=%d target=%d | watermark lag source=%s target=%s | applied=%d"
              + " converged=%d discrepancies=%d resolved=%d", count("verifier.capture.changes", "side", "source"),
          count("verifier.capture.changes", "side", "target"), lag(now, Side.SOURCE), lag(now, Side.TARGET),
          count("verifier.change.events", null, null), metrics.convergedCount(),
          count("verifier.discrepancies.emitted", null, null) - resolved(), resolved());
    }

    private long resolved() {
      return count("verifier.discrepancies.emitted", "kind", DiscrepancyKind.RESOLVED.name());
    }

    private long count(String name, String tag, String value) {
      var search = metrics.registry().find(name);
      if (tag != null) {
        search = search.tag(tag, value);
      }
      return (long) search.counters().stream().mapToDouble(Counter::count).sum();
    }

    private String lag(long now, Side side) {
      long wm = metrics.captureWatermark(side);
      return wm == Long.MIN_VALUE ? "-" : (now - wm) + "ms";
    }
  }
}
