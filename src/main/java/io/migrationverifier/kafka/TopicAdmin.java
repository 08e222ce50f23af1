package io.migrationverifier.kafka;

import io.migrationverifier.config.Side;
import io.migrationverifier.config.Topics;
import io.migrationverifier.config.VerifierConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the topics of a deployment (DESIGN section 2) when they are missing, and checks the
 * ones that exist.
 *
 * <p>{@code <name>.discrepancies}, {@code <name>.health} and {@code <name>.coverage} are compacted (one
 * record per row key, per side and partition, per table and kind of comparison); every other topic uses
 * the delete policy. {@code <name>.coverage} holds a handful of records and is read whole by {@code gate},
 * so it has one partition; every other topic has {@code kafka.partitions}. The two change topics must be
 * co-partitioned (same partition count, same partitioner on identical key bytes): the verifier
 * compares partition p of one with partition p of the other. {@code <name>.repairs.log} is keyed
 * the same way and read by the same tasks, so it must have their partition count too.
 *
 * <p>A topic is not usable the instant {@code createTopics} returns: producing right away lost
 * records on a fresh broker (not-leader, then out-of-order sequence, then delivery timeouts; see
 * FIELD-NOTES). {@link #ensureTopics} therefore returns only once every newly created partition
 * answers {@code listOffsets(latest)}.
 *
 * <p>Producers writing to these topics must check the outcome of EVERY send (the returned future
 * or the callback's exception): a failed send is otherwise silently lost, and a verifier that
 * lost a change event reports a discrepancy the databases never had (or misses one they had).
 */
public final class TopicAdmin {
  private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);
  private static final long RETRY_BACKOFF_MS = 50;

  private TopicAdmin() {}

  /** Every topic of the deployment with its cleanup policy, in a stable order. */
  static Map<String, String> topicPolicies(Topics topics) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(topics.changes(Side.SOURCE), TopicConfig.CLEANUP_POLICY_DELETE);
    m.put(topics.changes(Side.TARGET), TopicConfig.CLEANUP_POLICY_DELETE);
    m.put(topics.discrepancies(), TopicConfig.CLEANUP_POLICY_COMPACT);
    m.put(topics.health(), TopicConfig.CLEANUP_POLICY_COMPACT);
    m.put(topics.changesDlq(), TopicConfig.CLEANUP_POLICY_DELETE);
    m.put(topics.review(), TopicConfig.CLEANUP_POLICY_DELETE);
    m.put(topics.repairsRetry(), TopicConfig.CLEANUP_POLICY_DELETE);
    m.put(topics.repairsLog(), TopicConfig.CLEANUP_POLICY_DELETE);
    m.put(topics.repairsDlq(), TopicConfig.CLEANUP_POLICY_DELETE);
    m.put(topics.coverage(), TopicConfig.CLEANUP_POLICY_COMPACT);
    return m;
  }

  /**
   * Creates the missing topics of {@code config} with {@code kafka.partitions} partitions and
   * {@code kafka.replication-factor} replicas, waits until the new partitions are led, and checks
   * that the two change topics and the repair log have the same partition count.
   *
   * @throws IllegalStateException when those topics are not co-partitioned, or the cluster
   *                               did not answer within {@code timeout}
   */
  public static void ensureTopics(Admin admin, VerifierConfig config, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Topics topics = config.topics();
    Map<String, String> policies = topicPolicies(topics);
    int partitions = config.kafka().partitions();
    short rf = config.kafka().replicationFactor();

    Set<String> existing = get(admin.listTopics().names(), deadline, "list topics");
    List<NewTopic> toCreate = new ArrayList<>();
    for (Map.Entry<String, String> e : policies.entrySet()) {
      if (!existing.contains(e.getKey())) {
        int n = e.getKey().equals(topics.coverage()) ? 1 : partitions;
        toCreate.add(new NewTopic(e.getKey(), n, rf)
            .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, e.getValue())));
      }
    }
    Set<String> created = new LinkedHashSet<>();
    if (!toCreate.isEmpty()) {
      Map<String, KafkaFuture<Void>> results = admin.createTopics(toCreate,
          new CreateTopicsOptions().timeoutMs(remainingMs(deadline))).values();
      for (Map.Entry<String, KafkaFuture<Void>> r : results.entrySet()) {
        try {
          get(r.getValue(), deadline, "create topic " + r.getKey());
          created.add(r.getKey());
        } catch (TopicCreationRace race) {
          // another instance created it between our listing and our request: fine, check it below
          LOG.debug("topic {} was created concurrently", r.getKey());
        }
      }
      if (!created.isEmpty()) {
        LOG.info("Created topics {} ({} partitions{}, replication factor {})", created, partitions,
            created.contains(topics.coverage()) ? "; " + topics.coverage() + ": 1" : "", rf);
      }
    }

    Map<String, TopicDescription> described = describe(admin, policies.keySet(), deadline);
    checkCoPartitioned(topics, described);
    // Wait also for topics another instance just created: they may be as fresh as ours.
    List<TopicPartition> toAwait = new ArrayList<>();
    for (String t : policies.keySet()) {
      if (!existing.contains(t)) {
        described.get(t).partitions().forEach(p -> toAwait.add(new TopicPartition(t, p.partition())));
      }
    }
    awaitPartitionsReady(admin, toAwait, deadline);
  }

  private static void checkCoPartitioned(Topics topics, Map<String, TopicDescription> described) {
    String s = topics.changes(Side.SOURCE);
    String t = topics.changes(Side.TARGET);
    int sp = described.get(s).partitions().size();
    int tp = described.get(t).partitions().size();
    if (sp != tp) {
      throw new IllegalStateException("The change topics are not co-partitioned: " + s + " has " + sp
          + " partitions but " + t + " has " + tp + ". The verifier compares partition p of one with partition p"
          + " of the other, so both need the same count: add partitions to the smaller one (kafka-topics --alter"
          + " --partitions " + Math.max(sp, tp) + "), or recreate both with kafka.partitions, and re-capture, since"
          + " keys already written were placed by the old count.");
    }
    String log = topics.repairsLog();
    int lp = described.get(log).partitions().size();
    if (lp != sp) {
      throw new IllegalStateException("The repair log is not co-partitioned with the change topics: " + log + " has "
          + lp + " partitions but " + s + " and " + t + " have " + sp + ". The verifier reads partition p of the"
          + " repair log beside partition p of the change topics (to tell a repair's write from any other target"
          + " change), so all three need the same count: " + (lp < sp
              ? "add partitions to it (kafka-topics --alter --topic " + log + " --partitions " + sp + ")"
              : "partitions cannot be removed, so copy out what `repair undo` may still need, delete it and"
                  + " recreate it (kafka-topics --create --topic " + log + " --partitions " + sp + ")")
          + ". Entries already written stay where the old count placed them; that costs at most their"
          + " \"repaired\" label.");
    }
  }

  private static Map<String, TopicDescription> describe(Admin admin, Set<String> names, long deadline) {
    // a topic just created may not be in the metadata of the broker we ask yet
    while (true) {
      try {
        return admin.describeTopics(names).allTopicNames().get(Math.max(1, remainingMs(deadline)), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
          throw failure("describe topics " + names, e.getCause());
        }
      } catch (TimeoutException e) {
        throw failure("describe topics " + names, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while describing topics", e);
      }
      backoff();
    }
  }

  /**
   * Retries {@code listOffsets(latest)} until every partition answers: then it has a leader that
   * accepts reads, and producing to it no longer loses records.
   */
  static void awaitPartitionsReady(Admin admin, List<TopicPartition> partitions, long deadline) {
    if (partitions.isEmpty()) {
      return;
    }
    long started = System.nanoTime();
    List<TopicPartition> left = new ArrayList<>(partitions);
    Throwable last = null;
    while (!left.isEmpty()) {
      Map<TopicPartition, OffsetSpec> request = new HashMap<>();
      left.forEach(tp -> request.put(tp, OffsetSpec.latest()));
      var result = admin.listOffsets(request, new ListOffsetsOptions().timeoutMs((int) Math.min(5_000,
          Math.max(1, remainingMs(deadline)))));
      List<TopicPartition> stillLeft = new ArrayList<>();
      for (TopicPartition tp : left) {
        try {
          result.partitionResult(tp).get(Math.max(1, remainingMs(deadline)), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
          last = e.getCause();
          stillLeft.add(tp);
        } catch (TimeoutException e) {
          last = e;
          stillLeft.add(tp);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for new partitions", e);
        }
      }
      left = stillLeft;
      if (!left.isEmpty()) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("partitions " + left + " were created but did not become available in time"
              + (last == null ? "" : ": " + last), last);
        }
        backoff();
      }
    }
    LOG.debug("{} new partitions ready in {} ms", partitions.size(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  /** Thrown inside this class for a TopicExistsException, which a concurrent creator makes benign. */
  private static final class TopicCreationRace extends RuntimeException {
    TopicCreationRace(Throwable cause) {
      super(cause);
    }
  }

  private static <T> T get(KafkaFuture<T> f, long deadline, String what) {
    try {
      return f.get(Math.max(1, remainingMs(deadline)), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof TopicExistsException) {
        throw new TopicCreationRace(e.getCause());
      }
      throw failure(what, e.getCause());
    } catch (TimeoutException e) {
      throw failure(what, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + what, e);
    }
  }

  private static IllegalStateException failure(String what, Throwable cause) {
    return new IllegalStateException("Kafka: could not " + what + ": " + cause, cause);
  }

  private static int remainingMs(long deadline) {
    long ms = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
    return (int) Math.max(0, Math.min(Integer.MAX_VALUE, ms));
  }

  private static void backoff() {
    try {
      Thread.sleep(RETRY_BACKOFF_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
