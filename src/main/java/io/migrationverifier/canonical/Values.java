package io.migrationverifier.canonical;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.SegmentedStringWriter;
import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.config.CanonicalType;
import io.migrationverifier.config.TimePrecision;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
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
import java.time.zone.ZoneRules;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Canonical text of single values, one function per {@link CanonicalType}. The one place where
 * "equal" is defined for the stream, the audit and the on-demand check alike; every function is
 * total (a value that does not parse as its type keeps its own text, so it can only compare
 * unequal, never crash the caller or vanish).
 */
public final class Values {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Values() {}

  /** Canonical text of {@code v} as {@code type} (never AUTO here); null stays null. */
  public static String canonical(Object v, CanonicalType type, ColumnType ct, ZoneId zone, TimePrecision precision,
      Integer scale) {
    if (v == null || (v instanceof JsonNode n && n.isNull())) {
      return null;
    }
    return switch (type) {
      case INTEGER -> integer(v);
      case DECIMAL -> decimal(v, scale);
      case FLOAT -> floating(v);
      case BOOLEAN -> bool(v);
      case TIMESTAMP -> timestamp(v, ct, zone, precision);
      case DATE -> date(v);
      case TIME -> time(v, ct, precision);
      case JSON -> json(v);
      case BYTES -> bytes(v);
      case UUID -> text(v).trim().toLowerCase(Locale.ROOT);
      case TEXT, AUTO -> text(v);
    };
  }

  /** The type a value gets when nothing is known about its column. */
  public static CanonicalType fromValue(Object v) {
    if (v instanceof Boolean || (v instanceof JsonNode n && n.isBoolean())) {
      return CanonicalType.BOOLEAN;
    }
    if (v instanceof Integer || v instanceof Long || v instanceof BigInteger || v instanceof Short
        || (v instanceof JsonNode n && n.isIntegralNumber())) {
      return CanonicalType.INTEGER;
    }
    if (v instanceof Number || (v instanceof JsonNode n && n.isNumber())) {
      return CanonicalType.DECIMAL;
    }
    if (v instanceof JsonNode n && n.isContainerNode()) {
      return CanonicalType.JSON;
    }
    return CanonicalType.TEXT;
  }

  static String text(Object v) {
    if (v instanceof JsonNode n) {
      return n.isValueNode() ? n.asText() : n.toString();
    }
    return v.toString();
  }

  static String integer(Object v) {
    if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return Long.toString(((Number) v).longValue()); // what BigInteger makes of their text
    }
    if (v instanceof JsonNode n && (n.isInt() || n.isLong() || n.isShort())) {
      return Long.toString(n.longValue());
    }
    String s = text(v).trim();
    if (plainInteger(s)) {
      return s; // already what BigInteger(s).toString() gives back
    }
    try {
      return new BigInteger(s).toString();
    } catch (NumberFormatException e) {
      // "42.0" from a float-typed producer is still the integer 42; anything else keeps its text
      try {
        BigDecimal d = new BigDecimal(s);
        return d.stripTrailingZeros().scale() <= 0 ? d.toBigIntegerExact().toString() : s;
      } catch (NumberFormatException | ArithmeticException e2) {
        return s;
      }
    }
  }

  /** Whether {@code s} is "0" or an ASCII integer without sign '+', leading zeros or "-0". */
  private static boolean plainInteger(String s) {
    int n = s.length();
    int i = n > 0 && s.charAt(0) == '-' ? 1 : 0;
    if (i == n) {
      return false;
    }
    char first = s.charAt(i);
    if (first == '0') {
      return n == 1;
    }
    for (int j = i; j < n; j++) {
      char c = s.charAt(j);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  static String decimal(Object v, Integer scale) {
    if (scale == null && !(v instanceof BigDecimal)) {
      if (v instanceof JsonNode n && (n.isInt() || n.isLong() || n.isShort())) {
        return Long.toString(n.longValue()); // stripTrailingZeros().toPlainString() of an integer is its digits
      }
      if (v instanceof String || (v instanceof JsonNode n && n.isTextual())) {
        String plain = plainDecimal(text(v).trim());
        if (plain != null) {
          return plain;
        }
      }
    }
    BigDecimal d;
    if (v instanceof BigDecimal bd) {
      d = bd;
    } else if (v instanceof JsonNode n && n.isObject() && n.has("scale") && n.has("value")) {
      // Debezium VariableScaleDecimal in "precise" mode: unscaled big-endian bytes + scale
      d = new BigDecimal(new BigInteger(Base64.getDecoder().decode(n.get("value").asText())), n.get("scale").asInt());
    } else {
      String s = text(v).trim();
      try {
        d = new BigDecimal(s);
      } catch (NumberFormatException e) {
        return s; // NaN, Infinity and friends compare as written
      }
    }
    if (scale != null) {
      return d.setScale(scale, RoundingMode.HALF_UP).toPlainString();
    }
    if (d.signum() == 0) {
      return "0";
    }
    return d.stripTrailingZeros().toPlainString();
  }

  /**
   * {@code new BigDecimal(s).stripTrailingZeros().toPlainString()} ("0" for zero) for the common
   * shape {@code [+-]digits[.digits]} in ASCII, without BigDecimal; null for anything else.
   */
  static String plainDecimal(String s) {
    int n = s.length();
    int i = 0;
    boolean negative = false;
    if (n > 0 && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
      negative = s.charAt(0) == '-';
      i = 1;
    }
    int intStart = i;
    while (i < n && isDigit(s.charAt(i))) {
      i++;
    }
    int intEnd = i;
    int fracStart = i;
    int fracEnd = i;
    if (i < n && s.charAt(i) == '.') {
      fracStart = ++i;
      while (i < n && isDigit(s.charAt(i))) {
        i++;
      }
      fracEnd = i;
    }
    if (i != n || (intEnd == intStart && fracEnd == fracStart)) {
      return null; // exponent, stray characters, non-ASCII digits, no digits at all: BigDecimal decides
    }
    int a = intStart;
    while (a < intEnd && s.charAt(a) == '0') {
      a++;
    }
    int b = fracEnd;
    while (b > fracStart && s.charAt(b - 1) == '0') {
      b--;
    }
    if (a == intEnd && b == fracStart) {
      return "0";
    }
    if (intStart == 0 && a == 0 && intEnd > 0 && (b == fracStart ? intEnd == n : b == n)) {
      return s; // already plain: nothing to strip
    }
    StringBuilder sb = new StringBuilder(n + 1);
    if (negative) {
      sb.append('-');
    }
    if (a == intEnd) {
      sb.append('0');
    } else {
      sb.append(s, a, intEnd);
    }
    if (b > fracStart) {
      sb.append('.').append(s, fracStart, b);
    }
    return sb.toString();
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  static String floating(Object v) {
    double d;
    if (v instanceof Number n) {
      d = n.doubleValue();
    } else if (v instanceof JsonNode n && n.isNumber()) {
      d = n.doubleValue();
    } else {
      String s = text(v).trim();
      try {
        d = Double.parseDouble(s);
      } catch (NumberFormatException e) {
        return s;
      }
    }
    if (d == 0) {
      return "0"; // -0.0 and 0.0 are the same stored number for every application we know
    }
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return Double.toString(d);
    }
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      return Long.toString((long) d);
    }
    return Double.toString(d);
  }

  static String bool(Object v) {
    if (v instanceof Boolean b) {
      return b.toString();
    }
    if (v instanceof JsonNode n && n.isBoolean()) {
      return Boolean.toString(n.booleanValue());
    }
    if (v instanceof Number n) {
      return Boolean.toString(n.doubleValue() != 0);
    }
    if (v instanceof JsonNode n && n.isNumber()) {
      return Boolean.toString(n.doubleValue() != 0);
    }
    String s = text(v).trim().toLowerCase(Locale.ROOT);
    return switch (s) {
      case "t", "true", "1", "y", "yes", "on" -> "true";
      case "f", "false", "0", "n", "no", "off" -> "false";
      default -> s;
    };
  }

  static String timestamp(Object v, ColumnType ct, ZoneId zone, TimePrecision precision) {
    long epochSecond;
    int nano;
    if (v instanceof Number || (v instanceof JsonNode n && n.isNumber())) {
      long x = v instanceof Number num ? num.longValue() : ((JsonNode) v).longValue();
      String sem = ct == null ? null : ct.semanticName();
      if ("io.debezium.time.MicroTimestamp".equals(sem)) {
        epochSecond = Math.floorDiv(x, 1_000_000L);
        nano = (int) (Math.floorMod(x, 1_000_000L) * 1000L);
      } else if ("io.debezium.time.NanoTimestamp".equals(sem)) {
        epochSecond = Math.floorDiv(x, 1_000_000_000L);
        nano = (int) Math.floorMod(x, 1_000_000_000L);
      } else {
        epochSecond = Math.floorDiv(x, 1000L);
        nano = (int) Math.floorMod(x, 1000L) * 1_000_000;
      }
    } else {
      String s = text(v).trim();
      // Debezium's isostring mode appends a 'Z' to zone-less columns (IsoTimestamp: PostgreSQL
      // timestamp, MariaDB DATETIME) that the database never stored: read those in the side's zone.
      boolean zoneLess = ct != null && "io.debezium.time.IsoTimestamp".equals(ct.semanticName());
      Instant instant = IsoFast.instant(s, zoneLess, zone);
      if (instant == null) {
        try {
          instant = parseIsoDateTime(s, zoneLess, zone);
        } catch (DateTimeParseException e) {
          return s; // 'infinity' and other specials compare as written
        }
      }
      epochSecond = instant.getEpochSecond();
      nano = instant.getNano();
    }
    return IsoFast.utcText(epochSecond, nano, precision);
  }

  /** The general (slow) reading of an ISO date-time, which {@link IsoFast#instant} must agree with. */
  static Instant parseIsoDateTime(String s, boolean zoneLess, ZoneId zone) {
    TemporalAccessor t = DateTimeFormatter.ISO_DATE_TIME.parse(s.indexOf('T') < 0 ? replaceFirstSpace(s) : s);
    return t.isSupported(ChronoField.OFFSET_SECONDS) && !zoneLess
        ? Instant.from(t)
        : LocalDateTime.from(t).atZone(zone).toInstant();
  }

  /** {@code s.replaceFirst(" ", "T")} without a regex. */
  private static String replaceFirstSpace(String s) {
    int i = s.indexOf(' ');
    return i < 0 ? s : s.substring(0, i) + 'T' + s.substring(i + 1);
  }

  /** The canonical text of an instant, the general way ({@link IsoFast#utcText} must agree with it). */
  static String utcTextSlow(Instant instant, TimePrecision precision) {
    LocalDateTime utc = LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
    StringBuilder sb = new StringBuilder(32).append(utc.toLocalDate()).append('T');
    appendTime(sb, utc.getHour(), utc.getMinute(), utc.getSecond(), utc.getNano(), precision);
    return sb.append('Z').toString();
  }

  static String date(Object v) {
    if (v instanceof Number n) {
      return LocalDate.ofEpochDay(n.longValue()).toString();
    }
    if (v instanceof JsonNode n && n.isNumber()) {
      return LocalDate.ofEpochDay(n.longValue()).toString();
    }
    String s = text(v).trim();
    if (IsoFast.isPlainDate(s)) {
      return s.length() == 10 ? s : s.substring(0, 10); // LocalDate.toString() gives back exactly these 10 chars
    }
    try {
      return LocalDate.parse(s.length() > 10 ? s.substring(0, 10) : s).toString();
    } catch (DateTimeParseException e) {
      return s;
    }
  }

  static String time(Object v, ColumnType ct, TimePrecision precision) {
    long nanoOfDay;
    if (v instanceof Number || (v instanceof JsonNode n && n.isNumber())) {
      long x = v instanceof Number num ? num.longValue() : ((JsonNode) v).longValue();
      String sem = ct == null ? null : ct.semanticName();
      long nanos = "io.debezium.time.MicroTime".equals(sem) ? x * 1000L
          : "io.debezium.time.NanoTime".equals(sem) ? x : x * 1_000_000L;
      nanoOfDay = Math.floorMod(nanos, 86_400_000_000_000L);
    } else {
      String s = text(v).trim();
      nanoOfDay = IsoFast.utcNanoOfDay(s);
      if (nanoOfDay < 0) {
        try {
          nanoOfDay = parseIsoTime(s).toNanoOfDay();
        } catch (DateTimeParseException e) {
          return s;
        }
      }
    }
    char[] out = new char[9 + precision.digits()];
    int len = IsoFast.writeTime(out, 0, nanoOfDay, precision);
    return new String(out, 0, len);
  }

  /** The general (slow) reading of an ISO time, in UTC if it has an offset; {@link IsoFast#utcNanoOfDay} must agree. */
  static LocalTime parseIsoTime(String s) {
    // A time with an offset (timetz) compares as UTC; isostring's bare 'Z' on TIME is that too.
    if (s.endsWith("Z") || s.indexOf('+') > 0 || s.lastIndexOf('-') > 0) {
      return OffsetTime.parse(s).withOffsetSameInstant(ZoneOffset.UTC).toLocalTime();
    }
    return LocalTime.parse(s);
  }

  private static void appendTime(StringBuilder sb, int h, int m, int s, int nanos, TimePrecision precision) {
    two(sb, h).append(':');
    two(sb, m).append(':');
    two(sb, s);
    int digits = precision.digits();
    if (digits > 0) {
      String n = Integer.toString(nanos + 1_000_000_000).substring(1); // 9 digits, zero padded
      sb.append('.').append(n, 0, digits);
    }
  }

  private static StringBuilder two(StringBuilder sb, int v) {
    return sb.append((char) ('0' + v / 10)).append((char) ('0' + v % 10));
  }

  static String json(Object v) {
    JsonNode node;
    if (v instanceof JsonNode n && n.isContainerNode()) {
      node = n;
    } else {
      String s = text(v);
      try {
        node = JSON.readTree(s);
      } catch (JsonProcessingException e) {
        return s; // not JSON: compare the text as it is
      }
      if (node == null) {
        return s;
      }
    }
    String direct = jsonDirect(node);
    return direct != null ? direct : jsonViaTree(node);
  }

  /** {@link #jsonViaTree} without the second tree; null for a node it leaves to that. */
  private static String jsonDirect(JsonNode node) {
    // the writer and generator set up as ObjectMapper.writeValueAsString sets them up
    BufferRecycler recycler = JSON.getFactory()._getBufferRecycler();
    try (SegmentedStringWriter out = new SegmentedStringWriter(recycler)) {
      try (JsonGenerator g = JSON.createGenerator(out)) {
        writeNormalized(g, node);
      }
      return out.getAndClear();
    } catch (UnusualNode e) {
      return null;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } finally {
      recycler.releaseToPool();
    }
  }

  /** The general way, which {@link #writeNormalized} must agree with: normalize into a new tree, serialize that. */
  static String jsonViaTree(JsonNode node) {
    try {
      return JSON.writeValueAsString(normalize(node));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A node that {@link #writeNormalized} leaves to the general way (nothing a parser produces). */
  private static final class UnusualNode extends RuntimeException {
    UnusualNode() {
      super(null, null, false, false);
    }
  }

  private static final UnusualNode UNUSUAL = new UnusualNode();

  /**
   * Writes {@code normalize(n)} the way Jackson serializes that tree (the same generator calls the
   * nodes make), without building it: keys sorted, numbers by value.
   */
  private static void writeNormalized(JsonGenerator g, JsonNode n) throws IOException {
    switch (n.getNodeType()) {
      case OBJECT -> {
        int size = n.size();
        String[] names = new String[size];
        int i = 0;
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
          names[i++] = it.next();
        }
        if (size > 1) {
          Arrays.sort(names);
        }
        g.writeStartObject();
        for (String name : names) {
          g.writeFieldName(name);
          writeNormalized(g, n.get(name));
        }
        g.writeEndObject();
      }
      case ARRAY -> {
        g.writeStartArray();
        for (int i = 0, size = n.size(); i < size; i++) {
          writeNormalized(g, n.get(i));
        }
        g.writeEndArray();
      }
      case NUMBER -> {
        if (n.isInt() || n.isLong()) {
          g.writeNumber(n.longValue()); // what BigInteger.valueOf(it).toString() writes
        } else {
          BigDecimal d = n.decimalValue();
          if (d.signum() == 0) {
            g.writeNumber(BigInteger.ZERO);
          } else {
            BigDecimal stripped = d.stripTrailingZeros();
            if (stripped.scale() <= 0) {
              g.writeNumber(d.toBigInteger());
            } else {
              g.writeNumber(stripped);
            }
          }
        }
      }
      case STRING -> g.writeString(n.textValue());
      case BOOLEAN -> g.writeBoolean(n.booleanValue());
      case NULL -> g.writeNull();
      default -> throw UNUSUAL;
    }
  }

  /** Objects with sorted keys, numbers by value: JSON equal by structure gets equal text. */
  private static JsonNode normalize(JsonNode n) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    if (n.isObject()) {
      List<String> names = new ArrayList<>();
      n.fieldNames().forEachRemaining(names::add);
      names.sort(null);
      ObjectNode o = f.objectNode();
      for (String name : names) {
        o.set(name, normalize(n.get(name)));
      }
      return o;
    }
    if (n.isArray()) {
      var a = f.arrayNode(n.size());
      for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) {
        a.add(normalize(it.next()));
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

  /**
   * The bytes of a canonical BYTES value (lowercase hex, as {@link #bytes} writes it): what repair
   * writes back and what a key lookup binds.
   */
  public static byte[] hexToBytes(String s) {
    if (s.length() % 2 != 0) {
      throw new IllegalArgumentException("odd number of hex digits");
    }
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) {
      int hi = Character.digit(s.charAt(2 * i), 16);
      int lo = Character.digit(s.charAt(2 * i + 1), 16);
      if (hi < 0 || lo < 0) {
        throw new IllegalArgumentException("not hex");
      }
      out[i] = (byte) (hi << 4 | lo);
    }
    return out;
  }

  static String bytes(Object v) {
    byte[] b;
    if (v instanceof byte[] raw) {
      b = raw;
    } else {
      String s = text(v).trim();
      try {
        b = Base64.getDecoder().decode(s);
      } catch (IllegalArgumentException e) {
        return s.toLowerCase(Locale.ROOT).startsWith("\\x") ? s.substring(2).toLowerCase(Locale.ROOT) : s;
      }
    }
    char[] out = new char[b.length * 2];
    for (int i = 0; i < b.length; i++) {
      out[2 * i] = HEX[(b[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[b[i] & 0xf];
    }
    return new String(out);
  }

  /**
   * Hand-rolled readers and writers for the common ISO shapes of dates, times and timestamps
   * ({@code yyyy-MM-dd}, {@code HH:mm:ss[.f{1,9}][Z|+hh:mm|-hh:mm]} and the two joined by 'T' or
   * a blank), several times cheaper than {@code java.time}'s formatters. Each reader accepts
   * only values it reads exactly as the formatter would (valid fields, years 1000-9999, offsets up
   * to 18:00) and answers "not mine" (null or -1) for anything else, which the caller then gives
   * to the formatter; the writers fall back to {@code java.time} outside years 0000-9999.
   * {@code ValuesFastPathTest} compares both ways on many generated values.
   */
  static final class IsoFast {
    private static final int[] POW10 = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000,
        1_000_000_000};
    private static final long NANOS_PER_DAY = 86_400_000_000_000L;
    private static final int DAYS_PER_CYCLE = 146_097;
    private static final long DAYS_0000_TO_1970 = (DAYS_PER_CYCLE * 5L) - (30L * 365L + 7L);

    private IsoFast() {}

    private static int digit(String s, int i) {
      char c = s.charAt(i);
      return c >= '0' && c <= '9' ? c - '0' : -1;
    }

    /** The two ASCII digits at i as a number, or negative. */
    private static int two(String s, int i) {
      int a = digit(s, i);
      int b = digit(s, i + 1);
      return (a | b) < 0 ? -1 : a * 10 + b;
    }

    private static int four(String s, int i) {
      int a = two(s, i);
      int b = two(s, i + 2);
      return (a | b) < 0 ? -1 : a * 100 + b;
    }

    static boolean isLeap(int year) {
      return (year & 3) == 0 && (year % 100 != 0 || year % 400 == 0);
    }

    static int lengthOfMonth(int year, int month) {
      return switch (month) {
        case 2 -> isLeap(year) ? 29 : 28;
        case 4, 6, 9, 11 -> 30;
        default -> 31;
      };
    }

    /** Whether the first 10 chars of s are a valid date yyyy-MM-dd with a year from 1000 to 9999. */
    static boolean isPlainDate(String s) {
      if (s.length() < 10 || s.charAt(4) != '-' || s.charAt(7) != '-') {
        return false;
      }
      int year = four(s, 0);
      int month = two(s, 5);
      int day = two(s, 8);
      return year >= 1000 && month >= 1 && month <= 12 && day >= 1 && day <= lengthOfMonth(year, month);
    }

    /** Days since 1970-01-01 of a valid date, as {@code LocalDate.toEpochDay()} (years >= 0). */
    static long epochDay(int year, int month, int day) {
      long y = year;
      long total = 365 * y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
      total += (367 * month - 362) / 12;
      total += day - 1;
      if (month > 2) {
        total--;
        if (!isLeap(year)) {
          total--;
        }
      }
      return total - DAYS_0000_TO_1970;
    }

    /**
     * What {@link Values#parseIsoDateTime} gives for s, when s has one of the common shapes
     * {@code yyyy-MM-dd(T| )HH:mm:ss[.f{1,9}][Z|+hh:mm|-hh:mm]} with a year from 1000 to 9999;
     * null for anything else (the formatter then decides).
     */
    static Instant instant(String s, boolean zoneLess, ZoneId zone) {
      int n = s.length();
      if (n < 19 || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(13) != ':' || s.charAt(16) != ':') {
        return null;
      }
      char sep = s.charAt(10);
      if (sep != 'T' && sep != ' ') {
        return null;
      }
      int year = four(s, 0);
      int month = two(s, 5);
      int day = two(s, 8);
      int hour = two(s, 11);
      int minute = two(s, 14);
      int second = two(s, 17);
      if (year < 1000 || month < 1 || month > 12 || day < 1 || day > lengthOfMonth(year, month)
          || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
        return null;
      }
      int i = 19;
      int nano = 0;
      if (i < n && s.charAt(i) == '.') {
        int start = ++i;
        int d;
        while (i < n && (d = digit(s, i)) >= 0) {
          if (i - start == 9) {
            return null;
          }
          nano = nano * 10 + d;
          i++;
        }
        if (i == start) {
          return null;
        }
        nano *= POW10[9 - (i - start)];
      }
      boolean hasOffset = i < n;
      int offset = 0;
      if (hasOffset) {
        offset = offsetSeconds(s, i);
        if (offset == Integer.MIN_VALUE) {
          return null;
        }
      }
      long localSecond = epochDay(year, month, day) * 86_400L + hour * 3600 + minute * 60 + second;
      if (hasOffset && !zoneLess) {
        return Instant.ofEpochSecond(localSecond - offset, nano);
      }
      if (zone instanceof ZoneOffset fixed) {
        return Instant.ofEpochSecond(localSecond - fixed.getTotalSeconds(), nano);
      }
      ZoneRules rules = zone.getRules();
      if (rules.isFixedOffset()) {
        return Instant.ofEpochSecond(localSecond - rules.getOffset(Instant.EPOCH).getTotalSeconds(), nano);
      }
      return LocalDateTime.of(year, month, day, hour, minute, second, nano).atZone(zone).toInstant();
    }

    /** The offset "Z", "+hh:mm" or "-hh:mm" (at most 18:00) that ends s at i, in seconds; MIN_VALUE if none. */
    private static int offsetSeconds(String s, int i) {
      int n = s.length();
      char c = s.charAt(i);
      if (c == 'Z') {
        return i + 1 == n ? 0 : Integer.MIN_VALUE;
      }
      if ((c != '+' && c != '-') || i + 6 != n || s.charAt(i + 3) != ':') {
        return Integer.MIN_VALUE;
      }
      int oh = two(s, i + 1);
      int om = two(s, i + 4);
      if (oh < 0 || om < 0 || om > 59 || oh > 18 || (oh == 18 && om > 0)) {
        return Integer.MIN_VALUE;
      }
      int seconds = oh * 3600 + om * 60;
      return c == '-' ? -seconds : seconds;
    }

    /**
     * What {@code Values.parseIsoTime(s).toNanoOfDay()} gives, when s has the common shape
     * {@code HH:mm:ss[.f{1,9}][Z|+hh:mm|-hh:mm]}; -1 for anything else.
     */
    static long utcNanoOfDay(String s) {
      int n = s.length();
      if (n < 8 || s.charAt(2) != ':' || s.charAt(5) != ':') {
        return -1;
      }
      int hour = two(s, 0);
      int minute = two(s, 3);
      int second = two(s, 6);
      if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
        return -1;
      }
      int i = 8;
      int nano = 0;
      if (i < n && s.charAt(i) == '.') {
        int start = ++i;
        int d;
        while (i < n && (d = digit(s, i)) >= 0) {
          if (i - start == 9) {
            return -1;
          }
          nano = nano * 10 + d;
          i++;
        }
        if (i == start) {
          return -1;
        }
        nano *= POW10[9 - (i - start)];
      }
      long nanoOfDay = (hour * 3600L + minute * 60 + second) * 1_000_000_000L + nano;
      if (i < n) {
        int offset = offsetSeconds(s, i);
        if (offset == Integer.MIN_VALUE) {
          return -1;
        }
        nanoOfDay = Math.floorMod(nanoOfDay - offset * 1_000_000_000L, NANOS_PER_DAY);
      }
      return nanoOfDay;
    }

    /** Writes HH:mm:ss[.f] (as many fraction digits as the precision keeps) at off; returns the end. */
    static int writeTime(char[] out, int off, long nanoOfDay, TimePrecision precision) {
      int secondOfDay = (int) (nanoOfDay / 1_000_000_000L);
      int nano = (int) (nanoOfDay % 1_000_000_000L);
      off = writeTwo(out, off, secondOfDay / 3600);
      out[off++] = ':';
      off = writeTwo(out, off, secondOfDay / 60 % 60);
      out[off++] = ':';
      off = writeTwo(out, off, secondOfDay % 60);
      int digits = precision.digits();
      if (digits > 0) {
        out[off++] = '.';
        for (int k = 0; k < digits; k++) {
          out[off++] = (char) ('0' + nano / POW10[8 - k] % 10);
        }
      }
      return off;
    }

    private static int writeTwo(char[] out, int off, int v) {
      out[off] = (char) ('0' + v / 10);
      out[off + 1] = (char) ('0' + v % 10);
      return off + 2;
    }

    /** What {@link Values#utcTextSlow} gives for this instant: yyyy-MM-ddTHH:mm:ss[.f]Z in UTC. */
    static String utcText(long epochSecond, int nano, TimePrecision precision) {
      long epochDay = Math.floorDiv(epochSecond, 86_400L);
      long secondOfDay = Math.floorMod(epochSecond, 86_400L);
      // LocalDate.ofEpochDay's algorithm, for the years written with four digits
      long zeroDay = epochDay + DAYS_0000_TO_1970 - 60;
      if (zeroDay < 0 || zeroDay > 3_652_000L) {
        return utcTextSlow(Instant.ofEpochSecond(epochSecond, nano), precision);
      }
      long yearEst = (400 * zeroDay + 591) / DAYS_PER_CYCLE;
      long doyEst = zeroDay - (365 * yearEst + yearEst / 4 - yearEst / 100 + yearEst / 400);
      if (doyEst < 0) {
        yearEst--;
        doyEst = zeroDay - (365 * yearEst + yearEst / 4 - yearEst / 100 + yearEst / 400);
      }
      int marchDoy0 = (int) doyEst;
      int marchMonth0 = (marchDoy0 * 5 + 2) / 153;
      int month = (marchMonth0 + 2) % 12 + 1;
      int day = marchDoy0 - (marchMonth0 * 306 + 5) / 10 + 1;
      int year = (int) (yearEst + marchMonth0 / 10);
      if (year < 0 || year > 9999) {
        return utcTextSlow(Instant.ofEpochSecond(epochSecond, nano), precision);
      }
      char[] out = new char[20 + (precision.digits() > 0 ? 1 + precision.digits() : 0)];
      int off = writeTwo(out, 0, year / 100);
      off = writeTwo(out, off, year % 100);
      out[off++] = '-';
      off = writeTwo(out, off, month);
      out[off++] = '-';
      off = writeTwo(out, off, day);
      out[off++] = 'T';
      off = writeTime(out, off, secondOfDay * 1_000_000_000L + nano, precision);
      out[off] = 'Z';
      return new String(out);
    }
  }
}
