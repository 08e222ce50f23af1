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
    CaptureSettings capture) {

  public VerifierConfig {
    tables = List.copyOf(tables);
  }

  public Topics topics() {
    return new Topics(name);
  }

  public DatabaseSettings database(Side side) {
    return side == Side.SOURCE ? source : target;
  }

  public Optional<TableConfig> table(String logicalName) {
    return tables.stream().filter(t -> t.name().equals(logicalName)).findFirst();
  }
}
