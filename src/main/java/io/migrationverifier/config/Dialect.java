package io.migrationverifier.config;

/** The database products the verifier captures from and repairs into. */
public enum Dialect {
  POSTGRES("postgres", 5432),
  MARIADB("mariadb", 3306);

  private final String id;
  private final int defaultPort;

  Dialect(String id, int defaultPort) {
    this.id = id;
    this.defaultPort = defaultPort;
  }

  public String id() {
    return id;
  }

  public int defaultPort() {
    return defaultPort;
  }

  public String quote(String qualifiedIdentifier) {
    return this == MARIADB
        ? Identifiers.quoteMariaDb(qualifiedIdentifier)
        : Identifiers.quoteAnsi(qualifiedIdentifier);
  }

  public static Dialect fromId(String id) {
    for (Dialect d : values()) {
      if (d.id.equalsIgnoreCase(id)) {
        return d;
      }
    }
    return null;
  }
}
