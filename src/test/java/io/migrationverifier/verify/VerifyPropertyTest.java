package io.migrationverifier.verify;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.ChangeEvent;
import io.migrationverifier.event.Op;
import io.migrationverifier.testutil.Configs;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Random multi-key histories: the target copies every source change with a random lag below the
 * window; the two sides' records (with watermarks, heartbeats, duplicates and capture replays)
 * are randomly interleaved. Without faults nothing is reported; with k injected faults exactly
 * the injected differences are reported, with the right kinds, and RESOLVED exactly for the
 * writes delayed beyond the window.
 *
 * <p>Reproduce a failure with {@code -Dverify.seed=<seed printed in the failure>}.
 */
class VerifyPropertyTest {
  private static final long W = 1_000;
  private static final long BASE = 1_700_000_000_000L;
  private static final int HISTORIES = Integer.getInteger("verify.histories", 520);

  enum Fault { DROPPED_WRITE, CORRUPTED_VALUE, EXTRA_TARGET_ROW, MISSED_DELETE, DELAYED }

  /** One change as the side's database committed it. */
  record Change(String key, Op op, String value, long ts) {}

  record Expected(String key, String kind) {}

  record History(List<Change> source, List<Change> target, List<Expected> reports, List<String> resolved,
      String description) {}

  @Test
  void randomHistoriesReportExactlyTheInjectedFaults() {
    check(HISTORIES, "memory");
  }

  /** The RocksDB buffers behave exactly like the default in-memory ones. */
  @Test
  void theSameWithBuffersInRocksDb() {
    check(Math.max(60, HISTORIES / 8), "rocksdb");
  }

  private void check(int histories, String bufferStore) {
    long seed = Long.getLong("verify.seed", System.nanoTime());
    System.out.println("VerifyPropertyTest seed=" + seed + " histories=" + histories + " buffer-store=" + bufferStore);
    VerifierConfig config = Configs.withTables("tables:\n  - {name: t, key: [id]}\n",
        "verify: {window: 1s, stall-threshold: 1h, buffer-store: " + bufferStore + "}");
    int faulty = 0;
    for (int i = 0; i < histories; i++) {
      Random r = new Random(seed + i);
      int k = i % 2 == 0 ? 0 : 1 + r.nextInt(4);
      History h = generate(r, k);
      faulty += h.reports().isEmpty() ? 0 : 1;
      String where = "seed=" + seed + " history=" + i + " (-Dverify.seed=" + seed + ", buffer-store " + bufferStore
          + ") " + h.description();
      try (VerifyHarness harness = new VerifyHarness(config)) {
        play(harness, r, h);
        List<JsonNode> out = harness.readDiscrepancies();
        List<Expected> reported = out.stream().filter(d -> !d.get("kind").asText().equals("RESOLVED"))
            .map(d -> new Expected(d.get("key").get("id").asText(), d.get("kind").asText())).toList();
        List<String> resolved = out.stream().filter(d -> d.get("kind").asText().equals("RESOLVED"))
            .map(d -> d.get("key").get("id").asText()).toList();
        assertThat(reported).as(where).containsExactlyInAnyOrderElementsOf(h.reports());
        assertThat(resolved).as(where).containsExactlyInAnyOrderElementsOf(h.resolved());
      }
    }
    assertThat(faulty).isGreaterThan(histories / 3);
  }

  /**
   * {@code state: hash-only} keeps hashes instead of rows for agreeing keys: with the before-images
   * a database with full row images gives, every event it emits (ids, kinds, times, rows, field
   * diffs) is the one full state emits for the same history and interleaving. Without
   * before-images it still reports the same discrepancies at the same times, and every row it
   * leaves out is one it names in {@code rowsNotKept}, never one it claims absent.
   */
  @Test
  void hashOnlyStateReportsWhatFullStateReports() {
    long seed = Long.getLong("verify.seed", System.nanoTime());
    int histories = Math.max(60, HISTORIES / 3);
    System.out.println("VerifyPropertyTest hash-only seed=" + seed + " histories=" + histories);
    String verify = "verify: {window: 1s, stall-threshold: 1h}";
    VerifierConfig full = Configs.withTables("tables:\n  - {name: t, key: [id]}\n", verify);
    VerifierConfig hashOnly = Configs.withTables("tables:\n  - {name: t, key: [id], state: hash-only}\n", verify);
    int rowsLeftOut = 0;
    for (int i = 0; i < histories; i++) {
      History h = generate(new Random(seed + i), i % 2 == 0 ? 0 : 1 + new Random(seed + i).nextInt(4));
      String where = "seed=" + seed + " history=" + i + " (-Dverify.seed=" + seed + ") " + h.description();
      List<JsonNode> expected = run(full, h, seed + i, false);
      assertThat(withoutWallClock(run(hashOnly, h, seed + i, true))).as(where)
          .containsExactlyElementsOf(withoutWallClock(expected));
      List<JsonNode> blind = run(hashOnly, h, seed + i, false);
      assertThat(blind).as(where).hasSameSizeAs(expected);
      for (int n = 0; n < expected.size(); n++) {
        JsonNode e = expected.get(n);
        JsonNode b = blind.get(n);
        for (String f : List.of("id", "kind", "key", "divergedSince", "detectedAt")) {
          assertThat(b.get(f)).as(where + " event " + n + " " + f).isEqualTo(e.get(f));
        }
        for (String side : List.of("source", "target")) {
          if (b.get(side).isNull() && !e.get(side).isNull()) {
            rowsLeftOut++;
            assertThat(b.path("rowsNotKept").toString()).as(where + " event " + n + ": " + side
                + " row left out but not named").contains("\"" + side + "\"");
          } else {
            assertThat(b.get(side)).as(where + " event " + n + " " + side).isEqualTo(e.get(side));
          }
        }
      }
    }
    // the generator's histories do break agreement on keys whose other row only a before-image has
    assertThat(rowsLeftOut).isPositive();
  }

  private static List<JsonNode> run(VerifierConfig config, History h, long seed, boolean beforeImages) {
    try (VerifyHarness harness = new VerifyHarness(config)) {
      // the same seed for every run of one history: the same duplicates, replays and interleaving
      play(harness, new Random(seed * 31 + 7), h, beforeImages);
      return harness.readDiscrepancies();
    }
  }

  private static List<JsonNode> withoutWallClock(List<JsonNode> events) {
    return events.stream().map(e -> {
      com.fasterxml.jackson.databind.node.ObjectNode c = e.deepCopy();
      c.remove("emittedAt");
      return (JsonNode) c;
    }).toList();
  }

  static History generate(Random r, int faults) {
    int keys = 3 + r.nextInt(20);
    List<Change> source = new ArrayList<>();
    List<Change> target = new ArrayList<>();
    List<Expected> reports = new ArrayList<>();
    List<String> resolved = new ArrayList<>();
    StringBuilder desc = new StringBuilder("faults:");
    List<Integer> faultKeys = new ArrayList<>();
    while (faultKeys.size() < Math.min(faults, keys)) {
      int c = r.nextInt(keys);
      if (!faultKeys.contains(c)) {
        faultKeys.add(c);
      }
    }
    for (int key = 0; key < keys; key++) {
      String id = "k" + key;
      // source history of this key: changes spaced more than a window apart, so that each
      // correct copy (lag < window) ends its disagreement before the next change starts one
      List<Change> own = new ArrayList<>();
      long t = BASE + r.nextInt((int) (20 * W));
      boolean present = false;
      int n = 1 + r.nextInt(5);
      for (int j = 0; j < n; j++) {
        Op op = !present ? Op.CREATE : r.nextInt(4) == 0 ? Op.DELETE : Op.UPDATE;
        // the change index makes every value differ from the key's previous one: an "update" to the
        // same value would be no change at all, and a dropped copy of it no difference
        own.add(new Change(id, op, op == Op.DELETE ? null : "v" + j + "." + r.nextInt(1000), t));
        present = op != Op.DELETE;
        t += W + 1 + r.nextInt((int) (2 * W));
      }
      source.addAll(own);
      int fi = faultKeys.indexOf(key);
      Fault fault = fi < 0 ? null : Fault.values()[r.nextInt(Fault.values().length)];
      if (fault == Fault.EXTRA_TARGET_ROW) {
        // a row the source never had, on a key of its own
        String extra = "x" + key;
        target.add(new Change(extra, Op.CREATE, "ghost", BASE + r.nextInt((int) (30 * W))));
        reports.add(new Expected(extra, "UNEXPECTED_IN_TARGET"));
        desc.append(' ').append(extra).append('=').append(fault);
        fault = null;
      }
      Change last = own.get(own.size() - 1);
      if (fault == Fault.MISSED_DELETE && last.op() != Op.DELETE) {
        Change del = new Change(id, Op.DELETE, null, last.ts() + W + 1 + r.nextInt((int) W));
        source.add(del);
        own.add(del);
        last = del;
      }
      if ((fault == Fault.DROPPED_WRITE || fault == Fault.CORRUPTED_VALUE) && last.op() == Op.DELETE) {
        Change ins = new Change(id, Op.CREATE, "v" + own.size() + "." + r.nextInt(1000),
            last.ts() + W + 1 + r.nextInt((int) W));
        source.add(ins);
        own.add(ins);
        last = ins;
      }
      for (int j = 0; j < own.size(); j++) {
        Change c = own.get(j);
        long lag = r.nextInt((int) W); // 0 .. W-1: always within the window
        boolean isLast = j == own.size() - 1;
        if (isLast && fault != null) {
          desc.append(' ').append(id).append('=').append(fault).append('/').append(c.op().code());
          boolean wasPresent = j > 0 && own.get(j - 1).op() != Op.DELETE;
          String kindAtDeadline = c.op() == Op.DELETE ? "UNEXPECTED_IN_TARGET"
              : wasPresent ? "VALUE_MISMATCH" : "MISSING_IN_TARGET";
          switch (fault) {
            case DROPPED_WRITE, MISSED_DELETE -> reports.add(new Expected(id, kindAtDeadline));
            case CORRUPTED_VALUE -> {
              target.add(new Change(id, c.op(), c.value() + "-corrupt", c.ts() + lag));
              reports.add(new Expected(id, "VALUE_MISMATCH"));
            }
            case DELAYED -> {
              target.add(new Change(id, c.op(), c.value(), c.ts() + W + 1 + r.nextInt((int) (2 * W))));
              reports.add(new Expected(id, kindAtDeadline));
              resolved.add(id);
            }
            default -> throw new IllegalStateException();
          }
          continue;
        }
        target.add(new Change(id, c.op(), c.value(), c.ts() + lag));
      }
    }
    return new History(source, target, reports, resolved, desc.toString());
  }

  /** Turns each side's commits into its change topic (positions, watermarks, duplicates, replays) and interleaves. */
  static void play(VerifyHarness h, Random r, History history) {
    play(h, r, history, false);
  }

  /** @param beforeImages updates and deletes carry the row before them, as a full-image database gives */
  static void play(VerifyHarness h, Random r, History history, boolean beforeImages) {
    long end = BASE;
    for (Change c : history.source()) {
      end = Math.max(end, c.ts());
    }
    for (Change c : history.target()) {
      end = Math.max(end, c.ts());
    }
    end += 5 * W;
    List<Runnable> src = sideRecords(h, r, Side.SOURCE, history.source(), end, beforeImages);
    List<Runnable> tgt = sideRecords(h, r, Side.TARGET, history.target(), end, beforeImages);
    int i = 0;
    int j = 0;
    while (i < src.size() || j < tgt.size()) {
      // random interleaving; runs of one side model one consumer racing ahead of the other
      boolean takeSource = j >= tgt.size() || (i < src.size() && r.nextInt(100) < 50);
      int run = 1 + r.nextInt(r.nextInt(10) == 0 ? 40 : 4);
      for (int n = 0; n < run; n++) {
        if (takeSource && i < src.size()) {
          src.get(i++).run();
        } else if (!takeSource && j < tgt.size()) {
          tgt.get(j++).run();
        }
      }
    }
  }

  private static List<Runnable> sideRecords(VerifyHarness h, Random r, Side side, List<Change> changes, long end,
      boolean beforeImages) {
    List<Change> sorted = new ArrayList<>(changes);
    sorted.sort(Comparator.comparingLong(Change::ts)); // commit order
    List<ChangeEvent> events = new ArrayList<>();
    Map<String, CanonicalRow> current = new HashMap<>();
    for (int n = 0; n < sorted.size(); n++) {
      Change c = sorted.get(n);
      Map<String, String> row = new TreeMap<>(Map.of("id", c.key()));
      if (c.value() != null) {
        row.put("v", c.value());
      }
      CanonicalRow after = c.op() == Op.DELETE ? null : CanonicalRow.of(row);
      ChangeEvent e = VerifyHarness.event(side, "t", c.key(), c.op(), after, c.ts(), String.format("%012d", n + 1));
      CanonicalRow before = current.get(c.key());
      if (beforeImages && c.op() != Op.CREATE && before != null) {
        e = e.withBefore(before);
      }
      current.put(c.key(), after);
      events.add(e);
    }
    List<Runnable> out = new ArrayList<>();
    Map<Integer, Boolean> replayed = new HashMap<>();
    for (int n = 0; n < events.size(); n++) {
      ChangeEvent e = events.get(n);
      out.add(() -> h.send(side, e));
      if (r.nextInt(20) == 0) {
        out.add(() -> h.send(side, e)); // at-least-once duplicate
      }
      if (n > 3 && r.nextInt(40) == 0 && !replayed.containsKey(n)) {
        // capture restarted from an older offset: a run of earlier events comes again
        int from = r.nextInt(n);
        replayed.put(n, true);
        for (int m = from; m <= n; m++) {
          ChangeEvent again = events.get(m);
          out.add(() -> h.send(side, again));
        }
      }
      long next = n + 1 < events.size() ? events.get(n + 1).ts() : end;
      if (next > e.ts() && r.nextInt(3) == 0) {
        long wm = e.ts() + (long) (r.nextDouble() * (next - 1 - e.ts()));
        out.add(() -> h.watermark(side, wm)); // every change at or before wm has been written
      }
    }
    long last = events.isEmpty() ? BASE : events.get(events.size() - 1).ts();
    for (long hb = last + 300; hb < end; hb += 300 + r.nextInt(300)) {
      long beat = hb;
      out.add(() -> h.watermark(side, beat)); // heartbeats of an idle database
    }
    out.add(() -> h.watermark(side, end));
    return out;
  }
}
