package io.countersign.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.server.Countersign;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * The end-to-end setting: a Countersign built from a YAML config (as {@code serve} builds it) in
 * front of the fixture's real PostgreSQL, agents on pgjdbc and psql, reviewers on the REST API
 * and the CLI.
 */
public final class E2e {

    static final String OWNER = "dana@example.com";
    static final Map<String, String> TOKENS = Map.of("alice", "tok-alice", "bob", "tok-bob", "carol", "tok-carol", "dana", "tok-dana");

    /** The schema: customers.email and vault.secret are sensitive, items is not. */
    static void schema(PostgresDatabase db) throws SQLException {
        schema(sql -> db.execute(sql));
    }

    interface Executor {
        void execute(String... sql) throws SQLException;
    }

    static void schema(Executor db) throws SQLException {
        db.execute("CREATE TABLE customers(id int PRIMARY KEY, name text NOT NULL, email text NOT NULL)",
                "INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 5) g",
                "CREATE TABLE vault(id int PRIMARY KEY, secret text NOT NULL)",
                "INSERT INTO vault VALUES (1, 's3cret')",
                "CREATE TABLE items(id int PRIMARY KEY, label text NOT NULL)",
                "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g",
                "CREATE TABLE audit_log(id serial PRIMARY KEY, note text)",
                "CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1'");
    }

    /**
     * The policy: the shipped rules, with reading {@code vault} timing out after 2 s, and every
     * held category of the agent {@code meta-agent} timing out after 2 s (so a held catalog query
     * would fail its test rather than hang).
     */
    static final String POLICY = """
            version: 1
            defaults:
              reviewers: dba
              hold-timeout: 60s
              approval-validity: 1h
            rules:
              - name: privilege-and-identity
                match: {categories: [PRIVILEGE, SESSION_AUTH]}
                action: hold
                tier: critical
                reviewers: security
                quorum: 2
              - name: meta-short
                match:
                  agents: [meta-agent]
                  categories: [UNANALYSABLE, SENSITIVE_READ, SENSITIVE_WRITE, EXPORT, DESTRUCTIVE, DANGEROUS_FUNCTION]
                action: hold
                tier: high
                hold-timeout: 2s
              - name: unanalysable
                match: {categories: [UNANALYSABLE]}
                action: hold
                tier: high
              - name: vault-short
                match: {tables: ["public.vault"], categories: [SENSITIVE_READ]}
                action: hold
                tier: high
                hold-timeout: 2s
              - name: sensitive-export-destructive
                match: {categories: [SENSITIVE_READ, SENSITIVE_WRITE, EXPORT, DESTRUCTIVE]}
                action: hold
                tier: high
              - name: dangerous-function
                match: {categories: [DANGEROUS_FUNCTION]}
                action: hold
                tier: high
              - name: plain
                action: allow
            """;

    /** Writes policy and config under {@code dir}; {@code store} null means the embedded H2 store under the data dir. */
    static Path config(Path dir, PostgresDatabase db, String dataDir, String store, String replica) throws IOException {
        return config(dir, db.host(), db.port(), db.name(), db.user(), dataDir, store, replica);
    }

    static Path config(Path dir, String host, int port, String database, String user, String dataDir, String store, String replica)
            throws IOException {
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
                  - {name: bot, owner: %s, password: bot-pw, groups: [bots], backends: [shop]}
                  - {name: ticket-bot, owner: %s, password: ticket-pw, backends: [shop]}
                  - {name: meta-agent, owner: %s, password: meta-pw, backends: [shop]}
                  - {name: other-agent, owner: ravi@example.com, password: other-pw, backends: [shop]}
                analysis:
                  sensitive-columns: [public.customers.email, public.vault.secret]
                policy:
                  file: %s
                approvals:
                  %s
                  replica: %s
                  ticket-agents: [ticket-bot]
                  reviewers:
                    - {name: alice, email: alice@example.com, groups: [dba, security], token: tok-alice}
                    - {name: bob, email: bob@example.com, groups: [dba, security], token: tok-bob}
                    - {name: carol, email: carol@example.com, groups: [dba], token: tok-carol}
                    - {name: dana, email: dana@example.com, groups: [dba, security], token: tok-dana}
                audit:
                  fsync: bounded
                """.formatted(dataDir, host, port, database, user, OWNER, OWNER, OWNER, policy,
                store == null ? "" : "store: \"" + store + "\"", replica);
        return Files.writeString(dir.resolve("countersign-" + replica + ".yaml"), yaml);
    }

    static CountersignServer start(Path config) throws Exception {
        return CountersignServer.of(ConfigLoader.load(config)).start();
    }

    static Connection connect(CountersignServer server, String agent, String password) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort() + "/shop?sslmode=disable&user="
                + agent + "&password=" + password + "&ApplicationName=e2e");
    }

    static Connection bot(CountersignServer server) throws SQLException {
        return connect(server, "bot", "bot-pw");
    }

    static String adminUrl(CountersignServer server) {
        return "http://127.0.0.1:" + server.adminAddress().getPort();
    }

    static ApprovalsClient reviewer(CountersignServer server, String name) {
        return new ApprovalsClient(URI.create(adminUrl(server)), TOKENS.get(name));
    }

    /** Waits until the REST API shows a request in {@code state} that matches. */
    static ApprovalRequest awaitRequest(CountersignServer server, RequestState state, Predicate<ApprovalRequest> match) throws InterruptedException {
        ApprovalsClient c = reviewer(server, "alice");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        List<ApprovalRequest> last = List.of();
        while (System.nanoTime() < deadline) {
            last = c.list(state, null, 500);
            Optional<ApprovalRequest> hit = last.stream().filter(match).findFirst();
            if (hit.isPresent()) {
                return hit.get();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no " + state + " request matched within 20 s; " + state + " requests: "
                + last.stream().map(r -> r.id() + " " + r.agent() + " " + r.sql()).toList());
    }

    static ApprovalRequest awaitPending(CountersignServer server, String sql) throws InterruptedException {
        return awaitRequest(server, RequestState.PENDING, r -> r.sql().equals(sql));
    }

    /** Waits until request {@code id} is in {@code state}. */
    static ApprovalRequest awaitState(CountersignServer server, String id, RequestState state) throws InterruptedException {
        ApprovalsClient c = reviewer(server, "alice");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        ApprovalRequest r = c.show(id);
        while (r.state() != state && System.nanoTime() < deadline) {
            Thread.sleep(50);
            r = c.show(id);
        }
        assertThat(r.state()).as("state of request " + id + " (" + r.stateReason() + ")").isEqualTo(state);
        return r;
    }

    /** The request id quoted in a held notice or a ticket error. */
    static String requestId(String message) {
        Matcher m = Pattern.compile("request (\\S+?),").matcher(message);
        assertThat(m.find()).as("a request id in: " + message).isTrue();
        return m.group(1);
    }

    public record Cli(int exit, String out, String err) {}

    /** Runs {@code countersign ARGS} in-process, as the launcher would. */
    public static Cli cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Countersign.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Cli(exit, out.toString(), err.toString());
    }

    /** psql as a process, connected as {@code bot}; the caller reads its output. */
    static Process psql(CountersignServer server, String agent, String password, String... commands) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("psql", "-X", "-v", "ON_ERROR_STOP=1", "-At",
                "host=127.0.0.1 port=" + server.postgresAddress().getPort() + " user=" + agent + " dbname=shop sslmode=disable"));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PGPASSWORD", password);
        pb.environment().remove("PGSERVICE");
        Process p = pb.start();
        p.getOutputStream().close();
        return p;
    }

    static String read(java.io.InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
