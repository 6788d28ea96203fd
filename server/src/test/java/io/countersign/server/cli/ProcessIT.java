package io.countersign.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.server.Ports;
import io.countersign.testing.PostgresDatabase;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./countersign serve} and {@code ./countersign demo} as separate processes, the way people
 * run them: connect with psql, then stop them with SIGTERM (what Ctrl-C's SIGINT also triggers:
 * the JVM's shutdown hooks) and check they stop cleanly.
 */
class ProcessIT {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    /** A launched process whose stdout and stderr lines are collected as they arrive. */
    static final class Launched implements AutoCloseable {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final List<String> all = new CopyOnWriteArrayList<>();

        Launched(String... args) throws IOException {
            List<String> cmd = new java.util.ArrayList<>(List.of("bash", LauncherIT.ROOT.resolve("countersign").toString()));
            cmd.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(LauncherIT.ROOT.toFile());
            pb.environment().put("COUNTERSIGN_NO_BUILD", "1");
            process = pb.start();
            pump(process.getInputStream());
            pump(process.getErrorStream());
        }

        private void pump(java.io.InputStream in) {
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        all.add(line);
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            });
        }

        Matcher awaitLine(Pattern p, int seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < deadline) {
                String line = lines.poll(200, TimeUnit.MILLISECONDS);
                if (line != null) {
                    Matcher m = p.matcher(line);
                    if (m.find()) return m;
                }
                if (!process.isAlive() && lines.isEmpty()) break;
            }
            throw new AssertionError("no line matching " + p + " within " + seconds + " s; output:\n" + String.join("\n", all));
        }

        /** SIGTERM, then wait for the shutdown hooks to finish. */
        int terminate() throws InterruptedException {
            process.destroy();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("stopped within 30 s after SIGTERM; output:\n%s", String.join("\n", all)).isTrue();
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    static String psql(int port, String sql) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-At", "-v", "ON_ERROR_STOP=1",
                "host=127.0.0.1 port=" + port + " user=demo-agent dbname=shop sslmode=require", "-c", sql).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", "demo-agent-pw");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void demoPrintsHowToConnectServesPsqlAndStopsCleanly() throws Exception {
        try (Launched demo = new Launched("demo", "--pg-port", "0", "--admin-port", "0", "--mysql-port", "-1")) {
            Matcher connect = demo.awaitLine(Pattern.compile(
                    "PGPASSWORD=demo-agent-pw psql \"host=127\\.0\\.0\\.1 port=(\\d+) user=demo-agent dbname=shop sslmode=require\""), 120);
            int port = Integer.parseInt(connect.group(1));
            Matcher backend = demo.awaitLine(Pattern.compile("embedded PostgreSQL at 127\\.0\\.0\\.1:(\\d+).* data in (\\S+) \\(removed on exit\\)"), 10);
            int backendPort = Integer.parseInt(backend.group(1));
            Path dataDir = Path.of(backend.group(2).replaceAll(",$", ""));
            demo.awaitLine(Pattern.compile("Stop with Ctrl-C\\."), 10);

            assertThat(psql(port, "SELECT count(*) FROM customers")).isEqualTo("200\n");
            demo.awaitLine(Pattern.compile("\\{\"event\":\"statement\",\"agent\":\"demo-agent\".*\"sql\":\"SELECT count\\(\\*\\) FROM customers\""), 10);

            demo.terminate();
            assertThat(Ports.listening(port)).as("proxy port closed").isFalse();
            // pg_ctl may return before the postmaster has let go of its socket on a loaded machine
            assertThat(Ports.closedWithin(backendPort, 15)).as("embedded PostgreSQL stopped").isTrue();
            assertThat(Files.exists(dataDir)).as("temporary data removed: %s", dataDir).isFalse();
            assertThat(demo.all).noneMatch(l -> l.contains("Exception"));
        }
    }

    @Test
    void serveRunsAConfigFileAndStopsOnSigterm(@TempDir Path dir) throws Exception {
        db.execute("CREATE TABLE customers(id int)", "INSERT INTO customers VALUES (1), (2), (3)");
        Path cfg = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  postgres: {port: 0, tls: {self-signed: true}}
                admin: {port: 0}
                backends:
                  - {name: shop, host: %s, port: %d, database: %s, user: %s, tls: disable}
                agents:
                  - {name: demo-agent, owner: dana@example.com, password: "${AGENT_PW:-demo-agent-pw}", backends: [shop]}
                """.formatted(db.host(), db.port(), db.name(), db.user()));
        try (Launched serve = new Launched("serve", "--config", cfg.toString(), "--log-statements")) {
            int port = Integer.parseInt(serve.awaitLine(Pattern.compile("CountersignServer - PostgreSQL listener on 127\\.0\\.0\\.1:(\\d+)"), 60).group(1));
            assertThat(psql(port, "SELECT count(*) FROM customers")).isEqualTo("3\n");
            serve.awaitLine(Pattern.compile("\"sql\":\"SELECT count\\(\\*\\) FROM customers\".*\"rowsReturned\":1"), 10);
            // an agent still connected when the stop comes loses its session, and the process still exits
            try (java.sql.Connection open = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port
                    + "/shop?sslmode=require&user=demo-agent&password=demo-agent-pw")) {
                assertThat(open.isValid(5)).isTrue();
                serve.terminate();
                assertThat(open.isValid(2)).isFalse();
            }
            assertThat(Ports.listening(port)).isFalse();
        }
    }
}
