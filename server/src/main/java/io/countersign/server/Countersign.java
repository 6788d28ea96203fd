package io.countersign.server;

import io.countersign.server.cli.ApprovalsCommand;
import io.countersign.server.cli.AuditCommand;
import io.countersign.server.cli.DemoCommand;
import io.countersign.server.cli.HealthCommand;
import io.countersign.server.cli.LoginCommand;
import io.countersign.server.cli.PolicyCommand;
import io.countersign.server.cli.ReportCommand;
import io.countersign.server.cli.ScramVerifierCommand;
import io.countersign.server.cli.ServeCommand;
import io.countersign.server.cli.VersionProvider;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code countersign} command. Each subcommand is its own class listed in {@code subcommands}
 * (add {@code policy}, {@code approvals}, {@code audit}, {@code report} there; a command with
 * sub-subcommands, like {@code audit verify|export}, is a class with its own {@code subcommands}).
 */
@Command(
        name = "countersign",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Database-native approval proxy for AI agents.",
        subcommands = {ServeCommand.class, DemoCommand.class, AuditCommand.class, ReportCommand.class, ScramVerifierCommand.class, PolicyCommand.class, ApprovalsCommand.class, HealthCommand.class, LoginCommand.class, CommandLine.HelpCommand.class})
public final class Countersign implements Runnable {

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (0 success, 1 failure, 2 usage error). */
    public static int execute(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command tree, with the error handlers that print one-line reasons. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Countersign());
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            PrintWriter err = cmd.getErr();
            err.println("countersign " + cmd.getCommandName() + ": " + oneLine(ex));
            err.flush();
            return 1;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter err = cmd.getErr();
            err.println(cmd.getCommandSpec().qualifiedName() + ": " + ex.getMessage()
                    + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
            err.flush();
            return 2;
        });
        return cl;
    }

    /** The failure's own message; a multi-line config report is kept whole because each line names a key. */
    static String oneLine(Throwable ex) {
        Throwable t = ex;
        while (t.getMessage() == null && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return msg.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    @Override
    public void run() {
        // "countersign" alone: say what there is to do.
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
