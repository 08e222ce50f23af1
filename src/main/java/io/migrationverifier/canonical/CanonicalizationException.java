package io.migrationverifier.canonical;

/** A row image that cannot be turned into a canonical row (e.g. a key column is missing). */
public final class CanonicalizationException extends RuntimeException {
  public CanonicalizationException(String message) {
    super(message);
  }
}
