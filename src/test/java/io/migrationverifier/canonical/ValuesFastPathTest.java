package io.migrationverifier.canonical;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.migrationverifier.config.CanonicalType;
import io.migrationverifier.config.TimePrecision;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The hand-rolled fast paths of {@link Values} against the general code they replace: the
 * {@code java.time} formatters and {@code BigInteger}/{@code BigDecimal}, as the methods were
 * written before the fast paths (the {@code reference*} methods below are those bodies, verbatim),
 * on many generated values, the edge cases included.
 */
class ValuesFastPathTest {
  private static final ColumnType ISO_TS = new ColumnType("string", "io.debezium.time.IsoTimestamp", "TIMESTAMP", null, null);
  private static final ColumnType ZONED_TS = new ColumnType("string", "io.debezium.time.ZonedTimestamp", "TIMESTAMPTZ", null,
      null);
  private static final List<ZoneId> ZONES = List.of(ZoneId.of("UTC"), ZoneOffset.UTC, ZoneOffset.ofHoursMinutes(-5, -30),
      ZoneId.of("Europe/Paris"), ZoneId.of("America/St_Johns"), ZoneId.of("Australia/Lord_Howe"), ZoneId.of("Etc/GMT+3"));

  // ---- the code before the fast paths, verbatim ----

  static String referenceTimestamp(Object v, ColumnType ct, ZoneId zone, TimePrecision precision) {
    Instant instant;
    if (v instanceof Number || (v instanceof JsonNode n && n.isNumber())) {
      long x = v instanceof Number num ? num.longValue() : ((JsonNode) v).longValue();
      String sem = ct == null ? null : ct.semanticName();
      if ("io.debezium.time.MicroTimestamp".equals(sem)) {
        instant = Instant.ofEpochSecond(Math.floorDiv(x, 1_000_000L), Math.floorMod(x, 1_000_000L) * 1000L);
      } else if ("io.debezium.time.NanoTimestamp".equals(sem)) {
        instant = Instant.ofEpochSecond(Math.floorDiv(x, 1_000_000_000L), Math.floorMod(x, 1_000_000_000L));
      } else {
        instant = Instant.ofEpochMilli(x);
      }
    } else {
      String s = Values.text(v).trim();
      boolean zoneLess = ct != null && "io.debezium.time.IsoTimestamp".equals(ct.semanticName());
      try {
        TemporalAccessor t = DateTimeFormatter.ISO_DATE_TIME.parse(s.indexOf('T') < 0 ? s.replaceFirst(" ", "T") : s);
        instant = t.isSupported(ChronoField.OFFSET_SECONDS) && !zoneLess
            ? Instant.from(t)
            : LocalDateTime.from(t).atZone(zone).toInstant();
      } catch (DateTimeParseException e) {
        return s;
      }
    }
    LocalDateTime utc = LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
    StringBuilder sb = new StringBuilder(32).append(utc.toLocalDate()).append('T');
    appendTime(sb, utc.getHour(), utc.getMinute(), utc.getSecond(), utc.getNano(), precision);
    return sb.append('Z').toString();
  }

  static String referenceDate(Object v) {
    if (v instanceof Number n) {
      return LocalDate.ofEpochDay(n.longValue()).toString();
    }
    String s = Values.text(v).trim();
    try {
      return LocalDate.parse(s.length() > 10 ? s.substring(0, 10) : s).toString();
    } catch (DateTimeParseException e) {
      return s;
    }
  }

  static String referenceTime(Object v, ColumnType ct, TimePrecision precision) {
    LocalTime t;
    if (v instanceof Number || (v instanceof JsonNode n && n.isNumber())) {
      long x = v instanceof Number num ? num.longValue() : ((JsonNode) v).longValue();
      String sem = ct == null ? null : ct.semanticName();
      long nanos = "io.debezium.time.MicroTime".equals(sem) ? x * 1000L
          : "io.debezium.time.NanoTime".equals(sem) ? x : x * 1_000_000L;
      t = LocalTime.ofNanoOfDay(Math.floorMod(nanos, 86_400_000_000_000L));
    } else {
      String s = Values.text(v).trim();
      try {
        if (s.endsWith("Z") || s.indexOf('+') > 0 || s.lastIndexOf('-') > 0) {
          t = OffsetTime.parse(s).withOffsetSameInstant(ZoneOffset.UTC).toLocalTime();
        } else {
          t = LocalTime.parse(s);
        }
      } catch (DateTimeParseException e) {
        return s;
      }
    }
    StringBuilder sb = new StringBuilder(20);
    appendTime(sb, t.getHour(), t.getMinute(), t.getSecond(), t.getNano(), precision);
    return sb.toString();
  }

  static String referenceInteger(Object v) {
    String s = Values.text(v).trim();
    try {
      return new BigInteger(s).toString();
    } catch (NumberFormatException e) {
      try {
        BigDecimal d = new BigDecimal(s);
        return d.stripTrailingZeros().scale() <= 0 ? d.toBigIntegerExact().toString() : s;
      } catch (NumberFormatException | ArithmeticException e2) {
        return s;
      }
    }
  }

  static String referenceDecimal(Object v) {
    BigDecimal d;
    String s = Values.text(v).trim();
    try {
      d = new BigDecimal(s);
    } catch (NumberFormatException e) {
      return s;
    }
    if (d.signum() == 0) {
      return "0";
    }
    return d.stripTrailingZeros().toPlainString();
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  static String referenceJson(Object v) {
    JsonNode node;
    if (v instanceof JsonNode n && n.isContainerNode()) {
      node = n;
    } else {
      String s = Values.text(v);
      try {
        node = JSON.readTree(s);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        return s;
      }
      if (node == null) {
        return s;
      }
    }
    try {
      return JSON.writeValueAsString(referenceNormalize(node));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode referenceNormalize(JsonNode n) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    if (n.isObject()) {
      List<String> names = new ArrayList<>();
      n.fieldNames().forEachRemaining(names::add);
      names.sort(null);
      com.fasterxml.jackson.databind.node.ObjectNode o = f.objectNode();
      for (String name : names) {
        o.set(name, referenceNormalize(n.get(name)));
      }
      return o;
    }
    if (n.isArray()) {
      var a = f.arrayNode(n.size());
      for (java.util.Iterator<JsonNode> it = n.elements(); it.hasNext(); ) {
        a.add(referenceNormalize(it.next()));
      }
      return a;
    }
    if (n.isNumber()) {
      BigDecimal d = n.decimalValue();
      return d.signum() == 0 ? f.numberNode(BigInteger.ZERO)
          : d.stripTrailingZeros().scale() <= 0 ? f.numberNode(d.toBigInteger())
          : f.numberNode(d.stripTrailingZeros());
    }
    return n;
  }

  private static void appendTime(StringBuilder sb, int h, int m, int s, int nanos, TimePrecision precision) {
    sb.append((char) ('0' + h / 10)).append((char) ('0' + h % 10)).append(':');
    sb.append((char) ('0' + m / 10)).append((char) ('0' + m % 10)).append(':');
    sb.append((char) ('0' + s / 10)).append((char) ('0' + s % 10));
    int digits = precision.digits();
    if (digits > 0) {
      String n = Integer.toString(nanos + 1_000_000_000).substring(1);
      sb.append('.').append(n, 0, digits);
    }
  }

  /** The result, or the exception's class when the code throws (both must throw alike). */
  private static String outcome(java.util.concurrent.Callable<String> c) {
    try {
      return c.call();
    } catch (Exception e) {
      return "threw " + e.getClass().getName();
    }
  }

  // ---- generators ----

  private static String pad(int v, int width) {
    String s = Integer.toString(Math.abs(v));
    return (v < 0 ? "-" : "") + "0".repeat(Math.max(0, width - s.length())) + s;
  }

  private static String fraction(Random r) {
    int len = r.nextInt(12) - 1; // -1: no '.', 0: '.' alone, up to 10 digits
    if (len < 0) {
      return "";
    }
    StringBuilder sb = new StringBuilder(".");
    for (int i = 0; i < len; i++) {
      sb.append((char) ('0' + r.nextInt(10)));
    }
    return sb.toString();
  }

  private static String offset(Random r) {
    return switch (r.nextInt(12)) {
      case 0, 1, 2 -> "";
      case 3, 4 -> "Z";
      case 5 -> "z";
      case 6 -> (r.nextBoolean() ? "+" : "-") + pad(r.nextInt(20), 2);                                  // +hh
      case 7 -> (r.nextBoolean() ? "+" : "-") + pad(r.nextInt(20), 2) + ":" + pad(r.nextInt(61), 2)
          + ":" + pad(r.nextInt(61), 2);                                                               // +hh:mm:ss
      case 8 -> "[Europe/Paris]";
      case 9 -> "+" + pad(r.nextInt(3) == 0 ? 18 : r.nextInt(19), 2) + ":" + pad(r.nextInt(3) == 0 ? 0 : r.nextInt(61), 2);
      default -> "-" + pad(r.nextInt(3) == 0 ? 18 : r.nextInt(19), 2) + ":" + pad(r.nextInt(3) == 0 ? 0 : r.nextInt(61), 2);
    };
  }

  private static String year(Random r) {
    return switch (r.nextInt(10)) {
      case 0 -> pad(r.nextInt(1000), 4);                 // 0000-0999: the fast path leaves these to the formatter
      case 1 -> "+" + (10_000 + r.nextInt(1_000_000));   // more than four digits need a sign
      case 2 -> "-" + pad(r.nextInt(10_000), 4);
      case 3 -> Integer.toString(10_000 + r.nextInt(90_000)); // unsigned five digits: invalid
      case 4 -> r.nextBoolean() ? "9999" : "1000";
      default -> Integer.toString(1000 + r.nextInt(9000));
    };
  }

  private static String time(Random r) {
    String t = pad(r.nextInt(10) == 0 ? 24 : r.nextInt(24), 2) + ":" + pad(r.nextInt(10) == 0 ? 60 : r.nextInt(60), 2);
    if (r.nextInt(15) != 0) { // seconds are optional to the formatter
      t += ":" + pad(r.nextInt(15) == 0 ? 60 : r.nextInt(60), 2);
    }
    return t + fraction(r);
  }

  private static String dateTime(Random r) {
    int month = r.nextInt(15) == 0 ? r.nextInt(14) : 1 + r.nextInt(12);
    int day = r.nextInt(6) == 0 ? 28 + r.nextInt(5) : r.nextInt(20) == 0 ? 0 : 1 + r.nextInt(28);
    String date = year(r) + "-" + pad(month, 2) + "-" + pad(day, 2);
    String sep = switch (r.nextInt(8)) {
      case 0 -> " ";
      case 1 -> "t";
      case 2 -> "  ";
      default -> "T";
    };
    String s = date + sep + time(r) + offset(r);
    if (r.nextInt(20) == 0) {
      s = " " + s + "\t"; // trimmed first
    }
    return s;
  }

  /** The shapes the fast path takes: every fraction length, month ends, offsets up to +-18:00. */
  private static String commonDateTime(Random r) {
    int year = 1000 + r.nextInt(9000);
    int month = 1 + r.nextInt(12);
    int day = r.nextInt(3) == 0 ? 28 + r.nextInt(4) : 1 + r.nextInt(28); // the 29th to 31st may not exist
    StringBuilder sb = new StringBuilder().append(year).append('-').append(pad(month, 2)).append('-').append(pad(day, 2))
        .append(r.nextInt(4) == 0 ? ' ' : 'T').append(pad(r.nextInt(24), 2)).append(':').append(pad(r.nextInt(60), 2))
        .append(':').append(pad(r.nextInt(60), 2));
    int fraction = r.nextInt(11) - 1;
    if (fraction >= 0) {
      sb.append('.');
      for (int i = 0; i < fraction; i++) {
        sb.append((char) ('0' + r.nextInt(10)));
      }
    }
    switch (r.nextInt(4)) {
      case 0 -> { }
      case 1 -> sb.append('Z');
      default -> sb.append(r.nextBoolean() ? '+' : '-').append(pad(r.nextInt(19), 2)).append(':')
          .append(pad(r.nextInt(4) == 0 ? 0 : r.nextInt(60), 2));
    }
    return sb.toString();
  }

  private static final String[] SPECIAL_TIMESTAMPS = {
      "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000000Z", "2024-05-01 10:00:00", "2024-05-01T12:00:00+02:00",
      "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T23:59:59.999999999-18:00",
      "9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999-18:00", "1000-01-01T00:00:00+18:00",
      "1000-01-01T00:00:00.1+18:01", "0999-12-31T23:59:59Z", "+10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z",
      "2024-03-31T02:30:00", "2024-10-27T02:30:00", "2024-10-27T02:30:00Z", "2024-05-01T10:00", "2024-05-01T10:00Z",
      "2024-05-01T10:00:00.", "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00.1234567891Z", "2024-05-01T24:00:00Z",
      "2024-05-01T23:59:60Z", "2024-05-01T10:00:00+05", "2024-05-01T10:00:00+0530", "2024-05-01T10:00:00+05:30:15",
      "2024-05-01T10:00:00 Z", "2024-05-01T10:00:00z", "2024-05-01t10:00:00", "2024-05-01 10:00:00T", "infinity",
      "-infinity", "", "2024-05-01", "2024-5-1T10:00:00Z", "2024-05-01T1:00:00Z", "２０２４-05-01T10:00:00Z",
      "2024-05-01T10:00:00.١٢٣Z", "2024-05-01T10:00:00-00:00", "2024-05-01T10:00:00+00:00[UTC]",
      "2024-05-01 10:00:00.5 +01:00", " 2024-05-01T10:00:00Z ", "2024-05-01T10:00:00.000000001+14:00",
  };

  @Test
  void timestampsAgreeWithTheFormatter() {
    Random r = new Random(42);
    List<String> values = new ArrayList<>(List.of(SPECIAL_TIMESTAMPS));
    for (int i = 0; i < 16_000; i++) {
      values.add(i % 2 == 0 ? dateTime(r) : commonDateTime(r));
    }
    ColumnType[] types = {null, ISO_TS, ZONED_TS};
    int fast = 0;
    for (String s : values) {
      for (int k = 0; k < 3; k++) { // three random zone, column type and precision combinations
        ZoneId zone = ZONES.get(r.nextInt(ZONES.size()));
        ColumnType ct = types[r.nextInt(types.length)];
        TimePrecision p = TimePrecision.values()[r.nextInt(4)];
        String expected = outcome(() -> referenceTimestamp(s, ct, zone, p));
        assertThat(outcome(() -> Values.canonical(s, CanonicalType.TIMESTAMP, ct, zone, p, null)))
            .as("%s in %s as %s at %s", s, zone, ct, p).isEqualTo(expected);
        assertThat(outcome(() -> Values.canonical(JsonNodeFactory.instance.textNode(s), CanonicalType.TIMESTAMP, ct, zone,
            p, null))).as("%s as a text node", s).isEqualTo(expected);
        boolean zoneLess = ct == ISO_TS;
        Instant quick = Values.IsoFast.instant(s.trim(), zoneLess, zone);
        if (quick != null) {
          fast++;
          assertThat(quick).as(s).isEqualTo(Values.parseIsoDateTime(s.trim(), zoneLess, zone));
        }
      }
    }
    assertThat(fast).as("the generated values exercise the fast path").isGreaterThan(values.size());
    // the shapes Debezium produces are all on the fast path
    for (String s : new String[] {"2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123456Z", "2024-05-01 10:00:00",
        "2024-05-01T12:00:00.5+02:00", "2024-05-01T12:00:00-03:30"}) {
      assertThat(Values.IsoFast.instant(s, false, ZoneOffset.UTC)).as(s).isNotNull();
    }
    for (String s : new String[] {"0999-05-01T10:00:00Z", "+10000-05-01T10:00:00Z", "2024-05-01T10:00Z"}) {
      assertThat(Values.IsoFast.instant(s, false, ZoneOffset.UTC)).as(s).isNull();
    }
  }

  @Test
  void numericTimestampsAndTheUtcWriterAgree() {
    Random r = new Random(7);
    ColumnType[] types = {null, new ColumnType("int64", "io.debezium.time.Timestamp", null, null, null),
        new ColumnType("int64", "io.debezium.time.MicroTimestamp", null, null, null),
        new ColumnType("int64", "io.debezium.time.NanoTimestamp", null, null, null)};
    List<Long> values = new ArrayList<>(List.of(0L, -1L, 1L, Long.MAX_VALUE, Long.MIN_VALUE, 253_402_300_799_999L,
        253_402_300_800_000L, -62_167_219_200_000L, -62_167_219_200_001L, -30_610_224_000_000L, 1_714_557_600_123L));
    for (int i = 0; i < 20_000; i++) {
      values.add(switch (i % 4) {
        case 0 -> r.nextLong();
        case 1 -> (long) (r.nextGaussian() * 1e13);
        case 2 -> (long) (r.nextGaussian() * 1e16);
        default -> (long) (r.nextGaussian() * 1e19);
      });
    }
    for (long x : values) {
      for (ColumnType ct : types) {
        TimePrecision p = TimePrecision.values()[r.nextInt(4)];
        assertThat(outcome(() -> Values.canonical(x, CanonicalType.TIMESTAMP, ct, ZoneOffset.UTC, p, null)))
            .as("%d as %s", x, ct).isEqualTo(outcome(() -> referenceTimestamp(x, ct, ZoneOffset.UTC, p)));
      }
    }
    for (int i = 0; i < 50_000; i++) {
      long second = i % 2 == 0 ? r.nextLong() % 400_000_000_000L : (long) (r.nextGaussian() * 1e11);
      int nano = r.nextInt(1_000_000_000);
      TimePrecision p = TimePrecision.values()[i % 4];
      Instant instant = Instant.ofEpochSecond(second, nano);
      assertThat(Values.IsoFast.utcText(second, nano, p)).isEqualTo(Values.utcTextSlow(instant, p));
    }
  }

  @Test
  void datesAgreeWithLocalDate() {
    Random r = new Random(3);
    List<String> values = new ArrayList<>(List.of("2024-05-01Z", "2024-05-01", "2024-02-29", "2023-02-29", "2100-02-29",
        "2000-02-29", "0999-12-31", "1000-01-01", "9999-12-31", "+10000-01-01", "-0001-01-01", "2024-13-01", "2024-00-10",
        "2024-01-00", "2024-01-32", "2024-04-31", "2024-5-01", "infinity", "", "2024-05-01T10:00:00", "2024-05-01 ",
        "２０２４-05-01", "2024/05/01", "2024-05-01+02:00"));
    for (int i = 0; i < 30_000; i++) {
      int month = r.nextInt(10) == 0 ? r.nextInt(14) : 1 + r.nextInt(12);
      int day = r.nextInt(4) == 0 ? 27 + r.nextInt(6) : r.nextInt(30) == 0 ? 0 : 1 + r.nextInt(28);
      String tail = switch (r.nextInt(5)) {
        case 0 -> "Z";
        case 1 -> "T10:00:00";
        case 2 -> "+02:00";
        default -> "";
      };
      values.add(year(r) + "-" + pad(month, 2) + "-" + pad(day, 2) + tail);
    }
    for (String s : values) {
      assertThat(outcome(() -> Values.canonical(s, CanonicalType.DATE, null, ZoneOffset.UTC, TimePrecision.MICROS, null)))
          .as(s).isEqualTo(outcome(() -> referenceDate(s)));
    }
  }

  @Test
  void timesAgreeWithTheFormatter() {
    Random r = new Random(5);
    List<String> values = new ArrayList<>(List.of("10:00:00Z", "10:00:00.000", "10:00:00", "23:59:59.999999999+18:00",
        "00:00:00-18:00", "00:00:00.5-01:30", "10:00", "10:00Z", "10:00:00.", "10:00:00.1234567890", "24:00:00",
        "10:60:00", "10:00:60", "10:00:00+05", "10:00:00+05:30:15", "10:00:00 Z", "10:00:00z", "1:00:00", "", "noon",
        "10:00:00+19:00", "10:00:00+18:01", "10:00:00-00:00", "10:00:00.١Z"));
    for (int i = 0; i < 20_000; i++) {
      values.add(time(r) + offset(r));
    }
    ColumnType[] types = {null, new ColumnType("string", "io.debezium.time.IsoTime", "TIME", null, null)};
    for (String s : values) {
      for (ColumnType ct : types) {
        TimePrecision p = TimePrecision.values()[r.nextInt(4)];
        assertThat(outcome(() -> Values.canonical(s, CanonicalType.TIME, ct, ZoneOffset.UTC, p, null)))
            .as("%s at %s", s, p).isEqualTo(outcome(() -> referenceTime(s, ct, p)));
      }
    }
    for (long x : new long[] {0, -1, 1, 86_399_999, 86_400_000, Long.MAX_VALUE / 1000, r.nextLong() / 1000}) {
      for (TimePrecision p : TimePrecision.values()) {
        assertThat(Values.canonical(x, CanonicalType.TIME, null, ZoneOffset.UTC, p, null)).isEqualTo(referenceTime(x, null, p));
      }
    }
  }

  @Test
  void integersAndDecimalsAgreeWithBigIntegerAndBigDecimal() {
    Random r = new Random(11);
    List<Object> values = new ArrayList<>(List.of("0", "-0", "+0", "00", "0042", "-0042", "+42", "42.0", "42.5", "1E+3",
        "1e3", "", "-", "+", ".", "5.", ".5", "-.5", "-5.", "0.000", "-0.000", "100", "100.00", "1.8000", ".71",
        "0.5000", "007.50", "18446744073709551615", "-18446744073709551616", "99999999999999999999.000000001", "١٢٣",
        "12a", "1_000", " 12 ", "NaN", "Infinity", "0x10", "1.2.3", "--1", 42L, 42, (short) 7, (byte) -3,
        Long.MIN_VALUE, Integer.MIN_VALUE, new BigInteger("18446744073709551615"), 1.5d, -0.0d));
    for (int i = 0; i < 20_000; i++) {
      StringBuilder sb = new StringBuilder();
      switch (r.nextInt(4)) {
        case 0 -> sb.append('-');
        case 1 -> sb.append(r.nextInt(4) == 0 ? "+" : "");
        default -> { }
      }
      int zeros = r.nextInt(4) == 0 ? r.nextInt(3) : 0;
      sb.append("0".repeat(zeros));
      int digits = r.nextInt(25);
      for (int d = 0; d < digits; d++) {
        sb.append((char) ('0' + r.nextInt(10)));
      }
      if (r.nextBoolean()) {
        sb.append('.');
        int frac = r.nextInt(12);
        for (int d = 0; d < frac; d++) {
          sb.append(r.nextInt(3) == 0 ? '0' : (char) ('0' + r.nextInt(10)));
        }
        sb.append("0".repeat(r.nextInt(3)));
      }
      values.add(sb.toString());
      values.add(r.nextLong());
      values.add(r.nextInt());
    }
    ObjectMapper json = new ObjectMapper();
    for (Object v : values) {
      assertThat(Values.canonical(v, CanonicalType.INTEGER, null, ZoneOffset.UTC, TimePrecision.MICROS, null))
          .as("integer %s", v).isEqualTo(referenceInteger(v));
      if (v instanceof String s) {
        assertThat(Values.canonical(s, CanonicalType.DECIMAL, null, ZoneOffset.UTC, TimePrecision.MICROS, null))
            .as("decimal %s", v).isEqualTo(referenceDecimal(s));
      }
      JsonNode node = json.valueToTree(v);
      assertThat(Values.canonical(node, CanonicalType.INTEGER, null, ZoneOffset.UTC, TimePrecision.MICROS, null))
          .as("integer node %s", node).isEqualTo(referenceInteger(node));
      if (!(v instanceof Double)) {
        assertThat(Values.canonical(node, CanonicalType.DECIMAL, null, ZoneOffset.UTC, TimePrecision.MICROS, null))
            .as("decimal node %s", node).isEqualTo(referenceDecimal(node));
      }
    }
  }
  private static final String[] NUMBERS = {"0", "-0", "0.0", "-0.0", "1", "-1", "1.0", "1.50", "100", "1e2", "1E+2",
      "1.5e-7", "-2.5E10", "123456789012345678901234567890", "-9223372036854775808", "9223372036854775807",
      "9223372036854775808", "2147483647", "2147483648", "0.1", "0.30000000000000004", "1e-400", "1e308", "1e400",
      "-1e400", "3.141592653589793238462643383279", "0.000001", "0.0000001", "12.340e3", "5e-324", "1.7976931348623157e308"};
  private static final String[] STRINGS = {"", "a", "é", "😀", "\\u0000", "\\u001f", "\\n\\t\\r\\b\\f", "\\\"",
      "\\\\", "/", "\\/", "\\u2028", "<>&'", "\\ud800", "k", "b", "a b", "ü"};

  private static String randomJson(Random r, int depth) {
    int kind = depth > 3 ? 2 + r.nextInt(5) : r.nextInt(7);
    switch (kind) {
      case 0: {
        StringBuilder sb = new StringBuilder("{");
        int n = r.nextInt(5);
        for (int i = 0; i < n; i++) {
          sb.append(i > 0 ? "," : "").append(r.nextBoolean() ? " " : "").append('"')
              .append(STRINGS[r.nextInt(STRINGS.length)]).append(r.nextInt(3)).append("\":").append(randomJson(r, depth + 1));
        }
        return sb.append('}').toString();
      }
      case 1: {
        StringBuilder sb = new StringBuilder("[");
        int n = r.nextInt(5);
        for (int i = 0; i < n; i++) {
          sb.append(i > 0 ? ", " : "").append(randomJson(r, depth + 1));
        }
        return sb.append(']').toString();
      }
      case 2:
        return NUMBERS[r.nextInt(NUMBERS.length)];
      case 3:
        return Long.toString(r.nextLong() >> r.nextInt(64)) + (r.nextInt(3) == 0 ? "." + r.nextInt(1000) : "");
      case 4:
        return '"' + STRINGS[r.nextInt(STRINGS.length)] + '"';
      case 5:
        return r.nextBoolean() ? "true" : "false";
      default:
        return "null";
    }
  }

  @Test
  void jsonAgreesWithNormalizingATree() throws Exception {
    Random r = new Random(13);
    List<String> docs = new ArrayList<>(List.of("{\"k\": 1}", "{\"k\":1}", "{ \"b\" : 1,  \"a\":[1,2]}", "[]", "{}",
        "not json {", "", "  ", "1", "\"text\"", "null", "true", "{\"a\":1}{", "{\"a\":1} trailing", "{\"a\":1,\"a\":2}",
        "[1e400]", "{\"a\":NaN}", "{'a':1}", "{\"a\":01}"));
    for (int i = 0; i < 20_000; i++) {
      docs.add(randomJson(r, 0));
    }
    int containers = 0;
    for (String doc : docs) {
      String expected = outcome(() -> referenceJson(doc));
      assertThat(outcome(() -> Values.canonical(doc, CanonicalType.JSON, null, ZoneOffset.UTC, TimePrecision.MICROS, null)))
          .as(doc).isEqualTo(expected);
      JsonNode tree;
      try {
        tree = JSON.readTree(doc);
      } catch (Exception e) {
        continue;
      }
      if (tree != null && tree.isContainerNode()) {
        containers++;
        assertThat(outcome(() -> Values.canonical(tree, CanonicalType.JSON, null, ZoneOffset.UTC, TimePrecision.MICROS, null)))
            .as("tree %s", doc).isEqualTo(outcome(() -> referenceJson(tree)));
      }
    }
    assertThat(containers).isGreaterThan(5_000);
  }
}
