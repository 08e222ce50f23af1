package io.migrationverifier.cli;

import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "validate", mixinStandardHelpOptions = true,
    description = "Checks a config file and lists every problem at once (exit 2 when invalid).")
final class ValidateCommand implements Callable<Integer> {
  @Mixin
  ConfigOption config;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    VerifierConfig c = config.prepare(err, cfg -> cfg);
    if (c == null) {
      return ExitCodes.INVALID;
    }
    out.printf("%s: valid. name=%s, source=%s %s/%s, target=%s %s/%s, window=%s, %d table(s):%n", config.path,
        c.name(), c.source().dialect().id(), c.source().host(), c.source().database(), c.target().dialect().id(),
        c.target().host(), c.target().database(), c.verify().window(), c.tables().size());
    for (TableConfig t : c.tables()) {
      out.printf("  %s: %s -> %s, key %s, %d column rule(s)%n", t.name(), t.sourceTable(), t.targetTable(), t.key(),
          t.columns().size());
    }
    out.flush();
    return ExitCodes.OK;
  }
}
