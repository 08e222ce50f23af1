package io.migrationverifier.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.migrationverifier.cli.ExitCodes;
import io.migrationverifier.cli.TailRun;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.repair.OpsKafka;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The webhook poster ({@code tail --webhook}) on a real broker against a local JDK HTTP server that
 * fails on purpose: 503, a dropped connection, an answer too late, 429 with Retry-After, 400.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class WebhookAlerterIT {
  @TempDir
  static Path dir;
  static EmbeddedKafka kafka;

  Receiver receiver;

  @BeforeAll
  static void startKafka() {
    kafka = EmbeddedKafka.start(0, dir.resolve("kafka"));
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  @BeforeEach
  void startReceiver() throws IOException {
    receiver = new Receiver();
  }

  @AfterEach
  void stopReceiver() {
    receiver.close();
  }

  /** What the receiver does with an attempt. */
  enum Action { OK, UNAVAILABLE, DROP, LATE, TOO_MANY, BAD_REQUEST }

  record Attempt(String id, long nanos, Action action) {}

  record Delivery(String id, String kind, String table, String contentType, String team, String token, byte[] body) {}

  /** A webhook receiver whose next answers are scripted; ids can be made to fail always. */
  static final class Receiver implements AutoCloseable {
    final HttpServer server;
    final ExecutorService threads = Executors.newCachedThreadPool();
    final ConcurrentLinkedQueue<Action> next = new ConcurrentLinkedQueue<>();
    final Set<String> unavailable = new CopyOnWriteArraySet<>();
    final Set<String> refused = new CopyOnWriteArraySet<>();
    final List<Attempt> attempts = Collections.synchronizedList(new ArrayList<>());
    final List<Delivery> delivered = Collections.synchronizedList(new ArrayList<>());
    final CountDownLatch release = new CountDownLatch(1);

    Receiver() throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/hook", this::handle);
      server.setExecutor(threads);
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    private void handle(HttpExchange ex) throws IOException {
      byte[] body = ex.getRequestBody().readAllBytes();
      String id = ex.getRequestHeaders().getFirst("X-Discrepancy-Id");
      Action a = refused.contains(id) ? Action.BAD_REQUEST : unavailable.contains(id) ? Action.UNAVAILABLE
          : next.isEmpty() ? Action.OK : next.poll();
      attempts.add(new Attempt(id, System.nanoTime(), a));
      switch (a) {
        case OK -> {
          delivered.add(new Delivery(id, ex.getRequestHeaders().getFirst("X-Discrepancy-Kind"),
              ex.getRequestHeaders().getFirst("X-Discrepancy-Table"),
              ex.getRequestHeaders().getFirst("Content-Type"), ex.getRequestHeaders().getFirst("X-Team"),
              ex.getRequestHeaders().getFirst("X-Token"), body));
          answer(ex, 200, "ok");
        }
        case UNAVAILABLE -> answer(ex, 503, "busy");
        case TOO_MANY -> {
          ex.getResponseHeaders().add("Retry-After", "1");
          answer(ex, 429, "slow down");
        }
        case BAD_REQUEST -> answer(ex, 400, "no such channel");
        case DROP -> ex.close(); // no answer: the connection is closed
        case LATE -> {
          try {
            release.await(20, TimeUnit.SECONDS); // longer than the poster's timeout
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          ex.close();
        }
      }
    }

    private static void answer(HttpExchange ex, int status, String text) throws IOException {
      byte[] b = text.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    }

    List<String> deliveredIds() {
      synchronized (delivered) {
        return delivered.stream().map(Delivery::id).toList();
      }
    }

    List<Attempt> attemptsOf(String id) {
      synchronized (attempts) {
        return attempts.stream().filter(a -> a.id().equals(id)).toList();
      }
    }

    @Override
    public void close() {
      release.countDown();
      server.stop(0);
      threads.shutdownNow();
    }
  }

  private String[] poster(Path config, String group, String... more) {
    List<String> args = new ArrayList<>(List.of("--config", config.toString(), "--from-beginning", "--webhook",
        receiver.url(), "--webhook-backoff", "50ms", "--webhook-timeout", "500ms"));
    if (group != null) {
      args.addAll(List.of("--group", group));
    }
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  @Test
  void postsEachEventOnceInOrderPerKeyThroughFailuresAndResumesAfterARestart() throws Exception {
    Path f = TailRun.configFile(dir, "hooka", kafka.bootstrapServers());
    VerifierConfig c = TailRun.ensureTopics(f);
    Discrepancy m1 = TailRun.mismatch("orders", 1, "1", "2");
    Discrepancy m2 = TailRun.mismatch("orders", 2, "1", "3");
    Discrepancy m3 = TailRun.missing("orders", 3, "4");
    Discrepancy r1 = TailRun.resolved(m1);
    Discrepancy r2 = TailRun.resolved(m2);
    Discrepancy r3 = TailRun.resolved(m3);
    Discrepancy refused = TailRun.unexpected("items", 5, "5");
    receiver.refused.add(refused.id());
    TailRun.produce(c, List.of(TailRun.record(c, m1), TailRun.record(c, m1), TailRun.record(c, m2),
        TailRun.record(c, r1), TailRun.malformed(c, "orders", 2), TailRun.record(c, m3), TailRun.record(c, r2),
        TailRun.record(c, refused), TailRun.record(c, r3)));
    // the first event meets every retryable failure before it gets through
    receiver.next.addAll(List.of(Action.UNAVAILABLE, Action.DROP, Action.LATE, Action.TOO_MANY));

    TailRun run = TailRun.run(poster(f, "hooka.alerts", "--max-events", "8"));
    assertThat(run.awaitExit()).as(run.out() + run.err()).isEqualTo(ExitCodes.OK);

    List<String> ids = receiver.deliveredIds();
    assertThat(ids).containsExactlyInAnyOrder(m1.id(), m2.id(), m3.id(), r1.id(), r2.id(), r3.id());
    for (Discrepancy[] pair : List.of(new Discrepancy[] {m1, r1}, new Discrepancy[] {m2, r2},
        new Discrepancy[] {m3, r3})) {
      assertThat(ids.indexOf(pair[0].id())).as("per key in topic order").isLessThan(ids.indexOf(pair[1].id()));
    }
    Map<String, Discrepancy> byId = List.of(m1, m2, m3, r1, r2, r3).stream()
        .collect(Collectors.toMap(Discrepancy::id, d -> d));
    synchronized (receiver.delivered) {
      for (Delivery d : receiver.delivered) {
        Discrepancy sent = byId.get(d.id());
        assertThat(d.kind()).isEqualTo(sent.kind().name());
        assertThat(d.table()).isEqualTo(sent.table());
        assertThat(d.contentType()).isEqualTo("application/json");
        assertThat(d.body()).isEqualTo(EventCodec.encode(sent));
      }
    }
    // the first event: 503, dropped connection, no answer in time, 429 with Retry-After: 1, then 200
    List<Attempt> first = receiver.attemptsOf(m1.id());
    assertThat(first).extracting(Attempt::action).containsExactly(Action.UNAVAILABLE, Action.DROP, Action.LATE,
        Action.TOO_MANY, Action.OK);
    assertThat(Duration.ofNanos(first.get(4).nanos() - first.get(3).nanos())).as("Retry-After honoured")
        .isGreaterThanOrEqualTo(Duration.ofMillis(950));
    assertThat(run.err()).contains("attempt 1/9 for VALUE_MISMATCH orders {id=1} (id " + m1.id()
        + ") failed (HTTP 503: busy); retrying in 50ms", "attempt 2/9", "connection failed",
        "attempt 3/9 for VALUE_MISMATCH orders {id=1} (id " + m1.id() + ") failed (no answer within 500ms)",
        "attempt 4/9", "(HTTP 429: slow down); retrying in 1.0s");
    // a 400 is tried once, reported, and skipped
    assertThat(receiver.attemptsOf(refused.id())).hasSize(1);
    assertThat(run.err()).contains(receiver.url() + " rejected UNEXPECTED_IN_TARGET items {id=5} (id "
        + refused.id() + ") with HTTP 400: no such channel; not retried");
    assertThat(run.out()).contains("duplicate VALUE_MISMATCH orders {id=1} id " + m1.id(),
        "posted VALUE_MISMATCH orders {id=1} id " + m1.id() + ": HTTP 200 after 5 attempts",
        "rejected UNEXPECTED_IN_TARGET items {id=5}");
    assertThat(receiver.attemptsOf(m1.id())).hasSize(5);
    assertThat(run.err()).containsPattern("skipped a malformed record at hooka\\.discrepancies partition \\d offset"
        + " \\d+").contains("8 events: posted 6, duplicates not posted again 1, rejected 1");
    assertThat(committed(c, "hooka.alerts")).isEqualTo(ends(c));

    // a restart with the group resumes after what was acknowledged: only the new events are posted
    Discrepancy m4 = TailRun.mismatch("items", 4, "1", "9");
    Discrepancy r4 = TailRun.resolved(m4);
    TailRun.produce(c, List.of(TailRun.record(c, m4), TailRun.record(c, r4)));
    TailRun again = TailRun.run(poster(f, "hooka.alerts", "--max-events", "2"));
    assertThat(again.awaitExit()).as(again.out() + again.err()).isEqualTo(ExitCodes.OK);
    assertThat(receiver.deliveredIds()).hasSize(8).endsWith(m4.id(), r4.id());
    assertThat(receiver.attemptsOf(refused.id())).hasSize(1);
    assertThat(committed(c, "hooka.alerts")).isEqualTo(ends(c));
  }

  @Test
  void aPosterThatFailedEveryRetryStopsWithoutCommittingAndTheNextStartPostsTheEvent() throws Exception {
    Path f = TailRun.configFile(dir, "hookb", kafka.bootstrapServers());
    VerifierConfig c = TailRun.ensureTopics(f);
    // one key: one partition, so the order is strict
    Discrepancy e1 = TailRun.mismatch("orders", 1, "1", "2");
    Discrepancy e2 = TailRun.resolved(e1);
    Discrepancy e3 = TailRun.mismatch("orders", 1, "1", "5");
    TailRun.produce(c, List.of(TailRun.record(c, e1), TailRun.record(c, e2), TailRun.record(c, e3)));
    receiver.unavailable.add(e2.id());

    TailRun failed = TailRun.run(poster(f, "hookb.alerts", "--webhook-retries", "2"));
    assertThat(failed.awaitExit()).as(failed.out() + failed.err()).isEqualTo(ExitCodes.FAILURE);
    assertThat(failed.err()).contains("gave up on RESOLVED orders {id=1} (id " + e2.id() + ") after 3 attempts"
        + " (last: HTTP 503: busy)", "the progress of group hookb.alerts is saved up to the event before it");
    assertThat(receiver.deliveredIds()).containsExactly(e1.id());
    assertThat(receiver.attemptsOf(e2.id())).hasSize(3);
    assertThat(receiver.attemptsOf(e3.id())).isEmpty();

    // Ctrl-C while retrying: exit 0, the event neither delivered nor committed
    try (TailRun stopped = TailRun.start(poster(f, "hookb.alerts", "--webhook-retries", "1000")).awaitReady()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> receiver.attemptsOf(e2.id()).size() >= 5);
      assertThat(stopped.interrupt()).isEqualTo(ExitCodes.OK);
      assertThat(stopped.err()).contains("tail: stopped (signal) while delivering an event; it was not delivered"
          + " nor committed: the next start with --group hookb.alerts posts it again");
    }

    receiver.unavailable.clear();
    // extra headers, a secret one from the environment
    TailRun healed = TailRun.run(poster(f, "hookb.alerts", "--max-events", "2", "--webhook-header", "X-Team: data",
        "--webhook-header", "X-Token: ${env:PATH}"));
    assertThat(healed.awaitExit()).as(healed.out() + healed.err()).isEqualTo(ExitCodes.OK);
    assertThat(receiver.deliveredIds()).containsExactly(e1.id(), e2.id(), e3.id());
    assertThat(receiver.delivered.get(2).team()).isEqualTo("data");
    assertThat(receiver.delivered.get(2).token()).isEqualTo(System.getenv("PATH"));
    assertThat(committed(c, "hookb.alerts")).isEqualTo(ends(c));
  }

  private static Map<TopicPartition, Long> committed(VerifierConfig c, String group) throws Exception {
    try (Admin admin = OpsKafka.admin(c, kafka.bootstrapServers())) {
      Map<TopicPartition, OffsetAndMetadata> o = admin.listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata().get();
      return o.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }
  }

  /** The end offsets of the partitions that hold records (the others have nothing to commit). */
  private static Map<TopicPartition, Long> ends(VerifierConfig c) throws Exception {
    try (Admin admin = OpsKafka.admin(c, kafka.bootstrapServers())) {
      List<TopicPartition> parts = OpsKafka.partitions(admin, c.topics().discrepancies(), kafka.bootstrapServers());
      Map<TopicPartition, OffsetSpec> latest = parts.stream().collect(Collectors.toMap(p -> p, p -> OffsetSpec.latest()));
      return admin.listOffsets(latest).all().get().entrySet().stream().filter(e -> e.getValue().offset() > 0)
          .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }
  }
}
