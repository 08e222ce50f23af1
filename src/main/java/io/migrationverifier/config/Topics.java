package io.migrationverifier.config;

/** The topic names of one deployment, all derived from its {@code name} (DESIGN section 2). */
public record Topics(String name) {

  public String changes(Side side) {
    return name + ".changes." + side.id();
  }

  public String discrepancies() {
    return name + ".discrepancies";
  }

  /** Side health signals ({@code SIDE_STALLED}, {@code SIDE_RECOVERED}), keyed by side and partition. */
  public String health() {
    return name + ".health";
  }

  /** Change-topic records the verifier could not read, with {@code __streams.errors.*} headers. */
  public String changesDlq() {
    return name + ".changes.dlq";
  }

  public String review() {
    return name + ".review";
  }

  public String repairsRetry() {
    return name + ".repairs.retry";
  }

  public String repairsLog() {
    return name + ".repairs.log";
  }

  public String repairsDlq() {
    return name + ".repairs.dlq";
  }

  /**
   * Which tables were compared in full, for {@code gate}: one record per table and initial snapshot
   * side (written by capture) and per table audit (written by {@code audit}); compacted, one partition.
   */
  public String coverage() {
    return name + ".coverage";
  }

  /** The Kafka Streams application id of the verify role; prefixes its internal topics. */
  public String verifyApplicationId() {
    return name + ".verify";
  }
}
