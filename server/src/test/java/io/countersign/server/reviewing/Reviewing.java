package io.countersign.server.reviewing;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The setting the reviewing tests share: a whole Countersign built from a YAML config, in front
 * of the fixture's real PostgreSQL with sensitive columns, agents on pgjdbc, reviewers with
 * bearer tokens; optionally a {@code slack:} section pointing at a local fake Web API.
 */
public final class Reviewing {

    public static final String OWNER = "dana@example.com";
    public static final Map<String, String> TOKENS = Map.of("alice", "tok-alice", "bob", "tok-bob", "carol", "tok-carol", "dana", "tok-dana");

    private Reviewing() {}

    /** customers.email is sensitive; items is not. */
    public static void schema(PostgresDatabase db) throws SQLException {
        db.execute("CREATE TABLE customers(id int PRIMARY KEY, name text NOT NULL, email text NOT NULL)",
                "INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 5) g",
                "CREATE TABLE items(id int PRIMARY KEY, label text NOT NULL)",
                "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g");
    }

    public static final String POLICY = """
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
              - name: sensitive-export-destructive
                match: {categories: [SENSITIVE_READ, SENSITIVE_WRITE, EXPORT, DESTRUCTIVE, UNANALYSABLE]}
                action: hold
                tier: high
              - name: plain
                action: allow
            """;

    /** Writes policy and config under {@code dir}; {@code slack} is the YAML of the slack section (indented 2), or null. */
    public static Path config(Path dir, PostgresDatabase db, String slack) throws IOException {
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
                  - {name: other-agent, owner: ravi@example.com, password: other-pw, backends: [shop]}
                analysis:
                  sensitive-columns: [public.customers.email]
                policy:
                  file: %s
                approvals:
                  reviewers:
                    - {name: alice, email: alice@example.com, groups: [dba, security], token: tok-alice}
                    - {name: bob, email: bob@example.com, groups: [dba, security], token: tok-bob}
                    - {name: carol, email: carol@example.com, groups: [dba], token: tok-carol}
                    - {name: dana, email: dana@example.com, groups: [dba, security], token: tok-dana}
                audit:
                  fsync: bounded
                """.formatted(dir.resolve("data"), db.host(), db.port(), db.name(), db.user(), OWNER, policy);
        if (slack != null) {
            yaml += "slack:\n" + slack;
        }
        return Files.writeString(dir.resolve("countersign.yaml"), yaml);
    }

    public static CountersignServer start(Path config) throws Exception {
        return CountersignServer.of(ConfigLoader.load(config)).start();
    }

    public static Connection connect(CountersignServer server, String agent, String password) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort()
                + "/shop?sslmode=disable&user=" + agent + "&password=" + password + "&ApplicationName=reviewing");
    }

    public static Connection bot(CountersignServer server) throws SQLException {
        return connect(server, "bot", "bot-pw");
    }

    public static String adminUrl(CountersignServer server) {
        return "http://127.0.0.1:" + server.adminAddress().getPort();
    }

    public static ApprovalsClient reviewer(CountersignServer server, String name) {
        return new ApprovalsClient(URI.create(adminUrl(server)), TOKENS.get(name));
    }

    /** All rows' first column. */
    public static List<String> column(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }

    public static <T> CompletableFuture<T> async(Callable<T> call) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return call.call();
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        }, r -> Thread.ofVirtual().start(r));
    }

    /** Waits until the REST API shows a pending request for exactly {@code sql}. */
    public static ApprovalRequest awaitPending(CountersignServer server, String sql) throws InterruptedException {
        ApprovalsClient c = reviewer(server, "alice");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        List<ApprovalRequest> last = List.of();
        while (System.nanoTime() < deadline) {
            last = c.list(RequestState.PENDING, null, 500);
            Optional<ApprovalRequest> hit = last.stream().filter(r -> r.sql().equals(sql)).findFirst();
            if (hit.isPresent()) {
                return hit.get();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no pending request for '" + sql + "' within 20 s; pending: " + last.stream().map(ApprovalRequest::sql).toList());
    }

    /** Waits until request {@code id} is in {@code state}. */
    public static ApprovalRequest awaitState(CountersignServer server, String id, RequestState state) throws InterruptedException {
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
}
