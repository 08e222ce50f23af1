package io.migrationverifier.canonical;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Hash128Test {
  @Test
  void matchesTheReferenceMurmur3x64_128() {
    // reference vector (seed 0): h1 = e34bbc7bbc071b6c, h2 = 7a433ca9c49a9347
    assertThat(Hash128.hex("The quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo("e34bbc7bbc071b6c7a433ca9c49a9347");
    assertThat(Hash128.hex(new byte[0])).isEqualTo("00000000000000000000000000000000");
  }

  @Test
  void everyTailLengthIsHashedAndDistinct() {
    Set<String> seen = new HashSet<>();
    byte[] data = new byte[40];
    for (int len = 0; len <= 40; len++) {
      assertThat(seen.add(Hash128.hex(data, len))).as("length " + len).isTrue();
    }
  }
}
