package io.migrationverifier.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migrationverifier.config.Dialect;
import java.io.IOException;
import java.util.Objects;

/**
 * Computes the {@code pos} of each normalized change event: a string whose lexicographic order is
 * the side's commit order, i.e. the delivery order of one Debezium engine (DESIGN section 3).
 *
 * <p>One instance per engine run, fed every data change in delivery order. A restarted engine
 * gets a new instance; the positions of re-delivered changes are then identical to the first
 * run's, because they are derived from Debezium's {@code source} block (which Debezium restores
 * from its offsets), not from anything this object counted before the restart. The only state is a
 * counter for consecutive changes that share all source coordinates, and a safety clamp.
 *
 * <h2>Facts this relies on (measured with Debezium 3.5.0.Final, PostgreSQL 17 / pgoutput,
 * MariaDB 10.11; see PositionTrackerIT)</h2>
 *
 * <p><b>PostgreSQL.</b>
 * <ul>
 *   <li>{@code source.lsn} is the change's OWN WAL record LSN, not the commit LSN. A transaction
 *       that started first but committed later is delivered later with LOWER change LSNs: txn A
 *       inserts (lsn 26195936), txn B inserts (26196064) and commits, A inserts (26196240) and
 *       commits; delivery is B (26196064), A (26195936), A (26196240). So lsn alone is not
 *       commit order.
 *   <li>{@code source.sequence} is {@code "[lastCommitLsn, lsn]"}. {@code lastCommitLsn} is the
 *       END LSN of the commit record of the PREVIOUS transaction this engine processed, so it is
 *       the same for every change of one transaction and strictly greater for every later
 *       transaction: B above has {@code [null, 26196064]}, A has {@code [26196240, 26195936]}
 *       and {@code [26196240, 26196240]} (B's commit ended where A's second insert starts).
 *       It is {@code null} for the first transaction streamed after the snapshot (no commit
 *       processed yet), in the first run and in a re-run alike.
 *   <li>Several changes can share one LSN: {@code COPY} writes one multi-insert WAL record, and
 *       all its rows arrive with identical lsn and sequence.
 *   <li>Snapshot rows ({@code op=r}, {@code source.snapshot} first/true/last) all carry the
 *       snapshot LSN ({@code [null, S]}) and the same {@code ts_ms}; the first streamed change
 *       has a higher LSN unless its transaction was already running at the snapshot point.
 *   <li>After a restart Debezium re-sends the transaction of the last flushed offset and skips
 *       the changes up to that offset; the re-delivered changes carry exactly the same lsn and
 *       sequence as the first time (also when the restart point is in the middle of a
 *       transaction: {@code lsn_commit} is restored from the offset).
 * </ul>
 * Streaming position: {@code C-1-L-n} with {@code C} = lastCommitLsn (or, when null, the change's
 * own lsn), {@code L} = lsn, {@code n} = counter among consecutive changes with equal C and L
 * (COPY). C orders transactions by commit, L the changes inside one transaction.
 * Snapshot position: {@code S-0-T-n} with {@code S} = snapshot lsn, {@code T} = {@code ts_ms} of
 * the first snapshot row of this run, {@code n} = running count of snapshot rows in this run.
 *
 * <p><b>MariaDB.</b>
 * <ul>
 *   <li>{@code source.file}/{@code pos} is the binlog position of the ROWS event the change
 *       came from (not the transaction start: the offset stores that); {@code row} is the index
 *       of the row inside that event. A multi-statement transaction has one pos per statement
 *       (2811, 2954, 3097, row 0 each); a multi-row statement has one pos and rows 0..n-1; a
 *       big statement is split into several rows events (pos 308124 rows 0-3, 316214 rows 0-3,
 *       ...). The binlog holds whole transactions in commit order, so (file, pos, row) is unique
 *       and increasing in commit order, interleaved transactions included.
 *   <li>Snapshot rows all carry the binlog position read at the snapshot ({@code row} 0);
 *       every later change has a greater pos. {@code ts_ms} has whole-second resolution.
 *   <li>{@code gtid} is the transaction's GTID ({@code 0-1-13}), the same for all its changes.
 * </ul>
 * Streaming position: {@code F-P-1-R-n} (F = binlog file sequence number, P = pos, R = row,
 * n = counter, always 0 in practice). Snapshot position: {@code F-P-0-T-n} as for PostgreSQL.
 *
 * <h2>Snapshot restarts</h2>
 * A snapshot interrupted by a crash is redone from scratch. Its rows then get positions greater
 * than the first attempt's: either its coordinate (S or F-P) is greater (anything was written
 * meanwhile), or it is the same and {@code T}, the new attempt's snapshot time, is greater.
 * Positions are never lower than the first attempt's, so no not-yet-delivered row of the new
 * attempt can pass for a replay; rows delivered twice are identical duplicates.
 *
 * <h2>Safety clamp and known limits</h2>
 * If a computed position is not greater than the previous one of this run, the previous one plus
 * a {@code ~k} suffix is returned instead ({@link #clampCount()} counts these), so positions
 * are strictly increasing within a run whatever Debezium sends. Expected only for PostgreSQL when
 * the first transaction after the snapshot started before the snapshot point (its lsn &lt; S,
 * lastCommitLsn null). Such clamped positions are not reproducible: if the engine is restarted in
 * the middle of that transaction, its not-yet-delivered changes get positions below the
 * snapshot's and are taken for replays. A PostgreSQL restart in the middle of a group of changes
 * sharing one LSN (COPY) also cannot be exact, but Debezium itself then skips the rest of the
 * group (measured), so the counter never has to resume. MariaDB positions assume one binlog
 * base name on one server: a fail-over to another server renumbers files and positions.
 */
public final class PositionTracker {

  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** Wide enough for any unsigned 64-bit value. */
  private static final int WIDE = 20;
  private static final int NARROW = 10;
  private static final String CLAMP = "~";

  private final Dialect dialect;
  private String lastBase;
  private long counter;
  private String lastEmitted;
  private Long snapshotTs;
  private long snapshotRows;
  private long clamps;

  public PositionTracker(Dialect dialect) {
    this.dialect = Objects.requireNonNull(dialect, "dialect");
  }

  /** The position of the next change in delivery order. */
  public String position(DebeziumChange change) {
    JsonNode source = change.source();
    if (source == null || source.isNull() || source.isMissingNode()) {
      throw new IllegalArgumentException("change event without a source block");
    }
    String pos;
    if (isSnapshot(source)) {
      pos = snapshotPosition(source, change);
    } else {
      String base = dialect == Dialect.POSTGRES ? postgresBase(source) : mariaBase(source);
      if (base.equals(lastBase)) {
        counter++;
      } else {
        lastBase = base;
        counter = 0;
      }
      pos = base + "-" + pad(counter, NARROW);
    }
    return clamp(pos);
  }

  /** How many positions had to be clamped (see class comment); 0 in every measured scenario. */
  public long clampCount() {
    return clamps;
  }

  private String snapshotPosition(JsonNode source, DebeziumChange change) {
    if (snapshotTs == null) {
      snapshotTs = change.commitTs();
    }
    String coordinate = dialect == Dialect.POSTGRES
        ? pad(unsigned(source, "lsn"), WIDE)
        : binlogCoordinate(source);
    lastBase = null; // a snapshot row ends any run of equal streaming coordinates
    return coordinate + "-0-" + pad(snapshotTs, WIDE) + "-" + pad(snapshotRows++, WIDE);
  }

  private static String postgresBase(JsonNode source) {
    long lsn = unsigned(source, "lsn");
    long commit = lsn;
    String sequence = source.path("sequence").asText(null);
    if (sequence != null) {
      try {
        JsonNode seq = MAPPER.readTree(sequence);
        JsonNode last = seq.path(0);
        if (last.isTextual() || last.isNumber()) {
          commit = Long.parseUnsignedLong(last.asText());
        }
      } catch (IOException | NumberFormatException e) {
        throw new IllegalArgumentException("unreadable source.sequence: " + sequence, e);
      }
    }
    return pad(commit, WIDE) + "-1-" + pad(lsn, WIDE);
  }

  private static String mariaBase(JsonNode source) {
    return binlogCoordinate(source) + "-1-" + pad(source.path("row").asLong(0), NARROW);
  }

  /** {@code F-P}: binlog file sequence number (the numeric extension) and position. */
  private static String binlogCoordinate(JsonNode source) {
    String file = source.path("file").asText(null);
    if (file == null || file.isEmpty()) {
      throw new IllegalArgumentException("MariaDB change without source.file");
    }
    int dot = file.lastIndexOf('.');
    long index;
    try {
      index = Long.parseLong(file.substring(dot + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("binlog file name without a numeric extension: " + file, e);
    }
    return pad(index, NARROW) + "-" + pad(unsigned(source, "pos"), WIDE);
  }

  private static boolean isSnapshot(JsonNode source) {
    String s = source.path("snapshot").asText("false");
    // "incremental" rows are read while streaming and carry streaming coordinates.
    return !s.equals("false") && !s.equals("incremental");
  }

  private static long unsigned(JsonNode source, String field) {
    JsonNode n = source.get(field);
    if (n == null || n.isNull()) {
      throw new IllegalArgumentException("change event without source." + field);
    }
    return Long.parseUnsignedLong(n.asText());
  }

  private String clamp(String pos) {
    if (lastEmitted != null && pos.compareTo(lastEmitted) <= 0) {
      clamps++;
      int at = lastEmitted.indexOf(CLAMP);
      if (at < 0) {
        pos = lastEmitted + CLAMP + pad(1, NARROW);
      } else {
        long k = Long.parseLong(lastEmitted.substring(at + 1));
        pos = lastEmitted.substring(0, at) + CLAMP + pad(k + 1, NARROW);
      }
    }
    lastEmitted = pos;
    return pos;
  }

  private static String pad(long value, int width) {
    String s = Long.toUnsignedString(value);
    if (s.length() > width) {
      throw new IllegalArgumentException("position field " + s + " wider than " + width);
    }
    return "0".repeat(width - s.length()) + s;
  }
}
