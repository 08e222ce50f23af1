package io.migrationverifier.cli;

import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.verify.TopologyDocs;
import io.migrationverifier.verify.VerifyTopology;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "topology", mixinStandardHelpOptions = true,
    description = "Prints the verify topology; with --docs-dir writes topology-docs/ (description, Mermaid, schemas).")
final class TopologyCommand implements Callable<Integer> {
  enum Format { text, mermaid }

  @Mixin
  ConfigOption config;

  @Option(names = "--format", defaultValue = "text", description = "text (Kafka Streams' description) or mermaid.")
  Format format;

  @Option(names = "--docs-dir", paramLabel = "DIR", description = "Write every generated document into DIR.")
  Path docsDir;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    VerifierConfig c;
    try {
      c = config.load();
    } catch (ConfigException e) {
      spec.commandLine().getErr().println(config.path + ": " + e.getMessage());
      return ExitCodes.INVALID;
    }
    if (docsDir != null) {
      Files.createDirectories(docsDir);
      for (Map.Entry<String, String> f : TopologyDocs.generate(c, config.path.toString()).entrySet()) {
        Files.writeString(docsDir.resolve(f.getKey()), f.getValue(), StandardCharsets.UTF_8);
        out.println("wrote " + docsDir.resolve(f.getKey()));
      }
      out.flush();
      return ExitCodes.OK;
    }
    var description = VerifyTopology.build(c).describe();
    out.print(format == Format.mermaid ? TopologyDocs.mermaid(description) : description.toString());
    out.flush();
    return ExitCodes.OK;
  }
}
