package io.migrationverifier.canonical;

import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.TimePrecision;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns one side's physical row images of one table into canonical rows and keys: physical
 * column names mapped to logical ones, ignored columns dropped, values canonicalized per rule.
 */
public final class TableCanonicalizer {
  private final TableConfig table;
  private final Side side;
  private final ZoneId zone;
  private final TimePrecision defaultPrecision;
  private final Map<String, ColumnSpec> byPhysical = new HashMap<>();
  private final Set<String> ignoredPhysical = new HashSet<>();
  private final Map<String, ColumnSpec> unlisted = new java.util.concurrent.ConcurrentHashMap<>();

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
        ignoredPhysical.add(physical);
      } else {
        byPhysical.put(physical, specsByLogical.get(r.name()));
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
    TreeMap<String, String> out = new TreeMap<>();
    for (Map.Entry<String, ?> e : physicalRow.entrySet()) {
      String physical = e.getKey();
      if (ignoredPhysical.contains(physical)) {
        continue;
      }
      ColumnSpec spec = byPhysical.get(physical);
      if (spec == null) {
        // Mapped columns cannot collide with an unlisted one: validation rejects two columns on one physical name.
        spec = unlisted.computeIfAbsent(physical, p -> ColumnSpec.plain(p, defaultPrecision));
      }
      ColumnType ct = types.get(physical);
      out.put(spec.logical, spec.canonicalize(e.getValue(), ct, zone));
    }
    return CanonicalRow.wrap(out);
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
