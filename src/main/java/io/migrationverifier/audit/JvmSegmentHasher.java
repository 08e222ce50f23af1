package io.migrationverifier.audit;

import io.migrationverifier.check.RowReader;
import io.migrationverifier.config.Side;
import java.sql.SQLException;

/**
 * Summarizes a range by streaming its rows ({@link RowReader#scan}) and hashing each canonical row
 * in the JVM: works for every column type the canonicalizer knows, at the cost of moving every
 * row. The checksum is the sum modulo 2^128 of the rows' {@code CanonicalRow.hash()}es, so it does
 * not depend on the order rows arrive in; a row that is there twice counts twice.
 */
public final class JvmSegmentHasher implements SegmentHasher {
  private final RowReader reader;
  private final int fetchSize;
  private final RowFilter filter;

  /** Narrows a scan further (a time window); null = the key range alone. */
  @FunctionalInterface
  public interface RowFilter {
    RowReader.ColumnFilter filter();
  }

  public JvmSegmentHasher(RowReader reader, int fetchSize) {
    this(reader, fetchSize, null);
  }

  JvmSegmentHasher(RowReader reader, int fetchSize, RowFilter filter) {
    this.reader = reader;
    this.fetchSize = fetchSize;
    this.filter = filter;
  }

  @Override
  public Summary summarize(Side side, String table, KeyRange range) throws SQLException {
    return summarize(side, table, range, filter == null ? null : filter.filter());
  }

  /** As {@link #summarize(Side, String, KeyRange)}, within {@code filter} (null = all rows of the range). */
  public Summary summarize(Side side, String table, KeyRange range, RowReader.ColumnFilter filter)
      throws SQLException {
    Sum128 sum = new Sum128();
    long n = reader.scan(side, table, range, filter, false, fetchSize, row -> sum.add(row.hash()));
    return new Summary(n, sum.hex());
  }

  @Override
  public String kind() {
    return "jvm";
  }

  /** An unsigned 128-bit sum of 32-hex-digit hashes. */
  public static final class Sum128 {
    private long hi;
    private long lo;

    public void add(String hex32) {
      long h = Long.parseUnsignedLong(hex32, 0, 16, 16);
      long l = Long.parseUnsignedLong(hex32, 16, 32, 16);
      long sumLo = lo + l;
      long carry = Long.compareUnsigned(sumLo, lo) < 0 ? 1 : 0;
      lo = sumLo;
      hi = hi + h + carry;
    }

    public String hex() {
      return String.format("%016x%016x", hi, lo);
    }
  }
}
