package io.migrationverifier.config;

import java.util.Locale;

/** How a table's repairs decide what the target row becomes (DESIGN section 5). */
public enum RepairPolicy {
  /** The source row is written to the target (absent on the source: the target row is deleted). */
  SOURCE_WINS("source-wins"),
  /** The newer row by a version or timestamp column wins; a newer target row goes to review. */
  LAST_WRITE_WINS("last-write-wins"),
  /** Nothing is written: every difference goes to {@code <name>.review}. */
  MANUAL("manual"),
  /** A {@code io.migrationverifier.repair.spi.ConflictResolver} class decides. */
  CUSTOM("custom");

  private final String id;

  RepairPolicy(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public static RepairPolicy fromId(String id) {
    for (RepairPolicy p : values()) {
      if (p.id.equals(id.trim().toLowerCase(Locale.ROOT))) {
        return p;
      }
    }
    return null;
  }
}
