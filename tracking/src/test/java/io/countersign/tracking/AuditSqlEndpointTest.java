package io.countersign.tracking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.tracking.AuditFiles.ApprovalRow;
import io.countersign.tracking.AuditFiles.StatementRow;
import io.countersign.wire.pg.PostgresListener;
import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.ProtocolError;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The read-only audit database over the real {@link PostgresListener}: pgjdbc (simple and extended
 * protocol, server-prepared statements with binary results) and psql as a process query DuckDB's
 * views over audit Parquet files; writes, settings and file-reading functions are refused, errors
 * leave the session usable.
 */
class AuditSqlEndpointTest {

    @TempDir
    static Path dir;

    static Path auditDir;
    static AuditSqlEndpoint endpoint;
    static PostgresListener listener;
    static InetSocketAddress address;

    static final Instant T1 = Instant.parse("2026-11-20T09:00:00.123456Z");
    static final Instant T2 = Instant.parse("2026-11-20T10:00:00Z");
    static final Instant T3 = Instant.parse("2026-11-21T08:30:00Z");

    @BeforeAll
    static void start() throws Exception {
        auditDir = Files.createDirectories(dir.resolve("audit"));
        Files.writeString(Files.createDirectories(dir.resolve("secret")).resolve("passwords.txt"), "root:hunter2\n");
        StatementUsage read = usage(Set.of("public.customers"), Set.of(), 3, -1, Map.of("public.customers", List.of("1", "2", "3")), false);
        StatementUsage count = usage(Set.of("public.customers"), Set.of(), 1, -1, Map.of(), false);
        StatementUsage update = usage(Set.of(), Set.of("public.items"), 0, 2, Map.of("public.items", List.of("7", "8")), false);
        AuditFiles.write(auditDir, List.of(
                new StatementRow(T1, "alice-bot", "s1", "SELECT id FROM customers WHERE id <= 3", "SELECT", List.of(), "allowed_by_rule", null, null, read),
                new StatementRow(T2, "alice-bot", "s1", "SELECT count(*) FROM customers", "SELECT", List.of(), "allowed_by_rule", null, null, count),
                new StatementRow(T3, "bob-bot", "s2", "UPDATE items SET label = 'x' WHERE id IN (7, 8)", "UPDATE", List.of(), "approved", "carol", "apr-1", update)),
                List.of(new ApprovalRow(T3.minusSeconds(30), "request_created", "apr-1", null, null, "bob-bot"),
                        new ApprovalRow(T3.minusSeconds(10), "decision", "apr-1", "carol", "approve", "bob-bot")));
        endpoint = new AuditSqlEndpoint(auditDir, 2, 50);
        AgentAuthenticator auth = new AgentAuthenticator() {
            @Override
            public Optional<AgentCredential> credentialFor(String user) {
                return user.equals("ana") ? Optional.of(new AgentCredential.Password("ana-pw")) : Optional.empty();
            }

            @Override
            public Route route(String user, String database) {
                return database.equals("countersign_audit") ? new Route.Local(endpoint.open(user))
                        : new Route.Refused(new ProtocolError("3D000", 1049, "no such database " + database, null));
            }
        };
        listener = PostgresListener.builder()
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(auth)
                .gate(request -> new GateDecision.Deny(null, ProtocolError.denied("no backend in this test")))
                .listener(c -> null)
                .build();
        address = listener.start();
    }

    @AfterAll
    static void stop() {
        if (listener != null) {
            listener.close();
        }
        if (endpoint != null) {
            endpoint.close();
        }
    }

    static StatementUsage usage(Set<String> read, Set<String> written, long returned, long affected, Map<String, List<String>> keys, boolean capped) {
        return new StatementUsage(read, written, Set.of(), Set.of(), List.of(), Set.of(), returned, affected, 100, keys, false, capped);
    }

    static Connection analyst(String extra) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + address.getPort() + "/countersign_audit?user=ana&password=ana-pw" + extra);
    }

    @Test
    void pgjdbcReadsTheViewsWithExactNumbersAndPostgresTypes() throws Exception {
        try (Connection c = analyst(""); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT agent, \"table\", statements, rows_read, rows_written, first_seen, day "
                    + "FROM usage_by_agent_table ORDER BY agent, \"table\"")) {
                assertThat(rs.getMetaData().getColumnType(3)).isEqualTo(Types.BIGINT);
                assertThat(rs.getMetaData().getColumnTypeName(6)).isEqualTo("timestamptz");
                assertThat(rs.getMetaData().getColumnType(7)).isEqualTo(Types.DATE);
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("alice-bot");
                assertThat(rs.getString(2)).isEqualTo("public.customers");
                assertThat(rs.getLong(3)).isEqualTo(2);
                assertThat(rs.getLong(4)).isEqualTo(4);
                assertThat(rs.getLong(5)).isZero();
                assertThat(rs.getTimestamp(6).toInstant()).isEqualTo(T1);
                assertThat(rs.getDate(7).toString()).isEqualTo("2026-11-20");
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("bob-bot");
                assertThat(rs.getString(2)).isEqualTo("public.items");
                assertThat(rs.getLong(3)).isEqualTo(1);
                assertThat(rs.getLong(5)).isEqualTo(2);
                assertThat(rs.next()).isFalse();
            }
            try (ResultSet rs = s.executeQuery("SELECT agent, \"key\", action FROM rows_touched ORDER BY started, \"key\"")) {
                List<String> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3));
                }
                assertThat(rows).containsExactly("alice-bot 1 read", "alice-bot 2 read", "alice-bot 3 read",
                        "bob-bot 7 changed", "bob-bot 8 changed");
            }
            try (ResultSet rs = s.executeQuery("SELECT row_keys, rows_affected > 0 AS wrote, approved_by FROM statements WHERE agent = 'bob-bot'")) {
                assertThat(rs.next()).isTrue();
                assertThat((Object[]) rs.getArray(1).getArray()).containsExactly("public.items:7", "public.items:8");
                assertThat(rs.getBoolean(2)).isTrue();
                assertThat(rs.getString(3)).isEqualTo("carol");
            }
            try (ResultSet rs = s.executeQuery("SELECT event, reviewer FROM approvals ORDER BY occurred_at")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("request_created");
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(2)).isEqualTo("carol");
            }
        }
    }

    @Test
    void preparedStatementsWithParametersStayRightWhenPgjdbcSwitchesToServerPreparedBinary() throws Exception {
        // prepareThreshold=2: from the second execution pgjdbc names the statement, describes it, and asks binary results
        try (Connection c = analyst("&prepareThreshold=2");
             PreparedStatement p = c.prepareStatement("SELECT count(*) AS n, sum(rows_returned) AS total, max(started) AS last, "
                     + "avg(rows_returned) AS mean, bool_or(row_keys_capped) AS capped FROM statements WHERE agent = ? AND rows_returned >= ?")) {
            // Describe of the statement before any execution: its columns and parameters
            assertThat(p.getMetaData().getColumnCount()).isEqualTo(5);
            assertThat(p.getMetaData().getColumnTypeName(3)).isEqualTo("timestamptz");
            assertThat(p.getParameterMetaData().getParameterCount()).isEqualTo(2);
            for (int i = 0; i < 6; i++) {
                p.setString(1, "alice-bot");
                p.setInt(2, 1);
                try (ResultSet rs = p.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getLong("n")).as("execution " + i).isEqualTo(2);
                    assertThat(rs.getBigDecimal("total")).as("execution " + i).isEqualByComparingTo("4");
                    assertThat(rs.getTimestamp("last").toInstant()).as("execution " + i).isEqualTo(T2);
                    assertThat(rs.getDouble("mean")).as("execution " + i).isEqualTo(2.0);
                    assertThat(rs.getBoolean("capped")).as("execution " + i).isFalse();
                }
                p.setString(1, "bob-bot");
                p.setLong(2, 0);
                try (ResultSet rs = p.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getLong("n")).as("execution " + i).isEqualTo(1);
                }
            }
            // a transaction (autocommit off) and a fetch size: BEGIN, then a portal read in pages
            c.setAutoCommit(false);
            try (PreparedStatement q = c.prepareStatement("SELECT \"key\" FROM rows_touched ORDER BY \"key\"")) {
                q.setFetchSize(2);
                List<String> keys = new ArrayList<>();
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        keys.add(rs.getString(1));
                    }
                }
                assertThat(keys).containsExactly("1", "2", "3", "7", "8");
            }
            c.commit();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "INSERT INTO statements (agent) VALUES ('x')",
            "CREATE TABLE t (x int)",
            "DROP VIEW statements",
            "DELETE FROM statements",
            "COPY (SELECT 1) TO '/tmp/countersign-audit-copy.csv'",
            "ATTACH '/tmp/countersign-audit.db' AS other",
            "INSTALL httpfs",
            "LOAD httpfs",
            "SET threads = 8",
            "SET enable_external_access = true",
            "PRAGMA enable_profiling",
            "CHECKPOINT",
            "EXPLAIN ANALYZE DELETE FROM statements",
            "SELECT 1; DROP VIEW statements",
            "SET application_name = 'x'; DROP VIEW statements",
            "BEGIN; DROP VIEW statements",
    })
    void writesSettingsAndOtherNonQueriesAreRefusedAndTheSessionGoesOn(String sql) throws Exception {
        try (Connection c = analyst(""); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute(sql)).isInstanceOfSatisfying(SQLException.class, e -> {
                assertThat(e.getSQLState()).isIn("25006", "42501", "0A000");
                assertThat(e.getMessage()).containsAnyOf("read-only", "one statement at a time");
            });
            assertThat(count(s, "SELECT count(*) FROM statements")).isEqualTo(3);
        }
        assertThat(Files.exists(Path.of("/tmp/countersign-audit-copy.csv"))).isFalse();
        assertThat(Files.exists(Path.of("/tmp/countersign-audit.db"))).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "SELECT * FROM read_text('/etc/passwd')",
            "SELECT * FROM read_csv('/etc/hostname')",
            "SELECT * FROM read_blob('%s/secret/passwords.txt')",
            "SELECT * FROM read_text('%s/audit/statements/../../secret/passwords.txt')",
            "SELECT * FROM read_parquet('/usr/share/**/*.parquet')",
            "SELECT * FROM glob('/etc/*')",
            "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')",
    })
    void functionsThatReadFilesOutsideTheAuditAreRefused(String template) throws Exception {
        String sql = template.formatted(dir, dir);
        try (Connection c = analyst(""); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeQuery(sql)).isInstanceOfSatisfying(SQLException.class, e -> {
                assertThat(e.getSQLState()).isEqualTo("42501");
                assertThat(e.getMessage()).contains("Permission Error").doesNotContain("hunter2").doesNotContain("root:");
            });
            assertThat(count(s, "SELECT count(*) FROM rows_touched")).isEqualTo(5);
        }
    }

    @Test
    void badSqlIsADuckDbErrorWithItsSqlStateAndTheSessionStaysUsable() throws Exception {
        try (Connection c = analyst(""); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeQuery("SELEC agent FROM statements"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42601"));
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM no_such_view"))
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("42P01");
                        assertThat(e.getMessage()).contains("no_such_view");
                    });
            assertThatThrownBy(() -> s.executeQuery("SELECT no_such_column FROM statements"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42703"));
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM range(51)"))
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("54000");
                        assertThat(e.getMessage()).contains("more than 50 rows").contains("LIMIT");
                    });
            assertThat(count(s, "SELECT count(*) FROM range(50)")).isEqualTo(50);
            try (ResultSet rs = s.executeQuery("DESCRIBE statements")) {
                List<String> names = new ArrayList<>();
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
                assertThat(names).contains("agent", "row_keys", "row_keys_capped", "dt");
            }
        }
    }

    @Test
    void psqlQueriesTheEndpointAndSeesRefusals() throws Exception {
        Process ok = psql("SELECT agent || ' ' || statements || ' ' || rows_read FROM usage_by_agent_table WHERE agent = 'alice-bot'",
                "SELECT array_to_string(row_keys, ',') FROM statements WHERE agent = 'bob-bot'");
        String out = new String(ok.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(ok.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ok.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(ok.exitValue()).as(err).isZero();
        assertThat(out.lines().toList()).containsExactly("alice-bot 2 4", "public.items:7,public.items:8");

        Process refused = psql("CREATE TABLE x AS SELECT * FROM statements");
        String refusedErr = new String(refused.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(refused.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(refused.exitValue()).isNotZero();
        assertThat(refusedErr).contains("read-only");
    }

    static Process psql(String... commands) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("psql", "-X", "-v", "ON_ERROR_STOP=1", "-At",
                "host=127.0.0.1 port=" + address.getPort() + " user=ana dbname=countersign_audit sslmode=disable"));
        Arrays.stream(commands).forEach(c -> {
            cmd.add("-c");
            cmd.add(c);
        });
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PGPASSWORD", "ana-pw");
        Process p = pb.start();
        p.getOutputStream().close();
        return p;
    }

    static long count(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertThat(rs.next()).isTrue();
            return rs.getLong(1);
        }
    }
}
