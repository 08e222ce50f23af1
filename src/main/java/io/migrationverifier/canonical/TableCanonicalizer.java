package io.migrationverifier.canonical;

import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.TimePrecision;
import java.time.ZoneId;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns one side's physical row images of one table into canonical rows and keys: physical
 * column names mapped to logical ones, ignored columns dropped, values canonicalized per rule.
 */
public final class TableCanonicalizer {
  private final TableConfig table;
  private final Side side;
  private final ZoneId zone;
  private final TimePrecision defaultPrecision;
  /** Physical column name to its column: mapped by a rule, or ignored. */
  private final Map<String, Column> byPhysical = new HashMap<>();
  private final Map<String, Column> unlisted = new ConcurrentHashMap<>();

  /**
   * One physical column of this side: its spec (null when ignored) and, memoized, what the last
   * reported {@link ColumnType} means for it. A reader that caches the types of a schema hands
   * over the same instance with every event, so the type is worked out once, not per value.
   */
  private static final class Column {
    final ColumnSpec spec;
    /** Immutable, so a racy read sees either an old complete one or a new complete one. */
    ColumnSpec.Resolved last;

    Column(ColumnSpec spec) {
      this.spec = spec;
    }

    ColumnSpec.Resolved resolve(ColumnType ct) {
      ColumnSpec.Resolved r = last;
      if (r == null || r.ct != ct) {
        r = spec.resolve(ct);
        last = r;
      }
      return r;
    }
  }

  private static final Column IGNORED = new Column(null);

  TableCanonicalizer(TableConfig table, Side side, ZoneId zone, TimePrecision defaultPrecision,
      Map<String, ColumnSpec> specsByLogical) {
    this.table = table;
    this.side = side;
    this.zone = zone;
    this.defaultPrecision = defaultPrecision;
    for (ColumnRule r : table.columns()) {
      String physical = r.physicalName(side);
      if (physical == null) {
        continue;
      }
      if (r.ignore()) {
        byPhysical.put(physical, IGNORED); // an ignored physical name stays ignored, whatever else maps it
      } else if (byPhysical.get(physical) != IGNORED) {
        ColumnSpec spec = specsByLogical.get(r.name());
        if (spec == null) {
          byPhysical.remove(physical); // treated as unlisted
        } else {
          byPhysical.put(physical, new Column(spec));
        }
      }
    }
  }

  public TableConfig table() {
    return table;
  }

  public Side side() {
    return side;
  }

  /**
   * The canonical row of a physical row image. {@code types} holds what the change stream says
   * about each physical column (may be empty: types are then inferred from the values).
   */
  public CanonicalRow row(Map<String, ?> physicalRow, Map<String, ColumnType> types) {
    int size = physicalRow.size();
    String[] names = new String[size];
    String[] values = new String[size];
    int n = 0;
    for (Map.Entry<String, ?> e : physicalRow.entrySet()) {
      String physical = e.getKey();
      Column column = byPhysical.get(physical);
      if (column == IGNORED) {
        continue;
      }
      if (column == null) {
        // Mapped columns cannot collide with an unlisted one: validation rejects two columns on one physical name.
        column = unlisted.get(physical);
        if (column == null) {
          column = unlisted.computeIfAbsent(physical, p -> new Column(ColumnSpec.plain(p, defaultPrecision)));
        }
      }
      ColumnType ct = types.get(physical);
      ColumnSpec spec = column.spec;
      if (n == names.length) { // a map whose entry set outgrew its size(): tolerate it
        names = Arrays.copyOf(names, n * 2 + 1);
        values = Arrays.copyOf(values, n * 2 + 1);
      }
      names[n] = spec.logical;
      values[n] = spec.canonicalize(e.getValue(), ct, zone, column.resolve(ct));
      n++;
    }
    Order order = lastOrder;
    if (order == null || !order.matches(names, n)) {
      order = Order.of(names, n);
      lastOrder = order;
    }
    if (order.sorted == null) {
      TreeMap<String, String> out = new TreeMap<>();
      for (int i = 0; i < n; i++) {
        out.put(names[i], values[i]);
      }
      return CanonicalRow.wrap(out);
    }
    // the same map as n puts, built in linear time from the entries in key order
    return CanonicalRow.wrap(new TreeMap<>(new SortedEntries(names, values, order.sorted)));
  }

  /**
   * The key order of the last row's logical names (the specs' own String instances, so a row
   * of the same layout is recognized by identity): rows of one schema share it, so it is sorted
   * once, not per row. {@code sorted} is null when two columns share a logical name.
   */
  private static final class Order {
    final String[] names;
    final int[] sorted;

    private Order(String[] names, int[] sorted) {
      this.names = names;
      this.sorted = sorted;
    }

    boolean matches(String[] row, int n) {
      if (n != names.length) {
        return false;
      }
      for (int i = 0; i < n; i++) {
        if (row[i] != names[i]) {
          return false;
        }
      }
      return true;
    }

    static Order of(String[] row, int n) {
      String[] names = Arrays.copyOf(row, n);
      Integer[] idx = new Integer[n];
      for (int i = 0; i < n; i++) {
        idx[i] = i;
      }
      Arrays.sort(idx, (a, b) -> names[a].compareTo(names[b]));
      int[] sorted = new int[n];
      for (int i = 0; i < n; i++) {
        sorted[i] = idx[i];
        if (i > 0 && names[sorted[i]].equals(names[sorted[i - 1]])) {
          return new Order(names, null);
        }
      }
      return new Order(names, sorted);
    }
  }

  private volatile Order lastOrder;

  /** Read-only sorted view of (names[i], values[i]) in the given order, enough for {@code new TreeMap<>(view)}. */
  private static final class SortedEntries extends AbstractMap<String, String> implements SortedMap<String, String> {
    private final String[] names;
    private final String[] values;
    private final int[] order;

    SortedEntries(String[] names, String[] values, int[] order) {
      this.names = names;
      this.values = values;
      this.order = order;
    }

    @Override
    public int size() {
      return order.length;
    }

    @Override
    public Set<Map.Entry<String, String>> entrySet() {
      return new AbstractSet<>() {
        @Override
        public int size() {
          return order.length;
        }

        @Override
        public Iterator<Map.Entry<String, String>> iterator() {
          return new Iterator<>() {
            private int i;

            @Override
            public boolean hasNext() {
              return i < order.length;
            }

            @Override
            public Map.Entry<String, String> next() {
              if (i >= order.length) {
                throw new NoSuchElementException();
              }
              int k = order[i++];
              return new AbstractMap.SimpleImmutableEntry<>(names[k], values[k]);
            }
          };
        }
      };
    }

    @Override
    public Comparator<? super String> comparator() {
      return null;
    }

    @Override
    public String firstKey() {
      if (order.length == 0) {
        throw new NoSuchElementException();
      }
      return names[order[0]];
    }

    @Override
    public String lastKey() {
      if (order.length == 0) {
        throw new NoSuchElementException();
      }
      return names[order[order.length - 1]];
    }

    // Range views are never needed on the hot path (the view only feeds new TreeMap<>(view));
    // a copy keeps them correct for any other caller.
    @Override
    public SortedMap<String, String> subMap(String fromKey, String toKey) {
      return new TreeMap<>(this).subMap(fromKey, toKey);
    }

    @Override
    public SortedMap<String, String> headMap(String toKey) {
      return new TreeMap<>(this).headMap(toKey);
    }

    @Override
    public SortedMap<String, String> tailMap(String fromKey) {
      return new TreeMap<>(this).tailMap(fromKey);
    }
  }

  /** The canonical key of a canonical row of this table. */
  public CanonicalKey key(CanonicalRow row) {
    TreeMap<String, String> key = new TreeMap<>();
    List<String> cols = table.key();
    for (String col : cols) {
      if (!row.has(col) || row.get(col) == null) {
        throw new CanonicalizationException("table " + table.name() + " (" + side.id() + " "
            + table.physicalTable(side) + "): key column \"" + col + "\" is missing or NULL in the row image");
      }
      key.put(col, row.get(col));
    }
    return new CanonicalKey(table.name(), key);
  }
}
