package io.migrationverifier.reliability;

import static io.migrationverifier.reliability.ReliabilitySupport.activePartitions;
import static io.migrationverifier.reliability.ReliabilitySupport.caughtUp;
import static io.migrationverifier.reliability.ReliabilitySupport.committed;
import static io.migrationverifier.reliability.ReliabilitySupport.ends;
import static io.migrationverifier.reliability.ReliabilitySupport.msSince;
import static io.migrationverifier.reliability.ReliabilitySupport.sum;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.EmbeddedKafka;
import io.migrationverifier.kafka.TopicAdmin;
import io.migrationverifier.reliability.ReliabilitySupport.Feeder;
import io.migrationverifier.reliability.ReliabilitySupport.Plan;
import io.migrationverifier.reliability.ReliabilitySupport.Shape;
import io.migrationverifier.reliability.ReliabilitySupport.VerifyJvm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 7 point 2: two verify JVMs with the same config (same {@code name}, their own
 * {@code verify.state-dir}) share the partitions of a live run; one is SIGKILLed mid-run, the
 * other takes its partitions over, and the discrepancy topic (read_committed) holds exactly the
 * oracle's reports. Run with one standby replica (asserted: the survivor took over) and, for the
 * figures, without.
 *
 * <p>Reproduce a run with {@code -Dreliability.seed=<seed printed in the log>}.
 */
@Timeout(300)
class VerifyFailoverIT {
  private static final Logger LOG = LoggerFactory.getLogger(VerifyFailoverIT.class);
  private static final int PARTITIONS = 4;
  private static final Duration BOUND = Duration.ofSeconds(120);

  static EmbeddedKafka broker;
  static Admin admin;

  @BeforeAll
  static void start() {
    broker = EmbeddedKafka.start(0, null);
    admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
  }

  @AfterAll
  static void stop() {
    if (admin != null) {
      admin.close(Duration.ofSeconds(5));
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void withOneStandbyTheSurvivorTakesOverAndNothingIsLostOrDoubled(@TempDir Path dir) throws Exception {
    String figures = failover(dir, "failover1", 1);
    assertThat(figures).isNotEmpty();
  }

  @Test
  void withoutStandbyTheSurvivorRestoresAndNothingIsLostOrDoubled(@TempDir Path dir) throws Exception {
    String figures = failover(dir, "failover0", 0);
    assertThat(figures).isNotEmpty();
  }

  private String failover(Path dir, String name, int standbys) throws Exception {
    long seed = Long.getLong("reliability.seed", System.nanoTime());
    LOG.info("VerifyFailoverIT {} seed={} (-Dreliability.seed={})", name, seed, seed);
    Random random = new Random(seed);
    long testStart = System.nanoTime();
    String bootstrap = broker.bootstrapServers();
    Path configA = ReliabilitySupport.writeConfig(dir, name, bootstrap, PARTITIONS, dir.resolve("state-a"), standbys);
    Path configB = ReliabilitySupport.writeConfig(dir, name, bootstrap, PARTITIONS, dir.resolve("state-b"), standbys);
    VerifierConfig config = ReliabilitySupport.parse(configA);
    assertThat(config.verify().numStandbyReplicas()).isEqualTo(standbys);
    TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(30));
    String group = config.topics().verifyApplicationId();
    String sourceTopic = config.topics().changes(Side.SOURCE);
    List<String> inputs = List.of(sourceTopic, config.topics().changes(Side.TARGET));

    long planStart = System.nanoTime();
    Plan plan = ReliabilitySupport.plan(seed, new Shape(6_000, 80_000, 1_000, 3, 60, 0.04));
    LOG.info("plan ({} ms): {} change events, {} expected reports, faults {}", msSince(planStart),
          plan.changeEvents(), plan.expected().size(),
        plan.faults());

    // both join before there is any state: neither is "caught up" more than the other, so the
    // assignor splits the active tasks instead of parking one instance on warm-up replicas
    VerifyJvm a = VerifyJvm.start(configA, dir.resolve(name + "-a.log"));
    VerifyJvm b = VerifyJvm.start(configB, dir.resolve(name + "-b.log"));
    try (Feeder feeder = new Feeder(config, bootstrap, plan, seed)) {
      AtomicReference<Map<String, Set<Integer>>> shared = new AtomicReference<>();
      await("both instances hold active partitions (logs " + a.log + ", " + b.log + ")").atMost(BOUND)
          .pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(a.alive() && b.alive()).as(a.output() + "\n" + b.output()).isTrue();
            Map<String, Set<Integer>> m = activePartitions(admin, group, sourceTopic);
            shared.set(m);
            return m.size() == 2 && m.values().stream().noneMatch(Set::isEmpty)
                && m.values().stream().mapToInt(Set::size).sum() == PARTITIONS;
          });
      LOG.info("{}: shared assignment of {}: {}", name, sourceTopic, shared.get());
      feeder.startPaced(0.3, Duration.ofSeconds(20));

      // mid-run: both have processed a good part of their share, and the feed goes on
      long progress = 15_000 + random.nextInt(20_000);
      await("the pair processes " + progress + " input records").atMost(BOUND).pollInterval(Duration.ofMillis(100))
          .until(() -> sum(committed(admin, group), ends(admin, inputs, PARTITIONS,
              IsolationLevel.READ_UNCOMMITTED).keySet()) >= progress);
      Map<String, Set<Integer>> before = activePartitions(admin, group, sourceTopic);
      assertThat(before).as("still shared right before the kill").hasSize(2);
      assertThat(before.values()).allMatch(s -> !s.isEmpty());
      boolean killA = random.nextBoolean();
      VerifyJvm victim = killA ? a : b;
      VerifyJvm survivor = killA ? b : a;
      long restoredBefore = survivor.restoredRecords();
      Map<TopicPartition, Long> endsAtKill = ends(admin, inputs, PARTITIONS, IsolationLevel.READ_UNCOMMITTED);
      long killedAt = System.nanoTime();
      victim.kill();
      Map<TopicPartition, Long> committedAtKill = committed(admin, group);
      long done = sum(committedAtKill, endsAtKill.keySet());
      long present = sum(endsAtKill, endsAtKill.keySet());
      assertThat(done).as("killed mid-run").isLessThan(present);
      LOG.info("{}: killed instance {} (pid {}) with {} of {} input records committed", name, killA ? "A" : "B",
          victim.pid(), done, present);

      long[] reassignedMs = {-1};
      AtomicReference<String> survivorId = new AtomicReference<>();
      long[] resumedMs = {-1};
      await("the survivor holds every partition and has caught up with the input present at the kill (log "
          + survivor.log + ")").atMost(BOUND).pollInterval(Duration.ofMillis(100)).until(() -> {
            assertThat(survivor.alive()).as(survivor.output()).isTrue();
            if (reassignedMs[0] < 0) {
              Map<String, Set<Integer>> m = activePartitions(admin, group, sourceTopic);
              if (m.size() == 1 && m.values().iterator().next().size() == PARTITIONS) {
                reassignedMs[0] = msSince(killedAt);
                survivorId.set(m.keySet().iterator().next());
              }
            }
            Map<TopicPartition, Long> c = committed(admin, group);
            if (resumedMs[0] < 0 && endsAtKill.keySet().stream()
                .allMatch(tp -> c.getOrDefault(tp, 0L) > committedAtKill.getOrDefault(tp, 0L)
                    || c.getOrDefault(tp, 0L) >= endsAtKill.get(tp))) {
              resumedMs[0] = msSince(killedAt);
            }
            return reassignedMs[0] >= 0 && resumedMs[0] >= 0 && caughtUp(admin, group, endsAtKill);
          });
      long caughtUpMs = msSince(killedAt);
      long restoredByTakeover = survivor.restoredRecords() - restoredBefore;
      Set<Integer> takenOver = new HashSet<>(Set.of(0, 1, 2, 3));
      takenOver.removeAll(before.getOrDefault(survivorId.get(), Set.of()));
      assertThat(before.values()).as("the survivor %s took over exactly the victim's partitions %s", survivorId.get(),
          takenOver).contains(takenOver);
      long changelogOfTakenOver = changelogRecords(group, takenOver);
      if (standbys > 0) {
        assertThat(restoredByTakeover).as("the standby held the state: the survivor restored little of the "
            + changelogOfTakenOver + " changelog records of the partitions it took over").isLessThan(
            changelogOfTakenOver / 10);
      } else {
        assertThat(restoredByTakeover).as("without a standby the state of the taken-over partitions is restored"
            + " (measured from Streams' restore log lines; 0 would mean the measurement is broken)").isPositive();
      }

      await("the feeder wrote the whole history").atMost(BOUND).pollInterval(Duration.ofMillis(200))
          .until(feeder::done);
      Map<TopicPartition, Long> finalEnds = ends(admin, inputs, PARTITIONS, IsolationLevel.READ_UNCOMMITTED);
      await("the survivor processes all input (log " + survivor.log + ")").atMost(BOUND)
          .pollInterval(Duration.ofMillis(100)).until(() -> caughtUp(admin, group, finalEnds));
      List<JsonNode> got = ReliabilitySupport.readCommittedDiscrepancies(admin, config, bootstrap);
      String summary = ReliabilitySupport.assertExactly(plan, got);
      Set<String> reportKeys = new HashSet<>();
      got.forEach(d -> reportKeys.add(d.get("key").get("id").asText()));
      String figures = String.format("VerifyFailoverIT %s (num-standby-replicas %d) seed=%d: %d change events,"
              + " assignment before the kill %s; killed with %d of %d input records committed; after the kill:"
              + " every partition on the survivor in %d ms, processing resumed on every partition in %d ms,"
              + " caught up with the input present at the kill in %d ms, changelog records the survivor restored"
              + " for the takeover: %d (their changelogs held %d); %s; wall time %d ms", name, standbys, seed,
          feeder.records(), before, done, present, reassignedMs[0], resumedMs[0], caughtUpMs, restoredByTakeover,
          changelogOfTakenOver, summary, msSince(testStart));
      LOG.info(figures);
      System.out.println(figures);
      survivor.stop();
      return figures;
    } finally {
      for (VerifyJvm j : List.of(a, b)) {
        if (j.alive()) {
          j.kill();
        }
      }
    }
  }

  /** Records (end offsets, transaction markers included) in the verify changelogs' given partitions. */
  private static long changelogRecords(String group, Set<Integer> partitions) throws Exception {
    List<String> changelogs = admin.listTopics().names().get().stream()
        .filter(t -> t.startsWith(group + "-") && t.endsWith("-changelog")).toList();
    assertThat(changelogs).as("the verify application's changelog topics").isNotEmpty();
    Map<TopicPartition, Long> e = ends(admin, changelogs, PARTITIONS, IsolationLevel.READ_UNCOMMITTED);
    return e.entrySet().stream().filter(x -> partitions.contains(x.getKey().partition()))
        .mapToLong(Map.Entry::getValue).sum();
  }
}
