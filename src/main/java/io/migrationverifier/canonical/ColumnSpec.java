package io.migrationverifier.canonical;

import io.migrationverifier.canonical.spi.ValueComparator;
import io.migrationverifier.config.CanonicalType;
import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.TimePrecision;
import java.time.ZoneId;
import java.util.Locale;

/** A column rule compiled for one side: everything needed to canonicalize its values fast. */
final class ColumnSpec {
  final String logical;
  final CanonicalType type;
  final Integer scale;
  final Double tolerance;
  final TimePrecision precision;
  final boolean trim;
  final boolean caseInsensitive;
  final ValueComparator comparator;

  ColumnSpec(String logical, CanonicalType type, Integer scale, Double tolerance, TimePrecision precision, boolean trim,
      boolean caseInsensitive, ValueComparator comparator) {
    this.logical = logical;
    this.type = type;
    this.scale = scale;
    this.tolerance = tolerance;
    this.precision = precision;
    this.trim = trim;
    this.caseInsensitive = caseInsensitive;
    this.comparator = comparator;
  }

  static ColumnSpec of(ColumnRule r, TimePrecision defaultPrecision, ValueComparator comparator) {
    return new ColumnSpec(r.name(), r.type(), r.scale(), r.tolerance(),
        r.precision() != null ? r.precision() : defaultPrecision, r.trim(), r.caseInsensitive(), comparator);
  }

  static ColumnSpec plain(String logical, TimePrecision defaultPrecision) {
    return new ColumnSpec(logical, CanonicalType.AUTO, null, null, defaultPrecision, false, false, null);
  }

  /** Whether equal canonical text is the only way two values can be equal (no tolerance, no custom equality). */
  boolean hashDecisive() {
    return tolerance == null && comparator == null;
  }

  /**
   * What a column's reported type means for this rule: the inferred type (only looked at for
   * {@code auto}) and whether it is blank-padded. Callers that see the same {@link ColumnType}
   * instance again and again (the types of one schema, cached by the reader) keep this instead
   * of working it out per value.
   */
  static final class Resolved {
    final ColumnType ct;
    final CanonicalType inferred;
    final boolean blankPadded;

    private Resolved(ColumnType ct, CanonicalType inferred, boolean blankPadded) {
      this.ct = ct;
      this.inferred = inferred;
      this.blankPadded = blankPadded;
    }
  }

  private static final Resolved NO_TYPE = new Resolved(null, null, false);

  Resolved resolve(ColumnType ct) {
    if (ct == null) {
      return NO_TYPE;
    }
    return new Resolved(ct, type == CanonicalType.AUTO ? ct.infer() : null, ct.blankPadded());
  }

  /** The canonical text of one raw value of this column; {@code r} is {@code resolve(ct)}, worked out once. */
  String canonicalize(Object raw, ColumnType ct, ZoneId zone, Resolved r) {
    CanonicalType t = type;
    if (t == CanonicalType.AUTO) {
      t = r.inferred;
      if (t == null) {
        t = Values.fromValue(raw);
      }
    }
    String v = Values.canonical(raw, t, ct, zone, precision, scale);
    if (v != null && t == CanonicalType.TEXT) {
      if (trim) {
        v = v.strip();
      } else if (r.blankPadded) {
        v = stripTrailingBlanks(v);
      }
      if (caseInsensitive) {
        v = v.toLowerCase(Locale.ROOT);
      }
    }
    return comparator == null ? v : comparator.canonicalize(v);
  }

  private static String stripTrailingBlanks(String v) {
    int end = v.length();
    while (end > 0 && v.charAt(end - 1) == ' ') {
      end--;
    }
    return v.substring(0, end);
  }
}
