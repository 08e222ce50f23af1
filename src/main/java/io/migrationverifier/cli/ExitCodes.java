package io.migrationverifier.cli;

/** Process exit codes of every command (documented in README). */
public final class ExitCodes {
  /** Success (for validate: the config is valid). */
  public static final int OK = 0;
  /** A runtime failure (I/O, a broker or database unreachable, an unexpected error). */
  public static final int FAILURE = 1;
  /** Invalid configuration or command line: nothing was started. */
  public static final int INVALID = 2;
  /** {@code check}: the key differs between the two databases. */
  public static final int DIFFERENT = 3;
  /** {@code gate}: the cutover gate is closed (the reasons are printed). */
  public static final int GATE_CLOSED = 4;

  private ExitCodes() {}
}
