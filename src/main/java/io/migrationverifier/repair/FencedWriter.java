package io.migrationverifier.repair;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.Values;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.capture.Jdbc;
import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The fenced write of one repair (DESIGN section 5) on the TARGET database. In one transaction:
 * the target row is locked ({@code SELECT ... FOR UPDATE} by its physical key columns, values
 * bound with their column's SQL type); its current faithful image ({@link RowReader.Rows#faithful}:
 * the values as stored, not as the rules compare them) must still equal the image that was judged
 * ({@code judgedTarget}, empty = absent), otherwise nothing is written and the
 * outcome is {@link Outcome#stale} with the current image; when it does, the row is made equal to
 * {@code desired} (empty = DELETE, present = UPDATE of the mapped, non-ignored target columns or
 * INSERT when absent), and the outcome is {@link Outcome#applied} with the before image.
 *
 * <p><b>How the locked row is canonicalized.</b> The image is read with {@link RowReader} (its
 * own autocommit connection, a plain MVCC read) while this transaction holds the row lock: nobody
 * can change or delete a locked row, so the committed row RowReader sees is the locked row, and it
 * is canonicalized by the one code path that the check and the stream agree with. A row that
 * appears between the lock and the read (the lock found nothing) is locked again (bounded). A row
 * inserted by someone else after the read makes the INSERT fail on the key: that is reported as
 * stale too (PostgreSQL waits for the other insert and then fails; MariaDB's gap lock blocks it).
 *
 * <p><b>Values.</b> Canonical text is converted back to the target column's SQL type, taken from
 * {@link RowReader#columnTypes} (Debezium's view of the column): integers as long / BigDecimal,
 * decimals as BigDecimal, booleans (PostgreSQL boolean / bit, MariaDB TINYINT(1) / BIT(1) as
 * 1 / 0), zone-less timestamps as the local date-time in the target's configured zone, zoned ones
 * as UTC instants, dates, times, JSON / JSONB through a cast, bytes from hex, uuid, text. Values
 * that do not parse (PostgreSQL {@code infinity}, MariaDB negative TIME, ...) go to the server as
 * text for it to read. MariaDB runs the session in UTC, as RowReader does.
 *
 * <p>Logical columns map back to the target's physical names; columns absent on the target,
 * target-less or ignored ones are never written. One connection, opened lazily, re-opened once
 * when a statement fails on a broken connection; a deadlock or serialization failure is run again
 * (bounded). Thread-safe: calls are serialized.
 */
public final class FencedWriter implements AutoCloseable {
  private static final int QUERY_TIMEOUT_SECONDS = 30;
  /** How often the lock is taken again when a row appears between the lock and the read. */
  private static final int MAX_LOCK_ATTEMPTS = 3;
  private static final DateTimeFormatter MARIADB_DATETIME = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss.SSSSSS");
  private static final DateTimeFormatter MARIADB_TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSSSSS");

  /** What became of a repair. */
  public enum Status { APPLIED, STALE }

  /**
   * The outcome of one fenced write.
   *
   * @param status {@link Status#APPLIED}: the row now equals the desired row; {@link Status#STALE}:
   *     the target no longer held the judged image, nothing was written
   * @param before APPLIED: the target's faithful row ({@link RowReader.Rows#faithful}) before the
   *     write (empty = it was absent); STALE: the target's current faithful row
   * @param after  APPLIED: the target row as written, read inside the write's transaction while it
   *     still held the lock (so no later write can be mistaken for it); empty after a delete or when STALE
   */
  public record Outcome(Status status, Optional<CanonicalRow> before, Optional<RowReader.Rows> after) {
    public Outcome {
      Objects.requireNonNull(status, "status");
      Objects.requireNonNull(before, "before");
      Objects.requireNonNull(after, "after");
    }

    public static Outcome applied(Optional<CanonicalRow> before, Optional<RowReader.Rows> after) {
      return new Outcome(Status.APPLIED, before, after);
    }

    public static Outcome stale(Optional<CanonicalRow> current) {
      return new Outcome(Status.STALE, current, Optional.empty());
    }

    public boolean applied() {
      return status == Status.APPLIED;
    }

    public boolean stale() {
      return status == Status.STALE;
    }
  }

  private final VerifierConfig config;
  private final Canonicalizer canonicalizer;
  private final RowReader reader;
  private final DatabaseSettings db;
  /** When set, each repair borrows a connection (HikariCP: broken ones are evicted by the pool). */
  private final DataSource pool;
  private final boolean ownsReader;
  private Connection connection;

  public FencedWriter(VerifierConfig config, Canonicalizer canonicalizer) {
    this(config, canonicalizer, new RowReader(config, canonicalizer), null, true);
  }

  /**
   * A writer whose transactions run on connections of {@code pool} (auto-commit off, session in
   * UTC: {@link Jdbc#pool}) and whose image reads go through {@code reader} (not closed by this writer).
   */
  public FencedWriter(VerifierConfig config, Canonicalizer canonicalizer, RowReader reader, DataSource pool) {
    this(config, canonicalizer, reader, pool, false);
  }

  private FencedWriter(VerifierConfig config, Canonicalizer canonicalizer, RowReader reader, DataSource pool,
      boolean ownsReader) {
    this.config = config;
    this.canonicalizer = canonicalizer;
    this.reader = reader;
    this.db = config.database(Side.TARGET);
    this.pool = pool;
    this.ownsReader = ownsReader;
  }

  /**
   * Applies one repair to the target, fenced by the judged image.
   *
   * @param canonicalKey logical key column to value (canonical, or loose as for {@link RowReader})
   * @param judgedTarget the target row the repair was decided on; empty = it was absent
   * @param desired      what the target row must become; empty = no row
   * @throws IllegalArgumentException unknown table, wrong key columns, a key value that is not of
   *     its column's type, or a desired value that cannot be converted to its column's type
   * @throws SQLException the target is unreachable or a statement failed (the transaction is rolled back)
   */
  public synchronized Outcome apply(String table, Map<String, String> canonicalKey,
      Optional<CanonicalRow> judgedTarget, Optional<CanonicalRow> desired) throws SQLException {
    return apply(table, canonicalKey, judgedTarget, desired, BeforeCommit.NONE);
  }

  /** As {@link #apply(String, Map, Optional, Optional)}, with {@code beforeCommit} run before an applied write commits. */
  public synchronized Outcome apply(String table, Map<String, String> canonicalKey,
      Optional<CanonicalRow> judgedTarget, Optional<CanonicalRow> desired, BeforeCommit beforeCommit)
      throws SQLException {
    Objects.requireNonNull(judgedTarget, "judgedTarget");
    Objects.requireNonNull(desired, "desired");
    TableConfig t = config.table(table).orElseThrow(() -> new IllegalArgumentException("unknown table \"" + table
        + "\"; configured: " + config.tables().stream().map(TableConfig::name).toList()));
    canonicalizer.table(Side.TARGET, table).orElseThrow(
        () -> new IllegalArgumentException("table \"" + table + "\" has no canonicalizer for the target"));
    CanonicalKey key = reader.canonicalKey(Side.TARGET, table, canonicalKey);
    Map<String, ColumnType> types = reader.columnTypes(Side.TARGET, table);
    for (int attempt = 0; ; attempt++) {
      Connection c = connection();
      try {
        Optional<Outcome> o = attempt(c, t, key, types, judgedTarget, desired, attempt + 1 >= MAX_LOCK_ATTEMPTS,
            beforeCommit);
        if (o.isPresent()) {
          return o.get();
        }
        // the row appeared between the lock and the read: lock again
      } catch (SQLException e) {
        rollbackQuietly(c);
        if (conflict(e) && attempt + 1 < MAX_LOCK_ATTEMPTS) {
          continue; // deadlock / serialization failure (two repairs inserting into one gap): nothing was written
        }
        boolean broken = brokenConnection(c, e);
        if (broken) {
          closeQuietly();
        }
        if (!broken || attempt > 0) {
          throw e;
        }
      } catch (RuntimeException e) {
        rollbackQuietly(c);
        throw e;
      } finally {
        release();
      }
    }
  }

  /**
   * Runs after the writes of a transaction, with their outcomes, while the rows are still locked
   * and before the commit: the repair role records its repair log here, so that no repair is ever
   * committed without its log entry being durable first (a crash right after the commit would
   * otherwise leave an applied repair that nothing can undo). When it throws, the transaction is
   * rolled back and nothing was written.
   */
  @FunctionalInterface
  public interface BeforeCommit {
    BeforeCommit NONE = outcomes -> { };

    void run(List<Outcome> outcomes);
  }

  /** One repair of a batch: the arguments of {@link #apply}. */
  public record Item(String table, Map<String, String> key, Optional<CanonicalRow> judgedTarget,
      Optional<CanonicalRow> desired) {}

  /**
   * Applies several repairs in ONE transaction: each target row is locked and checked against its
   * judged image exactly as {@link #apply} does; the rows that still hold their judged image are
   * written, the others are left alone and reported {@link Status#STALE}; then one commit. The
   * commit is what a single repair mostly waits for, so this is the batching the fence allows.
   *
   * <p>When any statement fails (a constraint violation, a row inserted by someone else, a
   * deadlock), the whole transaction is rolled back and NOTHING of the batch was written: the
   * caller applies the items one by one to find the one that fails.
   *
   * @return one outcome per item, in order
   * @throws SQLException the batch failed and was rolled back
   */
  public synchronized List<Outcome> applyBatch(List<Item> items) throws SQLException {
    return applyBatch(items, BeforeCommit.NONE);
  }

  /** As {@link #applyBatch(List)}, with {@code beforeCommit} run on all outcomes before the one commit. */
  public synchronized List<Outcome> applyBatch(List<Item> items, BeforeCommit beforeCommit) throws SQLException {
    if (items.isEmpty()) {
      return List.of();
    }
    List<Prepared> prepared = new ArrayList<>(items.size());
    for (Item it : items) {
      Objects.requireNonNull(it.judgedTarget(), "judgedTarget");
      Objects.requireNonNull(it.desired(), "desired");
      TableConfig t = config.table(it.table()).orElseThrow(() -> new IllegalArgumentException("unknown table \""
          + it.table() + "\""));
      prepared.add(new Prepared(t, reader.canonicalKey(Side.TARGET, it.table(), it.key()),
          reader.columnTypes(Side.TARGET, it.table())));
    }
    Connection c = connection();
    try {
      List<Outcome> out = new ArrayList<>(items.size());
      for (int i = 0; i < items.size(); i++) {
        Item it = items.get(i);
        Prepared p = prepared.get(i);
        out.add(attempt(c, p.table(), p.key(), p.types(), it.judgedTarget(), it.desired(), true, null).orElseThrow());
      }
      beforeCommit.run(out);
      c.commit();
      return out;
    } catch (SQLException | RuntimeException e) {
      rollbackQuietly(c);
      if (e instanceof SQLException s && brokenConnection(c, s)) {
        closeQuietly();
      }
      throw e;
    } finally {
      release();
    }
  }

  private record Prepared(TableConfig table, CanonicalKey key, Map<String, ColumnType> types) {}

  /** Pooled: hands the connection back after every repair; otherwise it is kept. */
  private void release() {
    if (pool != null) {
      closeQuietly();
    }
  }

  /** One locked attempt; empty when the row appeared after the lock and the lock must be taken again. */
  private Optional<Outcome> attempt(Connection c, TableConfig t, CanonicalKey key, Map<String, ColumnType> types,
      Optional<CanonicalRow> judged, Optional<CanonicalRow> desired, boolean last, BeforeCommit single)
      throws SQLException {
    // single == null: one item of a batch, nothing committed or rolled back here
    boolean batch = single == null;
    Dialect dialect = db.dialect();
    String quotedTable = dialect.quote(t.physicalTable(Side.TARGET));
    List<String> keyPhysical = new ArrayList<>();
    for (String col : t.key()) {
      keyPhysical.add(keyPhysicalName(t, col, types));
    }
    String where = whereClause(dialect, keyPhysical);

    int locked;
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM " + quotedTable + where + " FOR UPDATE")) {
      ps.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
      bindKey(ps, 1, t, key, keyPhysical, types);
      locked = 0;
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          locked++;
        }
      }
    }
    // The fence compares faithful images: a change that the rules would not even see is still a
    // change someone made after the judgement, and it is not ours to overwrite.
    Optional<CanonicalRow> current = reader.readRows(Side.TARGET, t.name(), key.key()).map(RowReader.Rows::faithful);
    if (current.isPresent() && locked == 0) {
      // inserted by someone else after our lock: we do not hold it
      if (!batch) {
        c.rollback();
      }
      return last ? Optional.of(Outcome.stale(current)) : Optional.empty();
    }
    if (!current.equals(judged)) {
      if (!batch) {
        c.rollback(); // nothing of this repair was written; in a batch, the others' writes stay
      }
      return Optional.of(Outcome.stale(current));
    }
    if (desired.isEmpty()) {
      if (current.isPresent()) {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + quotedTable + where)) {
          ps.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
          bindKey(ps, 1, t, key, keyPhysical, types);
          int n = ps.executeUpdate();
          if (n > 1) {
            throw new SQLException("repair of " + key + " would delete " + n + " rows of target table "
                + t.physicalTable(Side.TARGET) + "; rolled back");
          }
        }
      }
    } else {
      Map<String, String> values = targetValues(t, desired.get(), types);
      Set<String> keySet = new HashSet<>(keyPhysical);
      if (current.isPresent()) {
        List<String> cols = new ArrayList<>();
        for (String p : values.keySet()) {
          if (!keySet.contains(p)) {
            cols.add(p);
          }
        }
        if (!cols.isEmpty()) {
          StringBuilder sql = new StringBuilder("UPDATE ").append(quotedTable).append(" SET ");
          for (int i = 0; i < cols.size(); i++) {
            if (i > 0) {
              sql.append(", ");
            }
            sql.append(dialect.quote(cols.get(i))).append(" = ").append(placeholder(dialect, types.get(cols.get(i))));
          }
          sql.append(where);
          try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            ps.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
            int i = 1;
            for (String p : cols) {
              bindValue(ps, i++, dialect, db.timeZone(), types.get(p), values.get(p), p);
            }
            bindKey(ps, i, t, key, keyPhysical, types);
            int n = ps.executeUpdate();
            if (n > 1) {
              throw new SQLException("repair of " + key + " would update " + n + " rows of target table "
                  + t.physicalTable(Side.TARGET) + "; rolled back");
            }
          }
        }
      } else {
        // the key comes from the key (the target's canonical form), the rest from the desired row
        Map<String, String> row = new LinkedHashMap<>();
        for (int i = 0; i < t.key().size(); i++) {
          row.put(keyPhysical.get(i), key.key().get(t.key().get(i)));
        }
        values.forEach((p, v) -> {
          if (!keySet.contains(p)) {
            row.put(p, v);
          }
        });
        StringBuilder sql = new StringBuilder("INSERT INTO ").append(quotedTable).append(" (");
        StringBuilder marks = new StringBuilder();
        int i = 0;
        for (String p : row.keySet()) {
          if (i++ > 0) {
            sql.append(", ");
            marks.append(", ");
          }
          sql.append(dialect.quote(p));
          marks.append(placeholder(dialect, types.get(p)));
        }
        sql.append(") VALUES (").append(marks).append(')');
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
          ps.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
          int j = 1;
          for (Map.Entry<String, String> e : row.entrySet()) {
            bindValue(ps, j++, dialect, db.timeZone(), types.get(e.getKey()), e.getValue(), e.getKey());
          }
          ps.executeUpdate();
        } catch (SQLException e) {
          if (duplicateKey(e) && !batch) {
            // someone inserted the row after our read: newer data, never overwritten
            c.rollback();
            return Optional.of(Outcome.stale(reader.readRows(Side.TARGET, t.name(), key.key())
                .map(RowReader.Rows::faithful)));
          }
          throw e;
        }
      }
    }
    Optional<RowReader.Rows> after = desired.isEmpty() ? Optional.empty()
        : reader.readRowsOn(c, Side.TARGET, t.name(), key.key());
    Outcome applied = Outcome.applied(current, after);
    if (!batch) {
      single.run(List.of(applied));
      c.commit();
    }
    return Optional.of(applied);
  }

  @Override
  public synchronized void close() {
    closeQuietly();
    if (ownsReader) {
      reader.close();
    }
  }

  // ---- columns ---------------------------------------------------------------------------------

  private static String keyPhysicalName(TableConfig t, String logical, Map<String, ColumnType> types) {
    Optional<ColumnRule> rule = t.column(logical);
    String p = rule.isEmpty() ? logical : rule.get().ignore() ? null : rule.get().targetName();
    if (p == null || !types.containsKey(p)) {
      throw new IllegalArgumentException("key column \"" + logical + "\" has no column in target table "
          + t.physicalTable(Side.TARGET));
    }
    return p;
  }

  /**
   * The desired row's values by target physical name: columns with a target name, not ignored
   * (nor on a physical name that an ignore rule claims), and present in the target table.
   */
  static Map<String, String> targetValues(TableConfig t, CanonicalRow desired, Map<String, ColumnType> types) {
    Set<String> ignoredPhysical = new HashSet<>();
    for (ColumnRule r : t.columns()) {
      if (r.ignore() && r.targetName() != null) {
        ignoredPhysical.add(r.targetName());
      }
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : desired.values().entrySet()) {
      Optional<ColumnRule> rule = t.column(e.getKey());
      String p;
      if (rule.isPresent()) {
        if (rule.get().ignore()) {
          continue;
        }
        p = rule.get().targetName();
      } else {
        p = e.getKey();
      }
      if (p == null || ignoredPhysical.contains(p) || !types.containsKey(p)) {
        continue;
      }
      out.put(p, e.getValue());
    }
    return out;
  }

  private static String whereClause(Dialect dialect, List<String> keyPhysical) {
    StringBuilder sb = new StringBuilder(" WHERE ");
    for (int i = 0; i < keyPhysical.size(); i++) {
      if (i > 0) {
        sb.append(" AND ");
      }
      sb.append(dialect.quote(keyPhysical.get(i))).append(" = ?");
    }
    return sb.toString();
  }

  private void bindKey(PreparedStatement ps, int first, TableConfig t, CanonicalKey key, List<String> keyPhysical,
      Map<String, ColumnType> types) throws SQLException {
    int i = first;
    for (int k = 0; k < t.key().size(); k++) {
      String p = keyPhysical.get(k);
      String v = key.key().get(t.key().get(k));
      if (v == null) {
        throw new IllegalArgumentException("key column \"" + t.key().get(k) + "\" has no value");
      }
      bindValue(ps, i++, db.dialect(), db.timeZone(), types.get(p), v, p);
    }
  }

  // ---- values ------------------------------------------------------------------------------------

  /** How a canonical value is handed to a target column. */
  enum Kind { INT, DECIMAL, FLOAT, BOOL, BYTES, DATE, TIME, TIMETZ, TIMESTAMP_LOCAL, TIMESTAMP_ZONED, JSON, UUID,
    PG_OTHER, TEXT }

  static Kind kind(Dialect dialect, ColumnType ct) {
    if (ct == null) {
      return Kind.TEXT;
    }
    String db = ct.dbType() == null ? "" : ct.dbType().toUpperCase(Locale.ROOT);
    String base = db.replace(" UNSIGNED", "").replace(" ZEROFILL", "");
    String sem = ct.semanticName() == null ? "" : ct.semanticName();
    if ("boolean".equals(ct.connectType())) {
      return Kind.BOOL;
    }
    switch (sem) {
      case "io.debezium.time.IsoTimestamp" -> {
        return Kind.TIMESTAMP_LOCAL;
      }
      case "io.debezium.time.ZonedTimestamp" -> {
        return Kind.TIMESTAMP_ZONED;
      }
      case "io.debezium.time.IsoDate" -> {
        return Kind.DATE;
      }
      case "io.debezium.time.IsoTime" -> {
        return Kind.TIME;
      }
      case "io.debezium.time.ZonedTime" -> {
        return Kind.TIMETZ;
      }
      case "io.debezium.data.Json" -> {
        return Kind.JSON;
      }
      default -> { }
    }
    return switch (base) {
      case "INT2", "INT4", "INT8", "OID", "SMALLINT", "INT", "INTEGER", "BIGINT", "MEDIUMINT", "TINYINT", "YEAR" ->
          Kind.INT;
      case "NUMERIC", "DECIMAL", "DEC", "FIXED" -> Kind.DECIMAL;
      case "FLOAT4", "FLOAT8", "FLOAT", "DOUBLE", "REAL" -> Kind.FLOAT;
      case "BYTEA", "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB" -> Kind.BYTES;
      case "JSON", "JSONB" -> Kind.JSON;
      case "UUID" -> dialect == Dialect.POSTGRES ? Kind.UUID : Kind.TEXT;
      case "BIT" -> dialect == Dialect.POSTGRES ? Kind.PG_OTHER : Kind.BYTES;
      case "TEXT", "VARCHAR", "BPCHAR", "NAME", "CHAR" -> Kind.TEXT;
      default -> dialect == Dialect.POSTGRES ? Kind.PG_OTHER : Kind.TEXT;
    };
  }

  /** The SQL text of a value's parameter: PostgreSQL JSON / JSONB through a cast. */
  static String placeholder(Dialect dialect, ColumnType ct) {
    if (dialect == Dialect.POSTGRES && kind(dialect, ct) == Kind.JSON) {
      String db = ct.dbType() == null ? "JSON" : ct.dbType().toUpperCase(Locale.ROOT);
      return "CAST(? AS " + (db.equals("JSONB") ? "jsonb" : "json") + ")";
    }
    return "?";
  }

  /** Binds a canonical value (null = SQL NULL) as the column's SQL type. */
  public static void bindValue(PreparedStatement ps, int i, Dialect dialect, ZoneId zone, ColumnType ct, String v,
      String column) throws SQLException {
    Kind kind = kind(dialect, ct);
    boolean pg = dialect == Dialect.POSTGRES;
    if (v == null) {
      ps.setNull(i, switch (kind) {
        case INT -> Types.BIGINT;
        case DECIMAL -> Types.NUMERIC;
        case FLOAT -> Types.DOUBLE;
        case BOOL -> pg ? Types.OTHER : Types.INTEGER;
        case BYTES -> pg ? Types.BINARY : Types.VARBINARY;
        case DATE -> Types.DATE;
        case TIME -> Types.TIME;
        case TIMESTAMP_LOCAL -> Types.TIMESTAMP;
        case TIMESTAMP_ZONED -> pg ? Types.TIMESTAMP_WITH_TIMEZONE : Types.TIMESTAMP;
        case JSON, TEXT -> Types.VARCHAR;
        case TIMETZ, UUID, PG_OTHER -> Types.OTHER;
      });
      return;
    }
    try {
      switch (kind) {
        case INT -> {
          if ("true".equals(v) || "false".equals(v)) {
            ps.setInt(i, "true".equals(v) ? 1 : 0); // an integer column compared as boolean by rule
            return;
          }
          BigInteger b = new BigDecimal(v.trim()).toBigIntegerExact();
          if (b.bitLength() < 64) {
            ps.setLong(i, b.longValue());
          } else {
            ps.setBigDecimal(i, new BigDecimal(b));
          }
        }
        case DECIMAL -> {
          BigDecimal d;
          try {
            d = new BigDecimal(v.trim());
          } catch (NumberFormatException e) {
            // NaN and +-Infinity (PostgreSQL numeric): let the server read them
            if (pg && v.trim().matches("(?i)nan|[+-]?infinity")) {
              ps.setObject(i, v, Types.OTHER);
              return;
            }
            throw e;
          }
          ps.setBigDecimal(i, d);
        }
        case FLOAT -> ps.setDouble(i, Double.parseDouble(v.trim()));
        case BOOL -> {
          boolean b = switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "t", "1", "yes", "y", "on" -> true;
            case "false", "f", "0", "no", "n", "off" -> false;
            default -> throw new IllegalArgumentException("not a boolean");
          };
          String db = ct.dbType() == null ? "" : ct.dbType().toUpperCase(Locale.ROOT);
          if (pg && db.equals("BIT")) {
            ps.setObject(i, b ? "1" : "0", Types.OTHER);
          } else if (pg) {
            ps.setBoolean(i, b);
          } else {
            ps.setInt(i, b ? 1 : 0);
          }
        }
        case BYTES -> {
          String h = v.trim();
          if (h.startsWith("\\x") || h.startsWith("\\X")) {
            h = h.substring(2);
          }
          ps.setBytes(i, Values.hexToBytes(h));
        }
        case DATE -> {
          LocalDate d = parseOrText(() -> LocalDate.parse(v.trim()));
          if (d == null) {
            text(ps, i, pg, v);
          } else if (pg) {
            ps.setObject(i, d);
          } else {
            ps.setString(i, d.toString());
          }
        }
        case TIME -> {
          LocalTime t = parseOrText(() -> LocalTime.parse(v.trim()));
          if (t == null) {
            text(ps, i, pg, v);
          } else if (pg) {
            ps.setObject(i, t);
          } else {
            ps.setString(i, MARIADB_TIME.format(t));
          }
        }
        case TIMETZ -> {
          // canonical text of a time with zone is its UTC time of day
          LocalTime t = parseOrText(() -> LocalTime.parse(v.trim()));
          if (t == null) {
            text(ps, i, pg, v);
          } else {
            ps.setObject(i, OffsetTime.of(t, ZoneOffset.UTC));
          }
        }
        case TIMESTAMP_LOCAL, TIMESTAMP_ZONED -> {
          Instant instant = parseOrText(() -> OffsetDateTime.parse(v.trim()).toInstant());
          if (instant == null) {
            text(ps, i, pg, v); // 'infinity'
          } else if (pg) {
            if (kind == Kind.TIMESTAMP_ZONED) {
              ps.setObject(i, instant.atOffset(ZoneOffset.UTC));
            } else {
              ps.setObject(i, LocalDateTime.ofInstant(instant, zone));
            }
          } else {
            LocalDateTime local = kind == Kind.TIMESTAMP_ZONED
                ? LocalDateTime.ofInstant(instant, ZoneOffset.UTC) // the session runs in UTC
                : LocalDateTime.ofInstant(instant, zone);
            ps.setString(i, MARIADB_DATETIME.format(local));
          }
        }
        case JSON -> ps.setString(i, v); // PostgreSQL: CAST(? AS json[b]) in the statement
        case UUID -> ps.setObject(i, UUID.fromString(v.trim()));
        case PG_OTHER -> ps.setObject(i, v, Types.OTHER);
        case TEXT -> ps.setString(i, v);
        default -> throw new IllegalStateException(kind.name());
      }
    } catch (NumberFormatException | ArithmeticException | DateTimeParseException e) {
      throw notOfType(column, v, ct, e);
    } catch (IllegalArgumentException e) {
      throw notOfType(column, v, ct, e);
    }
  }

  private static IllegalArgumentException notOfType(String column, String v, ColumnType ct, Exception cause) {
    String shown = v.length() <= 80 ? v : v.substring(0, 77) + "...";
    return new IllegalArgumentException("target column \"" + column + "\": \"" + shown
        + "\" is not a value of its type " + (ct == null ? "?" : ct.dbType()), cause);
  }

  private interface Parse<T> {
    T get();
  }

  private static <T> T parseOrText(Parse<T> p) {
    try {
      return p.get();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** A value the server reads itself (PostgreSQL: as the column's type). */
  private static void text(PreparedStatement ps, int i, boolean pg, String v) throws SQLException {
    if (pg) {
      ps.setObject(i, v, Types.OTHER);
    } else {
      ps.setString(i, v);
    }
  }


  // ---- connection ----------------------------------------------------------------------------------

  private Connection connection() throws SQLException {
    if (connection == null && pool != null) {
      Connection c = pool.getConnection();
      if (c.getAutoCommit()) {
        c.setAutoCommit(false);
      }
      connection = c;
    }
    if (connection == null) {
      Connection c = Jdbc.connect(db);
      try {
        try (Statement s = c.createStatement()) {
          if (db.dialect() == Dialect.MARIADB) {
            s.execute("SET time_zone = '+00:00'");
          } else {
            s.execute("SET TIME ZONE 'UTC'");
          }
        }
        c.setAutoCommit(false);
      } catch (SQLException e) {
        try {
          c.close();
        } catch (SQLException ignored) {
          // already failing
        }
        throw e;
      }
      connection = c;
    }
    return connection;
  }

  private static boolean duplicateKey(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s) {
        String state = s.getSQLState();
        if ("23505".equals(state) || ("23000".equals(state) && s.getErrorCode() == 1062)) {
          return true;
        }
      }
    }
    return false;
  }

  /** A deadlock or serialization failure: the transaction was rolled back and may simply be run again. */
  private static boolean conflict(SQLException e) {
    String state = e.getSQLState();
    return "40001".equals(state) || "40P01".equals(state) || e.getErrorCode() == 1213;
  }

  private static void rollbackQuietly(Connection c) {
    try {
      if (!c.getAutoCommit()) {
        c.rollback();
      }
    } catch (SQLException ignored) {
      // the connection is failing; closing it rolls back
    }
  }

  private static boolean brokenConnection(Connection c, SQLException e) {
    if (e instanceof SQLNonTransientConnectionException || e instanceof SQLTransientConnectionException
        || e instanceof SQLRecoverableException) {
      return true;
    }
    String state = e.getSQLState();
    if (state != null && state.startsWith("08")) {
      return true;
    }
    try {
      return !c.isValid(2);
    } catch (SQLException ex) {
      return true;
    }
  }

  private void closeQuietly() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // closing a broken connection
      }
      connection = null;
    }
  }
}
