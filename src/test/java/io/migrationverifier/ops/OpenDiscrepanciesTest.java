package io.migrationverifier.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.event.EventCodec;
import io.migrationverifier.testutil.Configs;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The board of open discrepancies, fed plain records as the compacted topic holds them. */
class OpenDiscrepanciesTest {
  static final long T = 1_700_000_000_000L;

  static Discrepancy d(String id, DiscrepancyKind kind, String table, long key, long detectedAt) {
    return new Discrepancy(id, kind, table, new TreeMap<>(Map.of("id", Long.toString(key))),
        Discrepancy.DETECTOR_STREAM, detectedAt - 1_000, detectedAt, null, null, List.of(),
        kind == DiscrepancyKind.RESOLVED ? "open-" + key : null, kind == DiscrepancyKind.RESOLVED ? detectedAt : null,
        kind == DiscrepancyKind.RESOLVED ? "target-change" : null, kind == DiscrepancyKind.RESOLVED ? 500L : null,
        detectedAt);
  }

  static byte[] key(String table, long id) {
    return CanonicalKey.of(table, new TreeMap<>(Map.of("id", Long.toString(id)))).toBytes();
  }

  static void put(OpenDiscrepancies b, Discrepancy d) {
    b.apply(key(d.table(), Long.parseLong(d.key().get("id"))), EventCodec.encode(d));
  }

  @Test
  void openKindsOpenAndResolvedClosesTheSameRow() {
    OpenDiscrepancies b = new OpenDiscrepancies();
    put(b, d("a", DiscrepancyKind.MISSING_IN_TARGET, "orders", 1, T));
    put(b, d("b", DiscrepancyKind.UNEXPECTED_IN_TARGET, "orders", 2, T + 1));
    put(b, d("c", DiscrepancyKind.VALUE_MISMATCH, "items", 1, T + 2));
    assertThat(b.open()).extracting(Discrepancy::id).containsExactly("c", "b", "a");

    put(b, d("r", DiscrepancyKind.RESOLVED, "orders", 1, T + 3));
    assertThat(b.open()).extracting(Discrepancy::id).containsExactly("c", "b");
    // the same key id in another table is another row
    assertThat(b.open()).extracting(Discrepancy::table).containsExactly("items", "orders");
    assertThat(b.malformed()).isZero();
  }

  @Test
  void theLatestRecordOfARowDecides() {
    OpenDiscrepancies b = new OpenDiscrepancies();
    put(b, d("first", DiscrepancyKind.MISSING_IN_TARGET, "orders", 7, T));
    put(b, d("r", DiscrepancyKind.RESOLVED, "orders", 7, T + 10));
    put(b, d("again", DiscrepancyKind.VALUE_MISMATCH, "orders", 7, T + 20));
    assertThat(b.open()).extracting(Discrepancy::id).containsExactly("again");
    put(b, d("replaced", DiscrepancyKind.UNEXPECTED_IN_TARGET, "orders", 7, T + 30));
    assertThat(b.open()).extracting(Discrepancy::id).containsExactly("replaced");
    // a tombstone (compaction's delete marker) closes it too
    b.apply(key("orders", 7), null);
    assertThat(b.open()).isEmpty();
  }

  /** Millions of open rows must not take the process's heap: only the newest are kept whole. */
  @Test
  void onlyTheNewestAreKeptWholeWhileCountsCoverEveryOpenRow() {
    OpenDiscrepancies b = new OpenDiscrepancies();
    int n = OpenDiscrepancies.RETAINED + 500;
    for (int i = 0; i < n; i++) {
      put(b, d("o" + i, i % 2 == 0 ? DiscrepancyKind.MISSING_IN_TARGET : DiscrepancyKind.VALUE_MISMATCH, "orders", i,
          T + i));
    }
    put(b, d("c", DiscrepancyKind.UNEXPECTED_IN_TARGET, "customers", 1, T + 10));
    assertThat(b.openCount()).isEqualTo(n + 1);
    assertThat(b.open()).hasSize(OpenDiscrepancies.RETAINED);
    assertThat(b.open().get(0).id()).isEqualTo("o" + (n - 1));
    var orders = b.summary().get("orders");
    assertThat(orders.open()).isEqualTo(n);
    assertThat(orders.byKind()).containsEntry(DiscrepancyKind.MISSING_IN_TARGET, n / 2)
        .containsEntry(DiscrepancyKind.VALUE_MISMATCH, n / 2);
    assertThat(orders.oldestDetectedAt()).isEqualTo(T);
    assertThat(b.summary().get("customers").open()).isEqualTo(1);

    // resolving the oldest rows (no longer kept whole) still counts them out
    put(b, d("r0", DiscrepancyKind.RESOLVED, "orders", 0, T + 5000));
    put(b, d("r1", DiscrepancyKind.RESOLVED, "orders", 1, T + 5001));
    orders = b.summary().get("orders");
    assertThat(orders.open()).isEqualTo(n - 2);
    assertThat(orders.oldestDetectedAt()).isEqualTo(T + 2);
    assertThat(orders.byKind()).containsEntry(DiscrepancyKind.MISSING_IN_TARGET, n / 2 - 1);
    b.apply(key("customers", 1), null); // a tombstone closes too
    assertThat(b.summary()).doesNotContainKey("customers");
    assertThat(b.openCount()).isEqualTo(n - 2);
  }

  @Test
  void newestDetectedFirstRegardlessOfArrival() {
    OpenDiscrepancies b = new OpenDiscrepancies();
    put(b, d("mid", DiscrepancyKind.VALUE_MISMATCH, "orders", 1, T + 50));
    put(b, d("old", DiscrepancyKind.VALUE_MISMATCH, "orders", 2, T));
    put(b, d("new", DiscrepancyKind.VALUE_MISMATCH, "orders", 3, T + 100));
    put(b, d("tie-b", DiscrepancyKind.VALUE_MISMATCH, "b", 4, T + 50));
    assertThat(b.open()).extracting(Discrepancy::id).containsExactly("new", "tie-b", "mid", "old");
  }

  @Test
  void malformedValuesAreCountedAndSkippedNeverThrown() {
    OpenDiscrepancies b = new OpenDiscrepancies();
    put(b, d("a", DiscrepancyKind.VALUE_MISMATCH, "orders", 1, T));
    b.apply(key("orders", 1), "{not json".getBytes(StandardCharsets.UTF_8));
    b.apply(key("orders", 1), "{\"v\":2,\"kind\":\"VALUE_MISMATCH\"}".getBytes(StandardCharsets.UTF_8));
    b.apply(key("orders", 1), "{\"v\":1,\"kind\":\"NOPE\",\"id\":\"x\",\"table\":\"orders\",\"key\":{\"id\":\"1\"}}"
        .getBytes(StandardCharsets.UTF_8));
    b.apply(key("orders", 1), new byte[] {(byte) 0xff, 0x00});
    b.apply(null, null);
    assertThat(b.malformed()).isEqualTo(5);
    // an unreadable record does not close (nor replace) what the row had
    assertThat(b.open()).extracting(Discrepancy::id).containsExactly("a");
  }

  @Test
  void aRecordWithoutKeyCountsForTheRowItNames() {
    OpenDiscrepancies b = new OpenDiscrepancies();
    b.apply(null, EventCodec.encode(d("a", DiscrepancyKind.VALUE_MISMATCH, "orders", 1, T)));
    assertThat(b.open()).hasSize(1);
    put(b, d("r", DiscrepancyKind.RESOLVED, "orders", 1, T + 1));
    assertThat(b.open()).isEmpty();
  }

  @Test
  void applyIsSafeFromManyThreads() throws Exception {
    OpenDiscrepancies b = new OpenDiscrepancies();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    CountDownLatch start = new CountDownLatch(1);
    for (int t = 0; t < 4; t++) {
      int base = t * 1000;
      pool.execute(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 500; i++) {
          put(b, d("o" + (base + i), DiscrepancyKind.VALUE_MISMATCH, "orders", base + i, T + i));
          if (i % 2 == 0) {
            put(b, d("r" + (base + i), DiscrepancyKind.RESOLVED, "orders", base + i, T + i + 1));
          }
          b.open(); // readers meanwhile, as the status page does
        }
      });
    }
    start.countDown();
    pool.shutdown();
    assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    assertThat(b.open()).hasSize(4 * 250);
  }

  @Test
  void aFollowerOfAnAbsentBrokerIsNotCaughtUpAndClosesPromptly() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    VerifierConfig c = Configs.withTables("tables:\n  - {name: orders, key: [id]}\n", null);
    long t0 = System.nanoTime();
    OpenDiscrepancies.Follower f = OpenDiscrepancies.follow(c, "127.0.0.1:" + port);
    // retrying meanwhile, it must never claim to be caught up
    await().during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(5)).until(() -> !f.caughtUp());
    assertThat(f.board().open()).isEmpty();
    long c0 = System.nanoTime();
    f.close();
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - c0)).as("close took").isLessThan(6_000);
    assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("open-discrepancies-test")
        && t.isAlive());
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(15_000);
  }
}
