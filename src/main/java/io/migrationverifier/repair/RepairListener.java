package io.migrationverifier.repair;

/** What the repair role does, for metrics and tests; the default does nothing. Called on the role's thread. */
public interface RepairListener {
  RepairListener NONE = new RepairListener() {};

  default void outcome(String table, RepairEngine.Status status) {}

  default void retried(String table, int attempt, Throwable cause) {}

  default void deadLettered(String table, Throwable cause) {}

  default void paused(String reason) {}

  default void resumed(long pausedMs) {}
}
