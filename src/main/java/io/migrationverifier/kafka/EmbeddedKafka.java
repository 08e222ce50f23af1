package io.migrationverifier.kafka;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker in this JVM: KRaft, combined broker + controller, started from
 * the production classes ({@link KafkaRaftServer}), listening on loopback only. Serves tests, the
 * demo and {@code kafka.bootstrap-servers: embedded}.
 *
 * <p>The storage is formatted with {@link Formatter} (the library behind {@code kafka-storage
 * format}; {@code StorageTool.main} would exit the JVM). An existing, already formatted log dir is
 * reused as it is, so a broker restarted on the same directory keeps its topics and offsets.
 *
 * <p>The single-node settings matter: without replication factor 1 and min ISR 1 for the internal
 * topics (consumer offsets, transaction state, share-group state) consumer groups hang silently and
 * exactly-once never starts. {@link #start} returns only once the broker answers
 * {@code describeCluster}; topics created on it should still go through
 * {@link TopicAdmin#ensureTopics}, which waits until every new partition is really led.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
  private static final String HOST = "127.0.0.1";
  private static final String BROKER_LISTENER = "PLAINTEXT";
  private static final String CONTROLLER_LISTENER = "CONTROLLER";
  private static final int NODE_ID = 1;
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final int PORT_ATTEMPTS = 3;

  private final KafkaRaftServer server;
  private final String bootstrapServers;
  private final Path logDir;
  private final boolean deleteLogDirOnClose;
  private boolean closed;

  private EmbeddedKafka(KafkaRaftServer server, String bootstrapServers, Path logDir, boolean deleteLogDirOnClose) {
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.logDir = logDir;
    this.deleteLogDirOnClose = deleteLogDirOnClose;
  }

  /**
   * Formats (when needed) and starts the broker, and waits until it serves requests.
   *
   * @param port   the client port on 127.0.0.1; 0 picks a free one
   * @param logDir the data directory; null for a fresh temp dir that {@link #close()} deletes
   */
  public static EmbeddedKafka start(int port, Path logDir) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be 0 (pick a free one) or 1-65535, got " + port);
    }
    boolean temp = logDir == null;
    Path dir;
    try {
      dir = temp ? Files.createTempDirectory("embedded-kafka") : Files.createDirectories(logDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the embedded Kafka log dir " + logDir, e);
    }
    long started = System.nanoTime();
    RuntimeException last = null;
    // A port picked free may be taken before the broker binds it: pick again (only ports we chose).
    int attempts = port == 0 ? PORT_ATTEMPTS : 1;
    for (int attempt = 1; attempt <= attempts; attempt++) {
      int brokerPort = port == 0 ? freePort() : port;
      int controllerPort = freePort(brokerPort);
      Properties props = brokerProperties(brokerPort, controllerPort, dir);
      KafkaRaftServer server = null;
      try {
        KafkaConfig config = KafkaConfig.fromProps(props, false);
        format(dir);
        server = new KafkaRaftServer(config, Time.SYSTEM);
        server.startup();
        String bootstrap = HOST + ":" + brokerPort;
        awaitReady(bootstrap);
        EmbeddedKafka kafka = new EmbeddedKafka(server, bootstrap, dir, temp);
        LOG.info("Embedded Kafka broker (KRaft, single node) ready at {} in {} ms, log dir {}", bootstrap,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), dir);
        return kafka;
      } catch (RuntimeException e) {
        last = e;
        stopQuietly(server);
        if (attempt < attempts) {
          LOG.warn("Embedded Kafka failed to start on ports {}/{} ({}); retrying with other ports", brokerPort,
              controllerPort, e.toString());
        }
      }
    }
    if (temp) {
      deleteRecursively(dir);
    }
    throw new IllegalStateException("the embedded Kafka broker did not start: " + last.getMessage(), last);
  }

  /** {@code host:port} of the broker's client listener. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The data directory. */
  public Path logDir() {
    return logDir;
  }

  /** Shuts the broker down and waits for it; deletes the temp log dir if {@link #start} made one. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopQuietly(server);
    if (deleteLogDirOnClose) {
      deleteRecursively(logDir);
    }
    LOG.info("Embedded Kafka broker at {} stopped", bootstrapServers);
  }

  // ---- internals ---------------------------------------------------------------------------

  static Properties brokerProperties(int brokerPort, int controllerPort, Path dir) {
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", Integer.toString(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
    p.put("listeners", BROKER_LISTENER + "://" + HOST + ":" + brokerPort + "," + CONTROLLER_LISTENER + "://" + HOST
        + ":" + controllerPort);
    p.put("advertised.listeners", BROKER_LISTENER + "://" + HOST + ":" + brokerPort);
    p.put("controller.listener.names", CONTROLLER_LISTENER);
    p.put("inter.broker.listener.name", BROKER_LISTENER);
    p.put("listener.security.protocol.map", BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
    p.put("log.dirs", dir.toString());
    p.put("metadata.log.dir", dir.toString());
    // single node: every internal topic with one replica, or consumer groups and transactions hang
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "5");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "5");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("share.coordinator.state.topic.num.partitions", "1");
    p.put("default.replication.factor", "1");
    p.put("min.insync.replicas", "1");
    p.put("num.partitions", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    // topics are created explicitly (TopicAdmin): a typo must not silently create a topic
    p.put("auto.create.topics.enable", "false");
    p.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "4");
    p.put("log.cleaner.dedupe.buffer.size", Integer.toString(2 * 1024 * 1024));
    p.put("log.retention.check.interval.ms", "300000");
    p.put("controlled.shutdown.enable", "true");
    return p;
  }

  private static void format(Path dir) {
    Formatter formatter = new Formatter()
        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
        .setNodeId(NODE_ID)
        // a formatted dir must keep its cluster id (the formatter verifies it even when it skips the dir)
        .setClusterId(existingClusterId(dir).orElseGet(() -> Uuid.randomUuid().toString()))
        .setDirectories(List.of(dir.toString()))
        .setMetadataLogDirectory(dir.toString())
        .setControllerListenerName(CONTROLLER_LISTENER)
        // a log dir kept from an earlier run keeps its cluster id, topics and offsets
        .setIgnoreFormatted(true);
    try {
      formatter.run();
    } catch (Exception e) {
      throw new IllegalStateException("cannot format the embedded Kafka log dir " + dir + ": " + e.getMessage(), e);
    }
  }

  private static Optional<String> existingClusterId(Path dir) {
    Path meta = dir.resolve("meta.properties");
    if (!Files.isRegularFile(meta)) {
      return Optional.empty();
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(meta, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + meta, e);
    }
    return Optional.ofNullable(p.getProperty("cluster.id"));
  }

  private static void awaitReady(String bootstrap) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    Map<String, Object> conf = Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000,
        AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, 50,
        AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
    Exception last = null;
    try (Admin admin = Admin.create(conf)) {
      while (System.nanoTime() < deadline) {
        try {
          var cluster = admin.describeCluster(new DescribeClusterOptions().timeoutMs(5_000));
          if (!cluster.nodes().get(5, TimeUnit.SECONDS).isEmpty() && cluster.controller().get(5, TimeUnit.SECONDS) != null) {
            return;
          }
        } catch (ExecutionException e) {
          last = e.getCause() instanceof Exception c ? c : e;
        } catch (TimeoutException e) {
          last = e;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for the embedded Kafka broker", e);
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for the embedded Kafka broker", e);
        }
      }
    }
    throw new IllegalStateException("the embedded Kafka broker at " + bootstrap + " did not answer describeCluster within "
        + READY_TIMEOUT.toSeconds() + " s" + (last == null ? "" : ": " + last), last);
  }

  private static void stopQuietly(KafkaRaftServer server) {
    if (server == null) {
      return;
    }
    try {
      server.shutdown();
      server.awaitShutdown();
    } catch (RuntimeException e) {
      LOG.warn("Embedded Kafka broker shutdown failed: {}", e.toString());
    }
  }

  private static int freePort(int... avoid) {
    for (int i = 0; i < 10; i++) {
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
        int p = s.getLocalPort();
        if (avoid.length == 0 || p != avoid[0]) {
          return p;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot find a free port on " + HOST, e);
      }
    }
    throw new IllegalStateException("cannot find a free port on " + HOST);
  }

  private static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      LOG.warn("could not delete the embedded Kafka log dir {}: {}", dir, e.toString());
    }
  }
}
