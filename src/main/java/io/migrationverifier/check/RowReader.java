package io.migrationverifier.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.CanonicalizationException;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.canonical.TableCanonicalizer;
import io.migrationverifier.canonical.Values;
import io.migrationverifier.capture.Jdbc;
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
import java.sql.ResultSetMetaData;
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
import java.util.Base64;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Reads the CURRENT row of one key from one side over JDBC and canonicalizes it exactly as the
 * capture canonicalizes Debezium's event for that row: each JDBC value is converted into the
 * shape Debezium emits with the product's settings ({@code decimal.handling.mode=string},
 * {@code time.precision.mode=isostring}, {@code binary.handling.mode=base64}, MariaDB
 * {@code TinyIntOneToBooleanConverter} and {@code bigint.unsigned.handling.mode=precise}, read
 * back from JSON by Jackson), and each column gets the {@link ColumnType} Debezium's schema would
 * carry ({@code column.propagate.source.type}). The canonical row then comes from the same
 * {@link TableCanonicalizer#row} the capture uses, so rules, time zones and precision apply
 * identically: equal canonical text per column and equal {@link CanonicalRow#hash()}.
 *
 * <p>No value depends on the JVM's default time zone: PostgreSQL temporal values are read as
 * {@code java.time} objects, MariaDB ones as the server's text in a session pinned to UTC
 * ({@code SET time_zone = '+00:00'}).
 *
 * <p>One connection per side, opened lazily, re-opened once when a statement fails on a broken
 * connection. Column metadata is read once per table and side and cached (re-read when the
 * table's columns change). Thread-safe: calls on one side are serialized.
 */
public final class RowReader implements AutoCloseable {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final DateTimeFormatter ZONED_MICROS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'");
  private static final DateTimeFormatter MARIADB_DATETIME = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss.SSSSSS");
  private static final int QUERY_TIMEOUT_SECONDS = 30;

  private final VerifierConfig config;
  private final Canonicalizer canonicalizer;
  private final Map<Side, SideState> sides = new EnumMap<>(Side.class);
  private Canonicalizer faithful;

  public RowReader(VerifierConfig config, Canonicalizer canonicalizer) {
    this.config = config;
    this.canonicalizer = canonicalizer;
    for (Side s : Side.values()) {
      sides.put(s, new SideState(config.database(s)));
    }
  }

  /**
   * One row as read: the physical image in Debezium's value shapes (physical column names; SQL
   * NULL as null), the column types, and the canonical row.
   */
  public record Image(Map<String, Object> physical, Map<String, ColumnType> types, CanonicalRow row) {}

  /**
   * One row canonicalized twice: {@code compared} with the table's rules (what the stream
   * compares, and equal to capture's canonical row), {@code faithful} without the normalizing
   * rules ({@link Canonicalizer#faithful}: the values as stored), for writing back and undoing.
   */
  public record Rows(CanonicalRow compared, CanonicalRow faithful) {}

  /** Both canonical forms of the row of {@code key} now; empty when there is none. */
  public Optional<Rows> readRows(Side side, String table, Map<String, String> key) throws SQLException {
    return readImage(side, table, key).map(img -> rows(side, table, img));
  }

  /**
   * As {@link #readRows}, but on the caller's connection, inside its transaction: it sees the
   * caller's own uncommitted writes (the repair reads what it wrote while it still holds the row
   * lock). The connection's session must run in UTC, as this reader's own do.
   */
  public Optional<Rows> readRowsOn(Connection c, Side side, String table, Map<String, String> key)
      throws SQLException {
    TableCanonicalizer tc = tableCanonicalizer(side, table);
    SideState st = sides.get(side);
    TableMeta meta = st.call(own -> st.meta(own, tc.table().physicalTable(side)));
    CanonicalKey wanted = normalize(tc, meta, key);
    return query(c, st.db, tc, meta, wanted).map(img -> rows(side, table, img));
  }

  private Rows rows(Side side, String table, Image img) {
    synchronized (this) {
      if (faithful == null) {
        faithful = Canonicalizer.faithful(config);
      }
    }
    return new Rows(img.row(), faithful.table(side, table).orElseThrow().row(img.physical(), img.types()));
  }

  /** The canonical row of {@code key} in {@code table} on {@code side} now; empty when there is none. */
  public Optional<CanonicalRow> read(Side side, String table, Map<String, String> key) throws SQLException {
    return readImage(side, table, key).map(Image::row);
  }

  /**
   * Like {@link #read} but with the physical image and types as well (repair needs them).
   *
   * @throws IllegalArgumentException unknown table, key columns that are not the table's configured
   *     key, or a key value that is not a value of its column's type
   * @throws SQLException the database is unreachable or the query failed
   */
  public Optional<Image> readImage(Side side, String table, Map<String, String> key) throws SQLException {
    TableCanonicalizer tc = tableCanonicalizer(side, table);
    SideState st = sides.get(side);
    return st.call(c -> {
      TableMeta meta = st.meta(c, tc.table().physicalTable(side));
      CanonicalKey wanted = normalize(tc, meta, key);
      Optional<Image> found = query(c, st.db, tc, meta, wanted);
      if (meta.stale) {
        // the table changed under us (a column added or dropped): read the metadata again, once
        meta = st.reloadMeta(c, tc.table().physicalTable(side));
        found = query(c, st.db, tc, meta, wanted);
      }
      return found;
    });
  }

  /**
   * The canonical form of a key as given by a user ({@code "042"} for a BIGINT key becomes
   * {@code "42"}), canonicalized by {@code side}'s rules and column types.
   */
  public CanonicalKey canonicalKey(Side side, String table, Map<String, String> key) throws SQLException {
    TableCanonicalizer tc = tableCanonicalizer(side, table);
    SideState st = sides.get(side);
    return st.call(c -> normalize(tc, st.meta(c, tc.table().physicalTable(side)), key));
  }

  /** The column types of {@code table} on {@code side} as Debezium's schema would report them, by physical name. */
  public Map<String, ColumnType> columnTypes(Side side, String table) throws SQLException {
    TableCanonicalizer tc = tableCanonicalizer(side, table);
    SideState st = sides.get(side);
    return st.call(c -> {
      Map<String, ColumnType> out = new LinkedHashMap<>();
      st.meta(c, tc.table().physicalTable(side)).columns.forEach((n, m) -> out.put(n, m.type));
      return out;
    });
  }

  // ---- streaming (the audit) -----------------------------------------------------------------

  /**
   * A condition on one (non-key) column for {@link #scan}: {@code from <= column < to} (a null
   * bound is open), or {@code column IS NULL} when {@code nulls}. Bounds are canonical text (a
   * timestamp is a UTC instant, {@code 2024-05-01T10:00:00Z}), bound with the column's type on
   * each side.
   */
  public record ColumnFilter(String column, String from, String to, boolean nulls) {
    /** The SQL condition on the (quoted) column; its bounds, when any, are bound in from, to order. */
    public String condition(String quotedColumn) {
      if (nulls) {
        return quotedColumn + " IS NULL";
      }
      List<String> parts = new ArrayList<>();
      if (from != null) {
        parts.add(quotedColumn + " >= ?");
      }
      if (to != null) {
        parts.add(quotedColumn + " < ?");
      }
      return parts.isEmpty() ? quotedColumn + " IS NOT NULL" : String.join(" AND ", parts);
    }
  }

  /**
   * Streams the rows of {@code range} (and {@code filter}, when given) on {@code side} in key order
   * ({@link io.migrationverifier.audit.KeyRange#orderExpression}: text keys by code point), each
   * canonicalized exactly like {@link #read}. With {@code keysOnly} only the key columns are read
   * (the rows then hold only them). Returns the number of rows.
   *
   * <p>Holds the side's connection for the whole scan; on PostgreSQL the scan runs in a transaction
   * (rolled back after) because only then does the driver fetch {@code fetchSize} rows at a time
   * instead of all of them. A scan that fails after it has passed rows on is not retried.
   */
  public long scan(Side side, String table, io.migrationverifier.audit.KeyRange range, ColumnFilter filter,
      boolean keysOnly, int fetchSize, java.util.function.Consumer<CanonicalRow> sink) throws SQLException {
    TableCanonicalizer tc = tableCanonicalizer(side, table);
    SideState st = sides.get(side);
    try {
      return st.call(c -> scan(c, st, tc, range, filter, keysOnly, fetchSize, sink));
    } catch (ScanBroken e) {
      throw e.cause;
    }
  }

  /**
   * A scan that failed after it had passed rows on: not retried on a fresh connection (the sink
   * would see those rows twice).
   */
  private static final class ScanBroken extends RuntimeException {
    final SQLException cause;

    ScanBroken(SQLException cause) {
      super(cause);
      this.cause = cause;
    }
  }

  private static long scan(Connection c, SideState st, TableCanonicalizer tc,
      io.migrationverifier.audit.KeyRange range, ColumnFilter filter, boolean keysOnly, int fetchSize,
      java.util.function.Consumer<CanonicalRow> sink) throws SQLException {
    Side side = tc.side();
    TableMeta meta = st.meta(c, tc.table().physicalTable(side));
    Dialect dialect = st.db.dialect();
    KeySql k = keySql(tc, meta, dialect);
    StringBuilder sql = new StringBuilder("SELECT ");
    sql.append(keysOnly ? String.join(", ", k.physical.stream().map(dialect::quote).toList()) : "*");
    sql.append(" FROM ").append(meta.quoted);
    String where = range.where(k.expressions);
    sql.append(where);
    ColumnMeta fm = null;
    if (filter != null) {
      fm = filterColumn(tc, meta, filter.column());
      sql.append(where.isEmpty() ? " WHERE " : " AND ").append(filter.condition(dialect.quote(fm.name)));
    }
    sql.append(" ORDER BY ").append(String.join(", ", k.expressions));
    boolean pg = dialect == Dialect.POSTGRES;
    long[] n = {0};
    boolean failed = true;
    if (pg) {
      c.setAutoCommit(false);
    }
    try (PreparedStatement ps = c.prepareStatement(sql.toString(), ResultSet.TYPE_FORWARD_ONLY,
        ResultSet.CONCUR_READ_ONLY)) {
      ps.setFetchSize(fetchSize);
      int i = range.bind(ps, 1, st.db, k.physical, k.types);
      if (filter != null && !filter.nulls()) {
        for (String bound : new String[] {filter.from(), filter.to()}) {
          if (bound != null) {
            io.migrationverifier.repair.FencedWriter.bindValue(ps, i++, dialect, st.db.timeZone(), fm.type, bound,
                fm.name);
          }
        }
      }
      try (ResultSet rs = ps.executeQuery()) {
        stream(rs, meta, dialect, tc, keysOnly, sink, n);
      }
      failed = false;
      return n[0];
    } catch (SQLException e) {
      if (n[0] > 0) {
        throw new ScanBroken(e);
      }
      throw e;
    } finally {
      if (pg) {
        try {
          c.rollback();
          c.setAutoCommit(true);
        } catch (SQLException e) {
          if (!failed) {
            throw e;
          } // else: the connection is what failed; the scan's own error is the one to report
        }
      }
      if (meta.stale && !failed) {
        st.reloadMeta(c, tc.table().physicalTable(side));
      }
    }
  }

  /** Passes each row of {@code rs} on, canonicalized; counts them in {@code n[0]} as it goes. */
  private static void stream(ResultSet rs, TableMeta meta, Dialect dialect, TableCanonicalizer tc,
      boolean keysOnly, java.util.function.Consumer<CanonicalRow> sink, long[] n) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    int cols = md.getColumnCount();
    String[] names = new String[cols];
    ColumnMeta[] metas = new ColumnMeta[cols];
    for (int j = 0; j < cols; j++) {
      names[j] = md.getColumnLabel(j + 1);
      metas[j] = meta.columns.get(names[j]);
      if (metas[j] == null) {
        meta.stale = true; // read again after this scan
        metas[j] = ColumnMeta.of(names[j], dialect, md, j + 1);
      }
    }
    if (!keysOnly && cols != meta.columns.size()) {
      meta.stale = true;
    }
    while (rs.next()) {
      Map<String, Object> physical = new LinkedHashMap<>(cols * 2);
      Map<String, ColumnType> types = new HashMap<>(cols * 2);
      for (int j = 0; j < cols; j++) {
        physical.put(names[j], value(rs, j + 1, metas[j], dialect));
        types.put(names[j], metas[j].type);
      }
      sink.accept(tc.row(physical, types));
      n[0]++;
    }
  }

  /**
   * The key (canonical text per key column, in key order) of the row {@code offset} rows after the
   * start of {@code range} in key order (0 = its first row); empty when the range has fewer rows.
   */
  public Optional<List<String>> keyAt(Side side, String table, io.migrationverifier.audit.KeyRange range,
      long offset) throws SQLException {
    TableCanonicalizer tc = tableCanonicalizer(side, table);
    SideState st = sides.get(side);
    return st.call(c -> {
      TableMeta meta = st.meta(c, tc.table().physicalTable(side));
      Dialect dialect = st.db.dialect();
      KeySql k = keySql(tc, meta, dialect);
      String sql = "SELECT " + String.join(", ", k.physical.stream().map(dialect::quote).toList()) + " FROM "
          + meta.quoted + range.where(k.expressions) + " ORDER BY " + String.join(", ", k.expressions)
          + " LIMIT 1 OFFSET " + offset;
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        range.bind(ps, 1, st.db, k.physical, k.types);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Optional.<List<String>>empty();
          }
          Map<String, Object> physical = new LinkedHashMap<>();
          Map<String, ColumnType> types = new HashMap<>();
          for (int j = 0; j < k.physical.size(); j++) {
            ColumnMeta m = meta.columns.get(k.physical.get(j));
            physical.put(m.name, value(rs, j + 1, m, dialect));
            types.put(m.name, m.type);
          }
          CanonicalRow row = tc.row(physical, types);
          return Optional.of(tc.table().key().stream().map(row::get).toList());
        }
      }
    });
  }

  /** The number of rows of {@code table} on {@code side} (progress estimates). */
  public long count(Side side, String table) throws SQLException {
    TableCanonicalizer tc = tableCanonicalizer(side, table);
    SideState st = sides.get(side);
    return st.call(c -> {
      TableMeta meta = st.meta(c, tc.table().physicalTable(side));
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + meta.quoted)) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }

  /** The smallest and largest canonical value of a column on {@code side}; empty when it has no non-NULL value. */
  public Optional<List<String>> minMax(Side side, String table, String column) throws SQLException {
    TableCanonicalizer tc = tableCanonicalizer(side, table);
    SideState st = sides.get(side);
    return st.call(c -> {
      TableMeta meta = st.meta(c, tc.table().physicalTable(side));
      ColumnMeta m = filterColumn(tc, meta, column);
      String q = st.db.dialect().quote(m.name);
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT MIN(" + q + "), MAX(" + q + ") FROM " + meta.quoted)) {
        rs.next();
        Object lo = value(rs, 1, m, st.db.dialect());
        Object hi = value(rs, 2, m, st.db.dialect());
        if (lo == null || hi == null) {
          return Optional.<List<String>>empty();
        }
        CanonicalRow min = tc.row(Map.of(m.name, lo), Map.of(m.name, m.type));
        CanonicalRow max = tc.row(Map.of(m.name, hi), Map.of(m.name, m.type));
        String logical = min.values().firstKey();
        return Optional.of(List.of(min.get(logical), max.get(logical)));
      }
    });
  }

  /** The key columns of a table on one side: physical names, their types, their ORDER BY expressions. */
  private record KeySql(List<String> physical, Map<String, ColumnType> types, List<String> expressions) {}

  private static KeySql keySql(TableCanonicalizer tc, TableMeta meta, Dialect dialect) {
    TableConfig t = tc.table();
    List<String> physical = new ArrayList<>();
    Map<String, ColumnType> types = new HashMap<>();
    List<String> expressions = new ArrayList<>();
    for (String col : t.key()) {
      String p = physicalName(t, col, tc.side());
      ColumnMeta m = meta.columns.get(p);
      if (m == null) {
        throw new IllegalArgumentException("key column \"" + col + "\" (" + tc.side().id() + " column \"" + p
            + "\") does not exist in " + tc.side().id() + " table " + t.physicalTable(tc.side()));
      }
      physical.add(p);
      types.put(p, m.type);
      expressions.add(io.migrationverifier.audit.KeyRange.orderExpression(dialect, p, m.type));
    }
    return new KeySql(physical, types, expressions);
  }

  /** A logical column's metadata on one side, for a filter. */
  private static ColumnMeta filterColumn(TableCanonicalizer tc, TableMeta meta, String logical) {
    TableConfig t = tc.table();
    Optional<ColumnRule> rule = t.column(logical);
    String p = rule.isEmpty() ? logical : rule.get().physicalName(tc.side());
    ColumnMeta m = p == null ? null : meta.columns.get(p);
    if (m == null || rule.isPresent() && rule.get().ignore()) {
      throw new IllegalArgumentException("column \"" + logical + "\" is not a compared column of " + tc.side().id()
          + " table " + t.physicalTable(tc.side()) + " (columns: " + meta.columns.keySet() + ")");
    }
    return m;
  }

  @Override
  public void close() {
    for (SideState s : sides.values()) {
      synchronized (s) {
        s.closeQuietly();
      }
    }
  }

  // ---- validation and key normalization ------------------------------------------------------

  private TableCanonicalizer tableCanonicalizer(Side side, String table) {
    if (config.table(table).isEmpty()) {
      throw new IllegalArgumentException("unknown table \"" + table + "\"; configured: "
          + config.tables().stream().map(TableConfig::name).toList());
    }
    return canonicalizer.table(side, table).orElseThrow(
        () -> new IllegalArgumentException("table \"" + table + "\" has no canonicalizer for " + side.id()));
  }

  /** Checks that {@code key} names exactly the configured key columns and returns its canonical form on this side. */
  private static CanonicalKey normalize(TableCanonicalizer tc, TableMeta meta, Map<String, String> key) {
    TableConfig t = tc.table();
    checkKeyColumns(t, key);
    Side side = tc.side();
    Map<String, Object> physical = new LinkedHashMap<>();
    Map<String, ColumnType> types = new HashMap<>();
    for (String col : t.key()) {
      String p = physicalName(t, col, side);
      String v = key.get(col);
      if (v == null) {
        throw new IllegalArgumentException("key column \"" + col + "\" has no value");
      }
      ColumnMeta m = meta.columns.get(p);
      if (m == null) {
        throw new IllegalArgumentException("key column \"" + col + "\" (" + side.id() + " column \"" + p
            + "\") does not exist in " + side.id() + " table " + t.physicalTable(side));
      }
      physical.put(p, keyInput(v, m));
      types.put(p, keyType(m));
    }
    CanonicalRow r = tc.row(physical, types);
    TreeMap<String, String> out = new TreeMap<>();
    for (String col : t.key()) {
      out.put(col, r.get(col));
    }
    return new CanonicalKey(t.name(), out);
  }

  /**
   * A key's text in the shape the canonicalizer expects of Debezium: bytes are given in their
   * canonical hex ({@code cafe}, or {@code \\xcafe}) but Debezium sends base64, and "cafe" is
   * valid base64 too, so hex is turned into base64 first.
   */
  private static Object keyInput(String v, ColumnMeta m) {
    if (m.kind == Kind.BYTES) {
      String h = v.trim();
      if (h.startsWith("\\x") || h.startsWith("\\X")) {
        h = h.substring(2);
      }
      try {
        return Base64.getEncoder().encodeToString(Values.hexToBytes(h));
      } catch (IllegalArgumentException e) {
        return v; // not hex: canonicalized as Debezium's base64 text would be
      }
    }
    return v;
  }

  /**
   * The type under which a key's text is canonicalized. For a zone-less timestamp column it drops
   * the IsoTimestamp name: Debezium's values carry a 'Z' the database never stored (so the
   * canonicalizer reads them in the side's zone), but a key's canonical text is a real UTC instant,
   * and a text without offset ("2024-05-01 10:00:00") is still read in the side's zone.
   */
  private static ColumnType keyType(ColumnMeta m) {
    ColumnType t = m.type;
    return m.kind == Kind.TIMESTAMP_LOCAL
        ? new ColumnType(t.connectType(), null, t.dbType(), t.length(), t.scale())
        : t;
  }

  static void checkKeyColumns(TableConfig t, Map<String, String> key) {
    Set<String> given = new TreeSet<>(key.keySet());
    Set<String> expected = new TreeSet<>(t.key());
    if (!given.equals(expected)) {
      throw new IllegalArgumentException("table \"" + t.name() + "\" is keyed by " + expected + ", got " + given);
    }
  }

  private static String physicalName(TableConfig t, String logical, Side side) {
    Optional<ColumnRule> rule = t.column(logical);
    if (rule.isEmpty()) {
      return logical;
    }
    String p = rule.get().physicalName(side);
    if (p == null || rule.get().ignore()) {
      throw new IllegalArgumentException("key column \"" + logical + "\" has no " + side.id() + " column");
    }
    return p;
  }

  // ---- the query ------------------------------------------------------------------------------

  private static Optional<Image> query(Connection c, DatabaseSettings db, TableCanonicalizer tc, TableMeta meta,
      CanonicalKey wanted) throws SQLException {
    Dialect dialect = db.dialect();
    TableConfig t = tc.table();
    Side side = tc.side();
    StringBuilder sql = new StringBuilder("SELECT * FROM ").append(meta.quoted).append(" WHERE ");
    List<ColumnMeta> keyCols = new ArrayList<>();
    for (String col : t.key()) {
      String p = physicalName(t, col, side);
      if (!keyCols.isEmpty()) {
        sql.append(" AND ");
      }
      sql.append(dialect.quote(p)).append(" = ?");
      keyCols.add(meta.columns.get(p));
    }
    try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
      ps.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
      ps.setMaxRows(100);
      int i = 1;
      for (String col : t.key()) {
        ColumnMeta m = keyCols.get(i - 1);
        bind(ps, i++, dialect, db.timeZone(), m, wanted.key().get(col), col);
      }
      try (ResultSet rs = ps.executeQuery()) {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        String[] names = new String[n];
        ColumnMeta[] metas = new ColumnMeta[n];
        for (int j = 0; j < n; j++) {
          names[j] = md.getColumnLabel(j + 1);
          metas[j] = meta.columns.get(names[j]);
          if (metas[j] == null) {
            meta.stale = true;
            metas[j] = ColumnMeta.of(names[j], dialect, md, j + 1); // best effort until the reload
          }
        }
        if (n != meta.columns.size()) {
          meta.stale = true;
        }
        while (rs.next()) {
          Map<String, Object> physical = new LinkedHashMap<>();
          Map<String, ColumnType> types = new LinkedHashMap<>();
          for (int j = 0; j < n; j++) {
            physical.put(names[j], value(rs, j + 1, metas[j], dialect));
            types.put(names[j], metas[j].type);
          }
          CanonicalRow row = tc.row(physical, types);
          CanonicalKey k;
          try {
            k = tc.key(row);
          } catch (CanonicalizationException e) {
            continue;
          }
          // A case- or pad-insensitive collation can match rows whose canonical key differs.
          if (k.equals(wanted)) {
            return Optional.of(new Image(Collections.unmodifiableMap(physical), Collections.unmodifiableMap(types),
                row));
          }
        }
      }
    }
    return Optional.empty();
  }

  /** Binds a canonical key value with the JDBC type of its column (so indexes are used). */
  private static void bind(PreparedStatement ps, int i, Dialect dialect, ZoneId zone, ColumnMeta m, String v,
      String col) throws SQLException {
    if (v == null) {
      throw new IllegalArgumentException("key column \"" + col + "\" has no value");
    }
    try {
      switch (m.kind) {
        case INT, UINT64 -> {
          BigInteger b = new BigDecimal(v).toBigIntegerExact();
          if (b.bitLength() < 64) {
            ps.setLong(i, b.longValue());
          } else {
            ps.setBigDecimal(i, new BigDecimal(b));
          }
        }
        case TINYINT_BOOL, BOOL, BIT_BOOL -> {
          boolean b = switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("not a boolean");
          };
          if (m.kind == Kind.BOOL) {
            ps.setBoolean(i, b);
          } else if (m.kind == Kind.BIT_BOOL && dialect == Dialect.POSTGRES) {
            ps.setObject(i, b ? "1" : "0", Types.OTHER);
          } else {
            ps.setInt(i, b ? 1 : 0);
          }
        }
        case FLOAT32, FLOAT64 -> ps.setDouble(i, Double.parseDouble(v));
        case DECIMAL -> ps.setBigDecimal(i, new BigDecimal(v));
        case BYTES -> ps.setBytes(i, Values.hexToBytes(v));
        case DATE -> {
          LocalDate d = LocalDate.parse(v);
          if (dialect == Dialect.POSTGRES) {
            ps.setObject(i, d);
          } else {
            ps.setString(i, d.toString());
          }
        }
        case TIME -> {
          LocalTime t = LocalTime.parse(v);
          if (dialect == Dialect.POSTGRES) {
            ps.setObject(i, t);
          } else {
            ps.setString(i, t.toString());
          }
        }
        case TIMESTAMP_LOCAL, TIMESTAMP_ZONED -> {
          Instant instant = OffsetDateTime.parse(v).toInstant();
          if (dialect == Dialect.POSTGRES) {
            if (m.kind == Kind.TIMESTAMP_ZONED) {
              ps.setObject(i, instant.atOffset(ZoneOffset.UTC));
            } else {
              ps.setObject(i, LocalDateTime.ofInstant(instant, zone));
            }
          } else {
            LocalDateTime local = m.kind == Kind.TIMESTAMP_ZONED
                ? LocalDateTime.ofInstant(instant, ZoneOffset.UTC) // the session runs in UTC
                : LocalDateTime.ofInstant(instant, zone);
            ps.setString(i, MARIADB_DATETIME.format(local));
          }
        }
        case UUID -> {
          if (dialect == Dialect.POSTGRES && "UUID".equals(m.type.dbType())) {
            ps.setObject(i, UUID.fromString(v));
          } else {
            ps.setString(i, v);
          }
        }
        default -> {
          if (dialect == Dialect.POSTGRES && m.pgOther) {
            ps.setObject(i, v, Types.OTHER); // enum, inet, ...: let the server read the literal as the column's type
          } else {
            ps.setString(i, v);
          }
        }
      }
    } catch (NumberFormatException | ArithmeticException | DateTimeParseException e) {
      throw new IllegalArgumentException("key column \"" + col + "\": \"" + v + "\" is not a value of its type "
          + m.type.dbType(), e);
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("key column")) {
        throw e;
      }
      throw new IllegalArgumentException("key column \"" + col + "\": \"" + v + "\" is not a value of its type "
          + m.type.dbType(), e);
    }
  }


  // ---- values in Debezium's shapes -------------------------------------------------------------

  /**
   * How a column's values are read and shaped. Every shape is what Jackson reads back from the
   * JSON Debezium writes: integers as int/long/BigInteger nodes by range, floats as double nodes
   * (a FLOAT4 / FLOAT via its float text, as the JSON carries it), decimals and temporals as text.
   */
  enum Kind {
    INT, UINT64, TINYINT_BOOL, BOOL, BIT_BOOL, FLOAT32, FLOAT64, DECIMAL, MONEY, BYTES, DATE, TIME, TIMETZ,
    TIMESTAMP_LOCAL, TIMESTAMP_ZONED, UUID, TEXT
  }

  static Object value(ResultSet rs, int i, ColumnMeta m, Dialect dialect) throws SQLException {
    switch (m.kind) {
      case INT -> {
        long v = rs.getLong(i);
        return rs.wasNull() ? null : integerNode(BigInteger.valueOf(v));
      }
      case UINT64 -> {
        String s = rs.getString(i);
        return s == null ? null : integerNode(new BigDecimal(s.trim()).toBigInteger());
      }
      case TINYINT_BOOL -> {
        // TinyIntOneToBooleanConverter: Number.intValue() > 0 (so -1 is false)
        long v = rs.getLong(i);
        return rs.wasNull() ? null : F.booleanNode(v > 0);
      }
      case BOOL -> {
        boolean v = rs.getBoolean(i);
        return rs.wasNull() ? null : F.booleanNode(v);
      }
      case BIT_BOOL -> {
        if (dialect == Dialect.POSTGRES) {
          String s = rs.getString(i);
          return s == null ? null : F.booleanNode(!s.matches("0*"));
        }
        byte[] b = rs.getBytes(i);
        if (b == null) {
          return null;
        }
        boolean any = false;
        for (byte x : b) {
          any |= x != 0;
        }
        return F.booleanNode(any);
      }
      case FLOAT32 -> {
        float v = rs.getFloat(i);
        // Debezium emits a Connect float32; its JSON is the float's shortest text, read back as a double
        return rs.wasNull() ? null : F.numberNode(Double.parseDouble(Float.toString(v)));
      }
      case FLOAT64 -> {
        double v = rs.getDouble(i);
        return rs.wasNull() ? null : F.numberNode(v);
      }
      case DECIMAL -> {
        String s = rs.getString(i);
        return s == null ? null : F.textNode(s.trim());
      }
      case MONEY -> {
        String s = rs.getString(i);
        if (s == null) {
          return null;
        }
        boolean negative = s.contains("-") || s.contains("(");
        String digits = s.replaceAll("[^0-9.]", "");
        return F.textNode((negative ? "-" : "") + digits);
      }
      case BYTES -> {
        byte[] b = rs.getBytes(i);
        return b == null ? null : F.textNode(Base64.getEncoder().encodeToString(b));
      }
      case DATE -> {
        if (dialect == Dialect.POSTGRES) {
          LocalDate d = rs.getObject(i, LocalDate.class);
          if (d == null) {
            return null;
          }
          if (d.equals(LocalDate.MAX) || d.equals(LocalDate.MIN)) {
            return F.textNode(rs.getString(i)); // 'infinity'
          }
          return F.textNode(DateTimeFormatter.ISO_LOCAL_DATE.format(d) + "Z");
        }
        String s = rs.getString(i);
        if (s == null || s.startsWith("0000-00-00")) {
          return null; // MariaDB zero date: Debezium emits null for a nullable column
        }
        try {
          return F.textNode(DateTimeFormatter.ISO_LOCAL_DATE.format(LocalDate.parse(s.trim())) + "Z");
        } catch (DateTimeParseException e) {
          return F.textNode(s);
        }
      }
      case TIME -> {
        if (dialect == Dialect.POSTGRES) {
          String raw = rs.getString(i);
          if (raw == null) {
            return null;
          }
          if (raw.startsWith("24:00")) {
            return F.textNode(raw); // LocalTime cannot hold it
          }
          LocalTime t = rs.getObject(i, LocalTime.class);
          return F.textNode(DateTimeFormatter.ISO_LOCAL_TIME.format(t) + "Z");
        }
        String s = rs.getString(i);
        if (s == null) {
          return null;
        }
        try {
          LocalTime.parse(s.trim()); // within a day: the driver's LocalTime is exact, its text may not be
          return F.textNode(DateTimeFormatter.ISO_LOCAL_TIME.format(rs.getObject(i, LocalTime.class)) + "Z");
        } catch (DateTimeParseException e) {
          return F.textNode(s); // negative or >= 24 h MariaDB TIME
        }
      }
      case TIMETZ -> {
        OffsetTime t = rs.getObject(i, OffsetTime.class);
        return t == null ? null
            : F.textNode(DateTimeFormatter.ISO_LOCAL_TIME.format(t.withOffsetSameInstant(ZoneOffset.UTC)
                .toLocalTime()) + "Z");
      }
      case TIMESTAMP_LOCAL -> {
        LocalDateTime t = localDateTime(rs, i, dialect);
        if (t == null) {
          return rs.wasNull() || dialect == Dialect.MARIADB ? null : F.textNode(rs.getString(i));
        }
        return F.textNode(DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(t) + "Z");
      }
      case TIMESTAMP_ZONED -> {
        Instant instant;
        if (dialect == Dialect.POSTGRES) {
          String raw = rs.getString(i);
          if (raw == null) {
            return null;
          }
          if (raw.endsWith("infinity")) {
            return F.textNode(raw);
          }
          instant = rs.getObject(i, OffsetDateTime.class).toInstant();
        } else {
          LocalDateTime t = localDateTime(rs, i, dialect); // the session runs in UTC
          if (t == null) {
            return null;
          }
          instant = t.toInstant(ZoneOffset.UTC);
        }
        return F.textNode(ZONED_MICROS.format(instant.atOffset(ZoneOffset.UTC)));
      }
      default -> {
        String s = rs.getString(i);
        return s == null ? null : F.textNode(s);
      }
    }
  }

  /** A zone-less date-time; null for SQL NULL, a MariaDB zero date, or PostgreSQL +-infinity. */
  private static LocalDateTime localDateTime(ResultSet rs, int i, Dialect dialect) throws SQLException {
    if (dialect == Dialect.POSTGRES) {
      String raw = rs.getString(i);
      if (raw == null || raw.endsWith("infinity")) {
        return null;
      }
      return rs.getObject(i, LocalDateTime.class);
    }
    String s = rs.getString(i);
    if (s == null || s.startsWith("0000-00-00")) {
      return null;
    }
    // Not the text: MariaDB Connector/J 3.5 renders a DATETIME(3) of .001 s as ".1000" (read back
    // as .100); its LocalDateTime is right.
    return rs.getObject(i, LocalDateTime.class);
  }

  /** What Jackson's tree reader makes of an integer in JSON: an int, long or BigInteger node by range. */
  static JsonNode integerNode(BigInteger v) {
    int bits = v.bitLength();
    if (bits < 32) {
      return F.numberNode(v.intValue());
    }
    if (bits < 64) {
      return F.numberNode(v.longValue());
    }
    return F.numberNode(v);
  }

  // ---- column metadata ---------------------------------------------------------------------------

  /** One physical column: how to read it, and the type Debezium's schema gives it. */
  static final class ColumnMeta {
    final String name;
    final Kind kind;
    final ColumnType type;
    /** PostgreSQL types without a JDBC string equivalent (enum, inet, ...): bind keys as Types.OTHER. */
    final boolean pgOther;

    ColumnMeta(String name, Kind kind, ColumnType type, boolean pgOther) {
      this.name = name;
      this.kind = kind;
      this.type = type;
      this.pgOther = pgOther;
    }

    /** A fallback for a column the cached metadata does not know yet: from the result set alone. */
    static ColumnMeta of(String name, Dialect dialect, ResultSetMetaData md, int i) throws SQLException {
      String typeName = md.getColumnTypeName(i).toUpperCase(Locale.ROOT);
      return dialect == Dialect.POSTGRES
          ? postgres(name, typeName, md.getPrecision(i), md.getScale(i))
          : mariadb(name, typeName.toLowerCase(Locale.ROOT));
    }

    /** PostgreSQL: {@code typname} upper-cased, length and scale as the JDBC driver computes them from the typmod. */
    static ColumnMeta postgres(String name, String typname, int precision, int scale) {
      String t = switch (typname) {
        case "SERIAL" -> "INT4";
        case "BIGSERIAL" -> "INT8";
        case "SMALLSERIAL" -> "INT2";
        default -> typname;
      };
      Integer length = precision;
      Integer sc = scale;
      if (t.equals("NUMERIC") && precision == 0) {
        sc = null; // unconstrained NUMERIC: Debezium reports length 0 and no scale
      }
      String connect = "string";
      String semantic = null;
      Kind kind = Kind.TEXT;
      boolean other = false;
      switch (t) {
        case "INT2" -> {
          connect = "int16";
          kind = Kind.INT;
        }
        case "INT4" -> {
          connect = "int32";
          kind = Kind.INT;
        }
        case "INT8", "OID" -> {
          connect = "int64";
          kind = Kind.INT;
        }
        case "FLOAT4" -> {
          connect = "float";
          kind = Kind.FLOAT32;
        }
        case "FLOAT8" -> {
          connect = "double";
          kind = Kind.FLOAT64;
        }
        case "NUMERIC" -> kind = Kind.DECIMAL;
        case "MONEY" -> kind = Kind.MONEY;
        case "BOOL" -> {
          connect = "boolean";
          kind = Kind.BOOL;
        }
        case "BIT" -> {
          if (precision <= 1) {
            connect = "boolean";
            kind = Kind.BIT_BOOL;
          } else {
            connect = "bytes";
            semantic = "io.debezium.data.Bits";
            other = true;
          }
        }
        case "BYTEA" -> kind = Kind.BYTES;
        case "DATE" -> {
          semantic = "io.debezium.time.IsoDate";
          kind = Kind.DATE;
        }
        case "TIME" -> {
          semantic = "io.debezium.time.IsoTime";
          kind = Kind.TIME;
        }
        case "TIMETZ" -> {
          semantic = "io.debezium.time.ZonedTime";
          kind = Kind.TIMETZ;
          other = true;
        }
        case "TIMESTAMP" -> {
          semantic = "io.debezium.time.IsoTimestamp";
          kind = Kind.TIMESTAMP_LOCAL;
        }
        case "TIMESTAMPTZ" -> {
          semantic = "io.debezium.time.ZonedTimestamp";
          kind = Kind.TIMESTAMP_ZONED;
        }
        case "JSON", "JSONB" -> {
          semantic = "io.debezium.data.Json";
          other = true;
        }
        case "UUID" -> {
          semantic = "io.debezium.data.Uuid";
          kind = Kind.UUID;
        }
        case "XML" -> {
          semantic = "io.debezium.data.Xml";
          other = true;
        }
        case "INTERVAL" -> {
          semantic = "io.debezium.time.Interval";
          other = true;
        }
        case "TEXT", "VARCHAR", "BPCHAR", "NAME", "CHAR" -> { }
        default -> other = true;
      }
      return new ColumnMeta(name, kind, new ColumnType(connect, semantic, t, length, sc), other);
    }

    /**
     * MariaDB, from {@code information_schema.COLUMNS.COLUMN_TYPE} (e.g. {@code bigint(20) unsigned},
     * {@code decimal(12,2)}, {@code datetime(3)}): Debezium's type name is the base type upper-cased
     * plus {@code UNSIGNED}/{@code ZEROFILL}; its length and scale are the parenthesized numbers.
     */
    static ColumnMeta mariadb(String name, String columnType) {
      String ct = columnType.trim().toLowerCase(Locale.ROOT);
      int open = ct.indexOf('(');
      int close = ct.lastIndexOf(')');
      String base = (open < 0 ? ct.split(" ")[0] : ct.substring(0, open)).trim().toUpperCase(Locale.ROOT);
      String rest = close < 0 ? ct.substring(Math.min(ct.length(), base.length())) : ct.substring(close + 1);
      boolean unsigned = rest.contains("unsigned");
      boolean zerofill = rest.contains("zerofill");
      Integer length = null;
      Integer scale = null;
      if (open >= 0 && close > open && !base.equals("ENUM") && !base.equals("SET")) {
        String[] ps = ct.substring(open + 1, close).split(",");
        try {
          length = Integer.parseInt(ps[0].trim());
          if (ps.length > 1) {
            scale = Integer.parseInt(ps[1].trim());
          }
        } catch (NumberFormatException e) {
          length = null;
          scale = null;
        }
      }
      String dbType = base + (unsigned ? " UNSIGNED" : "") + (zerofill ? " ZEROFILL" : "");
      String connect = "string";
      String semantic = null;
      Kind kind = Kind.TEXT;
      switch (base) {
        case "TINYINT" -> {
          if (length != null && length == 1) {
            connect = "boolean";
            kind = Kind.TINYINT_BOOL;
          } else {
            connect = "int16";
            kind = Kind.INT;
          }
        }
        case "SMALLINT" -> {
          connect = unsigned ? "int32" : "int16";
          kind = Kind.INT;
        }
        case "MEDIUMINT" -> {
          connect = "int32";
          kind = Kind.INT;
        }
        case "INT", "INTEGER" -> {
          connect = unsigned ? "int64" : "int32";
          kind = Kind.INT;
        }
        case "BIGINT" -> {
          if (unsigned) {
            connect = "bytes";
            semantic = "org.apache.kafka.connect.data.Decimal";
            kind = Kind.UINT64;
          } else {
            connect = "int64";
            kind = Kind.INT;
          }
        }
        case "YEAR" -> {
          connect = "int32";
          semantic = "io.debezium.time.Year";
          kind = Kind.INT;
        }
        case "FLOAT" -> {
          connect = "float";
          kind = Kind.FLOAT32;
        }
        case "DOUBLE", "REAL" -> {
          connect = "double";
          kind = Kind.FLOAT64;
        }
        case "DECIMAL", "NUMERIC", "DEC", "FIXED" -> kind = Kind.DECIMAL;
        case "BIT" -> {
          if (length == null || length == 1) {
            connect = "boolean";
            kind = Kind.BIT_BOOL;
          } else {
            connect = "bytes";
            semantic = "io.debezium.data.Bits";
            kind = Kind.BYTES;
          }
        }
        case "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB" -> kind = Kind.BYTES;
        case "DATE" -> {
          semantic = "io.debezium.time.IsoDate";
          kind = Kind.DATE;
        }
        case "TIME" -> {
          semantic = "io.debezium.time.IsoTime";
          kind = Kind.TIME;
        }
        case "DATETIME" -> {
          semantic = "io.debezium.time.IsoTimestamp";
          kind = Kind.TIMESTAMP_LOCAL;
        }
        case "TIMESTAMP" -> {
          semantic = "io.debezium.time.ZonedTimestamp";
          kind = Kind.TIMESTAMP_ZONED;
        }
        case "ENUM" -> semantic = "io.debezium.data.Enum";
        case "SET" -> semantic = "io.debezium.data.EnumSet";
        default -> { }
      }
      return new ColumnMeta(name, kind, new ColumnType(connect, semantic, dbType, length, scale), false);
    }
  }

  /** The cached metadata of one physical table on one side. */
  static final class TableMeta {
    final String quoted;
    final Map<String, ColumnMeta> columns;
    volatile boolean stale;

    TableMeta(String quoted, Map<String, ColumnMeta> columns) {
      this.quoted = quoted;
      this.columns = columns;
    }
  }

  static TableMeta loadMeta(Connection c, Dialect dialect, String physicalTable, String database)
      throws SQLException {
    String quoted = dialect.quote(physicalTable);
    Map<String, ColumnMeta> cols = new LinkedHashMap<>();
    if (dialect == Dialect.POSTGRES) {
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT * FROM " + quoted + " WHERE false")) {
        ResultSetMetaData md = rs.getMetaData();
        for (int i = 1; i <= md.getColumnCount(); i++) {
          String n = md.getColumnLabel(i);
          cols.put(n, ColumnMeta.postgres(n, md.getColumnTypeName(i).toUpperCase(Locale.ROOT), md.getPrecision(i),
              md.getScale(i)));
        }
      }
    } else {
      String schema;
      String table;
      int dot = physicalTable.indexOf('.');
      if (dot >= 0) {
        schema = physicalTable.substring(0, dot);
        table = physicalTable.substring(dot + 1);
      } else {
        schema = database;
        table = physicalTable;
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS"
          + " WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION")) {
        ps.setString(1, schema);
        ps.setString(2, table);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            String n = rs.getString(1);
            cols.put(n, ColumnMeta.mariadb(n, rs.getString(2)));
          }
        }
      }
      if (cols.isEmpty()) {
        // no such table (or no privilege on it): let the server say which
        try (Statement s = c.createStatement()) {
          s.executeQuery("SELECT * FROM " + quoted + " WHERE 1 = 0").close();
        }
        throw new SQLException("table " + physicalTable + " has no columns visible to this user");
      }
    }
    return new TableMeta(quoted, cols);
  }

  // ---- connections ---------------------------------------------------------------------------------

  @FunctionalInterface
  private interface SqlFunction<T> {
    T apply(Connection c) throws SQLException;
  }

  private static final class SideState {
    final DatabaseSettings db;
    Connection connection;
    final Map<String, TableMeta> meta = new HashMap<>();

    SideState(DatabaseSettings db) {
      this.db = db;
    }

    synchronized <T> T call(SqlFunction<T> f) throws SQLException {
      for (int attempt = 0; ; attempt++) {
        Connection c = connection();
        try {
          return f.apply(c);
        } catch (SQLException e) {
          boolean broken = brokenConnection(c, e);
          if (broken) {
            closeQuietly();
          }
          if (!broken || attempt > 0) {
            throw e;
          }
        }
      }
    }

    TableMeta meta(Connection c, String physicalTable) throws SQLException {
      TableMeta m = meta.get(physicalTable);
      if (m == null) {
        m = reloadMeta(c, physicalTable);
      }
      return m;
    }

    TableMeta reloadMeta(Connection c, String physicalTable) throws SQLException {
      TableMeta m = loadMeta(c, db.dialect(), physicalTable, db.database());
      meta.put(physicalTable, m);
      return m;
    }

    private Connection connection() throws SQLException {
      if (connection == null) {
        Connection c = Jdbc.connect(db);
        try {
          c.setAutoCommit(true);
          try (Statement s = c.createStatement()) {
            if (db.dialect() == Dialect.MARIADB) {
              // TIMESTAMP values are then the server's UTC text: independent of the JVM's and the server's zone
              s.execute("SET time_zone = '+00:00'");
            } else {
              s.execute("SET TIME ZONE 'UTC'");
            }
          }
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

    void closeQuietly() {
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
}
