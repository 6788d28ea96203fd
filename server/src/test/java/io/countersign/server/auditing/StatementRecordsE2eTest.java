package io.countersign.server.auditing;

import static io.countersign.server.auditing.AuditE2e.duckdb;
import static io.countersign.server.auditing.AuditE2e.parquet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Six statements of every outcome through the real proxy and PostgreSQL, then the server is closed
 * (which finishes the Parquet) and DuckDB reads back exactly one record per statement, with the
 * fields each outcome should carry, and the approval events of the two held statements.
 */
@ExtendWith(NettyLeakWatch.class)
class StatementRecordsE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static Path audit;

    static final String SELECT = "SELECT label FROM items WHERE id <= 3 ORDER BY id";
    static final String UPDATE = "UPDATE items SET label = 'changed ' || id WHERE id IN (4, 5)";
    static final String APPROVED = "SELECT email FROM customers WHERE id = 2";
    static final String DENIED = "SELECT email FROM customers WHERE id = 3";
    static final String FAILED = "SELECT * FROM no_such_table";
    static final String MULTI = "UPDATE items SET label = 'multi' WHERE id = 6; SELECT label FROM items WHERE id = 6";
    static final int STATEMENTS = 6;

    static ApprovalRequest approved;
    static ApprovalRequest denied;

    @BeforeAll
    static void runEveryKindOfStatementThenStop() throws Exception {
        AuditE2e.schema(db);
        audit = dir.resolve("audit");
        try (CountersignServer server = AuditE2e.start(AuditE2e.config(dir, db, audit, ""))) {
            try (Connection c = AuditE2e.bot(server); Statement s = c.createStatement()) {
                assertThat(rows(s, SELECT)).containsExactly("item 1", "item 2", "item 3");
                assertThat(s.executeUpdate(UPDATE)).isEqualTo(2);

                CompletableFuture<List<String>> held = query(s, APPROVED);
                approved = AuditE2e.awaitPending(server, APPROVED);
                AuditE2e.reviewer(server, "alice").approve(approved.id(), "fine");
                assertThat(held.get(20, TimeUnit.SECONDS)).containsExactly("c2@example.com");

                CompletableFuture<List<String>> refused = query(s, DENIED);
                denied = AuditE2e.awaitPending(server, DENIED);
                AuditE2e.reviewer(server, "bob").deny(denied.id(), "not today");
                assertThatThrownBy(() -> refused.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"));

                assertThatThrownBy(() -> s.executeQuery(FAILED))
                        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42P01"));
            }
            // psql -c sends its string as one simple Query message: one statement for the proxy
            ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-v", "ON_ERROR_STOP=1", "-At",
                    "host=127.0.0.1 port=" + server.postgresAddress().getPort() + " user=bot dbname=shop sslmode=disable", "-c", MULTI)
                    .redirectErrorStream(true);
            pb.environment().put("PGPASSWORD", "bot-pw");
            pb.environment().remove("PGSERVICE");
            Process psql = pb.start();
            psql.getOutputStream().close();
            String out = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(psql.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(psql.exitValue()).as(out).isZero();
            assertThat(out).contains("multi");
        }
    }

    static List<String> rows(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            List<String> out = new ArrayList<>();
            while (rs.next()) out.add(rs.getString(1));
            return out;
        }
    }

    static CompletableFuture<List<String>> query(Statement s, String sql) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return rows(s, sql);
            } catch (SQLException e) {
                throw new CompletionException(e);
            }
        });
    }

    /** The one record of {@code sql}; fails when there is none or more than one. */
    static Map<String, Object> record(String sql) throws SQLException {
        List<Map<String, Object>> rows = duckdb("SELECT * FROM " + parquet(audit, "statements") + " WHERE sql = '" + sql.replace("'", "''") + "'");
        assertThat(rows).as("records of " + sql).hasSize(1);
        return rows.getFirst();
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> r, String column) {
        assertThat(r.get(column)).as(column).isInstanceOf(List.class);
        return (List<Object>) r.get(column);
    }

    @Test
    void exactlyOneRecordPerStatementAndTheTrailVerifies() throws Exception {
        List<Map<String, Object>> all = duckdb("SELECT sql, agent, owner, protocol, database, instance_id FROM " + parquet(audit, "statements"));
        assertThat(all).extracting(r -> r.get("sql")).containsExactlyInAnyOrder(SELECT, UPDATE, APPROVED, DENIED, FAILED, MULTI);
        assertThat(all).hasSize(STATEMENTS).allSatisfy(r -> {
            assertThat(r.get("agent")).isEqualTo("bot");
            assertThat(r.get("owner")).isEqualTo(AuditE2e.OWNER);
            assertThat(r.get("protocol")).isEqualTo("pg");
            assertThat(r.get("database")).isEqualTo("shop");
            assertThat(r.get("instance_id")).isEqualTo(AuditE2e.INSTANCE);
        });
        List<Map<String, Object>> admin = duckdb("SELECT event FROM " + parquet(audit, "admin") + " ORDER BY seq");
        assertThat(admin).extracting(r -> r.get("event")).containsExactly("start", "stop");
        AuditE2e.assertVerifies(audit);
    }

    @Test
    void allowedSelectCarriesItsRuleTablesAndRowsReturned() throws Exception {
        Map<String, Object> r = record(SELECT);
        assertThat(r.get("decision")).isEqualTo("allowed_by_rule");
        assertThat(r.get("decision_rule")).isEqualTo("plain");
        assertThat(r.get("rows_returned")).isEqualTo(3L);
        assertThat(r.get("error_code")).isNull();
        assertThat(list(r, "tables_read")).containsExactly("public.items");
        assertThat(list(r, "tables_written")).isEmpty();
        assertThat(list(r, "statement_kinds")).hasSize(1);
        assertThat((Long) r.get("bytes_sent")).isPositive();
        assertThat((Long) r.get("duration_us")).isNotNegative();
        assertThat(r.get("session_id")).isNotNull();
        assertThat((String) r.get("client_address")).contains("127.0.0.1");
        assertThat(r.get("started")).isNotNull();
        assertThat(r.get("ended")).isNotNull();
        assertThat(r.get("dt")).isNotNull();
    }

    @Test
    void updateCarriesRowsAffectedAndTheKeysOfTheRowsItChanged() throws Exception {
        Map<String, Object> r = record(UPDATE);
        assertThat(r.get("decision")).isEqualTo("allowed_by_rule");
        assertThat(r.get("rows_affected")).isEqualTo(2L);
        assertThat(list(r, "tables_written")).containsExactly("public.items");
        assertThat(list(r, "row_keys")).containsExactlyInAnyOrder("public.items:4", "public.items:5");
        assertThat(list(r, "columns_written")).containsExactly("public.items.label");
        assertThat(r.get("error_code")).isNull();
    }

    @Test
    void heldThenApprovedNamesTheReviewerAndTheRequest() throws Exception {
        Map<String, Object> r = record(APPROVED);
        assertThat(r.get("decision")).isEqualTo("approved");
        assertThat(r.get("approved_by")).isEqualTo("alice");
        assertThat(r.get("request_id")).isEqualTo(approved.id());
        assertThat(r.get("rows_returned")).isEqualTo(1L);
        assertThat(r.get("error_code")).isNull();
        assertThat(list(r, "columns_read")).contains("public.customers.email");
        assertThat(r.get("categories").toString()).contains("SENSITIVE_READ");
    }

    @Test
    void heldThenDeniedIs42501WithTheRequest() throws Exception {
        Map<String, Object> r = record(DENIED);
        assertThat(r.get("decision")).isEqualTo("denied");
        assertThat(r.get("request_id")).isEqualTo(denied.id());
        assertThat(r.get("error_code")).isEqualTo("42501");
        assertThat((String) r.get("error_message")).contains("bob");
        assertThat((String) r.get("decision_reason")).contains("not today");
        assertThat(r.get("approved_by")).isNull();
    }

    @Test
    void failedStatementCarriesTheBackendsSqlstate() throws Exception {
        Map<String, Object> r = record(FAILED);
        assertThat(r.get("error_code")).isEqualTo("42P01");
        assertThat((String) r.get("error_message")).contains("no_such_table");
        assertThat(r.get("rows_returned")).isEqualTo(0L);
    }

    @Test
    void multiStatementSimpleQueryIsOneRecordWithBothStatements() throws Exception {
        Map<String, Object> r = record(MULTI);
        assertThat(list(r, "statement_kinds")).hasSize(2);
        assertThat(list(r, "tables_written")).containsExactly("public.items");
        assertThat(r.get("error_code")).isNull();
        assertThat(r.get("decision")).isEqualTo("allowed_by_rule");
    }

    @Test
    void approvalEventsOfBothHeldStatementsAreRecorded() throws Exception {
        List<Map<String, Object>> events = duckdb("SELECT request_id, event, reviewer, channel, verdict, comment, agent, sql, reviewer_auth FROM "
                + parquet(audit, "approvals") + " ORDER BY seq");
        List<Map<String, Object>> ofApproved = events.stream().filter(e -> approved.id().equals(e.get("request_id"))).toList();
        List<Map<String, Object>> ofDenied = events.stream().filter(e -> denied.id().equals(e.get("request_id"))).toList();
        assertThat(events).hasSize(ofApproved.size() + ofDenied.size());
        assertThat(ofApproved).extracting(e -> e.get("event")).containsExactly("request_created", "decision", "executed");
        assertThat(ofDenied).extracting(e -> e.get("event")).containsExactly("request_created", "decision");
        Map<String, Object> approve = ofApproved.get(1);
        Map<String, Object> deny = ofDenied.get(1);
        assertThat(approve.get("reviewer")).isEqualTo("alice");
        assertThat(approve.get("channel")).as("ApprovalsClient decides as the CLI").isEqualTo("cli");
        assertThat(deny.get("channel")).isEqualTo("cli");
        assertThat((String) approve.get("verdict")).isEqualToIgnoringCase("approve");
        assertThat(approve.get("comment")).isEqualTo("fine");
        assertThat(approve.get("reviewer_auth")).as("a bearer token from the config").isEqualTo("static-token");
        assertThat(ofApproved.getFirst().get("reviewer_auth")).as("request_created has no reviewer").isNull();
        assertThat(deny.get("reviewer")).isEqualTo("bob");
        assertThat((String) deny.get("verdict")).isEqualToIgnoringCase("deny");
        assertThat(deny.get("comment")).isEqualTo("not today");
        assertThat(ofApproved.getFirst().get("sql")).isEqualTo(APPROVED);
        assertThat(ofApproved.getFirst().get("agent")).isEqualTo("bot");
    }
}
