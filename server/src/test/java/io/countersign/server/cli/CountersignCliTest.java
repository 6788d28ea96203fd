package io.countersign.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.server.Countersign;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command tree as the launcher runs it, through picocli, with the real handlers. */
class CountersignCliTest {

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Countersign.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void versionNamesTheBuild() {
        Run r = run("--version");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).containsPattern("^countersign \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R");
        assertThat(r.out()).doesNotContain("${project.version}");
    }

    @Test
    void helpListsTheSubcommands() {
        Run r = run("--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("Usage: countersign").contains("serve").contains("demo");
        assertThat(run().out()).contains("Usage: countersign");
    }

    @Test
    void eachSubcommandHasHelp() {
        Run serve = run("serve", "--help");
        assertThat(serve.exit()).isZero();
        assertThat(serve.out()).contains("Usage: countersign serve").contains("--config=FILE");
        Run demo = run("demo", "--help");
        assertThat(demo.exit()).isZero();
        assertThat(demo.out()).contains("Usage: countersign demo").contains("--pg-port=N").contains("default: 6543")
                .contains("--admin-port=N").contains("default: 8787").contains("--data-dir=DIR");
        assertThat(run("help", "serve").out()).contains("Usage: countersign serve");
    }

    @Test
    void usageErrorsExitTwoWithOneLine() {
        Run missing = run("serve");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).isEqualTo("countersign serve: Missing required option: '--config=FILE' (see 'countersign serve --help')"
                + System.lineSeparator());
        Run unknown = run("frobnicate");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err().lines()).hasSize(1).first().asString().contains("Unmatched argument").contains("frobnicate");
        Run badPort = run("demo", "--pg-port", "many");
        assertThat(badPort.exit()).isEqualTo(2);
        assertThat(badPort.err().lines()).hasSize(1).first().asString().contains("--pg-port").contains("many");
    }

    @Test
    void invalidConfigExitsOneWithTheFileKeyAndExpectation(@TempDir Path dir) throws IOException {
        Path cfg = Files.writeString(dir.resolve("bad.yaml"), """
                listeners: {postgres: {port: 0}}
                backends: [{name: shop, host: 127.0.0.1, user: u, tls: sometimes}]
                agents: [{name: a, owner: o, password: p, backends: [shop]}]
                """);
        Run r = run("serve", "--config", cfg.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("countersign serve: " + cfg + ": backends[0].tls: 'sometimes' is not valid here; "
                + "expected one of: disable, prefer, require, verify-full" + System.lineSeparator());
        assertThat(r.out()).isEmpty();
    }

    @Test
    void severalProblemsStillMakeOneLine(@TempDir Path dir) throws IOException {
        Path cfg = Files.writeString(dir.resolve("bad.yaml"), "listeners: {postgres: {port: 99999}}\nbackends: [{name: s}]\nagents: []\n");
        Run r = run("serve", "-c", cfg.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().lines()).hasSize(1);
        assertThat(r.err()).contains("listeners.postgres.port: 99999 is not a TCP port").contains("backends[0].host: missing")
                .contains("agents: missing");
    }

    @Test
    void checkOnlyValidatesWithoutStarting(@TempDir Path dir) throws IOException {
        Path cfg = Files.writeString(dir.resolve("ok.yaml"), """
                listeners: {postgres: {port: 0}}
                backends: [{name: shop, host: 127.0.0.1, user: u}]
                agents: [{name: a, owner: o, password: "${A_PW:-pw}", backends: [shop]}]
                """);
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(captured, true));
        Run r;
        try {
            r = run("serve", "--config", cfg.toString(), "--check");
        } finally {
            System.setOut(saved);
        }
        assertThat(r.exit()).isZero();
        assertThat(captured.toString()).contains(cfg + ": ok (1 backend(s), 1 agent(s))");
    }

    @Test
    void aBusyAdminPortFailsStartWithTheReason(@TempDir Path dir) throws IOException {
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Path cfg = Files.writeString(dir.resolve("busy.yaml"), """
                    listeners: {postgres: {port: 0}}
                    admin: {port: %d}
                    backends: [{name: shop, host: 127.0.0.1, user: u}]
                    agents: [{name: a, owner: o, password: p, backends: [shop]}]
                    """.formatted(busy.getLocalPort()));
            Run r = run("serve", "--config", cfg.toString());
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).startsWith("countersign serve: cannot bind the admin HTTP server to 127.0.0.1:" + busy.getLocalPort());
            assertThat(r.err().lines()).hasSize(1);
        }
    }

    @Test
    void scramVerifierReadsThePasswordFromStdin() {
        java.io.InputStream saved = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("s3cret\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            Run r = run("scram-verifier", "--iterations", "5000");
            assertThat(r.exit()).as(r.err()).isZero();
            String verifier = r.out().strip();
            var parsed = io.countersign.server.config.ScramVerifier.parse(verifier);
            assertThat(parsed.iterations()).isEqualTo(5000);
            assertThat(io.countersign.server.config.ScramVerifier.create("s3cret", parsed.salt(), 5000)).isEqualTo(verifier);

            System.setIn(new java.io.ByteArrayInputStream(new byte[0]));
            Run empty = run("scram-verifier");
            assertThat(empty.exit()).isEqualTo(1);
            assertThat(empty.err()).startsWith("countersign scram-verifier: no password given");

            Run weak = run("scram-verifier", "--iterations", "10");
            assertThat(weak.exit()).isEqualTo(2);
            assertThat(weak.err()).contains("--iterations must be at least 4096");
        } finally {
            System.setIn(saved);
        }
    }
}
