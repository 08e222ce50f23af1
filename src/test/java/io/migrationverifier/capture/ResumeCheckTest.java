package io.migrationverifier.capture;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pieces of {@link ResumeCheck} that need no database (the rest: CaptureCrashIT). */
class ResumeCheckTest {

  @Test
  void lsnTextRoundTripsPostgresNotation() {
    assertThat(ResumeCheck.lsnText(0x1D251B8L)).isEqualTo("0/1D251B8");
    assertThat(ResumeCheck.parseLsn("0/1D251B8")).isEqualTo(0x1D251B8L);
    assertThat(ResumeCheck.parseLsn("16/B374D848")).isEqualTo((0x16L << 32) | 0xB374D848L);
    assertThat(ResumeCheck.lsnText(ResumeCheck.parseLsn("16/B374D848"))).isEqualTo("16/B374D848");
  }

  @Test
  void maxLsnTakesTheHighestOfTheChangeAndItsSequence() throws Exception {
    ObjectMapper json = new ObjectMapper();
    assertThat(ResumeCheck.maxLsn(json.readTree("{\"lsn\":26195936,\"sequence\":\"[\\\"26196240\\\",\\\"26195936\\\"]\"}")))
        .isEqualTo(26196240L);
    assertThat(ResumeCheck.maxLsn(json.readTree("{\"lsn\":26196064,\"sequence\":\"[null,\\\"26196064\\\"]\"}")))
        .isEqualTo(26196064L);
    assertThat(ResumeCheck.maxLsn(json.readTree("{\"lsn\":5}"))).isEqualTo(5L);
  }

  /** The file format of Kafka Connect's FileOffsetBackingStore: a serialized map of key bytes to value bytes. */
  @Test
  void readsDebeziumsStoredOffset(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("offsets.dat");
    Map<byte[], byte[]> raw = new HashMap<>();
    raw.put("[\"mv-source\",{\"server\":\"mv-source\"}]".getBytes(StandardCharsets.UTF_8),
        "{\"lsn_proc\":30560696,\"lsn_commit\":30560640,\"lsn\":30560696,\"txId\":811}".getBytes(StandardCharsets.UTF_8));
    try (ObjectOutputStream out = new ObjectOutputStream(Files.newOutputStream(file))) {
      out.writeObject(raw);
    }
    assertThat(ResumeCheck.storedOffset(file)).hasValueSatisfying(o -> {
      assertThat(o.get("lsn_commit").asLong()).isEqualTo(30560640L);
      assertThat(o.get("txId").asLong()).isEqualTo(811L);
    });
    assertThat(ResumeCheck.storedOffset(dir.resolve("absent.dat"))).isEmpty();
    Files.writeString(dir.resolve("garbage.dat"), "not serialized");
    assertThat(ResumeCheck.storedOffset(dir.resolve("garbage.dat"))).isEmpty();
  }

  @Test
  void ackedLsnSurvivesInTheStateDir(@TempDir Path dir) throws Exception {
    assertThat(ResumeCheck.readAckedLsn(dir)).isEmpty();
    ResumeCheck.writeAckedLsn(dir, 30560696L);
    ResumeCheck.writeAckedLsn(dir, 30561000L);
    assertThat(ResumeCheck.readAckedLsn(dir)).contains(30561000L);
    assertThat(dir.resolve(ResumeCheck.ACKED_LSN_FILE + ".tmp")).doesNotExist();
  }
}
