package io.migrationverifier.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.RocksDbSettings;
import io.migrationverifier.config.VerifierConfig;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** {@code verify.rocksdb-memory} and {@code verify.rocksdb-write-buffer-ratio} from the file to the setter. */
class BoundedRocksDbSettingsTest {
  private static final String BASE = """
      name: rocks
      source: {type: postgres, database: a, user: u}
      target: {type: postgres, database: b, user: u}
      tables: [{name: t, key: [id]}]
      """;

  private static VerifierConfig parse(String verify) {
    return ConfigLoader.parse(BASE + verify, name -> null);
  }

  @Test
  void defaultsAndConfiguredValuesReachTheStreamsProperties() {
    assertThat(parse("").verify().rocksDb()).isEqualTo(RocksDbSettings.DEFAULTS);
    VerifierConfig c = parse("verify: {rocksdb-memory: 64MB, rocksdb-write-buffer-ratio: 0.25}\n");
    assertThat(c.verify().rocksDb()).isEqualTo(new RocksDbSettings(64L << 20, 0.25));
    Properties p = VerifyStreamsConfig.properties(c, "localhost:9092");
    assertThat(p.get(BoundedRocksDbConfig.MEMORY_CONFIG)).isEqualTo(Long.toString(64L << 20));
    assertThat(p.get(BoundedRocksDbConfig.WRITE_BUFFER_RATIO_CONFIG)).isEqualTo("0.25");
    assertThat(c.verify().withStateDir(java.nio.file.Path.of("/x")).rocksDb()).isEqualTo(c.verify().rocksDb());
  }

  @Test
  void badValuesAreReportedWithTheirPath() {
    assertThatThrownBy(() -> parse("verify: {rocksdb-memory: lots, rocksdb-write-buffer-ratio: 2}\n"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("verify.rocksdb-memory: lots is not a size")
        .hasMessageContaining("verify.rocksdb-write-buffer-ratio: \"2\" must be a number between 0.1 and 0.9");
    assertThatThrownBy(() -> parse("verify: {rocksdb-memory: 1MB}\n"))
        .hasMessageContaining("verify.rocksdb-memory: 1MB is below the minimum 8MB");
  }
}
