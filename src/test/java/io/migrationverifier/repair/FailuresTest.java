package io.migrationverifier.repair;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.event.MalformedEventException;
import io.migrationverifier.repair.Failures.Kind;
import java.net.ConnectException;
import java.net.SocketException;
import java.sql.SQLException;
import java.sql.SQLIntegrityConstraintViolationException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransactionRollbackException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * How a failed repair is sorted, by SQLState class and driver error code as PostgreSQL (pgjdbc),
 * MariaDB Connector/J and HikariCP report them.
 */
class FailuresTest {

  private static SQLException sql(String state, int code) {
    return new SQLException("boom", state, code);
  }

  @ParameterizedTest(name = "SQLState {0} (code {1}) is {2}")
  @CsvSource({
      // connection exceptions: the database is down or unreachable
      "08001, 0, OUTAGE",
      "08006, 0, OUTAGE",
      "08S01, 1053, OUTAGE",
      "08000, 0, OUTAGE",
      // the server is shutting down or starting up: down for a while, not a failed repair
      "57P01, 0, OUTAGE",
      "57P02, 0, OUTAGE",
      "57P03, 0, OUTAGE",
      // worth another attempt
      "40001, 0, TRANSIENT",
      "40P01, 0, TRANSIENT",
      "55P03, 0, TRANSIENT",
      "57014, 0, TRANSIENT",
      "HY008, 0, TRANSIENT",
      "HY000, 1205, TRANSIENT",
      "40001, 1213, TRANSIENT",
      "XX000, 0, TRANSIENT",
      "53300, 0, TRANSIENT",
      // another attempt fails the same way
      "23505, 0, PERMANENT",
      "23514, 0, PERMANENT",
      "23502, 0, PERMANENT",
      "23503, 0, PERMANENT",
      "23000, 1062, PERMANENT",
      "23000, 4025, PERMANENT",
      "22001, 0, PERMANENT",
      "22003, 1264, PERMANENT",
      "22P02, 0, PERMANENT",
      "42P01, 0, PERMANENT",
      "42703, 0, PERMANENT",
      "42000, 1142, PERMANENT",
      "44000, 0, PERMANENT",
  })
  void sqlStates(String state, int code, Kind expected) {
    assertThat(Failures.classify(sql(state, code))).isEqualTo(expected);
  }

  @Test
  void aSqlExceptionWithoutStateIsTransient() {
    assertThat(Failures.classify(new SQLException("no state"))).isEqualTo(Kind.TRANSIENT);
  }

  @Test
  void connectionExceptionClassesAreOutagesWhateverTheirState() {
    // HikariCP: no connection within connectionTimeout
    assertThat(Failures.classify(new SQLTransientConnectionException("pool timeout", (String) null))).isEqualTo(Kind.OUTAGE);
    assertThat(Failures.classify(new SQLNonTransientConnectionException("closed", "08003"))).isEqualTo(Kind.OUTAGE);
    assertThat(Failures.classify(new SQLRecoverableException("io"))).isEqualTo(Kind.OUTAGE);
  }

  @Test
  void anOutageBuriedInTheCauseChainIsAnOutage() {
    // Jdbc.connect re-wraps the driver's exception; the driver's wraps the socket's
    SQLException driver = new SQLException("The connection attempt failed.", "08001", new ConnectException("refused"));
    SQLException wrapped = new SQLException("cannot connect to postgres 127.0.0.1:1/x as u: ...", (String) null, driver);
    assertThat(Failures.classify(wrapped)).isEqualTo(Kind.OUTAGE);
    assertThat(Failures.classify(new SQLException("io", "XX000", new SocketException("reset")))).isEqualTo(Kind.OUTAGE);
    assertThat(Failures.classify(new RuntimeException(new SQLException("x", "08006")))).isEqualTo(Kind.OUTAGE);
  }

  @Test
  void jdbcSubclassesForConflictsAndTimeoutsAreTransient() {
    assertThat(Failures.classify(new SQLTimeoutException("query timeout"))).isEqualTo(Kind.TRANSIENT);
    assertThat(Failures.classify(new SQLTransactionRollbackException("deadlock", "40P01"))).isEqualTo(Kind.TRANSIENT);
  }

  @Test
  void constraintViolationsArePermanent() {
    assertThat(Failures.classify(new SQLIntegrityConstraintViolationException("dup", "23000", 1062)))
        .isEqualTo(Kind.PERMANENT);
  }

  @Test
  void aStaleFenceIsTransient() {
    assertThat(Failures.classify(new RepairEngine.StaleRepairException("moved"))).isEqualTo(Kind.TRANSIENT);
  }

  @Test
  void badEventsBadValuesAndBugsArePermanent() {
    assertThat(Failures.classify(new MalformedEventException("not JSON"))).isEqualTo(Kind.PERMANENT);
    assertThat(Failures.classify(new IllegalArgumentException("not a value of its type"))).isEqualTo(Kind.PERMANENT);
    assertThat(Failures.classify(new NullPointerException())).isEqualTo(Kind.PERMANENT);
  }
}
