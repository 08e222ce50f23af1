package io.migrationverifier.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar migration-verifier.jar <command>}. */
@Command(name = "migration-verifier", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Continuous verifier for zero-downtime database migrations.",
    subcommands = {RunCommand.class, DemoCommand.class, CheckCommand.class, DlqCommand.class, RepairCommand.class,
        ValidateCommand.class, TopologyCommand.class, BenchCommand.class, AuditCommand.class, TailCommand.class,
        GateCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:success", "1:runtime failure", "2:invalid configuration or command line",
        "3:check: the key differs between the databases (and was not repaired); audit: differences found",
        "4:gate: the cutover gate is closed (the reasons are printed)"})
public final class Main {

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs a command and returns its exit code (tests call this instead of {@link #main}). */
  public static int run(String... args) {
    CommandLine cl = new CommandLine(new Main());
    cl.setExitCodeExceptionMapper(e -> e instanceof io.migrationverifier.config.ConfigException
        || e instanceof CommandLine.ParameterException ? ExitCodes.INVALID : ExitCodes.FAILURE);
    cl.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.INVALID);
    return cl.execute(args);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"migration-verifier " + (v == null ? "(development build)" : v)};
    }
  }
}
