package io.migrationverifier.canonical;

import static io.migrationverifier.config.CanonicalType.BOOLEAN;
import static io.migrationverifier.config.CanonicalType.BYTES;
import static io.migrationverifier.config.CanonicalType.DATE;
import static io.migrationverifier.config.CanonicalType.DECIMAL;
import static io.migrationverifier.config.CanonicalType.FLOAT;
import static io.migrationverifier.config.CanonicalType.INTEGER;
import static io.migrationverifier.config.CanonicalType.JSON;
import static io.migrationverifier.config.CanonicalType.TIME;
import static io.migrationverifier.config.CanonicalType.TIMESTAMP;
import static io.migrationverifier.config.CanonicalType.UUID;
import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.config.CanonicalType;
import io.migrationverifier.config.TimePrecision;
import java.math.BigInteger;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The known false-mismatch traps, value by value, and the differences that must survive. */
class ValuesTest {
  private static final ZoneId UTC = ZoneId.of("UTC");

  private static String c(Object v, CanonicalType t) {
    return Values.canonical(v, t, null, UTC, TimePrecision.MICROS, null);
  }

  @Test
  void decimalsCompareByValue() {
    assertThat(c("1.80", DECIMAL)).isEqualTo(c("1.8", DECIMAL)).isEqualTo("1.8");
    assertThat(c(".71", DECIMAL)).isEqualTo(c("0.71", DECIMAL)).isEqualTo("0.71");
    assertThat(c("-0", DECIMAL)).isEqualTo(c("0", DECIMAL)).isEqualTo(c("-0.000", DECIMAL)).isEqualTo("0");
    assertThat(c("1E+3", DECIMAL)).isEqualTo("1000");
    assertThat(c("1.80", DECIMAL)).isNotEqualTo(c("1.81", DECIMAL));
    assertThat(Values.canonical("1.805", DECIMAL, null, UTC, TimePrecision.MICROS, 2)).isEqualTo("1.81");
    assertThat(Values.canonical("1.8", DECIMAL, null, UTC, TimePrecision.MICROS, 2)).isEqualTo("1.80");
    assertThat(c("NaN", DECIMAL)).isEqualTo("NaN");
  }

  @Test
  void integersAndUnsignedBigints() {
    assertThat(c(new BigInteger("18446744073709551615"), INTEGER)).isEqualTo("18446744073709551615");
    assertThat(c("0042", INTEGER)).isEqualTo("42");
    assertThat(c(42L, INTEGER)).isEqualTo(c("42.0", INTEGER));
    assertThat(c("-0", INTEGER)).isEqualTo("0");
  }

  @Test
  void floats() {
    assertThat(c(-0.0d, FLOAT)).isEqualTo(c(0.0d, FLOAT)).isEqualTo("0");
    assertThat(c(1.0d, FLOAT)).isEqualTo(c("1", FLOAT)).isEqualTo("1");
    assertThat(c(0.1 + 0.2, FLOAT)).isEqualTo("0.30000000000000004").isNotEqualTo(c(0.3, FLOAT));
    assertThat(c(Double.NaN, FLOAT)).isEqualTo("NaN");
  }

  @Test
  void booleansFromTinyintAndText() {
    assertThat(c(1, BOOLEAN)).isEqualTo(c(true, BOOLEAN)).isEqualTo(c("t", BOOLEAN)).isEqualTo("true");
    assertThat(c(0, BOOLEAN)).isEqualTo(c(false, BOOLEAN)).isEqualTo(c("f", BOOLEAN)).isEqualTo("false");
  }

  @Test
  void jsonByStructure() {
    assertThat(c("{ \"b\" : 1,  \"a\":[1,2]}", JSON)).isEqualTo(c("{\"a\":[1,2],\"b\":1}", JSON))
        .isEqualTo("{\"a\":[1,2],\"b\":1}");
    assertThat(c("{\"a\":1.0}", JSON)).isEqualTo(c("{\"a\":1}", JSON));
    assertThat(c("[1,2]", JSON)).as("array order is data").isNotEqualTo(c("[2,1]", JSON));
    assertThat(c("{\"a\":\"1\"}", JSON)).as("a string is not a number").isNotEqualTo(c("{\"a\":1}", JSON));
    assertThat(c("not json {", JSON)).isEqualTo("not json {");
  }

  @Test
  void timestampsAsInstantsAtAPrecision() {
    assertThat(Values.canonical("2024-05-01T10:00:00.123456Z", TIMESTAMP, null, UTC, TimePrecision.MILLIS, null))
        .isEqualTo(Values.canonical("2024-05-01T10:00:00.123Z", TIMESTAMP, null, UTC, TimePrecision.MILLIS, null))
        .isEqualTo("2024-05-01T10:00:00.123Z");
    assertThat(c("2024-05-01T10:00:00.123456Z", TIMESTAMP)).isNotEqualTo(c("2024-05-01T10:00:00.123Z", TIMESTAMP));
    assertThat(c("2024-05-01T12:00:00+02:00", TIMESTAMP)).isEqualTo(c("2024-05-01T10:00:00Z", TIMESTAMP))
        .isEqualTo("2024-05-01T10:00:00.000000Z");
    assertThat(c("2024-05-01 10:00:00", TIMESTAMP)).isEqualTo("2024-05-01T10:00:00.000000Z");
    // isostring's 'Z' on a zone-less column is not a zone: read it in the side's zone
    ColumnType iso = new ColumnType("string", "io.debezium.time.IsoTimestamp", "DATETIME", null, null);
    assertThat(Values.canonical("2024-05-01T12:00:00Z", TIMESTAMP, iso, ZoneId.of("Europe/Paris"),
        TimePrecision.SECONDS, null)).isEqualTo("2024-05-01T10:00:00Z");
    ColumnType micros = new ColumnType("int64", "io.debezium.time.MicroTimestamp", null, null, null);
    assertThat(Values.canonical(1714557600123456L, TIMESTAMP, micros, UTC, TimePrecision.MICROS, null))
        .isEqualTo("2024-05-01T10:00:00.123456Z");
    assertThat(c(1714557600123L, TIMESTAMP)).isEqualTo("2024-05-01T10:00:00.123000Z");
    assertThat(c("infinity", TIMESTAMP)).isEqualTo("infinity");
  }

  @Test
  void datesTimesBytesUuids() {
    assertThat(c("2024-05-01Z", DATE)).isEqualTo(c(19844, DATE)).isEqualTo("2024-05-01");
    assertThat(Values.canonical("10:00:00Z", TIME, null, UTC, TimePrecision.MILLIS, null))
        .isEqualTo(Values.canonical("10:00:00.000", TIME, null, UTC, TimePrecision.MILLIS, null))
        .isEqualTo("10:00:00.000");
    assertThat(c("yv4=", BYTES)).isEqualTo("cafe");
    assertThat(c("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", UUID)).isEqualTo("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  }

  @Test
  void canonicalBytesDecodeBackToTheSameBytes() {
    byte[] raw = {0, 1, (byte) 0xca, (byte) 0xfe, (byte) 0xff, 0x7f};
    String canonical = Values.bytes(raw);
    assertThat(canonical).isEqualTo("0001cafeff7f");
    assertThat(Values.hexToBytes(canonical)).isEqualTo(raw);
    assertThat(Values.hexToBytes("")).isEmpty();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Values.hexToBytes("abc"))
        .isInstanceOf(IllegalArgumentException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Values.hexToBytes("zz"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nullAndEmptyStringDifferInRowsAndHashes() {
    Map<String, String> a = new HashMap<>();
    a.put("note", null);
    CanonicalRow withNull = CanonicalRow.of(a);
    CanonicalRow withEmpty = CanonicalRow.of(Map.of("note", ""));
    CanonicalRow without = CanonicalRow.of(Map.of());
    assertThat(withNull).isNotEqualTo(withEmpty);
    assertThat(withNull.hash()).isNotEqualTo(withEmpty.hash()).isNotEqualTo(without.hash());
    assertThat(withEmpty.hash()).isNotEqualTo(without.hash());
  }

  @Test
  void noValueCanImitateAFieldBoundaryInTheHash() {
    // a value holding separator-like bytes and a length must not hash like two columns
    CanonicalRow one = CanonicalRow.of(Map.of("a", "x\u001eb\u001f\u0001y"));
    CanonicalRow two = CanonicalRow.of(Map.of("a", "x", "b", "y"));
    assertThat(one.hash()).isNotEqualTo(two.hash());
    CanonicalRow three = CanonicalRow.of(Map.of("a", "x\u0001\u0001b\u0001\u0001y"));
    assertThat(three.hash()).isNotEqualTo(two.hash()).isNotEqualTo(one.hash());
    // and a long value (multi-byte length prefix) still hashes deterministically
    String big = "é".repeat(5_000);
    assertThat(CanonicalRow.of(Map.of("a", big)).hash()).isEqualTo(CanonicalRow.of(Map.of("a", big)).hash());
  }

  @Test
  void typesAreInferredFromWhatDebeziumReports() {
    assertThat(new ColumnType("string", null, "NUMERIC", 12, 4).infer()).isEqualTo(DECIMAL);
    assertThat(new ColumnType("int16", null, "TINYINT", 1, null).infer()).isEqualTo(BOOLEAN);
    assertThat(new ColumnType("string", "io.debezium.data.Json", "JSONB", null, null).infer()).isEqualTo(JSON);
    assertThat(new ColumnType("bytes", "org.apache.kafka.connect.data.Decimal", "BIGINT UNSIGNED", 20, 0).infer())
        .isEqualTo(DECIMAL);
    assertThat(new ColumnType("string", null, "BPCHAR", 8, null).blankPadded()).isTrue();
    assertThat(ColumnType.UNKNOWN.infer()).isNull();
  }
}
