package io.migrationverifier.config;

import java.util.List;
import java.util.Optional;

/** The whole configuration of one deployment, loaded from one YAML file by {@link ConfigLoader}. */
public record VerifierConfig(
    String name,
    KafkaSettings kafka,
    DatabaseSettings source,
    DatabaseSettings target,
    List<TableConfig> tables,
    VerifySettings verify,
    CaptureSettings capture,
    RepairSettings repair,
    HttpSettings http,
    AuditSettings audit) {

  public VerifierConfig {
    tables = List.copyOf(tables);
    audit = audit == null ? AuditSettings.DEFAULTS : audit;
  }

  /** Without an {@code audit:} section (the audit's defaults). */
  public VerifierConfig(String name, KafkaSettings kafka, DatabaseSettings source, DatabaseSettings target,
      List<TableConfig> tables, VerifySettings verify, CaptureSettings capture, RepairSettings repair,
      HttpSettings http) {
    this(name, kafka, source, target, tables, verify, capture, repair, http, AuditSettings.DEFAULTS);
  }

  public Topics topics() {
    return new Topics(name);
  }

  public DatabaseSettings database(Side side) {
    return side == Side.SOURCE ? source : target;
  }

  /** Whether any table has repair enabled (the repair role has nothing to do otherwise). */
  public boolean anyRepairEnabled() {
    return tables.stream().anyMatch(t -> t.repair().enabled());
  }

  public Optional<TableConfig> table(String logicalName) {
    return tables.stream().filter(t -> t.name().equals(logicalName)).findFirst();
  }
}
