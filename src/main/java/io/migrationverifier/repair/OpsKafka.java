package io.migrationverifier.repair;

import io.migrationverifier.config.KafkaSettings;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.kafka.TopicAdmin;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Kafka for the operator commands ({@code dlq}, {@code repair undo}, {@code check --repair}):
 * short-lived clients with bounded waits, so an unreachable broker ends the command with a message
 * instead of hanging it.
 */
public final class OpsKafka {
  /** How long a command waits for the broker before it gives up. */
  public static final Duration TIMEOUT = Duration.ofSeconds(30);

  private OpsKafka() {}

  /** A broker that cannot be reached, or refused a request: the command stops (exit 1). */
  public static final class KafkaUnavailableException extends RuntimeException {
    public KafkaUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * The brokers an operator command talks to. {@code embedded} means the broker inside a running
   * {@code run} of this config, on 127.0.0.1 at {@code kafka.embedded-port}.
   *
   * @throws IllegalArgumentException embedded with port 0: no other process can find that broker
   */
  public static String bootstrap(VerifierConfig config) {
    KafkaSettings k = config.kafka();
    if (!k.embedded()) {
      return k.bootstrapServers();
    }
    if (k.embeddedPort() == 0) {
      throw new IllegalArgumentException("kafka.bootstrap-servers is \"embedded\" with kafka.embedded-port: 0, so"
          + " the broker of a running `run` listens on a port nobody else knows: set kafka.embedded-port to a fixed"
          + " port (default 9092), or point kafka.bootstrap-servers at a real broker");
    }
    return "127.0.0.1:" + k.embeddedPort();
  }

  public static Admin admin(VerifierConfig config, String bootstrap) {
    return admin(config, bootstrap, TIMEOUT);
  }

  /** An admin client whose requests give up after {@code timeout} (closing it waits for them too). */
  public static Admin admin(VerifierConfig config, String bootstrap, Duration timeout) {
    Properties p = new Properties();
    config.kafka().properties().forEach(p::setProperty);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(10_000, timeout.toMillis()));
    return Admin.create(p);
  }

  /**
   * A consumer that only reads committed records (repairs are produced idempotently, discrepancies
   * transactionally) and never creates topics.
   *
   * @param groupId null: no group (nothing is committed)
   */
  public static KafkaConsumer<byte[], byte[]> consumer(VerifierConfig config, String bootstrap, String groupId,
      String client) {
    Properties p = new Properties();
    config.kafka().properties().forEach(p::setProperty);
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, config.name() + "-" + client);
    if (groupId != null) {
      p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    }
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
    p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  public static KafkaProducer<byte[], byte[]> producer(VerifierConfig config, String bootstrap, String client) {
    Properties p = RepairWorker.producerProps(config, bootstrap, client);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) TIMEOUT.toMillis());
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** Creates the deployment's missing topics (as {@code run} would), so nothing is auto-created with wrong partitions. */
  public static void ensureTopics(Admin admin, VerifierConfig config, String bootstrap) {
    ensureTopics(admin, config, bootstrap, TIMEOUT);
  }

  public static void ensureTopics(Admin admin, VerifierConfig config, String bootstrap, Duration timeout) {
    try {
      TopicAdmin.ensureTopics(admin, config, timeout);
    } catch (RuntimeException e) {
      throw new KafkaUnavailableException("cannot reach Kafka at " + bootstrap + " (kafka.bootstrap-servers): "
          + (timedOut(e) ? "no answer within " + timeout.toSeconds() + " s" : message(e))
          + "; start the broker or fix the address", e);
    }
  }

  private static boolean timedOut(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof TimeoutException || t instanceof org.apache.kafka.common.errors.TimeoutException) {
        return true;
      }
    }
    return false;
  }

  /** The partitions of {@code topic}; empty when the topic does not exist. */
  public static List<TopicPartition> partitions(Admin admin, String topic, String bootstrap) {
    try {
      TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT.toMillis(),
          TimeUnit.MILLISECONDS).get(topic);
      List<TopicPartition> out = new ArrayList<>();
      d.partitions().forEach(p -> out.add(new TopicPartition(topic, p.partition())));
      return out;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        return List.of();
      }
      throw new KafkaUnavailableException("cannot describe topic " + topic + " on " + bootstrap + ": "
          + message(e.getCause()), e.getCause());
    } catch (TimeoutException e) {
      throw new KafkaUnavailableException("Kafka at " + bootstrap + " (kafka.bootstrap-servers) did not answer"
          + " within " + TIMEOUT.toSeconds() + " s: start the broker or fix the address", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaUnavailableException("interrupted", e);
    }
  }

  /**
   * Reads the assigned {@code partitions} from their current positions up to the end offsets taken
   * now (records appended meanwhile, e.g. by a replay, are left for next time), calling {@code each}
   * in offset order per partition. {@code each} returns false to stop reading that partition.
   */
  public static void readToEnd(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions,
      Map<TopicPartition, Long> ends, RecordVisitor each) {
    Map<TopicPartition, Long> end = new HashMap<>(ends);
    long lastProgress = System.nanoTime();
    while (true) {
      end.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
      if (end.isEmpty()) {
        return;
      }
      consumer.resume(end.keySet());
      ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
      if (!records.isEmpty()) {
        lastProgress = System.nanoTime();
      } else if (System.nanoTime() - lastProgress > TIMEOUT.toNanos()) {
        throw new KafkaUnavailableException("no records from " + end.keySet() + " for " + TIMEOUT.toSeconds()
            + " s although their end offsets are " + end.values() + ": is the broker up?", null);
      }
      for (TopicPartition tp : records.partitions()) {
        Long stop = end.get(tp);
        for (ConsumerRecord<byte[], byte[]> rec : records.records(tp)) {
          if (stop == null || rec.offset() >= stop) {
            break;
          }
          if (!each.visit(rec)) {
            end.remove(tp);
            consumer.pause(List.of(tp));
            break;
          }
        }
      }
    }
  }

  /** Reads a partition's records; false = stop reading this partition. */
  @FunctionalInterface
  public interface RecordVisitor {
    boolean visit(ConsumerRecord<byte[], byte[]> rec);
  }

  /** Waits for every send; the first failure is thrown. */
  public static void awaitSends(KafkaProducer<byte[], byte[]> producer, List<Future<RecordMetadata>> sends,
      String what) {
    producer.flush();
    for (Future<RecordMetadata> f : sends) {
      try {
        f.get();
      } catch (ExecutionException e) {
        throw new KafkaUnavailableException("cannot write " + what + " to Kafka: " + message(e.getCause()),
            e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new KafkaUnavailableException("interrupted while writing " + what, e);
      }
    }
    sends.clear();
  }

  /** Sends and waits for them all (few records: a check's repair, an undo). */
  public static void sendAll(KafkaProducer<byte[], byte[]> producer, List<ProducerRecord<byte[], byte[]>> records,
      String what) {
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (ProducerRecord<byte[], byte[]> r : records) {
      sends.add(producer.send(r));
    }
    awaitSends(producer, sends, what);
  }

  /** Iterates records with a plain callback (no early stop). */
  public static RecordVisitor all(Consumer<ConsumerRecord<byte[], byte[]>> each) {
    return r -> {
      each.accept(r);
      return true;
    };
  }

  static String message(Throwable e) {
    if (e == null) {
      return "unknown error";
    }
    Throwable t = e;
    while (t.getCause() != null && t.getMessage() != null && t.getMessage().contains(t.getCause().toString())) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }
}
