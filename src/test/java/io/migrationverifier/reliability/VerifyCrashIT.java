package io.migrationverifier.reliability;

import static io.migrationverifier.reliability.ReliabilitySupport.caughtUp;
import static io.migrationverifier.reliability.ReliabilitySupport.committed;
import static io.migrationverifier.reliability.ReliabilitySupport.ends;
import static io.migrationverifier.reliability.ReliabilitySupport.msSince;
import static io.migrationverifier.reliability.ReliabilitySupport.sum;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 7 point 1: the verify role in its own JVM, SIGKILLed six times at seeded random moments
 * (right after start, mid-stream, while a burst of reports is in an open transaction) while
 * both captures keep writing a history of more than 200k change events with known faults. At
 * the end the discrepancy topic, read with read_committed, holds exactly the oracle's reports:
 * each once, each expected RESOLVED once, nothing else.
 *
 * <p>Reproduce a run with {@code -Dreliability.seed=<seed printed in the log>}.
 */
@Timeout(300)
class VerifyCrashIT {
  private static final Logger LOG = LoggerFactory.getLogger(VerifyCrashIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int PARTITIONS = 4;
  private static final Duration BOUND = Duration.ofSeconds(120);

  enum Moment { AFTER_START, IN_BURST, MID_STREAM }

  /** One life of the verify JVM: from its start, how long until it had caught up with the input present then. */
  static final class Life {
    final VerifyJvm jvm;
    final Map<TopicPartition, Long> endsAtStart;
    final long committedAtStart;
    volatile long resumedMs = -1;
    volatile long caughtUpMs = -1;

    Life(VerifyJvm jvm, Map<TopicPartition, Long> endsAtStart, long committedAtStart) {
      this.jvm = jvm;
      this.endsAtStart = endsAtStart;
      this.committedAtStart = committedAtStart;
    }
  }

  @Test
  void killedSixTimesItStillReportsEveryInjectedDifferenceExactlyOnce(@TempDir Path dir) throws Exception {
    long seed = Long.getLong("reliability.seed", System.nanoTime());
    LOG.info("VerifyCrashIT seed={} (-Dreliability.seed={})", seed, seed);
    Random random = new Random(seed);
    long testStart = System.nanoTime();
    try (EmbeddedKafka broker = EmbeddedKafka.start(0, null);
        Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      String bootstrap = broker.bootstrapServers();
      Path configFile = ReliabilitySupport.writeConfig(dir, "crash", bootstrap, PARTITIONS, dir.resolve("state"), 0);
      VerifierConfig config = ReliabilitySupport.parse(configFile);
      TopicAdmin.ensureTopics(admin, config, Duration.ofSeconds(30));
      String group = config.topics().verifyApplicationId();
      List<String> inputs = List.of(config.topics().changes(Side.SOURCE), config.topics().changes(Side.TARGET));

      long planStart = System.nanoTime();
      Plan plan = ReliabilitySupport.plan(seed, new Shape(15_000, 150_000, 1_000, 8, 90, 0.04));
      LOG.info("plan ({} ms): {} change events, {} expected reports, faults {}", msSince(planStart),
          plan.changeEvents(), plan.expected().size(),
          plan.faults());
      assertThat(plan.changeEvents()).isGreaterThanOrEqualTo(200_000);

      UncommittedWatcher watcher = new UncommittedWatcher(bootstrap, config.topics().discrepancies(), plan);
      watcher.start();
      List<Moment> moments = List.of(Moment.AFTER_START, Moment.IN_BURST, Moment.MID_STREAM, Moment.AFTER_START,
          Moment.IN_BURST, Moment.MID_STREAM);
      List<String> kills = new ArrayList<>();
      List<Life> lives = new java.util.concurrent.CopyOnWriteArrayList<>();
      AtomicBoolean tracking = new AtomicBoolean(true);
      Thread tracker = new Thread(() -> {
        while (tracking.get()) {
          try {
            if (!lives.isEmpty()) {
              track(admin, group, lives.get(lives.size() - 1));
            }
            Thread.sleep(100);
          } catch (InterruptedException e) {
            return;
          } catch (RuntimeException e) {
            LOG.debug("tracking: {}", e.toString());
          }
        }
      }, "life-tracker");
      tracker.setDaemon(true);
      tracker.start();
      try (Feeder feeder = new Feeder(config, bootstrap, plan, seed)) {
        // a backlog (the verifier starts behind), then both captures keep writing at an even pace
        feeder.startPaced(0.3, Duration.ofSeconds(75));
        for (int i = 0; i < moments.size(); i++) {
          Moment moment = moments.get(i);
          Life life = start(admin, group, inputs, dir, configFile, i, lives);
          String how;
          switch (moment) {
            case AFTER_START -> {
              long delay = 200 + random.nextInt(4_000);
              await().pollDelay(Duration.ofMillis(delay)).atMost(Duration.ofMillis(delay + 2_000))
                  .until(() -> true);
              how = delay + " ms after start";
            }
            case IN_BURST -> {
              long seenBefore = watcher.burstRecords.get();
              await("a burst of reports written by life " + i + " (log " + life.jvm.log + ")").atMost(BOUND)
                  .pollInterval(Duration.ofMillis(2)).pollInSameThread()
                  .until(() -> watcher.burstRecords.get() > seenBefore || !life.jvm.alive());
              how = "while writing a burst of reports (" + (watcher.burstRecords.get() - seenBefore)
                  + " burst records seen uncommitted)";
            }
            case MID_STREAM -> {
              long progress = 5_000 + random.nextInt(40_000);
              await("life " + i + " processes " + progress + " input records (log " + life.jvm.log + ")")
                  .atMost(BOUND).pollInterval(Duration.ofMillis(50))
                  .until(() -> track(admin, group, life)
                      - life.committedAtStart >= progress || !life.jvm.alive());
              how = "mid-stream, after " + progress + "+ input records of this life";
            }
            default -> throw new IllegalStateException();
          }
          assertThat(life.jvm.alive()).as("life %d died before its kill:\n%s", i, life.jvm.output()).isTrue();
          Map<TopicPartition, Long> endsAtKill = ends(admin, inputs, PARTITIONS, IsolationLevel.READ_UNCOMMITTED);
          life.jvm.kill();
          Map<TopicPartition, Long> committedAfter = committed(admin, group);
          long done = sum(committedAfter, endsAtKill.keySet());
          long present = sum(endsAtKill, endsAtKill.keySet());
          String line = String.format("kill %d (%s, pid %d) %s: committed %d of %d input records at the kill",
              i + 1, moment, life.jvm.pid(), how, done, present);
          LOG.info(line);
          kills.add(line);
          assertThat(done).as("killed before it had processed everything: " + line).isLessThan(present);
          if (moment == Moment.MID_STREAM) {
            assertThat(done).as("this life processed input before its kill: " + line)
                .isGreaterThan(life.committedAtStart);
          }
        }
        // the last life runs to the end
        Life last = start(admin, group, inputs, dir, configFile, moments.size(), lives);
        await("the feeder wrote the whole history").atMost(BOUND).pollInterval(Duration.ofMillis(200))
            .until(() -> {
              track(admin, group, last);
              return feeder.done();
            });
        Map<TopicPartition, Long> finalEnds = ends(admin, inputs, PARTITIONS, IsolationLevel.READ_UNCOMMITTED);
        long catchUp = System.nanoTime();
        await("the last life processes all input (log " + last.jvm.log + ")").atMost(BOUND)
            .pollInterval(Duration.ofMillis(100))
            .until(() -> {
              track(admin, group, last);
              assertThat(last.jvm.alive()).as(last.jvm.output()).isTrue();
              return caughtUp(admin, group, finalEnds);
            });
        LOG.info("the last life caught up with the end of the input {} ms after the feeder finished", msSince(catchUp));
        List<JsonNode> got = ReliabilitySupport.readCommittedDiscrepancies(admin, config, bootstrap);
        long totalMs = msSince(testStart);
        watcher.awaitSeen(got.size());
        long aborted = watcher.records.get() - got.size();
        List<String> perLife = new ArrayList<>();
        long restoredTotal = 0;
        for (Life l : lives) {
          long restored = l.jvm.restoredRecords();
          perLife.add(String.format("life %d: processing resumed %s, caught up with the input present at its start %s,"
              + " %d changelog records restored", lives.indexOf(l) + 1, l.resumedMs < 0 ? "never (killed before)"
              : "after " + l.resumedMs + " ms", l.caughtUpMs < 0 ? "never (killed before)" : "after " + l.caughtUpMs
              + " ms", restored));
          restoredTotal += restored;
        }
        String summary = ReliabilitySupport.assertExactly(plan, got);
        String figures = String.format("VerifyCrashIT seed=%d: %d change events (%d duplicates written on purpose),"
                + " %d kills, %s; changelog records restored over all lives: %d; %d discrepancy records written"
                + " in transactions the kills aborted; wall time %d ms%n  %s%n  %s", seed, feeder.records(),
            feeder.duplicates(), kills.size(), summary, restoredTotal, aborted, totalMs, String.join("\n  ", kills),
            String.join("\n  ", perLife));
        LOG.info(figures);
        System.out.println(figures);
        assertThat(aborted).as("at least one kill hit an open transaction holding reports").isPositive();
        last.jvm.stop();
      } finally {
        tracking.set(false);
        tracker.join(5_000);
        watcher.close();
        for (Life l : lives) {
          if (l.jvm.alive()) {
            l.jvm.kill();
          }
        }
      }
    }
  }

  private static Life start(Admin admin, String group, List<String> inputs, Path dir, Path config, int i,
      List<Life> lives) throws Exception {
    Map<TopicPartition, Long> endsAtStart = ends(admin, inputs, PARTITIONS, IsolationLevel.READ_UNCOMMITTED);
    long committedAtStart = sum(committed(admin, group), endsAtStart.keySet());
    Life life = new Life(VerifyJvm.start(config, dir.resolve("verify-life-" + i + ".log")), endsAtStart,
        committedAtStart);
    lives.add(life);
    return life;
  }

  /** Notes when the life caught up with the input present at its start; returns the committed input records. */
  private static long track(Admin admin, String group, Life life) {
    Map<TopicPartition, Long> c = committed(admin, group);
    if (life.resumedMs < 0 && sum(c, life.endsAtStart.keySet()) > life.committedAtStart) {
      life.resumedMs = msSince(life.jvm.startedNanos);
    }
    if (life.caughtUpMs < 0 && life.endsAtStart.entrySet().stream()
        .allMatch(e -> c.getOrDefault(e.getKey(), 0L) >= e.getValue())) {
      life.caughtUpMs = msSince(life.jvm.startedNanos);
    }
    return sum(c, life.endsAtStart.keySet());
  }

  /**
   * Reads the discrepancy topic read_uncommitted: it sees reports the moment they are written,
   * before their transaction commits, so a kill can be timed into a burst, and afterwards the
   * records of aborted transactions can be counted.
   */
  static final class UncommittedWatcher implements AutoCloseable {
    final AtomicLong records = new AtomicLong();
    final AtomicLong burstRecords = new AtomicLong();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String topic;
    private final Plan plan;
    private final Thread thread;

    UncommittedWatcher(String bootstrap, String topic, Plan plan) {
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 5);
      this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      this.topic = topic;
      this.plan = plan;
      this.thread = new Thread(this::run, "uncommitted-watcher");
      thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    private void run() {
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < PARTITIONS; i++) {
        tps.add(new TopicPartition(topic, i));
      }
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      while (!stop.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
          records.incrementAndGet();
          try {
            if (plan.inBurst(JSON.readTree(r.value()).get("key").get("id").asText())) {
              burstRecords.incrementAndGet();
            }
          } catch (Exception e) {
            LOG.warn("unreadable discrepancy at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.toString());
          }
        }
      }
      consumer.close(Duration.ofSeconds(2));
    }

    /** Waits until it has read at least what a read_committed reader saw (it reads more: aborted ones). */
    void awaitSeen(long n) {
      await().atMost(Duration.ofSeconds(30)).until(() -> records.get() >= n);
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join(5_000);
    }
  }
}
