package io.migrationverifier.canonical;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Compares two canonical rows of one table. Equal hashes mean equal rows; unequal hashes are
 * decisive unless some column has a tolerance or a custom comparator, in which case the rows are
 * compared field by field.
 */
public final class RowComparator {
  private final Map<String, ColumnSpec> specs;
  private final boolean hashDecisive;

  RowComparator(Map<String, ColumnSpec> specsByLogical) {
    this.specs = Map.copyOf(specsByLogical);
    this.hashDecisive = specsByLogical.values().stream().allMatch(ColumnSpec::hashDecisive);
  }

  /**
   * The same decision on two canonical value maps (rows as stored by the verifier), without
   * building rows or hashing: equal maps are equal rows; otherwise only tolerances or custom
   * comparators can still call them equivalent.
   */
  public boolean equivalent(java.util.SortedMap<String, String> source, java.util.SortedMap<String, String> target) {
    if (source.equals(target)) {
      return true;
    }
    return !hashDecisive && diff(CanonicalRow.of(source), CanonicalRow.of(target)).isEmpty();
  }

  public boolean equivalent(CanonicalRow source, CanonicalRow target) {
    if (source.hash().equals(target.hash())) {
      return true;
    }
    return !hashDecisive && diff(source, target).isEmpty();
  }

  /** The columns that differ, in column-name order; empty when the rows are equivalent. */
  public List<FieldDiff> diff(CanonicalRow source, CanonicalRow target) {
    List<FieldDiff> out = new ArrayList<>();
    TreeSet<String> names = new TreeSet<>(source.values().keySet());
    names.addAll(target.values().keySet());
    for (String name : names) {
      boolean inS = source.has(name);
      boolean inT = target.has(name);
      String s = source.get(name);
      String t = target.get(name);
      if (inS && inT && valueEquivalent(name, s, t)) {
        continue;
      }
      out.add(new FieldDiff(name, s, t, !inS ? "source" : !inT ? "target" : null));
    }
    return out;
  }

  private boolean valueEquivalent(String name, String s, String t) {
    if (Objects.equals(s, t)) {
      return true;
    }
    ColumnSpec spec = specs.get(name);
    if (spec == null || s == null || t == null) {
      return false;
    }
    if (spec.comparator != null && spec.comparator.equivalent(s, t)) {
      return true;
    }
    if (spec.tolerance != null) {
      try {
        return Math.abs(Double.parseDouble(s) - Double.parseDouble(t)) <= spec.tolerance;
      } catch (NumberFormatException e) {
        return false;
      }
    }
    return false;
  }
}
