package io.countersign.server.auditing;

import static io.countersign.server.auditing.AuditE2e.duckdb;
import static io.countersign.server.auditing.AuditE2e.parquet;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a real {@code countersign serve} process while four agents send statements: every
 * statement whose result reached its agent has its record in Parquet once the next start has finished
 * the trail, exactly once, and {@code countersign audit verify} passes.
 */
class KillNineE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    static final int CONNECTIONS = 4;
    static final Pattern LISTENING = Pattern.compile("PostgreSQL listener on 127\\.0\\.0\\.1:(\\d+)");

    @TempDir
    Path dir;

    @Test
    void noAcknowledgedStatementIsLostAndTheNextStartFinishesTheParquet() throws Exception {
        AuditE2e.schema(db);
        Path audit = dir.resolve("audit");
        // default fsync (per-statement); files roll only after 5 minutes, so at the kill the records are in the journal only
        Path config = AuditE2e.config(dir, db, audit, "");
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();

        Process first = serve(config, dir.resolve("first.log"));
        try {
            int port = awaitListening(first, dir.resolve("first.log"));
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> agents = new ArrayList<>();
            for (int t = 0; t < CONNECTIONS; t++) {
                int agent = t;
                agents.add(Thread.ofPlatform().name("agent-" + t).start(() -> load(port, agent, acknowledged, stop)));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (acknowledged.size() < 400 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            // kill -9 while the agents are still sending
            first.destroyForcibly();
            assertThat(first.waitFor(20, TimeUnit.SECONDS)).isTrue();
            stop.set(true);
            for (Thread a : agents) {
                a.join(20_000);
            }
        } finally {
            first.destroyForcibly();
        }
        assertThat(first.exitValue()).as("killed by SIGKILL").isEqualTo(137);
        Set<String> acked = Set.copyOf(acknowledged);
        assertThat(acked).as("statements acknowledged before the kill").hasSizeGreaterThan(100);
        long beforeRestart = committedStatements(audit);
        assertThat(beforeRestart).as("records already in Parquet at the kill (the rest is only in the journal)")
                .isLessThan(acked.size());

        // the next start converts what the journal holds; SIGTERM then closes it cleanly
        Process second = serve(config, dir.resolve("second.log"));
        try {
            awaitListening(second, dir.resolve("second.log"));
            second.destroy();
            assertThat(second.waitFor(30, TimeUnit.SECONDS)).as("stops on SIGTERM").isTrue();
        } finally {
            second.destroyForcibly();
        }

        Map<String, Long> inParquet = new HashMap<>();
        for (Map<String, Object> r : duckdb("SELECT sql, count(*) AS n FROM " + parquet(audit, "statements") + " GROUP BY sql")) {
            inParquet.put((String) r.get("sql"), (Long) r.get("n"));
        }
        System.out.println("kill -9: " + acked.size() + " statements acknowledged, " + beforeRestart
                + " records in Parquet at the kill, " + inParquet.size() + " after the next start");
        List<String> lost = acked.stream().filter(sql -> !inParquet.containsKey(sql)).sorted().toList();
        assertThat(lost).as("acknowledged statements without a record, of " + acked.size()).isEmpty();
        assertThat(inParquet).as("every statement recorded once").allSatisfy((sql, n) -> assertThat(n).as(sql).isEqualTo(1L));
        List<Object> admin = duckdb("SELECT event FROM " + parquet(audit, "admin") + " ORDER BY seq").stream().map(r -> r.get("event")).toList();
        assertThat(admin).as("the killed process never recorded its stop").containsExactly("start", "start", "stop");
        AuditE2e.assertVerifies(audit);
    }

    /** One agent: unique statements, alternately a read and a write, each remembered once its result arrived. */
    static void load(int port, int agent, Set<String> acknowledged, AtomicBoolean stop) {
        try (Connection c = DriverManager.getConnection(AuditE2e.url(port)); Statement s = c.createStatement()) {
            for (int i = 0; !stop.get(); i++) {
                String sql = i % 2 == 0
                        ? "SELECT label, 'a" + agent + "-" + i + "' AS tag FROM items WHERE id = " + (1 + i % 20)
                        : "UPDATE items SET label = 'a" + agent + "-" + i + "' WHERE id = " + (1 + agent);
                s.execute(sql);
                acknowledged.add(sql);
            }
        } catch (SQLException expectedAtTheKill) {
            // the proxy died: this statement's result never arrived, so it is not acknowledged
        }
    }

    static Process serve(Path config, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "io.countersign.server.Countersign", "serve", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static int awaitListening(Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String out = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            Matcher m = LISTENING.matcher(out);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            if (!p.isAlive()) {
                throw new AssertionError("countersign serve exited with " + p.exitValue() + ":\n" + out);
            }
            Thread.sleep(50);
        }
        throw new AssertionError("countersign serve did not listen within 60 s:\n" + Files.readString(log, StandardCharsets.UTF_8));
    }

    static long committedStatements(Path audit) throws Exception {
        Path statements = audit.resolve("statements");
        if (!Files.isDirectory(statements)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(statements)) {
            if (files.noneMatch(f -> f.toString().endsWith(".parquet"))) {
                return 0;
            }
        }
        return (Long) duckdb("SELECT count(*) AS n FROM " + parquet(audit, "statements")).getFirst().get("n");
    }
}
