package io.migrationverifier.ops;

import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.check.KeyCheck;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.event.Discrepancy;
import io.migrationverifier.event.PiiMasker;
import io.migrationverifier.repair.Failures;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.RepairEngine;
import io.migrationverifier.repair.RepairHandler;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * One key compared now, and repaired on request (read-repair): {@code check --repair} and
 * {@code POST /check}. An explicit repair request repairs even a detect-only table, with the
 * table's policy: an operator asked for it, for this one key.
 *
 * <p>Thread-safe: each call borrows a {@link RepairEngine} (which is not) from a small pool, so
 * concurrent requests never share one; there are at most as many engines as concurrent callers.
 */
public final class OnDemandCheck implements AutoCloseable {

  /**
   * @param repair        the repair's outcome; null when not asked or not needed (consistent)
   * @param logged        the repair's outputs (repair log entry, review record) were written to Kafka
   * @param outputs       what was (or, without Kafka, would have been) written
   */
  public record Result(KeyCheck.Result check, RepairEngine.Outcome repair, boolean logged,
      List<ProducerRecord<byte[], byte[]>> outputs) {}

  /** The repair was done (or decided) but its outputs could not be written to Kafka. */
  public static final class OutputsLostException extends Exception {
    private final Result result;

    public OutputsLostException(Result result, Throwable cause) {
      super(cause.getMessage(), cause);
      this.result = result;
    }

    public Result result() {
      return result;
    }
  }

  /** The check found a difference, but the repair failed (the target refused the write, the resolver failed). */
  public static final class RepairFailedException extends Exception {
    private final KeyCheck.Result check;

    public RepairFailedException(KeyCheck.Result check, Throwable cause) {
      super(cause.getMessage() != null ? cause.getMessage() : cause.toString(), cause);
      this.check = check;
    }

    public KeyCheck.Result check() {
      return check;
    }
  }

  private final VerifierConfig config;
  private final Canonicalizer canonicalizer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final ConcurrentLinkedDeque<RepairEngine> idle = new ConcurrentLinkedDeque<>();
  private final List<RepairEngine> all = new ArrayList<>();
  private volatile boolean closed;
  /** The answer shows masked rows; the repair judges the rows it re-reads itself. */
  private final PiiMasker pii;

  /**
   * @param producer where repair outputs go; null = nowhere (they are returned only)
   */
  public OnDemandCheck(VerifierConfig config, Canonicalizer canonicalizer, KafkaProducer<byte[], byte[]> producer) {
    this.config = config;
    this.canonicalizer = canonicalizer;
    this.producer = producer;
    this.pii = PiiMasker.forConfig(config);
  }

  public VerifierConfig config() {
    return config;
  }

  /** The table's configured key columns, each given once: else IllegalArgumentException naming what is wrong. */
  public static void validateKey(VerifierConfig config, String table, Map<String, String> key) {
    TableConfig t = config.table(table).orElseThrow(() -> new IllegalArgumentException("unknown table \"" + table
        + "\"; configured: " + config.tables().stream().map(TableConfig::name).toList()));
    if (!new TreeSet<>(key.keySet()).equals(new TreeSet<>(t.key()))) {
      throw new IllegalArgumentException("table \"" + table + "\" is keyed by " + t.key() + ", got " + key.keySet());
    }
  }

  /**
   * @throws IllegalArgumentException unknown table, wrong key columns, a key value its column cannot hold,
   *     or a repair the target cannot take
   * @throws SQLException a database is unreachable or a query failed
   * @throws RepairEngine.StaleRepairException the target kept changing under the fence
   * @throws OutputsLostException repaired, but the log entry could not be written to Kafka
   * @throws RepairFailedException the repair itself failed (not for an unreachable database: SQLException)
   */
  public Result check(String table, Map<String, String> key, boolean repair)
      throws SQLException, RepairEngine.StaleRepairException, OutputsLostException, RepairFailedException {
    validateKey(config, table, key);
    RepairEngine engine = borrow();
    try {
      KeyCheck.Result r = new KeyCheck(canonicalizer, engine.reader()).check(table, key).masked(pii);
      if (!repair || r.consistent()) {
        return new Result(r, null, false, List.of());
      }
      Discrepancy d = r.discrepancy().orElseThrow();
      RepairEngine.Outcome o;
      try {
        o = engine.repair(table, r.key().key(), d, Discrepancy.DETECTOR_CHECK, true);
      } catch (SQLException e) {
        if (Failures.classify(e) == Failures.Kind.OUTAGE) {
          throw e;
        }
        throw new RepairFailedException(r, e);
      } catch (IllegalArgumentException e) {
        throw new RepairFailedException(r, e);
      }
      List<ProducerRecord<byte[], byte[]>> out = RepairHandler.outputs(config, r.key().toBytes(), d, o,
          System.currentTimeMillis());
      if (producer == null || out.isEmpty()) {
        return new Result(r, o, false, out);
      }
      Result result = new Result(r, o, true, out);
      try {
        OpsKafka.sendAll(producer, out, "the repair's outputs");
      } catch (RuntimeException e) {
        throw new OutputsLostException(new Result(r, o, false, out), e);
      }
      return result;
    } finally {
      giveBack(engine);
    }
  }

  private RepairEngine borrow() {
    RepairEngine e = idle.pollFirst();
    if (e != null) {
      return e;
    }
    e = RepairEngine.open(config, canonicalizer);
    synchronized (all) {
      all.add(e);
    }
    return e;
  }

  private void giveBack(RepairEngine e) {
    if (closed) {
      e.close();
    } else {
      idle.addFirst(e);
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (all) {
      for (RepairEngine e : all) {
        try {
          e.close();
        } catch (RuntimeException ignored) {
          // closing on the way out
        }
      }
      all.clear();
    }
    idle.clear();
  }

  /** Whether the table's answers must leave exact row images out ({@code pii} columns). */
  public boolean masksPii(String table) {
    return pii.masks(table);
  }
}
