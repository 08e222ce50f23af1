package io.migrationverifier.config;

import java.time.ZoneId;
import java.util.Map;
import java.util.TreeMap;

/**
 * One side's database. {@code timeZone} is the zone in which the database's zone-less
 * timestamps (PostgreSQL {@code timestamp}, MariaDB {@code DATETIME}) are read, so both sides
 * compare as instants. {@code properties} passes Debezium connector settings through.
 */
public record DatabaseSettings(
    Dialect dialect,
    String host,
    int port,
    String database,
    String user,
    Secret password,
    ZoneId timeZone,
    Map<String, String> properties) {

  public DatabaseSettings {
    properties = Map.copyOf(properties);
  }

  @Override
  public String toString() {
    Map<String, String> shown = new TreeMap<>();
    properties.forEach((k, v) -> shown.put(k, KafkaSettings.isSecretProperty(k) ? "****" : v));
    return "DatabaseSettings[dialect=" + dialect.id() + ", host=" + host + ", port=" + port
        + ", database=" + database + ", user=" + user + ", password=" + password
        + ", timeZone=" + timeZone + ", properties=" + shown + "]";
  }
}
