package io.migrationverifier.repair;

import io.migrationverifier.event.MalformedEventException;
import java.net.ConnectException;
import java.net.SocketException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.sql.SQLTransientException;

/** Sorts a failed repair: wait out the outage, retry later, or give it to the DLQ. */
public final class Failures {
  public enum Kind {
    /** A database is unreachable: pause everything, probe, resume; the request is not spent. */
    OUTAGE,
    /** Worth another attempt later (lock timeout, deadlock, a fence that kept failing). */
    TRANSIENT,
    /** Another attempt would fail the same way (constraint violation, bad value, bad event). */
    PERMANENT
  }

  /**
   * PostgreSQL admin_shutdown, crash_shutdown, cannot_connect_now: the server is stopping,
   * restarting or still starting. The first error of a database that goes down is one of these,
   * not a connection error; as a transient failure it would spend an attempt of every request in
   * flight.
   */
  private static final java.util.Set<String> SERVER_GOING_DOWN_OR_STARTING = java.util.Set.of("57P01", "57P02",
      "57P03");

  private Failures() {}

  public static Kind classify(Throwable e) {
    if (e instanceof RepairEngine.StaleRepairException) {
      return Kind.TRANSIENT;
    }
    if (e instanceof MalformedEventException || e instanceof IllegalArgumentException) {
      return Kind.PERMANENT;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
          || t instanceof SQLRecoverableException || t instanceof ConnectException
          || t instanceof SocketException) {
        return Kind.OUTAGE;
      }
      if (t instanceof SQLException s && s.getSQLState() != null && (s.getSQLState().startsWith("08")
          || SERVER_GOING_DOWN_OR_STARTING.contains(s.getSQLState()))) {
        return Kind.OUTAGE;
      }
    }
    if (e instanceof SQLException s) {
      String state = s.getSQLState() == null ? "" : s.getSQLState();
      int code = s.getErrorCode();
      if (e instanceof SQLTimeoutException || e instanceof SQLTransientException
          || state.equals("40001") || state.equals("40P01") || state.equals("55P03") || state.equals("57014")
          || state.equals("HY008") || code == 1205 || code == 1213) {
        return Kind.TRANSIENT;
      }
      if (state.startsWith("22") || state.startsWith("23") || state.startsWith("42") || state.startsWith("44")) {
        return Kind.PERMANENT;
      }
      return Kind.TRANSIENT;
    }
    return Kind.PERMANENT;
  }
}
