package io.migrationverifier.audit;

import io.migrationverifier.config.Side;
import java.sql.SQLException;

/**
 * Count and checksum of the rows of one table in one key range on one side. Two implementations:
 * rows streamed in key order and hashed in the JVM with the canonicalizer (any column type), and
 * the hashing pushed into SQL where both dialects produce the same canonical text
 * ({@code SqlSegmentHasher}). The audit compares a segment's summaries from the two sides computed
 * by the SAME implementation, so equal canonical rows give equal summaries.
 */
public interface SegmentHasher {

  /**
   * @param count    rows in the range
   * @param checksum order-independent checksum of the rows' canonical forms (hex)
   */
  record Summary(long count, String checksum) {}

  Summary summarize(Side side, String table, KeyRange range) throws SQLException;

  /** For reports: {@code jvm} or {@code sql}. */
  String kind();
}
