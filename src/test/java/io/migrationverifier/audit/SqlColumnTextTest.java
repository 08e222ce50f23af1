package io.migrationverifier.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.audit.SqlColumnText.Storage;
import io.migrationverifier.canonical.ColumnType;
import io.migrationverifier.config.CanonicalType;
import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.Dialect;
import io.migrationverifier.config.TimePrecision;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which columns get a SQL form, and why the others do not (SqlSegmentHasherIT proves the forms on real servers). */
class SqlColumnTextTest {
  private static final ColumnType BIGINT_UNSIGNED =
      new ColumnType("bytes", "org.apache.kafka.connect.data.Decimal", "BIGINT UNSIGNED", 20, null);
  private static final ColumnType TINYINT1 = new ColumnType("boolean", null, "TINYINT", 1, null);
  private static final ColumnType TINYINT4 = new ColumnType("int16", null, "TINYINT", 4, null);
  private static final ColumnType PG_TEXT = new ColumnType("string", null, "TEXT", 2147483647, 0);
  private static final ColumnType PG_TIMESTAMP =
      new ColumnType("string", "io.debezium.time.IsoTimestamp", "TIMESTAMP", 26, 6);

  private static Optional<SqlColumnText.SqlText> expr(Dialect d, ColumnType ct, ColumnRule rule, ZoneId zone,
      StringBuilder why) {
    return SqlColumnText.expression(d, "c", ct, rule, TimePrecision.MICROS, zone, why);
  }

  private static ColumnRule rule(CanonicalType type, Integer scale, Double tolerance, boolean trim, boolean ci,
      String comparator) {
    return new ColumnRule("c", "c", "c", false, type, scale, tolerance, null, trim, ci, comparator);
  }

  @Test
  void storageFollowsTheReportedColumnType() {
    assertThat(SqlColumnText.storage(Dialect.MARIADB, BIGINT_UNSIGNED)).contains(Storage.INT);
    assertThat(SqlColumnText.storage(Dialect.MARIADB, TINYINT1)).contains(Storage.TINYINT_BOOL);
    assertThat(SqlColumnText.storage(Dialect.MARIADB, TINYINT4)).contains(Storage.INT);
    assertThat(SqlColumnText.storage(Dialect.MARIADB, new ColumnType("int32", null, "INT ZEROFILL", 10, null)))
        .isEmpty();
    assertThat(SqlColumnText.storage(Dialect.POSTGRES, new ColumnType("string", null, "BPCHAR", 8, 0)))
        .contains(Storage.TEXT);
    // PostgreSQL's one-byte "char" is not character(n)
    assertThat(SqlColumnText.storage(Dialect.POSTGRES, new ColumnType("string", null, "CHAR", 1, 0))).isEmpty();
    for (String t : List.of("FLOAT8", "JSONB", "TIME", "MONEY", "INTERVAL", "_INT4")) {
      assertThat(SqlColumnText.storage(Dialect.POSTGRES, new ColumnType("string", null, t, 0, 0))).as(t).isEmpty();
    }
  }

  @Test
  void onlyFreeTextIsLengthPrefixed() {
    StringBuilder why = new StringBuilder();
    assertThat(expr(Dialect.POSTGRES, PG_TEXT, ColumnRule.plain("c"), ZoneOffset.UTC, why).orElseThrow().freeText())
        .isTrue();
    assertThat(expr(Dialect.MARIADB, BIGINT_UNSIGNED, ColumnRule.plain("c"), ZoneOffset.UTC, why).orElseThrow()
        .freeText()).isFalse();
    assertThat(why).isEmpty();
  }

  @Test
  void rulesWithoutAnAgreedSqlFormAreRefusedWithAReason() {
    record Case(ColumnType ct, ColumnRule rule, ZoneId zone, String reason) {}
    List<Case> cases = List.of(
        new Case(PG_TEXT, rule(CanonicalType.AUTO, null, null, true, false, null), ZoneOffset.UTC, "trim"),
        new Case(PG_TEXT, rule(CanonicalType.AUTO, null, null, false, true, null), ZoneOffset.UTC, "case-insensitive"),
        new Case(PG_TEXT, rule(CanonicalType.AUTO, null, null, false, false, "cents"), ZoneOffset.UTC, "comparator"),
        new Case(PG_TEXT, rule(CanonicalType.JSON, null, null, false, false, null), ZoneOffset.UTC, "json"),
        new Case(PG_TEXT, rule(CanonicalType.UUID, null, null, false, false, null), ZoneOffset.UTC, "uuid"),
        new Case(BIGINT_UNSIGNED, rule(CanonicalType.DECIMAL, null, 0.5, false, false, null), ZoneOffset.UTC,
            "tolerance"),
        new Case(TINYINT1, rule(CanonicalType.INTEGER, null, null, false, false, null), ZoneOffset.UTC, "integer"),
        new Case(PG_TIMESTAMP, ColumnRule.plain("c"), ZoneId.of("America/New_York"), "America/New_York"));
    for (Case c : cases) {
      StringBuilder why = new StringBuilder();
      Dialect d = c.ct() == BIGINT_UNSIGNED || c.ct() == TINYINT1 ? Dialect.MARIADB : Dialect.POSTGRES;
      assertThat(expr(d, c.ct(), c.rule(), c.zone(), why)).as(c.toString()).isEmpty();
      assertThat(why.toString()).as(c.toString()).contains(c.reason());
    }
    // a fixed offset is fine for zone-less timestamps
    assertThat(expr(Dialect.POSTGRES, PG_TIMESTAMP, ColumnRule.plain("c"), ZoneId.of("+05:30"), new StringBuilder()))
        .isPresent();
  }
}
