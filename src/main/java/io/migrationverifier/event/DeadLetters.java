package io.migrationverifier.event;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * Header names of dead-letter records: the same as Kafka Streams' own DLQ
 * ({@code org.apache.kafka.streams.errors.internals.ExceptionHandlerUtils}), so tools that read
 * Kafka's dead letters read ours.
 */
public final class DeadLetters {
  public static final String EXCEPTION = "__streams.errors.exception";
  public static final String MESSAGE = "__streams.errors.message";
  public static final String STACKTRACE = "__streams.errors.stacktrace";
  public static final String TOPIC = "__streams.errors.topic";
  public static final String PARTITION = "__streams.errors.partition";
  public static final String OFFSET = "__streams.errors.offset";
  /** On records capture could not canonicalize: the side whose Debezium event it is. */
  public static final String CAPTURE_SIDE = "migration-verifier.capture.side";
  /**
   * On dead letters whose original key and value were too large to send again with these headers:
   * "keyBytes,valueBytes" of the original; the record holds their beginnings only.
   */
  public static final String VALUE_CUT = "migration-verifier.original.sizes";
  /**
   * On a dead letter kept for information only: the change itself was sent (cut) and compared, so
   * {@code gate} does not count it as a change never compared.
   */
  public static final String COMPARED = "migration-verifier.compared";
  /** The most bytes {@link #stackTrace} returns (ASCII in practice: class and method names). */
  public static final int MAX_TRACE_BYTES = 8 * 1024;
  private static final int MAX_TRACE = MAX_TRACE_BYTES;

  private DeadLetters() {}

  public static String stackTrace(Throwable e) {
    StringWriter w = new StringWriter();
    e.printStackTrace(new PrintWriter(w));
    String s = w.toString();
    return s.length() <= MAX_TRACE ? s : s.substring(0, MAX_TRACE);
  }
}
