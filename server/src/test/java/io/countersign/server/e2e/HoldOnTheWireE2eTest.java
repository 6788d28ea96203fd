package io.countersign.server.e2e;

import static io.countersign.server.e2e.E2e.awaitPending;
import static io.countersign.server.e2e.E2e.awaitState;
import static io.countersign.server.e2e.E2e.bot;
import static io.countersign.server.e2e.E2e.reviewer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A held statement on the live connection, decided through the REST API and the CLI: pgjdbc and psql through the real proxy. */
@ExtendWith(NettyLeakWatch.class)
class HoldOnTheWireE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;

    @BeforeAll
    static void start() throws Exception {
        E2e.schema(db);
        server = E2e.start(E2e.config(dir, db, dir.resolve("data").toString(), null, "hold"));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    /** Runs one query on its own thread and returns its first column's values. */
    static CompletableFuture<List<String>> query(Statement s, String sql) {
        return CompletableFuture.supplyAsync(() -> {
            try (ResultSet rs = s.executeQuery(sql)) {
                List<String> out = new ArrayList<>();
                while (rs.next()) out.add(rs.getString(1));
                return out;
            } catch (SQLException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
    }

    static SQLException failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(SQLException.class);
            return (SQLException) e.getCause();
        }
        throw new AssertionError("the statement succeeded; expected an error");
    }

    @Test
    void heldThenApprovedReturnsTheRowsAndTheNoticeNamesTheRequest() throws Exception {
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            String sql = "SELECT email FROM customers WHERE id = 2";
            CompletableFuture<List<String>> rows = query(s, sql);
            ApprovalRequest r = awaitPending(server, sql);
            assertThat(r.agent()).isEqualTo("bot");
            assertThat(r.owner()).isEqualTo(E2e.OWNER);
            assertThat(r.database()).isEqualTo("shop");
            assertThat(r.rule()).isEqualTo("sensitive-export-destructive");
            assertThat(r.sensitiveColumns()).contains("public.customers.email");
            assertThat(rows).isNotDone();
            reviewer(server, "alice").approve(r.id(), "ok");
            assertThat(rows.get(20, TimeUnit.SECONDS)).containsExactly("c2@example.com");
            SQLWarning notice = s.getWarnings();
            assertThat(notice == null ? null : notice.getMessage()).isNotNull();
            assertThat(notice.getMessage()).startsWith("held for approval: request " + r.id() + ",");
            awaitState(server, r.id(), RequestState.EXECUTED);
        }
    }

    @Test
    void heldThenDeniedIs42501WithReviewerAndReason() throws Exception {
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            String sql = "SELECT email FROM customers WHERE id = 3";
            CompletableFuture<List<String>> rows = query(s, sql);
            ApprovalRequest r = awaitPending(server, sql);
            reviewer(server, "bob").deny(r.id(), "no bulk emails today");
            SQLException e = failure(rows);
            assertThat(e.getSQLState()).isEqualTo("42501");
            assertThat(e.getMessage()).contains("denied by bob").contains("no bulk emails today").contains(r.id());
            ApprovalRequest after = awaitState(server, r.id(), RequestState.DENIED);
            assertThat(after.decisions()).singleElement().satisfies(d -> assertThat(d.reviewer()).isEqualTo("bob"));
            // the connection stays usable
            try (ResultSet rs = s.executeQuery("SELECT label FROM items WHERE id = 1")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("item 1");
            }
        }
    }

    @Test
    void nobodyDecidingTimesOutWith57014() throws Exception {
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            long t0 = System.nanoTime();
            SQLException e = failure(query(s, "SELECT secret FROM vault"));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(e.getSQLState()).isEqualTo("57014");
            assertThat(e.getMessage()).contains("no reviewer decided on request").contains("expired").contains("did not run");
            assertThat(ms).isBetween(1_500L, 15_000L);
            ApprovalRequest r = E2e.awaitRequest(server, RequestState.EXPIRED, x -> x.sql().equals("SELECT secret FROM vault"));
            assertThat(e.getMessage()).contains(r.id());
        }
    }

    @Test
    void cancelWhileHeldIs57014AndWithdrawsTheRequest() throws Exception {
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            String sql = "SELECT email FROM customers WHERE id = 4";
            CompletableFuture<List<String>> rows = query(s, sql);
            ApprovalRequest r = awaitPending(server, sql);
            s.cancel();
            SQLException e = failure(rows);
            assertThat(e.getSQLState()).isEqualTo("57014");
            awaitState(server, r.id(), RequestState.WITHDRAWN);
            // an approval after the withdrawal is refused and runs nothing
            assertThatThrownBy(() -> reviewer(server, "alice").approve(r.id(), "too late"))
                    .hasMessageContaining("HTTP 409");
        }
    }

    @Test
    void disconnectWhileHeldWithdrawsTheRequest() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 5";
        Process p = E2e.psql(server, "bot", "bot-pw", sql);
        ApprovalRequest r = awaitPending(server, sql);
        p.destroyForcibly();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        ApprovalRequest after = awaitState(server, r.id(), RequestState.WITHDRAWN);
        assertThat(after.decisions()).isEmpty();
    }

    @Test
    void deniedInsideATransactionFailsTheTransactionUntilRollback() throws Exception {
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.executeUpdate("INSERT INTO items VALUES (100, 'in the failed transaction')");
            String sql = "SELECT email FROM customers WHERE id = 1 AND name <> 'tx'";
            CompletableFuture<List<String>> rows = query(s, sql);
            ApprovalRequest r = awaitPending(server, sql);
            reviewer(server, "alice").deny(r.id(), "not inside this transaction");
            assertThat(failure(rows).getSQLState()).isEqualTo("42501");
            assertThatThrownBy(() -> s.executeQuery("SELECT 1"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("25P02"));
            assertThatThrownBy(() -> s.executeQuery("SELECT label FROM items WHERE id = 1"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("25P02"));
            c.rollback();
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM items WHERE id = 100")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
            c.commit();
        }
        try (Connection direct = db.connect(); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM items WHERE id = 100")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
    }

    @Test
    void extendedProtocolShowsTheBoundParametersAndRunsWithThem() throws Exception {
        try (Connection c = bot(server);
             PreparedStatement ps = c.prepareStatement("SELECT email FROM customers WHERE id = ? AND name = ?")) {
            ps.setInt(1, 4);
            ps.setString(2, "customer 4");
            CompletableFuture<List<String>> rows = CompletableFuture.supplyAsync(() -> {
                try (ResultSet rs = ps.executeQuery()) {
                    List<String> out = new ArrayList<>();
                    while (rs.next()) out.add(rs.getString(1));
                    return out;
                } catch (SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            ApprovalRequest r = awaitPending(server, "SELECT email FROM customers WHERE id = $1 AND name = $2");
            assertThat(r.parameters()).containsExactly("4", "customer 4");
            reviewer(server, "alice").approve(r.id(), null);
            assertThat(rows.get(20, TimeUnit.SECONDS)).containsExactly("c4@example.com");
        }
    }

    @Test
    void pipelinedStatementsBehindAHeldOneWaitAndKeepTheirOrder() throws Exception {
        db.execute("TRUNCATE audit_log");
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            s.addBatch("INSERT INTO audit_log(note) VALUES ('first')");
            s.addBatch("INSERT INTO audit_log(note) SELECT 'held ' || email FROM customers WHERE id = 1");
            s.addBatch("INSERT INTO audit_log(note) VALUES ('last')");
            CompletableFuture<int[]> batch = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.executeBatch();
                } catch (SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            ApprovalRequest r = awaitPending(server, "INSERT INTO audit_log(note) SELECT 'held ' || email FROM customers WHERE id = 1");
            Thread.sleep(300); // give a wrongly forwarded 'last' time to arrive
            try (Connection direct = db.connect(); Statement d = direct.createStatement();
                 ResultSet rs = d.executeQuery("SELECT count(*) FROM audit_log WHERE note = 'last'")) {
                rs.next();
                assertThat(rs.getInt(1)).as("the statement behind the held one has not run").isZero();
            }
            reviewer(server, "alice").approve(r.id(), null);
            assertThat(batch.get(20, TimeUnit.SECONDS)).containsExactly(1, 1, 1);
        }
        List<String> notes = new ArrayList<>();
        try (Connection direct = db.connect(); Statement d = direct.createStatement();
             ResultSet rs = d.executeQuery("SELECT note FROM audit_log ORDER BY id")) {
            while (rs.next()) notes.add(rs.getString(1));
        }
        assertThat(notes).containsExactly("first", "held c1@example.com", "last");
    }

    @Test
    void psqlWaitsWithANoticeTheCliListsAndApprovesAndTheRowsArrive() throws Exception {
        String sql = "SELECT email FROM customers";
        Process p = E2e.psql(server, "bot", "bot-pw", sql);
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try {
                return E2e.read(p.getInputStream());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
            try {
                return E2e.read(p.getErrorStream());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        ApprovalRequest r = awaitPending(server, sql);
        String url = E2e.adminUrl(server);
        E2e.Cli list = E2e.cli("approvals", "list", "--url", url, "--token", "tok-carol");
        assertThat(list.exit()).as(list.err()).isZero();
        assertThat(list.out()).contains(r.id()).contains("pending").contains("bot").contains(sql);
        E2e.Cli show = E2e.cli("approvals", "show", r.id(), "--url", url, "--token", "tok-carol", "--json");
        assertThat(show.exit()).as(show.err()).isZero();
        assertThat(show.out()).contains("\"id\" : \"" + r.id() + "\"").contains("public.customers.email");
        assertThat(p.isAlive()).isTrue();
        E2e.Cli approve = E2e.cli("approvals", "approve", r.id(), "--url", url, "--token", "tok-carol", "-m", "demo");
        assertThat(approve.exit()).as(approve.err()).isZero();
        assertThat(approve.out()).contains("carol approve via cli: demo");
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err.get()).isZero();
        assertThat(err.get()).contains("NOTICE:  held for approval: request " + r.id());
        assertThat(Set.copyOf(out.get().lines().toList())).containsExactlyInAnyOrder(
                "c1@example.com", "c2@example.com", "c3@example.com", "c4@example.com", "c5@example.com");
    }

    @Test
    void psqlCatalogCommandsAndJdbcMetadataAreNotHeld() throws Exception {
        Process p = E2e.psql(server, "meta-agent", "meta-pw", "\\d", "\\dt", "\\d+ customers", "\\df", "\\dn");
        String out = E2e.read(p.getInputStream());
        String err = E2e.read(p.getErrorStream());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err).isZero();
        assertThat(out).contains("customers").contains("vault").contains("email").contains("add_one").contains("public");
        try (Connection c = E2e.connect(server, "meta-agent", "meta-pw")) {
            DatabaseMetaData md = c.getMetaData();
            Set<String> tables = new HashSet<>();
            try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
                while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
            }
            assertThat(tables).contains("customers", "vault", "items");
            List<String> columns = new ArrayList<>();
            try (ResultSet rs = md.getColumns(null, "public", "customers", "%")) {
                while (rs.next()) columns.add(rs.getString("COLUMN_NAME"));
            }
            assertThat(columns).containsExactly("id", "name", "email");
            try (ResultSet rs = md.getPrimaryKeys(null, "public", "customers")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("COLUMN_NAME")).isEqualTo("id");
            }
            try (ResultSet rs = md.getFunctions(null, "public", "add_one")) {
                assertThat(rs.next()).isTrue();
            }
            try (ResultSet rs = md.getSchemas()) {
                assertThat(rs.next()).isTrue();
            }
            try (ResultSet rs = md.getIndexInfo(null, "public", "customers", false, false)) {
                assertThat(rs.next()).isTrue();
            }
        }
        assertThat(reviewer(server, "alice").list(null, "meta-agent", 100)).as("requests held for catalog queries").isEmpty();
    }
}
