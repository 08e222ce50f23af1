package io.migrationverifier.ops;

import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.repair.RepairWorker;
import io.migrationverifier.runtime.Pipeline;
import io.migrationverifier.runtime.Role;
import io.migrationverifier.verify.VerifyListener;
import io.migrationverifier.verify.VerifyTopology;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The operations endpoint of {@code run} on {@code http.bind}:{@code http.port}:
 * <ul>
 *   <li>{@code GET /} the status page, {@code GET /api/status} its data ({@link StatusModel});
 *   <li>{@code GET /health} liveness: 200 unless a role failed (then 503: restart the process);
 *   <li>{@code GET /ready} readiness: 200 when the verify role's streams are RUNNING, each capture
 *       of this process is running, has produced and (with heartbeats) its watermark moved within
 *       the last minute (or 20 heartbeat intervals), and the repair role is not stopped; otherwise
 *       503 with the reasons;
 *   <li>{@code GET /metrics} Prometheus text ({@link Metrics});
 *   <li>{@code GET /topology} the verify topology as Kafka Streams describes it;
 *   <li>{@code POST /check} the on-demand check of one key ({@link CheckRoute}).
 * </ul>
 */
public final class OpsEndpoint {
  static final String PAGE = "/io/migrationverifier/ops/status/index.html";
  /** The content type of the Prometheus text exposition. */
  public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4";
  /** A capture's watermark may stand still this long (or 20 heartbeat intervals) before it is not ready. */
  static final long STALE_WATERMARK_MIN_MS = 60_000;

  private OpsEndpoint() {}

  /** Every route, not started; closing the endpoint closes the status model and the check's resources. */
  public static HttpEndpoint build(VerifierConfig config, Pipeline pipeline, Metrics metrics) {
    List<String> roles = pipeline.roles().stream().map(Role::id).toList();
    String topology = VerifyTopology.build(config, VerifyListener.NONE).describe().toString();
    byte[] page = page();
    StatusModel status = new StatusModel(config, pipeline.bootstrapServers(), metrics,
        () -> readiness(pipeline, metrics), roles).start();
    HttpEndpoint endpoint;
    try {
      endpoint = CheckRoute.endpoint(config, pipeline.bootstrapServers());
    } catch (RuntimeException e) {
      status.close();
      throw e;
    }
    return endpoint
        .route("GET", "/", req -> new HttpEndpoint.Response(200, "text/html", page))
        .route("GET", "/api/status", req -> HttpEndpoint.Response.json(200, status.json()))
        .route("GET", "/health", req -> pipeline.failure().isDone()
            ? HttpEndpoint.Response.json(503, CheckJson.JSON.createObjectNode().put("status", "DOWN")
                .put("reason", "a role failed: the log says which; restart the process"))
            : HttpEndpoint.Response.json(200, CheckJson.JSON.createObjectNode().put("status", "UP")))
        .route("GET", "/ready", req -> {
          StatusModel.Readiness r = status.readiness();
          var body = CheckJson.JSON.createObjectNode().put("status", r.ready() ? "READY" : "NOT_READY");
          r.reasons().forEach(body.putArray("reasons")::add);
          return HttpEndpoint.Response.json(r.ready() ? 200 : 503, body);
        })
        .route("GET", "/metrics", req -> new HttpEndpoint.Response(200, PROMETHEUS_TEXT,
            metrics.scrape().getBytes(StandardCharsets.UTF_8)))
        .route("GET", "/topology", req -> new HttpEndpoint.Response(200, "text/plain",
            topology.getBytes(StandardCharsets.UTF_8)))
        .closing(status);
  }

  static StatusModel.Readiness readiness(Pipeline pipeline, Metrics metrics) {
    List<String> why = new ArrayList<>();
    if (pipeline.failure().isDone()) {
      why.add("a role failed (see the log)");
    }
    KafkaStreams streams = pipeline.streams();
    if (pipeline.roles().contains(Role.VERIFY) && (streams == null || streams.state() != KafkaStreams.State.RUNNING)) {
      why.add("verify: streams " + (streams == null ? "not started" : streams.state().toString()));
    }
    for (Side side : Side.values()) {
      Role role = side == Side.SOURCE ? Role.CAPTURE_SOURCE : Role.CAPTURE_TARGET;
      if (!pipeline.roles().contains(role)) {
        continue;
      }
      if (!pipeline.captureRunning(side)) {
        why.add(role.id() + ": not running");
      } else if (metrics.captureWatermark(side) == Long.MIN_VALUE) {
        why.add(role.id() + ": connecting (nothing produced yet)");
      } else if (pipeline.config().capture().heartbeatEnabled()) {
        // heartbeats move a streaming capture's watermark even when the database is idle: a watermark
        // standing still means the capture lost its database (Debezium retrying) or is snapshotting
        long lag = System.currentTimeMillis() - metrics.captureWatermark(side);
        long limit = Math.max(STALE_WATERMARK_MIN_MS, 20 * pipeline.config().capture().heartbeatInterval().toMillis());
        if (lag > limit) {
          why.add(role.id() + ": watermark " + lag / 1000 + " s behind (snapshotting, or not receiving changes from"
              + " its database)");
        }
      }
    }
    RepairWorker repair = pipeline.repair();
    if (repair != null && repair.state() == RepairWorker.State.STOPPED) {
      why.add("repair: stopped");
    }
    return new StatusModel.Readiness(why.isEmpty(), why);
  }

  private static byte[] page() {
    try (InputStream in = OpsEndpoint.class.getResourceAsStream(PAGE)) {
      if (in == null) {
        throw new IllegalStateException("the status page " + PAGE + " is missing from the jar: rebuild it");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
