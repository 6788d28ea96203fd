package io.countersign.server.cli;

import io.countersign.server.config.ScramVerifier;
import java.io.BufferedReader;
import java.io.Console;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code countersign scram-verifier}: turns an agent's password into the config's {@code scram} value. */
@Command(
        name = "scram-verifier",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Reads a password (prompted without echo, or the first line of standard input)",
            "and prints its SCRAM-SHA-256 verifier for an agent's 'scram' key, so the",
            "config need not hold the password."
        })
public final class ScramVerifierCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--iterations", paramLabel = "N", defaultValue = "4096",
            description = "PBKDF2 iterations (default: ${DEFAULT-VALUE}, PostgreSQL's)")
    int iterations;

    @Override
    public Integer call() throws Exception {
        if (iterations < 4096) {
            throw new ParameterException(spec.commandLine(), "--iterations must be at least 4096 (RFC 7677's minimum), got " + iterations);
        }
        String password;
        Console console = System.console();
        if (console != null && isTerminal(console)) {
            char[] pw = console.readPassword("password for the agent: ");
            password = pw == null ? null : new String(pw);
        } else {
            password = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("no password given; type one at the prompt or pipe it in: printf %s \"$PW\" | countersign scram-verifier");
        }
        spec.commandLine().getOut().println(ScramVerifier.create(password, iterations));
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** JDK 22+ returns a Console even when input is piped and says so via isTerminal(); JDK 21 returns none then. */
    private static boolean isTerminal(Console console) {
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }
}
