package io.countersign.server.auditing;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.server.Countersign;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The audit's end-to-end setting: a Countersign built from YAML (as {@code serve} builds it) in front
 * of the fixture's real PostgreSQL, an audit directory of the test's choosing, and DuckDB as the
 * independent reader of what the trail wrote.
 */
public final class AuditE2e {

    static final String INSTANCE = "audit-e2e";
    static final String OWNER = "dana@example.com";

    private AuditE2e() {}

    /** {@code customers.email} is sensitive (held), {@code items} is not (allowed). */
    static void schema(PostgresDatabase db) throws SQLException {
        db.execute("CREATE TABLE customers(id int PRIMARY KEY, name text NOT NULL, email text NOT NULL)",
                "INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 5) g",
                "CREATE TABLE items(id int PRIMARY KEY, label text NOT NULL)",
                "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g");
    }

    static final String POLICY = """
            version: 1
            defaults:
              reviewers: dba
              hold-timeout: 60s
              approval-validity: 1h
            rules:
              - name: sensitive
                match: {categories: [SENSITIVE_READ, SENSITIVE_WRITE, EXPORT, DESTRUCTIVE]}
                action: hold
                tier: high
              - name: plain
                action: allow
            """;

    /**
     * Writes the policy and a config whose audit goes to {@code auditDir}; {@code auditYaml} is the rest of
     * the {@code audit:} section (indented two spaces, one key a line), e.g. {@code "  failure-mode: fail-open\n"}.
     */
    static Path config(Path dir, PostgresDatabase db, Path auditDir, String auditYaml) throws IOException {
        Path policy = Files.writeString(dir.resolve("policy.yaml"), POLICY);
        String yaml = """
                listeners:
                  postgres:
                    port: 0
                admin: {port: 0}
                data-dir: %s
                backends:
                  - name: shop
                    host: %s
                    port: %d
                    database: %s
                    user: %s
                    tls: disable
                agents:
                  - {name: bot, owner: %s, password: bot-pw, backends: [shop]}
                analysis:
                  sensitive-columns: [public.customers.email]
                policy:
                  file: %s
                approvals:
                  replica: %s
                  reviewers:
                    - {name: alice, email: alice@example.com, groups: [dba], token: tok-alice}
                    - {name: bob, email: bob@example.com, groups: [dba], token: tok-bob}
                audit:
                  directory: %s
                %s""".formatted(dir.resolve("data"), db.host(), db.port(), db.name(), db.user(), OWNER, policy, INSTANCE,
                auditDir, auditYaml);
        return Files.writeString(dir.resolve("countersign.yaml"), yaml);
    }

    static CountersignServer start(Path config) throws Exception {
        return CountersignServer.of(ConfigLoader.load(config)).start();
    }

    /** assumeMinServerVersion: pgjdbc then sends application_name at start-up rather than as a SET statement. */
    static String url(int port) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/shop?sslmode=disable&user=bot&password=bot-pw&assumeMinServerVersion=9.0";
    }

    static Connection bot(CountersignServer server) throws SQLException {
        return DriverManager.getConnection(url(server.postgresAddress().getPort()));
    }

    public static ApprovalsClient reviewer(CountersignServer server, String name) {
        return new ApprovalsClient(URI.create("http://127.0.0.1:" + server.adminAddress().getPort()), "tok-" + name);
    }

    /** Waits until the REST API shows a pending request for exactly {@code sql}. */
    public static ApprovalRequest awaitPending(CountersignServer server, String sql) throws InterruptedException {
        ApprovalsClient c = reviewer(server, "alice");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ApprovalRequest> hit = c.list(RequestState.PENDING, null, 500).stream().filter(r -> r.sql().equals(sql)).findFirst();
            if (hit.isPresent()) {
                return hit.get();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no pending request for " + sql + " within 20 s");
    }

    /** Every row of a DuckDB query as column name -> value (lists as Java lists, timestamps as DuckDB returns them). */
    public static List<Map<String, Object>> duckdb(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            List<Map<String, Object>> rows = new ArrayList<>();
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    Object v = rs.getObject(i);
                    if (v instanceof Array a) {
                        v = Arrays.asList((Object[]) a.getArray());
                    }
                    row.put(md.getColumnLabel(i), v);
                }
                rows.add(row);
            }
            return rows;
        }
    }

    /** {@code read_parquet(...)} over one record type's files ({@code statements}, {@code approvals}, {@code admin}). */
    public static String parquet(Path auditDir, String type) {
        return "read_parquet('" + auditDir.resolve(type) + "/**/*.parquet', hive_partitioning=1)";
    }

    public record Cli(int exit, String out, String err) {}

    /**
     * {@code countersign ARGS} in-process through {@link Countersign#commandLine()}. {@code audit verify}
     * prints its report on {@code System.out}, so that is captured too (test classes run one at a time).
     */
    public static synchronized Cli cli(String... args) {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int exit;
        System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
        try {
            var cl = Countersign.commandLine();
            cl.setOut(new java.io.PrintWriter(out, true));
            cl.setErr(new java.io.PrintWriter(err, true));
            exit = cl.execute(args);
        } finally {
            System.out.flush();
            System.setOut(original);
        }
        return new Cli(exit, out + sysOut.toString(StandardCharsets.UTF_8), err.toString());
    }

    static void assertVerifies(Path auditDir) {
        Cli v = cli("audit", "verify", auditDir.toString());
        assertThat(v.exit()).as(v.out() + v.err()).isZero();
        assertThat(v.out()).contains("result: OK");
    }
}
