package io.countersign.server.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.MariaDbDatabase;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The running product with a MySQL backend: a Countersign started from YAML (listeners.mysql on an
 * ephemeral port, a backend of type mysql on the local MariaDB) with the shipped policy, and real
 * MySQL clients (MariaDB Connector/J, MySQL Connector/J, the {@code mariadb} command-line client)
 * going through the same gate, analysis, hold, approvals and audit as PostgreSQL agents.
 */
@ExtendWith(NettyLeakWatch.class)
class MySqlThroughServerTest {

    static final String AGENT = "my-agent";
    static final String AGENT_PASSWORD = "my-agent-pw";
    /** An agent in ticket mode: a held statement fails at once naming its request, and runs once approved. */
    static final String TICKET_AGENT = "my-ticket-agent";
    static final String REVIEWER_TOKEN = "cs_test_reviewer_token_alice";

    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;
    static ApprovalsClient approvals;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, email VARCHAR(80))",
                "INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Bo', 'bo@example.com'), (3, 'Cy', NULL)",
                "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL)",
                "INSERT INTO orders VALUES (10, 1, 12.50), (11, 1, 3.25), (12, 2, 99.00)");
        String password = db.password() == null || db.password().isEmpty() ? "" : "    password: \"" + db.password() + "\"\n";
        Path file = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  postgres: {port: 0}
                  mysql:
                    port: 0
                    tls: {self-signed: true}
                    auth: [caching_sha2_password, mysql_native_password]
                admin: {port: 0}
                data-dir: "%s"
                backends:
                  - name: %s
                    type: mysql
                    host: %s
                    port: %d
                    user: %s
                %s    tls: disable
                agents:
                  - name: %s
                    owner: dana@example.com
                    password: %s
                    backends: [%s]
                  - name: %s
                    owner: dana@example.com
                    password: %s
                    backends: [%s]
                analysis:
                  sensitive-columns: ["*.customers.email"]
                approvals:
                  ticket-agents: [%s]
                  reviewers:
                    - name: alice
                      email: alice@example.com
                      groups: [dba, security]
                      token: %s
                audit:
                  roll-seconds: 1
                """.formatted(dir.resolve("data"), db.name(), db.host(), db.port(), db.user(), password,
                AGENT, AGENT_PASSWORD, db.name(), TICKET_AGENT, AGENT_PASSWORD, db.name(), TICKET_AGENT, REVIEWER_TOKEN));
        server = CountersignServer.of(ConfigLoader.load(file, Map.of())).start();
        approvals = new ApprovalsClient(URI.create("http://127.0.0.1:" + server.adminAddress().getPort() + "/"), REVIEWER_TOKEN);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static int port() {
        return server.mysqlAddress().getPort();
    }

    /**
     * MariaDB Connector/J through the proxy, with its defaults: its first statement,
     * {@code set sql_mode=CONCAT(@@sql_mode,',STRICT_TRANS_TABLES'),NAMES utf8mb4}, is settled by the
     * analysis's lexer as a session SET and runs unheld.
     */
    static Connection mariadb(String extra) throws SQLException {
        return mariadb(AGENT, db.name(), extra);
    }

    static Connection mariadb(String agent, String database, String extra) throws SQLException {
        return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port() + "/" + database + "?user=" + agent
                + "&password=" + AGENT_PASSWORD + "&sslMode=disable" + extra);
    }

    @Test
    void plainQueriesAndAServerPreparedStatementRunUnattended() throws Exception {
        try (Connection c = mariadb("&useServerPrepStmts=true"); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT id, name FROM customers ORDER BY id")) {
                List<String> names = new ArrayList<>();
                while (rs.next()) names.add(rs.getInt(1) + ":" + rs.getString(2));
                assertThat(names).containsExactly("1:Ada", "2:Bo", "3:Cy");
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT SUM(total) FROM orders WHERE customer_id = ?")) {
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getBigDecimal(1)).isEqualByComparingTo("15.75");
                }
                ps.setInt(1, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getBigDecimal(1)).isEqualByComparingTo("99.00");
                }
            }
        }
        assertThat(approvals.list(RequestState.PENDING, AGENT, 50)).isEmpty();
    }

    @Test
    void mysqlConnectorJRunsAServerPreparedStatement() throws Exception {
        String url = "jdbc:mysql://127.0.0.1:" + port() + "/" + db.name() + "?sslMode=DISABLED&allowPublicKeyRetrieval=true"
                + "&useServerPrepStmts=true";
        try (Connection c = DriverManager.getConnection(url, AGENT, AGENT_PASSWORD);
             PreparedStatement ps = c.prepareStatement("SELECT name FROM customers WHERE id = ?")) {
            ps.setInt(1, 2);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("Bo");
            }
        }
    }

    @Test
    void agentsMayUpgradeToTls() throws Exception {
        String url = "jdbc:mysql://127.0.0.1:" + port() + "/" + db.name() + "?sslMode=REQUIRED";
        try (Connection c = DriverManager.getConnection(url, AGENT, AGENT_PASSWORD); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SHOW STATUS LIKE 'Ssl_cipher'")) {
            // the backend link is plain (tls: disable), so the proof is the driver's own session: it refuses plain text
            assertThat(c.isValid(5)).isTrue();
            assertThat(rs.next()).isTrue();
        }
    }

    @Test
    void readinessNamesTheMySqlListenerAndProbesTheMySqlBackend() throws Exception {
        var http = java.net.http.HttpClient.newHttpClient();
        var response = http.send(java.net.http.HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.adminAddress().getPort() + "/readyz")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.body()).contains("mysql-listener").contains("accepting agents on 127.0.0.1:" + port())
                .contains("backend:mysql:" + db.name()).contains("MySQL answers at");
    }

    @Test
    void anAgentWithoutADatabaseIsRoutedToItsOnlyBackend() throws Exception {
        // MySQL clients often connect without a database; this agent reaches one backend, so it gets that one
        try (Connection c = mariadb(AGENT, "", ""); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT DATABASE(), (SELECT name FROM customers WHERE id = 1)")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo(db.name());
            assertThat(rs.getString(2)).isEqualTo("Ada");
        }
        // the same through the command-line client without -D
        ProcessBuilder pb = new ProcessBuilder("mariadb", "-h", "127.0.0.1", "-P", String.valueOf(port()), "--protocol=tcp",
                "--skip-ssl", "-u", AGENT, "-p" + AGENT_PASSWORD, "--batch", "--skip-column-names", "-e", "SELECT DATABASE()");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out.strip()).isEqualTo(db.name());
    }

    @Test
    void ticketModeFailsAtOnceNamingTheRequestThenTheApprovedStatementRunsOnce() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 2";
        try (Connection c = mariadb(TICKET_AGENT, db.name(), ""); Statement s = c.createStatement()) {
            String id = ticket(s, sql);
            ApprovalRequest request = approvals.show(id);
            assertThat(request.state()).isEqualTo(RequestState.PENDING);
            assertThat(request.sql()).isEqualTo(sql);
            approvals.approve(id, "once, for the ticket");
            try (ResultSet rs = s.executeQuery(sql)) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("bo@example.com");
            }
            // the approval was used up: the same statement again is a new ticket
            String again = ticket(s, sql);
            assertThat(again).isNotEqualTo(id);
            approvals.deny(again, "cleanup");
            // the session is still good for ordinary work
            try (ResultSet rs = s.executeQuery("SELECT name FROM customers WHERE id = 2")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("Bo");
            }
        }
    }

    /** Runs {@code sql}, expects ticket mode's immediate error and returns the request id it names. */
    private static String ticket(Statement s, String sql) {
        long t0 = System.nanoTime();
        SQLException e = org.assertj.core.api.Assertions.catchThrowableOfType(SQLException.class, () -> s.executeQuery(sql).close());
        assertThat((Object) e).as("the ticket-mode statement failed at once").isNotNull();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(e.getErrorCode()).isEqualTo(1227);
        assertThat(e.getMessage()).contains("held for approval (ticket mode): request ");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("request (\\S+?),").matcher(e.getMessage());
        assertThat(m.find()).as("a request id in: " + e.getMessage()).isTrue();
        return m.group(1);
    }

    @Test
    void aWrongPasswordIsRefusedAsMySqlWordsIt() {
        assertThatThrownBy(() -> DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port() + "/" + db.name()
                + "?user=" + AGENT + "&password=wrong&sslMode=disable").close())
                .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getErrorCode()).isEqualTo(1045));
    }

    @Test
    void aSensitiveReadIsHeldAndRunsOnceApproved() throws Exception {
        try (Connection c = mariadb("")) {
            CompletableFuture<String> result = CompletableFuture.supplyAsync(() -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT email FROM customers WHERE id = 1")) {
                    rs.next();
                    return rs.getString(1);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            ApprovalRequest held = awaitPending("SELECT email FROM customers WHERE id = 1");
            assertThat(held.database()).isEqualTo(db.name());
            assertThat(held.sensitiveColumns()).anySatisfy(col -> assertThat(col).endsWith("customers.email"));
            assertThat(result).isNotDone();
            approvals.approve(held.id(), "fine for the ticket");
            assertThat(result.get(20, TimeUnit.SECONDS)).isEqualTo("ada@example.com");
        }
    }

    @Test
    void aPreparedStatementIsHeldAtExecuteWithItsParameters() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = ?";
        try (Connection c = mariadb("&useServerPrepStmts=true"); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setInt(1, 2);
            CompletableFuture<String> result = CompletableFuture.supplyAsync(() -> {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getString(1);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            ApprovalRequest held = awaitPending(sql);
            assertThat(held.parameters()).containsExactly("2");
            approvals.approve(held.id(), "parameters checked");
            assertThat(result.get(20, TimeUnit.SECONDS)).isEqualTo("bo@example.com");
        }
    }

    @Test
    void aDeniedStatementGetsError1227WithTheReviewersReason() throws Exception {
        try (Connection c = mariadb("")) {
            CompletableFuture<SQLException> failure = CompletableFuture.supplyAsync(() -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT name, email FROM customers WHERE id = 2")) {
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            ApprovalRequest held = awaitPending("SELECT name, email FROM customers WHERE id = 2");
            approvals.deny(held.id(), "no customer e-mails today");
            SQLException e = failure.get(20, TimeUnit.SECONDS);
            assertThat((Throwable) e).as("the statement must fail").isNotNull();
            assertThat(e.getErrorCode()).isEqualTo(1227);
            assertThat(e.getMessage()).contains("no customer e-mails today");
            // the session goes on after a denial
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM orders")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(3);
            }
        }
    }

    @Test
    void theMariadbCommandLineClientShowsAndDescribesTables() throws Exception {
        Process p = new ProcessBuilder("mariadb", "-h", "127.0.0.1", "-P", Integer.toString(port()), "-u", AGENT,
                "-p" + AGENT_PASSWORD, "--skip-ssl", "--batch", db.name(), "-e", "SHOW TABLES; DESCRIBE customers")
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        boolean done = p.waitFor(30, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertThat(done).as("mariadb finished; output so far: %s", out).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("customers").contains("orders");
        assertThat(out).containsPattern("(?m)^id\\tint\\(11\\)\\tNO\\tPRI");
        assertThat(out).containsPattern("(?m)^email\\tvarchar\\(80\\)\\tYES");
    }

    @Test
    void theAuditRecordOfAMySqlStatementSaysMysqlAndWhatItTouched() throws Exception {
        String marker = "audit_marker_" + System.nanoTime();
        try (Connection c = mariadb(""); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id AS " + marker + ", name FROM customers WHERE id IN (1, 2) ORDER BY id")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.next()).isTrue();
        }
        Path statements = dir.resolve("data").resolve("audit").resolve("statements");
        String glob = statements.toString().replace("'", "''") + "/**/*.parquet";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String protocol = null;
        String agent = null;
        while (protocol == null && System.nanoTime() < deadline) {
            if (Files.isDirectory(statements)) {
                try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Statement q = duck.createStatement();
                     ResultSet rs = q.executeQuery("SELECT protocol, agent, database, CAST(tables_read AS VARCHAR),"
                             + " CAST(columns_read AS VARCHAR), CAST(row_keys AS VARCHAR), rows_returned FROM read_parquet('" + glob
                             + "', hive_partitioning=1) WHERE sql LIKE '%" + marker + "%'")) {
                    if (rs.next()) {
                        protocol = rs.getString(1);
                        agent = rs.getString(2);
                        assertThat(rs.getString(3)).isEqualTo(db.name());
                        // tracking: the analysis' tables and columns, and the primary keys of the rows the agent saw
                        assertThat(rs.getString(4)).contains(db.name() + ".customers");
                        assertThat(rs.getString(5)).contains("customers.name");
                        assertThat(rs.getString(6)).as("row keys").contains("customers").contains("1").contains("2");
                        assertThat(rs.getLong(7)).isEqualTo(2);
                    }
                } catch (SQLException e) {
                    // no Parquet file closed yet: DuckDB finds nothing to read
                }
            }
            if (protocol == null) Thread.sleep(250);
        }
        assertThat(protocol).as("the statement's audit record in %s", statements).isEqualTo("mysql");
        assertThat(agent).isEqualTo(AGENT);
    }

    static ApprovalRequest awaitPending(String sql) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            for (ApprovalRequest r : approvals.list(RequestState.PENDING, AGENT, 50)) {
                if (r.sql().equals(sql)) {
                    return r;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no pending request for " + sql + " within 20 s; pending: "
                + approvals.list(RequestState.PENDING, AGENT, 50));
    }
}
