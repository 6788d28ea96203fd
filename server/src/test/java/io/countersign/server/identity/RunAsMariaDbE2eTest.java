package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.auditing.AuditE2e;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.reviewing.Reviewing;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.MariaDbDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ephemeral privilege on real MariaDB with real accounts: the agents' backend account may read
 * the ledger, the elevated account may also delete from it. An approved DELETE held by a
 * {@code run-as} rule runs on a separate connection logged in as the elevated account, closed
 * right after; the agent's own connection never gains the right. Without approval the same
 * DELETE fails with MariaDB's own error 1142.
 */
@ExtendWith(NettyLeakWatch.class)
class RunAsMariaDbE2eTest {

    static final String SUFFIX = UUID.randomUUID().toString().substring(0, 8);
    /** Accounts are server-wide: unique names, dropped after the class. */
    static final String LOGIN = "cs_agent_" + SUFFIX;
    static final String ELEVATED = "cs_admin_" + SUFFIX;

    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE ledger (id INT PRIMARY KEY, amount INT NOT NULL)",
                "INSERT INTO ledger VALUES (1, 10), (2, 20), (3, 30), (4, 40)",
                "CREATE USER '" + LOGIN + "'@'%' IDENTIFIED BY 'login-pw'",
                "CREATE USER '" + ELEVATED + "'@'%' IDENTIFIED BY 'admin-pw'",
                "GRANT SELECT ON `" + db.name() + "`.ledger TO '" + LOGIN + "'@'%'",
                "GRANT SELECT, UPDATE, DELETE ON `" + db.name() + "`.ledger TO '" + ELEVATED + "'@'%'");
        Path policy = Files.writeString(dir.resolve("policy.yaml"), """
                version: 1
                defaults: {reviewers: dba, hold-timeout: 60s}
                rules:
                  - name: plain-bot-writes
                    match: {agents: [plain-bot], kinds: [DELETE]}
                    action: allow
                  - name: ledger-deletes
                    match: {tables: ["*.ledger"], kinds: [DELETE]}
                    action: hold
                    run-as: ledger_admin
                  - name: ledger-truncate
                    match: {tables: ["*.ledger"], kinds: [TRUNCATE]}
                    action: hold
                    run-as: broken_admin
                  - name: plain
                    action: allow
                """);
        Path config = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  postgres: {port: 0}
                  mysql: {port: 0}
                admin: {port: 0}
                data-dir: "%s"
                backends:
                  - name: shop
                    type: mysql
                    host: %s
                    port: %d
                    database: %s
                    user: %s
                    password: login-pw
                    tls: disable
                    elevated-roles:
                      ledger_admin: {user: %s, password: admin-pw}
                      broken_admin: {user: %s, password: not-its-password}
                agents:
                  - {name: ops-bot, owner: dana@example.com, password: ops-pw, backends: [shop]}
                  - {name: plain-bot, owner: dana@example.com, password: plain-pw, backends: [shop]}
                policy:
                  file: %s
                approvals:
                  reviewers:
                    - {name: alice, email: alice@example.com, groups: [dba], token: tok-alice}
                audit:
                  directory: "%s"
                  fsync: bounded
                """.formatted(dir.resolve("data"), db.host(), db.port(), db.name(), LOGIN, ELEVATED, ELEVATED, policy, dir.resolve("audit")));
        server = CountersignServer.of(ConfigLoader.load(config, Map.of())).start();
    }

    @AfterAll
    static void stop() throws SQLException {
        if (server != null) server.close();
        db.execute("DROP USER IF EXISTS '" + LOGIN + "'@'%'", "DROP USER IF EXISTS '" + ELEVATED + "'@'%'");
    }

    static Connection connect(String agent, String password) throws SQLException {
        return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + server.mysqlAddress().getPort() + "/shop?user=" + agent
                + "&password=" + password + "&sslMode=disable&jdbcCompliantTruncation=false");
    }

    @Test
    void anApprovedDeleteRunsOnAnElevatedLoginAndTheSessionKeepsItsOwnRights() throws Exception {
        try (Connection c = connect("plain-bot", "plain-pw"); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeUpdate("DELETE FROM ledger WHERE id = 1"))
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getErrorCode()).isEqualTo(1142);
                        assertThat(e.getMessage()).contains("DELETE command denied");
                    });
        }

        String delete = "DELETE FROM ledger WHERE id = 1";
        try (Connection c = connect("ops-bot", "ops-pw"); Statement s = c.createStatement()) {
            assertThat(Reviewing.column(c, "SELECT CURRENT_USER()")).singleElement().asString().startsWith(LOGIN + "@");
            CompletableFuture<Integer> held = Reviewing.async(() -> s.executeUpdate(delete));
            ApprovalRequest r = Reviewing.awaitPending(server, delete);
            Reviewing.reviewer(server, "alice").approve(r.id(), "ledger clean-up, ticket OPS-2");
            assertThat(held.get(30, TimeUnit.SECONDS)).isEqualTo(1);

            // the next statements on the same session are the agent's own account again
            assertThat(Reviewing.column(c, "SELECT CURRENT_USER()")).singleElement().asString().startsWith(LOGIN + "@");
            assertThatThrownBy(() -> s.executeUpdate("UPDATE ledger SET amount = 0 WHERE id = 2"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getErrorCode()).isEqualTo(1142));
            assertThat(Reviewing.column(c, "SELECT COUNT(*) FROM ledger")).containsExactly("3");

            // an elevated login that fails: the approved statement does not run, the agent is told why, the session goes on
            String truncate = "TRUNCATE TABLE ledger";
            CompletableFuture<Integer> failing = Reviewing.async(() -> s.executeUpdate(truncate));
            ApprovalRequest t = Reviewing.awaitPending(server, truncate);
            Reviewing.reviewer(server, "alice").approve(t.id(), "ticket OPS-3");
            assertThat(failing).failsWithin(30, TimeUnit.SECONDS).withThrowableThat().havingRootCause()
                    .isInstanceOf(SQLException.class)
                    .withMessageContaining("approved to run as role 'broken_admin'")
                    .withMessageContaining("could not log in to the backend as that role");
            assertThat(Reviewing.column(c, "SELECT COUNT(*) FROM ledger")).containsExactly("3");
        }
        try (Connection direct = db.connect(); Statement s = direct.createStatement()) {
            assertThat(Reviewing.column(direct, "SELECT GROUP_CONCAT(id ORDER BY id) FROM ledger")).containsExactly("2,3,4");
        }

        server.close();
        List<Map<String, Object>> rows = AuditE2e.duckdb("SELECT sql, run_as_role, request_id, error_code FROM "
                + AuditE2e.parquet(dir.resolve("audit"), "statements") + " WHERE sql LIKE 'DELETE%' OR sql LIKE 'UPDATE%' ORDER BY seq");
        assertThat(rows).filteredOn(r -> "ledger_admin".equals(r.get("run_as_role"))).singleElement().satisfies(r -> {
            assertThat(r.get("sql")).isEqualTo(delete);
            assertThat((String) r.get("request_id")).startsWith("apr-");
            assertThat(r.get("error_code")).isNull();
        });
        assertThat(rows).hasSize(3); // plain-bot's DELETE, the approved DELETE, the UPDATE (the TRUNCATE is not LIKE these)
    }
}
