package io.migrationverifier.repair;

import io.migrationverifier.event.DeadLetters;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Headers of records on {@code <name>.repairs.retry} and {@code <name>.repairs.dlq} (DESIGN
 * section 3, DLQ record): the value stays the original request (the discrepancy event); where it
 * came from (original topic, partition, offset), the exception (class, message, stack trace) use
 * Kafka Streams' own {@code __streams.errors.*} names ({@link DeadLetters}); attempts and the
 * failure times are ours. Numbers are decimal text.
 */
public final class RepairHeaders {
  /** Attempts made so far (1 after the first failure). */
  public static final String ATTEMPTS = "migration-verifier.repair.attempts";
  /** Retry topic: epoch ms before which the next attempt must not run. */
  public static final String NOT_BEFORE = "migration-verifier.repair.not-before";
  public static final String FIRST_FAILURE = "migration-verifier.repair.first-failure";
  public static final String LAST_FAILURE = "migration-verifier.repair.last-failure";
  /** DLQ: how the failure was classified ({@code transient} = attempts spent, {@code permanent}). */
  public static final String FAILURE_KIND = "migration-verifier.repair.failure";
  /** DLQ records written again by a replay: how many replays they went through. */
  public static final String REPLAYS = "migration-verifier.repair.replays";

  private RepairHeaders() {}

  public static String text(Headers headers, String name) {
    Header h = headers.lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  public static long number(Headers headers, String name, long def) {
    String s = text(headers, name);
    if (s == null) {
      return def;
    }
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return def;
    }
  }

  public static void put(Headers headers, String name, String value) {
    headers.remove(name);
    if (value != null) {
      headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
  }

  public static void put(Headers headers, String name, long value) {
    put(headers, name, Long.toString(value));
  }
}
