package io.migrationverifier.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A logical table compared between the two databases. Columns not listed in {@link #columns}
 * are compared under their own name with default rules.
 */
public record TableConfig(
    String name,
    String sourceTable,
    String targetTable,
    List<String> key,
    List<ColumnRule> columns,
    Duration window,
    TableRepair repair,
    StateMode state) {

  public TableConfig {
    key = List.copyOf(key);
    columns = List.copyOf(columns);
    repair = repair == null ? TableRepair.DETECT_ONLY : repair;
    state = state == null ? StateMode.FULL : state;
  }

  public TableConfig(String name, String sourceTable, String targetTable, List<String> key, List<ColumnRule> columns,
      Duration window, TableRepair repair) {
    this(name, sourceTable, targetTable, key, columns, window, repair, StateMode.FULL);
  }

  public boolean hashOnly() {
    return state == StateMode.HASH_ONLY;
  }

  public String physicalTable(Side side) {
    return side == Side.SOURCE ? sourceTable : targetTable;
  }

  public Optional<ColumnRule> column(String logicalName) {
    return columns.stream().filter(c -> c.name().equals(logicalName)).findFirst();
  }

  /** The window of this table: its own, else the verifier's. */
  public Duration effectiveWindow(VerifySettings verify) {
    return window != null ? window : verify.window();
  }
}
