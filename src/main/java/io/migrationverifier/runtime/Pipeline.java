package io.migrationverifier.runtime;

import io.migrationverifier.capture.CaptureEngine;
import io.migrationverifier.capture.CaptureListener;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.kafka.TopicAdmin;
import io.migrationverifier.repair.RepairListener;
import io.migrationverifier.repair.RepairWorker;
import io.migrationverifier.verify.VerifyListener;
import io.migrationverifier.verify.VerifyStreamsConfig;
import io.migrationverifier.verify.VerifyTopology;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The roles of one process, wired together: the embedded broker when configured, the topics,
 * the captures and the verify topology. {@code run}, {@code demo} and the integration tests all
 * start the product through this class.
 */
public final class Pipeline implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

  private final VerifierConfig config;
  private final Set<Role> roles;
  private EmbeddedKafka broker;
  private String bootstrapServers;
  private final List<CaptureEngine> captures = new ArrayList<>();
  private KafkaStreams streams;
  private RepairWorker repair;
  private RepairListener repairListener = RepairListener.NONE;
  /** Completes exceptionally when any role fails; never completes normally. */
  private final CompletableFuture<Void> failure = new CompletableFuture<>();

  private Pipeline(VerifierConfig config, Set<Role> roles) {
    this.config = config;
    this.roles = roles;
  }

  public static Pipeline start(VerifierConfig config, Set<Role> roles, CaptureListener captureListener,
      VerifyListener verifyListener) throws Exception {
    Pipeline p = new Pipeline(config, roles);
    try {
      p.startAll(captureListener, verifyListener, null);
    } catch (Exception | Error e) {
      p.close();
      throw e;
    }
    return p;
  }

  /** Starts on an already running broker (tests, or when the caller owns the broker). */
  public static Pipeline start(VerifierConfig config, Set<Role> roles, String bootstrapServers,
      CaptureListener captureListener, VerifyListener verifyListener) throws Exception {
    Pipeline p = new Pipeline(config, roles);
    try {
      p.startAll(captureListener, verifyListener, bootstrapServers);
    } catch (Exception | Error e) {
      p.close();
      throw e;
    }
    return p;
  }

  /** As above, with a listener on the repair role. */
  public static Pipeline start(VerifierConfig config, Set<Role> roles, String bootstrapServers,
      CaptureListener captureListener, VerifyListener verifyListener, RepairListener repairListener) throws Exception {
    Pipeline p = new Pipeline(config, roles);
    p.repairListener = repairListener == null ? RepairListener.NONE : repairListener;
    try {
      p.startAll(captureListener, verifyListener, bootstrapServers);
    } catch (Exception | Error e) {
      p.close();
      throw e;
    }
    return p;
  }

  private void startAll(CaptureListener captureListener, VerifyListener verifyListener, String servers)
      throws Exception {
    if (servers != null) {
      bootstrapServers = servers;
    } else if (config.kafka().embedded()) {
      broker = EmbeddedKafka.start(config.kafka().embeddedPort(), config.verify().stateDir().resolve("kafka"));
      bootstrapServers = broker.bootstrapServers();
    } else {
      bootstrapServers = config.kafka().bootstrapServers();
    }
    Properties adminProps = new Properties();
    config.kafka().properties().forEach(adminProps::setProperty);
    adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    try (Admin admin = Admin.create(adminProps)) {
      TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(60));
    }
    if (roles.contains(Role.VERIFY)) {
      streams = new KafkaStreams(VerifyTopology.build(config, verifyListener),
          VerifyStreamsConfig.properties(config, bootstrapServers));
      streams.setUncaughtExceptionHandler(e -> {
        LOG.error("verify failed: {}", e.toString(), e);
        failure.completeExceptionally(e);
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      streams.setStateListener((now, before) -> {
        if (now == KafkaStreams.State.ERROR) {
          failure.completeExceptionally(new IllegalStateException("verify entered state ERROR"));
        }
      });
      streams.start();
    }
    for (Side side : Side.values()) {
      if (roles.contains(side == Side.SOURCE ? Role.CAPTURE_SOURCE : Role.CAPTURE_TARGET)) {
        startCapture(side, captureListener);
      }
    }
    if (roles.contains(Role.REPAIR)) {
      if (config.anyRepairEnabled()) {
        startRepair();
      } else {
        LOG.info("repair role idle: no table has repair enabled (detect-only)");
      }
    }
    LOG.info("running {} on {}", roles.stream().map(Role::id).toList(), bootstrapServers);
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public CompletableFuture<Void> failure() {
    return failure;
  }

  public KafkaStreams streams() {
    return streams;
  }

  /** Stops one capture (tests: a stalled side); it can be started again with {@link #restartCapture}. */
  public void stopCapture(Side side) {
    captures.removeIf(c -> {
      if (c.side() == side) {
        c.close();
        return true;
      }
      return false;
    });
  }

  public void restartCapture(Side side, CaptureListener listener) throws Exception {
    stopCapture(side);
    startCapture(side, listener);
  }

  /** Starts a capture whose failure fails the pipeline, however it was started. */
  private void startCapture(Side side, CaptureListener listener) throws Exception {
    CaptureEngine c = new CaptureEngine(config, side, bootstrapServers, listener);
    captures.add(c);
    c.start();
    c.stopped().whenComplete((v, e) -> {
      if (e != null) {
        LOG.error("capture {} failed: {}", side.id(), e.toString(), e);
        failure.completeExceptionally(e);
      }
    });
  }

  private void startRepair() {
    repair = new RepairWorker(config, bootstrapServers, repairListener);
    repair.start();
    repair.stopped().whenComplete((v, e) -> {
      if (e != null) {
        failure.completeExceptionally(e);
      }
    });
  }

  /** The running repair role, or null (not among the roles, or no table repairs). */
  public RepairWorker repair() {
    return repair;
  }

  /** Stops the repair role (tests); {@link #restartRepair} starts it again. */
  public void stopRepair() {
    if (repair != null) {
      repair.close();
      repair = null;
    }
  }

  public void restartRepair(RepairListener listener) {
    stopRepair();
    repairListener = listener == null ? RepairListener.NONE : listener;
    startRepair();
  }

  public VerifierConfig config() {
    return config;
  }

  public Set<Role> roles() {
    return roles;
  }

  /** Whether this process runs the side's capture and it has not stopped. */
  public boolean captureRunning(Side side) {
    return captures.stream().anyMatch(c -> c.side() == side && !c.stopped().isDone());
  }

  public Map<String, String> describe() {
    return Map.of("bootstrap", bootstrapServers, "roles", roles.toString());
  }

  @Override
  public void close() {
    stopRepair();
    for (CaptureEngine c : captures) {
      try {
        c.close();
      } catch (RuntimeException e) {
        LOG.warn("closing capture {}: {}", c.side().id(), e.toString());
      }
    }
    captures.clear();
    if (streams != null) {
      // Leave the group on the way out: otherwise a restarted instance waits for this member's
      // session to time out (45 s) before it gets the partitions back.
      streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
          .withTimeout(Duration.ofSeconds(30)));
      streams = null;
    }
    if (broker != null) {
      broker.close();
      broker = null;
    }
  }
}
