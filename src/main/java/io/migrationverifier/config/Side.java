package io.migrationverifier.config;

/** The two databases of a migration. The source is the source of truth. */
public enum Side {
  SOURCE("source"),
  TARGET("target");

  private final String id;

  Side(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public Side other() {
    return this == SOURCE ? TARGET : SOURCE;
  }

  public static Side fromId(String id) {
    if ("source".equals(id)) {
      return SOURCE;
    }
    if ("target".equals(id)) {
      return TARGET;
    }
    return null;
  }
}
