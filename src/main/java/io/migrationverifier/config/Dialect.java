package io.migrationverifier.config;

/** The database products the verifier captures from and repairs into. */
public enum Dialect {
  POSTGRES("postgres", 5432, 1),
  MARIADB("mariadb", 3306, 1_000);

  private final String id;
  private final int defaultPort;
  private final long commitTimeResolutionMs;

  Dialect(String id, int defaultPort, long commitTimeResolutionMs) {
    this.id = id;
    this.defaultPort = defaultPort;
    this.commitTimeResolutionMs = commitTimeResolutionMs;
  }

  /**
   * Resolution of the commit times the change stream reports: PostgreSQL milliseconds, MariaDB's
   * binlog whole seconds (a commit at 12:00:00.900 reads as 12:00:00.000).
   */
  public long commitTimeResolutionMs() {
    return commitTimeResolutionMs;
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
