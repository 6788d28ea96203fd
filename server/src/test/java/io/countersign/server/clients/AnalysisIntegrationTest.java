package io.countersign.server.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import io.countersign.tracking.AuditViews;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "Integration": through the real proxy and the real PostgreSQL, each statement's
 * analysis (the layer that settled it, its categories and reasons) lands in the statement's audit
 * record, and the wire check stops a result carrying a sensitive column the analysis did not
 * predict.
 */
class AnalysisIntegrationTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;

    static final Map<String, String> AGENTS = new LinkedHashMap<>();

    static {
        AGENTS.put("audit-agent", "audit-pw");
        AGENTS.put("wire-agent", "wire-pw");
        AGENTS.put("stale-agent", "stale-pw");
    }

    @BeforeAll
    static void start() throws Exception {
        Clients.schema(db);
        db.execute("CREATE TABLE notes(id int PRIMARY KEY, memo text NOT NULL, secret_code text NOT NULL)",
                "INSERT INTO notes VALUES (1, 'memo 1', 'SECRET-1'), (2, 'memo 2', 'SECRET-2')",
                "CREATE TABLE notes2(id int PRIMARY KEY, memo text NOT NULL)",
                "INSERT INTO notes2 VALUES (1, 'backup@example.com')",
                "CREATE TABLE notes3(id int PRIMARY KEY, memo text NOT NULL)",
                "INSERT INTO notes3 VALUES (1, 'memo 1')");
        server = Clients.start(Clients.config(dir, db, AGENTS, List.of("public.customers.email", "public.notes.secret_code",
                "public.notes2.email_backup", "public.notes3.email_backup")));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    private static Connection connect(String agent) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + Clients.port(server) + "/shop?sslmode=disable",
                agent, AGENTS.get(agent));
    }

    record Audited(String sql, String settledBy, List<String> categories, List<String> reasons, List<String> columnsRead,
                   String decision, String errorCode) {}

    @Test
    void eachStatementsAuditRecordCarriesItsAnalysis() throws Exception {
        String plain = "SELECT id, name FROM products WHERE id = 2";
        String session = "SET application_name = 'analysis-it'";
        // a catalog read Calcite's parser rejects (the & operator, unnest in the select list): the catalog-only layer settles it
        String catalog = "SELECT n.nspname, (n.oid::int & 0) AS z, unnest(ARRAY[1]) AS one FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public'";
        String sensitive = "SELECT email FROM customers WHERE id = 1";
        try (Connection c = connect("audit-agent"); Statement s = c.createStatement()) {
            s.execute(session);
            try (ResultSet rs = s.executeQuery(plain)) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(2)).isEqualTo("product 2");
            }
            try (ResultSet rs = s.executeQuery(catalog)) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("public");
            }
            CompletableFuture<SQLException> held = CompletableFuture.supplyAsync(() -> {
                try (Statement h = c.createStatement()) {
                    h.executeQuery(sensitive);
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            }, r -> Thread.ofVirtual().start(r));
            ApprovalRequest r = Clients.awaitRequest(server, "audit-agent", q -> q.sql().equals(sensitive));
            Clients.reviewer(server).deny(r.id(), "not for this task");
            SQLException denied = held.get(20, TimeUnit.SECONDS);
            assertThat((Throwable) denied).as("the denied read fails").isNotNull();
        }
        Map<String, Audited> bySql = awaitAudited("audit-agent", List.of(plain, session, catalog, sensitive));
        Audited p = bySql.get(plain);
        assertThat(p.settledBy()).isEqualTo("CALCITE");
        assertThat(p.categories()).isEmpty();
        assertThat(p.columnsRead()).containsExactlyInAnyOrder("public.products.id", "public.products.name");
        assertThat(p.decision()).isEqualTo("allowed_by_rule");
        assertThat(p.errorCode()).isNull();
        assertThat(bySql.get(session).settledBy()).isEqualTo("LEXER");
        assertThat(bySql.get(session).categories()).isEmpty();
        assertThat(bySql.get(catalog).settledBy()).isEqualTo("CATALOG_ONLY");
        assertThat(bySql.get(catalog).categories()).isEmpty();
        Audited s = bySql.get(sensitive);
        assertThat(s.settledBy()).isEqualTo("CALCITE");
        assertThat(s.categories()).containsExactly("SENSITIVE_READ");
        assertThat(s.reasons().get(0)).contains("public.customers.email");
        assertThat(s.columnsRead()).contains("public.customers.email");
        assertThat(s.decision()).isEqualTo("denied");
    }

    /** Polls the audit's Parquet files (rolled every second) through DuckDB until every statement of {@code sqls} by {@code agent} is there. */
    private static Map<String, Audited> awaitAudited(String agent, List<String> sqls) throws Exception {
        Path audit = Clients.auditDir(dir);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Map<String, Audited> bySql = new LinkedHashMap<>();
        while (System.nanoTime() < deadline) {
            bySql.clear();
            if (Files.isDirectory(audit)) {
                try (Connection duck = DriverManager.getConnection("jdbc:duckdb:")) {
                    AuditViews.create(duck, audit);
                    try (var ps = duck.prepareStatement("""
                            SELECT sql, settled_by, list_transform(categories, x -> x.category), list_transform(categories, x -> x.reason),
                                   columns_read, decision, error_code
                            FROM statements WHERE agent = ? ORDER BY seq""")) {
                        ps.setString(1, agent);
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                bySql.put(rs.getString(1), new Audited(rs.getString(1), rs.getString(2), strings(rs, 3), strings(rs, 4),
                                        strings(rs, 5), rs.getString(6), rs.getString(7)));
                            }
                        }
                    }
                } catch (SQLException notYet) {
                    // no statements file yet: the first roll has not happened
                }
            }
            if (bySql.keySet().containsAll(sqls)) return bySql;
            Thread.sleep(200);
        }
        throw new AssertionError("the audit of " + agent + " after 20 s has " + bySql.keySet() + "; expected all of " + sqls);
    }

    private static List<String> strings(ResultSet rs, int col) throws SQLException {
        java.sql.Array a = rs.getArray(col);
        List<String> out = new ArrayList<>();
        if (a != null) {
            for (Object o : (Object[]) a.getArray()) out.add(String.valueOf(o));
        }
        return out;
    }

    /**
     * A catalog race: the proxy's cached catalog says notes' second column is {@code memo} and its
     * third the sensitive {@code secret_code}; then, behind the proxy's back, the two names are
     * swapped on the backend. The agent's {@code SELECT id, memo} is analysed against the cached
     * catalog as a plain read, but the backend returns attribute 3 (the secret codes), and the
     * RowDescription's table OID and attribute number say so: the wire check must stop it.
     */
    @Test
    void theWireCheckStopsASensitiveColumnTheAnalysisDidNotPredict() throws Exception {
        String query = "SELECT id, memo FROM notes ORDER BY id LIMIT 1";
        double missesBefore = misses();
        try (Connection c = connect("wire-agent"); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery(query)) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(2)).isEqualTo("memo 1");
            }
            db.execute("ALTER TABLE notes RENAME COLUMN secret_code TO swap_tmp",
                    "ALTER TABLE notes RENAME COLUMN memo TO secret_code",
                    "ALTER TABLE notes RENAME COLUMN swap_tmp TO memo");
            try (Connection direct = db.connect(); Statement d = direct.createStatement(); ResultSet rs = d.executeQuery(query)) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(2)).as("what the backend would send").isEqualTo("SECRET-1");
            }
            List<String> received = new ArrayList<>();
            assertThatThrownBy(() -> {
                try (ResultSet rs = s.executeQuery(query)) {
                    while (rs.next()) received.add(rs.getString(2));
                }
            }).isInstanceOfSatisfying(SQLException.class, e -> {
                assertThat(e.getSQLState()).isEqualTo("42501");
                assertThat(e.getMessage()).contains("public.notes.secret_code").contains("no rows were sent");
            });
            assertThat(received).isEmpty();
        } finally {
            db.execute("ALTER TABLE notes RENAME COLUMN memo TO swap_tmp",
                    "ALTER TABLE notes RENAME COLUMN secret_code TO memo",
                    "ALTER TABLE notes RENAME COLUMN swap_tmp TO secret_code");
        }
        assertThat(misses()).isEqualTo(missesBefore + 1);
        Clients.assertNothingHeld(server, "wire-agent");
    }

    private static double misses() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.adminAddress().getPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        Matcher m = Pattern.compile("(?m)^countersign_analysis_misses_total(?:\\{[^}]*\\})? (\\S+)$").matcher(r.body());
        assertThat(m.find()).as("countersign_analysis_misses_total on /metrics").isTrue();
        return Double.parseDouble(m.group(1));
    }

    /**
     * A stale catalog (DDL run directly on the backend): the wire check judges each result column by
     * the name the backend gives it. A column renamed to a sensitive name, and a sensitive column
     * added, are stopped with 42501 naming them and no rows; once the catalog has been re-read the
     * same SELECT is analysed as the sensitive read it is and held for approval.
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 3, unit = TimeUnit.MINUTES) // a read held by mistake would wait for a reviewer
    void aStaleCatalogIsJudgedByTheBackendsColumnNamesAndThenRefreshed() throws Exception {
        String renamed = "SELECT * FROM notes2 LIMIT 1";
        String added = "SELECT * FROM notes3";
        try (Connection c = connect("stale-agent"); Statement s = c.createStatement()) {
            for (String q : List.of(renamed, added)) {
                try (ResultSet rs = s.executeQuery(q)) {
                    assertThat(rs.next()).as("plain read before the DDL: " + q).isTrue();
                }
            }
        }
        // One change at a time, each judged against a catalog with no reload running: every stop
        // below makes the catalog re-read itself, and a re-read that already saw the next change would
        // (rightly) hold that statement instead of stopping it on the wire.
        db.execute("ALTER TABLE notes3 ADD COLUMN email_backup text");
        assertStopped(added, "public.notes3.email_backup");
        // a column the catalog does not know marks it stale: the next reads are analysed afresh
        assertHeldOnceRefreshed(added, "public.notes3.email_backup");
        db.execute("ALTER TABLE notes2 RENAME COLUMN memo TO email_backup");
        assertStopped(renamed, "public.notes2.email_backup");
        // a known column under a new, sensitive name makes the catalog re-read itself too
        assertHeldOnceRefreshed(renamed, "public.notes2.email_backup");
    }

    private static void assertStopped(String query, String column) throws SQLException {
        List<String> received = new ArrayList<>();
        try (Connection c = connect("stale-agent"); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> {
                try (ResultSet rs = s.executeQuery(query)) {
                    while (rs.next()) received.add(rs.getString(1));
                }
            }).as(query).isInstanceOfSatisfying(SQLException.class, e -> {
                assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("42501");
                assertThat(e.getMessage()).contains(column).contains("no rows were sent");
            });
        }
        assertThat(received).as("rows of " + query).isEmpty();
        Clients.assertNotHeld(server, "stale-agent", query);
    }

    /**
     * Runs {@code query} until it is held for approval as a sensitive read of {@code column} (the
     * catalog refresh the wire check asked for has landed) rather than stopped by the wire check;
     * denies the request so the client ends.
     */
    private static void assertHeldOnceRefreshed(String query, String column) throws Exception {
        var reviewer = Clients.reviewer(server);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        String last = "never ran";
        while (System.nanoTime() < deadline) {
            CompletableFuture<SQLException> run = CompletableFuture.supplyAsync(() -> {
                try (Connection c = connect("stale-agent"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            }, r -> Thread.ofVirtual().start(r));
            long attemptEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!run.isDone() && System.nanoTime() < attemptEnd) {
                List<ApprovalRequest> held = reviewer.list(io.countersign.approvals.RequestState.PENDING, "stale-agent", 100).stream()
                        .filter(r -> r.sql().equals(query)).toList();
                if (!held.isEmpty()) {
                    ApprovalRequest r = held.getFirst();
                    reviewer.deny(r.id(), "test: the held read is what was expected");
                    SQLException denied = run.get(20, TimeUnit.SECONDS);
                    assertThat((Throwable) denied).as("the denied read fails").isNotNull();
                    assertThat(r.sensitiveColumns()).as("sensitive columns of the held " + query).contains(column);
                    assertThat(String.join(" ", r.reasons())).as("reasons of the held " + query).contains(column);
                    return;
                }
                Thread.sleep(50);
            }
            SQLException e = run.get(20, TimeUnit.SECONDS);
            assertThat((Throwable) e).as("%s ran through with its sensitive column %s", query, column).isNotNull();
            assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("42501");
            last = e.getSQLState() + " " + e.getMessage();
            Thread.sleep(200);
        }
        throw new AssertionError(query + " was not held for approval within 15 s of the wire check; last outcome: " + last);
    }
}
