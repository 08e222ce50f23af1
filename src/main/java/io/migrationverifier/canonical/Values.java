package io.migrationverifier.canonical;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.config.CanonicalType;
import io.migrationverifier.config.TimePrecision;
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
import java.util.ArrayList;
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
    String s = text(v).trim();
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

  static String decimal(Object v, Integer scale) {
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
      String s = text(v).trim();
      // Debezium's isostring mode appends a 'Z' to zone-less columns (IsoTimestamp: PostgreSQL
      // timestamp, MariaDB DATETIME) that the database never stored: read those in the side's zone.
      boolean zoneLess = ct != null && "io.debezium.time.IsoTimestamp".equals(ct.semanticName());
      try {
        TemporalAccessor t = DateTimeFormatter.ISO_DATE_TIME.parse(s.indexOf('T') < 0 ? s.replaceFirst(" ", "T") : s);
        instant = t.isSupported(ChronoField.OFFSET_SECONDS) && !zoneLess
            ? Instant.from(t)
            : LocalDateTime.from(t).atZone(zone).toInstant();
      } catch (DateTimeParseException e) {
        return s; // 'infinity' and other specials compare as written
      }
    }
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
    try {
      return LocalDate.parse(s.length() > 10 ? s.substring(0, 10) : s).toString();
    } catch (DateTimeParseException e) {
      return s;
    }
  }

  static String time(Object v, ColumnType ct, TimePrecision precision) {
    LocalTime t;
    if (v instanceof Number || (v instanceof JsonNode n && n.isNumber())) {
      long x = v instanceof Number num ? num.longValue() : ((JsonNode) v).longValue();
      String sem = ct == null ? null : ct.semanticName();
      long nanos = "io.debezium.time.MicroTime".equals(sem) ? x * 1000L
          : "io.debezium.time.NanoTime".equals(sem) ? x : x * 1_000_000L;
      t = LocalTime.ofNanoOfDay(Math.floorMod(nanos, 86_400_000_000_000L));
    } else {
      String s = text(v).trim();
      try {
        // A time with an offset (timetz) compares as UTC; isostring's bare 'Z' on TIME is that too.
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
    try {
      return JSON.writeValueAsString(normalize(node));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
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
}
