package io.migrationverifier.config;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Kafka connection and topic settings. {@code properties} passes client settings through
 * (SASL, SSL, ...); values whose name suggests a secret are masked in {@link #toString()}.
 */
public record KafkaSettings(
    String bootstrapServers,
    int embeddedPort,
    int partitions,
    short replicationFactor,
    Map<String, String> properties) {

  public static final String EMBEDDED = "embedded";
  private static final Pattern SECRET_NAME =
      Pattern.compile(".*(password|secret|jaas|token|credential|key).*", Pattern.CASE_INSENSITIVE);

  public KafkaSettings {
    properties = Map.copyOf(properties);
  }

  public boolean embedded() {
    return EMBEDDED.equals(bootstrapServers);
  }

  public static boolean isSecretProperty(String name) {
    return SECRET_NAME.matcher(name).matches();
  }

  @Override
  public String toString() {
    Map<String, String> shown = new TreeMap<>();
    properties.forEach((k, v) -> shown.put(k, isSecretProperty(k) ? "****" : v));
    return "KafkaSettings[bootstrapServers=" + bootstrapServers + ", embeddedPort=" + embeddedPort
        + ", partitions=" + partitions + ", replicationFactor=" + replicationFactor
        + ", properties=" + shown + "]";
  }
}
