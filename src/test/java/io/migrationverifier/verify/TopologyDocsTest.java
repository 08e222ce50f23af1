package io.migrationverifier.verify;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** topology-docs/ is generated from the code; this fails when the checked-in copy is stale. */
class TopologyDocsTest {
  static final String CONFIG = "config/demo.yaml";
  static final Path DOCS = Path.of("topology-docs");

  @Test
  void checkedInDocsMatchTheCode() throws IOException {
    VerifierConfig config = ConfigLoader.load(Path.of(CONFIG));
    Map<String, String> generated = TopologyDocs.generate(config, CONFIG);
    if (Boolean.getBoolean("topology.docs.update")) {
      Files.createDirectories(DOCS);
      for (var f : generated.entrySet()) {
        Files.writeString(DOCS.resolve(f.getKey()), f.getValue(), StandardCharsets.UTF_8);
      }
    }
    for (var f : generated.entrySet()) {
      Path file = DOCS.resolve(f.getKey());
      assertThat(file).as("missing " + file + ": run `java -jar target/migration-verifier.jar topology --config "
          + CONFIG + " --docs-dir topology-docs`").exists();
      assertThat(Files.readString(file, StandardCharsets.UTF_8))
          .as(file + " is stale: regenerate with `java -jar target/migration-verifier.jar topology --config " + CONFIG
              + " --docs-dir topology-docs` (or run this test with -Dtopology.docs.update=true) and commit it")
          .isEqualTo(f.getValue());
    }
    try (var listing = Files.list(DOCS)) {
      assertThat(listing.map(p -> p.getFileName().toString()).toList())
          .as("files in topology-docs/ that the code no longer generates")
          .containsExactlyInAnyOrderElementsOf(generated.keySet());
    }
  }

  @Test
  void theMermaidDiagramShowsEveryNodeStoreAndTopic() throws IOException {
    String mmd = TopologyDocs.mermaid(VerifyTopology.build(ConfigLoader.load(Path.of(CONFIG))).describe());
    assertThat(mmd).startsWith("flowchart LR").contains("verify-key-state", "verify-pending", "verify-deadlines",
        "verify-meta", "verify-repairs", "demo.changes.source", "demo.repairs.log", "repairs-log", "demo.changes.target", "demo.discrepancies", "demo.health",
        "demo.changes.dlq", "discrepancies-sink");
  }
}
