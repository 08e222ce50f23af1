package io.migrationverifier.event;

/** Debezium's operation codes: create, update, delete, read (snapshot). */
public enum Op {
  CREATE("c"), UPDATE("u"), DELETE("d"), READ("r");

  private final String code;

  Op(String code) {
    this.code = code;
  }

  public String code() {
    return code;
  }

  public static Op fromCode(String code) {
    if (code == null) {
      return null;
    }
    return switch (code) {
      case "c" -> CREATE;
      case "u" -> UPDATE;
      case "d" -> DELETE;
      case "r" -> READ;
      default -> null;
    };
  }
}
