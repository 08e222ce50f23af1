package io.migrationverifier.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.event.DiscrepancyKind;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JVM checksum (order-independent, 128-bit carry) and the checkpoint file's round trip. */
class AuditUnitTest {

  @Test
  void theChecksumIgnoresRowOrderButNotContent() {
    List<String> hashes = List.of(CanonicalRow.of(Map.of("id", "1")).hash(), CanonicalRow.of(Map.of("id", "2")).hash(),
        CanonicalRow.of(Map.of("id", "3")).hash());
    JvmSegmentHasher.Sum128 a = new JvmSegmentHasher.Sum128();
    hashes.forEach(a::add);
    JvmSegmentHasher.Sum128 b = new JvmSegmentHasher.Sum128();
    List.of(hashes.get(2), hashes.get(0), hashes.get(1)).forEach(b::add);
    assertThat(a.hex()).isEqualTo(b.hex()).hasSize(32);
    JvmSegmentHasher.Sum128 c = new JvmSegmentHasher.Sum128();
    List.of(hashes.get(0), hashes.get(1), CanonicalRow.of(Map.of("id", "4")).hash()).forEach(c::add);
    assertThat(c.hex()).isNotEqualTo(a.hex());
  }

  @Test
  void theLowHalfCarriesIntoTheHighHalfAndTheSumWrapsAt128Bits() {
    JvmSegmentHasher.Sum128 s = new JvmSegmentHasher.Sum128();
    s.add("0000000000000000ffffffffffffffff");
    s.add("00000000000000000000000000000001");
    assertThat(s.hex()).isEqualTo("00000000000000010000000000000000");
    s.add("ffffffffffffffff0000000000000000");
    assertThat(s.hex()).isEqualTo("00000000000000000000000000000000");
  }

  @Test
  void aCheckpointReadsBackAsWritten(@TempDir Path dir) {
    Path f = AuditCheckpoint.file(dir, "orders");
    TreeMap<String, String> key = new TreeMap<>(Map.of("region", "日本", "code", "a\"b"));
    AuditCheckpoint cp = new AuditCheckpoint("orders", "time:created_at", List.of("x", "y"), 1000L, 5000L, 3, 1,
        300, 299, 1234, false, List.of(new AuditCheckpoint.Suspect(new CanonicalKey("orders", key),
            DiscrepancyKind.MISSING_IN_TARGET, 42, "abc", null)));
    cp.write(f);
    assertThat(f).exists();
    assertThat(f.resolveSibling("orders.json.tmp")).doesNotExist();
    assertThat(AuditCheckpoint.read(f)).contains(cp);
    assertThat(AuditCheckpoint.read(dir.resolve("none.json"))).isEmpty();
  }
}
