package io.migrationverifier.config;

/**
 * The HTTP endpoint of {@code run} ({@code POST /check}, and the operations pages).
 *
 * @param port 0 = any free port (logged at start)
 */
public record HttpSettings(boolean enabled, String bind, int port) {
  public static final HttpSettings DEFAULTS = new HttpSettings(true, "127.0.0.1", 8087);
}
