package io.migrationverifier.cli;

import static org.awaitility.Awaitility.await;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.kafka.TopicAdmin;
import io.migrationverifier.repair.OpsKafka;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import sun.misc.Signal;

/**
 * {@code tail} run through {@link Main#run} on a background thread with stdout and stderr captured
 * (they are process-wide, so one run at a time), plus the configs and discrepancy events the tail
 * and webhook ITs feed it.
 */
public final class TailRun implements AutoCloseable {
  private static final Semaphore ONE_AT_A_TIME = new Semaphore(1);

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final CompletableFuture<Integer> code = new CompletableFuture<>();

  private TailRun() {}

  /** Starts {@code tail <args>}; stdout and stderr are captured until it returns. */
  public static TailRun start(String... args) {
    ONE_AT_A_TIME.acquireUninterruptibly();
    TailRun r = new TailRun();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(r.out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(r.err, true, StandardCharsets.UTF_8));
    String[] all = new String[args.length + 1];
    all[0] = "tail";
    System.arraycopy(args, 0, all, 1, args.length);
    Thread t = new Thread(() -> {
      try {
        r.code.complete(Main.run(all));
      } catch (Throwable e) {
        r.code.completeExceptionally(e);
      } finally {
        System.setOut(oldOut);
        System.setErr(oldErr);
        ONE_AT_A_TIME.release();
      }
    }, "tail-under-test");
    t.setDaemon(true);
    t.start();
    return r;
  }

  /** Runs {@code tail <args>} to its end (it must stop by itself: --no-follow, --max-events, --idle-timeout). */
  public static TailRun run(String... args) {
    TailRun r = start(args);
    r.awaitExit();
    return r;
  }

  public String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  public String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  /** Waits until the tail is positioned on every partition (events produced from now on are seen). */
  public TailRun awaitReady() {
    await().atMost(Duration.ofSeconds(60)).until(() -> code.isDone() || err().contains("tail: following")
        || err().contains("tail: reading"));
    return this;
  }

  public int awaitExit() {
    try {
      return code.get(90, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("tail did not end: " + e + "\nstdout:\n" + out() + "\nstderr:\n" + err(), e);
    }
  }

  public boolean done() {
    return code.isDone();
  }

  /**
   * SIGTERM to this JVM, as a supervisor stops the tail (its handler is installed once it is ready).
   * Not SIGINT: a JVM started in the background by a non-interactive shell inherits SIGINT ignored.
   */
  public int interrupt() {
    Signal.raise(new Signal("TERM"));
    return awaitExit();
  }

  @Override
  public void close() {
    if (!code.isDone() && (err().contains("tail: following") || err().contains("tail: reading"))) {
      interrupt();
    }
  }

  // ---- the deployment and its events --------------------------------------------------------

  /** A config on {@code bootstrap} with tables orders and items (no database is contacted by tail). */
  public static Path configFile(Path dir, String name, String bootstrap) throws Exception {
    Path f = dir.resolve(name + ".yaml");
    Files.writeString(f, """
        name: %s
        kafka: {bootstrap-servers: "%s", partitions: 2}
        source: {type: postgres, host: 127.0.0.1, port: 5432, database: legacy, user: postgres, password: ""}
        target: {type: postgres, host: 127.0.0.1, port: 5432, database: modern, user: postgres, password: ""}
        verify: {state-dir: "%s"}
        http: {enabled: false}
        tables:
          - name: orders
            key: [id]
          - name: items
            key: [id]
        """.formatted(name, bootstrap, dir.resolve("state-" + name)));
    return f;
  }

  public static VerifierConfig ensureTopics(Path configFile) {
    VerifierConfig c = ConfigLoader.load(configFile);
    try (Admin admin = OpsKafka.admin(c, c.kafka().bootstrapServers())) {
      TopicAdmin.ensureTopics(admin, c, Duration.ofSeconds(60));
    }
    return c;
  }

  private static SortedMap<String, String> key(long id) {
    return new TreeMap<>(Map.of("id", Long.toString(id)));
  }

  private static SortedMap<String, String> row(long id, String amount, String note) {
    TreeMap<String, String> r = new TreeMap<>();
    r.put("id", Long.toString(id));
    r.put("amount", amount);
    r.put("note", note);
    return r;
  }

  public static Discrepancy mismatch(String table, long id, String sourceAmount, String targetAmount) {
    long t0 = 1_764_000_000_000L + id * 1000;
    return new Discrepancy(UUID.randomUUID().toString(), DiscrepancyKind.VALUE_MISMATCH, table, key(id),
        Discrepancy.DETECTOR_STREAM, t0, t0 + 5000, row(id, sourceAmount, "n"), row(id, targetAmount, "n"),
        List.of(new FieldDiff("amount", sourceAmount, targetAmount, null)), null, null, null, null, t0 + 5100);
  }

  public static Discrepancy missing(String table, long id, String amount) {
    long t0 = 1_764_000_000_000L + id * 1000;
    return new Discrepancy(UUID.randomUUID().toString(), DiscrepancyKind.MISSING_IN_TARGET, table, key(id),
        Discrepancy.DETECTOR_AUDIT, t0, t0 + 2500, row(id, amount, "only in source"), null, List.of(), null, null,
        null, null, t0 + 2600);
  }

  public static Discrepancy unexpected(String table, long id, String amount) {
    long t0 = 1_764_000_000_000L + id * 1000;
    return new Discrepancy(UUID.randomUUID().toString(), DiscrepancyKind.UNEXPECTED_IN_TARGET, table, key(id),
        Discrepancy.DETECTOR_CHECK, t0, t0 + 1000, null, row(id, amount, "only in target"), List.of(), null, null,
        null, null, t0 + 1100);
  }

  /** Closes {@code open} by a target change, 12.3 s after it started. */
  public static Discrepancy resolved(Discrepancy open) {
    long at = open.divergedSince() + 12_300;
    return new Discrepancy(UUID.randomUUID().toString(), DiscrepancyKind.RESOLVED, open.table(), open.key(),
        open.detector(), open.divergedSince(), open.detectedAt(), open.source(), open.source(), List.of(),
        open.id(), at, "target-change", 12_300L, at + 50);
  }

  public static ProducerRecord<byte[], byte[]> record(VerifierConfig c, Discrepancy d) {
    return new ProducerRecord<>(c.topics().discrepancies(), CanonicalKey.of(d.table(), d.key()).toBytes(),
        EventCodec.encode(d));
  }

  /** A record on the key of row {@code id} whose value is not a discrepancy event. */
  public static ProducerRecord<byte[], byte[]> malformed(VerifierConfig c, String table, long id) {
    return new ProducerRecord<>(c.topics().discrepancies(), CanonicalKey.of(table, key(id)).toBytes(),
        "{\"v\":1,\"kind\":\"SOMETHING\"".getBytes(StandardCharsets.UTF_8));
  }

  /** A tombstone on the key of row {@code id}: what purging a row from the compacted topic writes. */
  public static ProducerRecord<byte[], byte[]> tombstone(VerifierConfig c, String table, long id) {
    return new ProducerRecord<>(c.topics().discrepancies(), CanonicalKey.of(table, key(id)).toBytes(), null);
  }

  public static void produce(VerifierConfig c, List<ProducerRecord<byte[], byte[]>> records) {
    try (KafkaProducer<byte[], byte[]> p = OpsKafka.producer(c, c.kafka().bootstrapServers(), "test")) {
      OpsKafka.sendAll(p, records, "test records");
    }
  }
}
