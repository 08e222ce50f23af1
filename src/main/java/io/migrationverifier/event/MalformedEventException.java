package io.migrationverifier.event;

/** A change-topic record that does not follow the contract; the message says what is wrong. */
public final class MalformedEventException extends RuntimeException {
  public MalformedEventException(String message) {
    super(message);
  }

  public MalformedEventException(String message, Throwable cause) {
    super(message, cause);
  }
}
