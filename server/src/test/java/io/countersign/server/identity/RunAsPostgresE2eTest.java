package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.auditing.AuditE2e;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.reviewing.Reviewing;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ephemeral privilege on real PostgreSQL with real roles: the agents' backend login may read the
 * ledger but not delete from it; the elevated role may. A DELETE the policy holds with
 * {@code run-as} runs, once approved, as that role, and only that statement does: the next
 * statement on the same session is the login's again. The same DELETE from an agent whose rule
 * has no run-as reaches the backend as the login and fails with PostgreSQL's own 42501.
 */
@ExtendWith(NettyLeakWatch.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class) // the DELETE test ends by closing the server to read its audit
class RunAsPostgresE2eTest {

    static final String SUFFIX = UUID.randomUUID().toString().substring(0, 8);
    /** Roles are cluster-wide: unique names, dropped after the class. */
    static final String LOGIN = "cs_agent_" + SUFFIX;
    static final String ELEVATED = "cs_ledger_admin_" + SUFFIX;
    /** A login of its own (CREATE DATABASE cannot run in a transaction block, so no SET LOCAL ROLE for it). */
    static final String CREATOR = "cs_db_creator_" + SUFFIX;
    /** Listed under elevated-roles with a login that does not exist. */
    static final String GHOST = "cs_ghost_" + SUFFIX;
    static final String NEW_DB = "cs_runas_db_" + SUFFIX;

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE ROLE " + LOGIN + " LOGIN NOINHERIT PASSWORD 'login-pw'",
                "CREATE ROLE " + ELEVATED + " NOLOGIN",
                // NOINHERIT: the login holds the elevated role's rights only after SET ROLE, which only Countersign does
                "GRANT " + ELEVATED + " TO " + LOGIN,
                "CREATE TABLE ledger(id int PRIMARY KEY, amount int NOT NULL)",
                "INSERT INTO ledger SELECT g, g * 10 FROM generate_series(1, 6) g",
                "GRANT SELECT ON ledger TO " + LOGIN,
                "GRANT SELECT, UPDATE, DELETE ON ledger TO " + ELEVATED,
                "CREATE ROLE " + CREATOR + " LOGIN CREATEDB PASSWORD 'creator-pw'");
        Path policy = Files.writeString(dir.resolve("policy.yaml"), """
                version: 1
                defaults: {reviewers: dba, hold-timeout: 60s}
                rules:
                  - name: create-database
                    match: {agents: [ops-bot], kinds: [CREATE DATABASE]}
                    action: hold
                    run-as: %s
                  - name: vacuum
                    match: {agents: [ops-bot], kinds: [VACUUM]}
                    action: hold
                    run-as: %s
                  - name: plain-bot-writes
                    match: {agents: [plain-bot], kinds: [DELETE]}
                    action: allow
                  - name: ledger-deletes
                    match: {tables: [public.ledger], kinds: [DELETE]}
                    action: hold
                    run-as: %s
                  - name: ledger-truncate
                    match: {tables: [public.ledger], kinds: [TRUNCATE]}
                    action: hold
                    run-as: not_listed_role
                  - name: plain
                    action: allow
                """.formatted(CREATOR, GHOST, ELEVATED));
        Path config = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  postgres: {port: 0}
                admin: {port: 0}
                data-dir: "%s"
                backends:
                  - name: shop
                    host: %s
                    port: %d
                    database: %s
                    user: %s
                    password: login-pw
                    tls: disable
                    elevated-roles:
                      %s: {}
                      %s: {user: %s, password: creator-pw}
                      %s: {user: cs_nobody_%s, password: nope}
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
                """.formatted(dir.resolve("data"), db.host(), db.port(), db.name(), LOGIN, ELEVATED,
                CREATOR, CREATOR, GHOST, SUFFIX, policy, dir.resolve("audit")));
        server = CountersignServer.of(ConfigLoader.load(config, Map.of())).start();
    }

    @AfterAll
    static void stop() throws SQLException {
        if (server != null) server.close();
        db.execute("DROP DATABASE IF EXISTS " + NEW_DB + " WITH (FORCE)", "DROP TABLE IF EXISTS ledger",
                "DROP ROLE IF EXISTS " + LOGIN, "DROP ROLE IF EXISTS " + ELEVATED, "DROP ROLE IF EXISTS " + CREATOR);
    }

    static Connection connect(String agent, String password, String extra) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort()
                + "/shop?sslmode=disable&user=" + agent + "&password=" + password + extra);
    }

    static int approveAndWait(CompletableFuture<Integer> held, String sql) throws Exception {
        ApprovalRequest r = Reviewing.awaitPending(server, sql);
        Reviewing.reviewer(server, "alice").approve(r.id(), "ledger clean-up, ticket OPS-1");
        return held.get(30, TimeUnit.SECONDS);
    }

    static void assertNoElevatedRights(Connection c) throws SQLException {
        assertThat(Reviewing.column(c, "SELECT current_user")).containsExactly(LOGIN);
        // the policy lets UPDATE through unheld: it reaches the backend as the login, which may not update
        try (Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeUpdate("UPDATE ledger SET amount = 0 WHERE id = 6"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"));
        }
    }

    @Test
    @Order(2)
    void anApprovedDeleteRunsAsTheElevatedRoleAndOnlyThatStatementDoes() throws Exception {
        // without approval (an agent whose rule allows it, no run-as): PostgreSQL's own refusal
        try (Connection c = connect("plain-bot", "plain-pw", ""); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeUpdate("DELETE FROM ledger WHERE id = 1"))
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("42501");
                        assertThat(e.getMessage()).contains("permission denied for table ledger");
                    });
        }

        // extended protocol (pgjdbc's default), autocommit
        String delete1 = "DELETE FROM ledger WHERE id = 1";
        try (Connection c = connect("ops-bot", "ops-pw", ""); Statement s = c.createStatement()) {
            CompletableFuture<Integer> held = Reviewing.async(() -> s.executeUpdate(delete1));
            assertThat(approveAndWait(held, delete1)).isEqualTo(1);
            assertNoElevatedRights(c);
        }

        // simple protocol inside the agent's own transaction block: elevation ends with the statement,
        // the rest of the block runs as the login, and rolling back undoes the approved delete
        String delete2 = "DELETE FROM ledger WHERE id = 2";
        try (Connection c = connect("ops-bot", "ops-pw", "&preferQueryMode=simple"); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            assertThat(Reviewing.column(c, "SELECT count(*) FROM ledger")).containsExactly("5");
            CompletableFuture<Integer> held = Reviewing.async(() -> s.executeUpdate(delete2));
            assertThat(approveAndWait(held, delete2)).isEqualTo(1);
            assertThat(Reviewing.column(c, "SELECT current_user")).containsExactly(LOGIN);
            assertThat(Reviewing.column(c, "SELECT count(*) FROM ledger")).containsExactly("4");
            c.rollback();
            assertThat(Reviewing.column(c, "SELECT count(*) FROM ledger")).containsExactly("5");
            c.setAutoCommit(true);
            assertNoElevatedRights(c);
        }

        // a role the backend does not list under elevated-roles is never switched to
        String truncate = "TRUNCATE ledger";
        try (Connection c = connect("ops-bot", "ops-pw", ""); Statement s = c.createStatement()) {
            CompletableFuture<Integer> held = Reviewing.async(() -> s.executeUpdate(truncate));
            ApprovalRequest r = Reviewing.awaitPending(server, truncate);
            Reviewing.reviewer(server, "alice").approve(r.id(), "ticket OPS-9");
            assertThat(held).failsWithin(30, TimeUnit.SECONDS).withThrowableThat().havingRootCause()
                    .isInstanceOf(SQLException.class)
                    .withMessageContaining("approved to run as role \"not_listed_role\"")
                    .withMessageContaining("does not list under elevated-roles");
            assertNoElevatedRights(c);
        }

        // simple protocol, autocommit
        String delete3 = "DELETE FROM ledger WHERE id = 3";
        try (Connection c = connect("ops-bot", "ops-pw", "&preferQueryMode=simple"); Statement s = c.createStatement()) {
            CompletableFuture<Integer> held = Reviewing.async(() -> s.executeUpdate(delete3));
            assertThat(approveAndWait(held, delete3)).isEqualTo(1);
            assertNoElevatedRights(c);
        }
        try (Connection direct = db.connect()) {
            assertThat(Reviewing.column(direct, "SELECT string_agg(id::text, ',' ORDER BY id) FROM ledger")).containsExactly("2,4,5,6");
        }

        // the audit says which role ran each statement, and under which approval
        server.close();
        List<Map<String, Object>> rows = AuditE2e.duckdb("SELECT sql, run_as_role, request_id, decision, error_code FROM "
                + AuditE2e.parquet(dir.resolve("audit"), "statements") + " WHERE sql LIKE 'DELETE%' OR sql LIKE 'UPDATE%' OR sql LIKE 'CREATE DATABASE%' OR sql LIKE 'VACUUM%' ORDER BY seq");
        assertThat(rows).filteredOn(r -> delete1.equals(r.get("sql")) && ELEVATED.equals(r.get("run_as_role")))
                .singleElement().satisfies(r -> {
                    assertThat((String) r.get("request_id")).startsWith("apr-");
                    assertThat(r.get("decision")).isEqualTo("approved");
                    assertThat(r.get("error_code")).isNull();
                });
        assertThat(rows).filteredOn(r -> delete3.equals(r.get("sql"))).singleElement()
                .satisfies(r -> assertThat(r.get("run_as_role")).isEqualTo(ELEVATED));
        // the statement run on the role's own session is recorded as run by that role (the test above runs first)
        assertThat(rows).filteredOn(r -> ("CREATE DATABASE " + NEW_DB).equals(r.get("sql")) && r.get("error_code") == null)
                .singleElement().satisfies(r -> {
                    assertThat(r.get("run_as_role")).isEqualTo(CREATOR);
                    assertThat((String) r.get("request_id")).startsWith("apr-");
                });
        assertThat(rows).filteredOn(r -> "VACUUM ledger".equals(r.get("sql"))).singleElement()
                .satisfies(r -> assertThat((String) r.get("error_code")).startsWith("28"));
        assertThat(rows).filteredOn(r -> ((String) r.get("sql")).startsWith("UPDATE"))
                .isNotEmpty().allSatisfy(r -> assertThat(r.get("run_as_role")).isNull());
    }

    /**
     * CREATE DATABASE and VACUUM cannot run inside a transaction block, so no {@code SET LOCAL ROLE}
     * can be wrapped around them: approved with run-as, they run on a separate backend session logged
     * in as the role, which ends with the statement.
     */
    @Test
    @Order(1)
    void aStatementThatCannotRunInATransactionBlockRunsOnASeparateSessionLoggedInAsTheRole() throws Exception {
        String create = "CREATE DATABASE " + NEW_DB;
        // without approval (allowed as is, no run-as): the login lacks CREATEDB, PostgreSQL's own refusal
        try (Connection c = connect("plain-bot", "plain-pw", "&preferQueryMode=simple"); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute(create)).isInstanceOfSatisfying(SQLException.class, e -> {
                assertThat(e.getSQLState()).isEqualTo("42501");
                assertThat(e.getMessage()).contains("permission denied to create database");
            });
        }

        try (Connection c = connect("ops-bot", "ops-pw", "&preferQueryMode=simple"); Statement s = c.createStatement()) {
            // inside the agent's transaction block: refused even once approved, and the block fails as PostgreSQL's would
            c.setAutoCommit(false);
            assertThat(Reviewing.column(c, "SELECT 1")).containsExactly("1");
            CompletableFuture<Boolean> inBlock = Reviewing.async(() -> s.execute(create));
            approve(create, "new reporting database, ticket OPS-7");
            assertThat(inBlock).failsWithin(30, TimeUnit.SECONDS).withThrowableThat().havingRootCause()
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("25001");
                        assertThat(e.getMessage()).contains("CREATE DATABASE cannot run inside a transaction block; run it outside one");
                    });
            assertThatThrownBy(() -> Reviewing.column(c, "SELECT 1")).isInstanceOfSatisfying(SQLException.class,
                    e -> assertThat(e.getSQLState()).isEqualTo("25P02"));
            c.rollback();
            c.setAutoCommit(true);

            // outside a block: approved, it runs as the role on its own session
            CompletableFuture<Boolean> held = Reviewing.async(() -> s.execute(create));
            approve(create, "new reporting database, ticket OPS-7");
            assertThat(held.get(30, TimeUnit.SECONDS)).isFalse();
            assertThat(s.getUpdateCount()).isZero();
            // the agent's own session was never elevated: the next statement is the login's, without CREATEDB
            assertThat(Reviewing.column(c, "SELECT current_user || ' ' || rolcreatedb FROM pg_roles WHERE rolname = current_user"))
                    .containsExactly(LOGIN + " false");
            assertThat(Reviewing.column(c, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '" + NEW_DB + "'"))
                    .containsExactly(CREATOR);
        }

        // the extended protocol (pgjdbc's default) is refused with the reason and the fix
        String drop = "CREATE DATABASE " + NEW_DB + "_ext";
        try (Connection c = connect("ops-bot", "ops-pw", ""); Statement s = c.createStatement()) {
            CompletableFuture<Boolean> held = Reviewing.async(() -> s.execute(drop));
            approve(drop, "ticket OPS-8");
            assertThat(held).failsWithin(30, TimeUnit.SECONDS).withThrowableThat().havingRootCause()
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("0A000");
                        assertThat(e.getMessage()).contains("only for simple-protocol queries").contains("preferQueryMode=simple");
                    });
            assertThat(Reviewing.column(c, "SELECT current_user")).containsExactly(LOGIN);
        }

        // the role's login fails: the agent gets the backend's reason naming the role, and its session carries on
        String vacuum = "VACUUM ledger";
        try (Connection c = connect("ops-bot", "ops-pw", "&preferQueryMode=simple"); Statement s = c.createStatement()) {
            CompletableFuture<Boolean> held = Reviewing.async(() -> s.execute(vacuum));
            approve(vacuum, "ticket OPS-10");
            assertThat(held).failsWithin(30, TimeUnit.SECONDS).withThrowableThat().havingRootCause()
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).startsWith("28");
                        assertThat(e.getMessage()).contains("role \"" + GHOST + "\"").contains("cs_nobody_" + SUFFIX)
                                .contains("did not run");
                    });
            assertThat(Reviewing.column(c, "SELECT current_user")).containsExactly(LOGIN);
        }
        try (Connection direct = db.connect()) {
            assertThat(Reviewing.column(direct, "SELECT count(*) FROM pg_database WHERE datname = '" + NEW_DB + "_ext'"))
                    .containsExactly("0");
        }
    }

    static void approve(String sql, String comment) throws Exception {
        ApprovalRequest r = Reviewing.awaitPending(server, sql);
        Reviewing.reviewer(server, "alice").approve(r.id(), comment);
    }
}
