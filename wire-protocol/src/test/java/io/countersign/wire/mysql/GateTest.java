package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.MariaDbDatabase;
import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.StatementCompletion;
import io.countersign.wire.spi.StatementWithdrawnException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Every COM_QUERY and COM_STMT_EXECUTE goes through the gate: deny, hold, withdraw, observe, complete. */
class GateTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static final RecordingGate gate = new RecordingGate();
    static final List<StatementCompletion> completions = new CopyOnWriteArrayList<>();
    static volatile CompletableFuture<Void> durability;
    static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        proxy = new ProxyFixture(db, gate, c -> {
            completions.add(c);
            return durability;
        }, b -> b);
        db.execute("CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(20), balance INT, secret VARCHAR(20))",
                "INSERT INTO accounts VALUES (1, 'ann', 100, 'x'), (2, 'bob', 200, 'y'), (3, 'cy', 300, 'z')");
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    @BeforeEach
    void reset() {
        gate.holds.clear();
        completions.clear();
        durability = null;
    }

    @Test
    void deniedStatementNeverReachesTheBackend() throws Exception {
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeUpdate("DELETE FROM accounts /* DENY_ME */"))
                    .isInstanceOf(SQLException.class)
                    .satisfies(e -> {
                        assertThat(((SQLException) e).getErrorCode()).isEqualTo(1227);
                        assertThat(((SQLException) e).getSQLState()).isEqualTo("42000");
                        assertThat(e.getMessage()).contains("denied by alice");
                    });
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM accounts")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(3);
            }
        }
        StatementCompletion denied = completions.stream().filter(c -> c.request().sql().contains("DENY_ME")).findFirst().orElseThrow();
        assertThat(denied.error().mysqlCode()).isEqualTo(1227);
        assertThat(denied.context()).isEqualTo("ctx-deny");
    }

    @Test
    void heldStatementWaitsSilentlyThenRunsWhenAllowed() throws Exception {
        try (Connection c = proxy.connectorJ("")) {
            CompletableFuture<Integer> result = CompletableFuture.supplyAsync(() -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT balance FROM accounts WHERE id = 2 /* HOLD_ME */")) {
                    rs.next();
                    return rs.getInt(1);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            RecordingGate.Hold hold = gate.holds.poll(10, TimeUnit.SECONDS);
            assertThat(hold).isNotNull();
            assertThat(hold.request().session().agent()).isEqualTo(ProxyFixture.AGENT);
            assertThat(hold.request().session().attributes()).containsKey("_client_name"); // CONNECT_ATTRS kept
            Thread.sleep(300);
            assertThat(result).isNotDone();
            hold.outcome().complete(gate.approve());
            assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo(200);
        }
    }

    @Test
    void heldStatementDeniedByTheReviewerGetsTheError() throws Exception {
        try (Connection c = proxy.connectorJ("")) {
            CompletableFuture<Integer> result = CompletableFuture.supplyAsync(() -> {
                try (Statement s = c.createStatement()) {
                    return s.executeUpdate("UPDATE accounts SET balance = 0 /* HOLD_ME */");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            RecordingGate.Hold hold = gate.holds.poll(10, TimeUnit.SECONDS);
            hold.outcome().complete(new GateDecision.Deny(null, ProtocolError.denied("denied by bob: not today")));
            assertThatThrownBy(() -> result.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class)
                    .hasMessageContaining("denied by bob");
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT SUM(balance) FROM accounts")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(600);
            }
        }
    }

    @Test
    void preparedStatementIsHeldAtExecuteWithItsParameters() throws Exception {
        try (Connection c = proxy.connectorJ("useServerPrepStmts=true");
             PreparedStatement ps = c.prepareStatement("UPDATE accounts SET owner = ? WHERE id = ? /* HOLD_ME */")) {
            ps.setString(1, "zoë");
            ps.setInt(2, 3);
            CompletableFuture<Integer> result = CompletableFuture.supplyAsync(() -> {
                try {
                    return ps.executeUpdate();
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            RecordingGate.Hold hold = gate.holds.poll(10, TimeUnit.SECONDS);
            assertThat(hold.request().extended()).isTrue();
            assertThat(hold.request().parameters()).extracting(p -> p.text()).containsExactly("zoë", "3");
            hold.outcome().complete(gate.approve());
            assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        }
        StatementCompletion done = completions.stream().filter(c -> c.request().extended()).findFirst().orElseThrow();
        assertThat(done.rowsAffected()).isEqualTo(1);
        assertThat(done.context()).isEqualTo("ctx-approved");
        assertThat(done.error()).isNull();
    }

    @Test
    void refusedExecuteDoesNotLeaveItsLongDataBehind() throws Exception {
        db.execute("CREATE TABLE docs (id INT PRIMARY KEY, body LONGBLOB)");
        try (Connection c = proxy.connectorJ("useServerPrepStmts=true");
             PreparedStatement ps = c.prepareStatement("INSERT INTO docs VALUES (?, ?) /* HOLD_ME */")) {
            for (String body : new String[] {"refused", "approved"}) {
                ps.setInt(1, 1);
                ps.setBinaryStream(2, new java.io.ByteArrayInputStream(body.getBytes()), body.length());
                CompletableFuture<Integer> result = CompletableFuture.supplyAsync(() -> {
                    try {
                        return ps.executeUpdate();
                    } catch (SQLException e) {
                        throw new RuntimeException(e);
                    }
                });
                RecordingGate.Hold hold = gate.holds.poll(10, TimeUnit.SECONDS);
                assertThat(hold.request().parameters().get(1).text()).contains("bytes sent as long data");
                if (body.equals("refused")) {
                    hold.outcome().complete(new GateDecision.Deny(null, ProtocolError.denied("not this one")));
                    assertThatThrownBy(() -> result.get(10, TimeUnit.SECONDS)).hasMessageContaining("not this one");
                } else {
                    hold.outcome().complete(gate.approve());
                    assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo(1);
                }
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT body FROM docs WHERE id = 1")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("approved");
            }
        }
    }

    @Test
    void clientDisconnectWhileHeldWithdrawsTheStatement() throws Exception {
        Connection c = proxy.connectorJ("");
        CompletableFuture.runAsync(() -> {
            try (Statement s = c.createStatement()) {
                s.execute("DELETE FROM accounts /* HOLD_ME */");
            } catch (SQLException expected) {
                // the connection is aborted below
            }
        });
        RecordingGate.Hold hold = gate.holds.poll(10, TimeUnit.SECONDS);
        c.abort(Runnable::run);
        assertThatThrownBy(() -> hold.outcome().get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(StatementWithdrawnException.class)
                .satisfies(e -> assertThat(((StatementWithdrawnException) e).reason()).isEqualTo(StatementWithdrawnException.Reason.DISCONNECTED));
        try (Connection d = proxy.connectorJ(""); Statement s = d.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM accounts")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(3);
        }
    }

    @Test
    void cancelFromAnotherConnectionWithdrawsTheHeldStatement() throws Exception {
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement()) {
            CompletableFuture<Void> result = CompletableFuture.runAsync(() -> {
                try {
                    s.execute("DELETE FROM accounts /* HOLD_ME */");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            RecordingGate.Hold hold = gate.holds.poll(10, TimeUnit.SECONDS);
            s.cancel(); // Connector/J: KILL QUERY <Countersign's id> on a second connection
            assertThatThrownBy(() -> hold.outcome().get(10, TimeUnit.SECONDS)).cause().isInstanceOf(StatementWithdrawnException.class)
                    .satisfies(e -> assertThat(((StatementWithdrawnException) e).reason()).isEqualTo(StatementWithdrawnException.Reason.CANCELLED));
            // Connector/J reports our ERR 1317 as its own "cancelled" exception when its cancel flag is already set
            assertThatThrownBy(() -> result.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class)
                    .rootCause().satisfies(e -> assertThat(((SQLException) e).getErrorCode() == 1317
                            || e instanceof com.mysql.cj.jdbc.exceptions.MySQLStatementCancelledException).isTrue());
            // the connection carries on
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM accounts")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(3);
            }
        }
    }

    @Test
    void heldClientReceivesError1317WhenItsQueryIsKilled() throws Exception {
        try (RawClient raw = new RawClient(proxy.port()); Connection killer = proxy.connectorJ(""); Statement s = killer.createStatement()) {
            assertThat(raw.login(ProxyFixture.AGENT, ProxyFixture.PASSWORD, db.name()).isOk()).isTrue();
            raw.query(0, "UPDATE accounts SET balance = -1 /* HOLD_ME */");
            RecordingGate.Hold hold = gate.holds.poll(10, TimeUnit.SECONDS);
            assertThat(hold).isNotNull();
            s.execute("KILL QUERY " + raw.connectionId);
            RawClient.Reply r = raw.read();
            assertThat(r.errorCode()).isEqualTo(1317);
            assertThat(new String(r.payload(), 4, 5, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("70100");
            assertThat(r.message()).isEqualTo("Query execution was interrupted");
            assertThat(hold.outcome()).isCompletedExceptionally();
            raw.send(0, new byte[] {0x0e}); // the connection carries on
            assertThat(raw.read().isOk()).isTrue();
        }
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT MIN(balance) FROM accounts")) {
            rs.next();
            assertThat(rs.getInt(1)).isNotNegative();
        }
    }

    @Test
    void anAgentCannotKillAnotherAgentsConnection() throws Exception {
        try (Connection mine = proxy.connectorJ("");
             Connection theirs = DriverManager.getConnection(proxy.mysqlUrl(""), ProxyFixture.OTHER, ProxyFixture.OTHER_PASSWORD);
             Statement s = theirs.createStatement()) {
            long id = ((com.mysql.cj.jdbc.JdbcConnection) mine).getId();
            assertThatThrownBy(() -> s.execute("KILL QUERY " + id)).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(1095));
            assertThatThrownBy(() -> s.execute("KILL 999999999")).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(1094));
            assertThat(mine.isValid(2)).isTrue();
        }
    }

    @Test
    void killConnectionEndsTheAgentsOtherConnection() throws Exception {
        try (Connection victim = proxy.connectorJ(""); Connection killer = proxy.connectorJ(""); Statement s = killer.createStatement()) {
            long id = ((com.mysql.cj.jdbc.JdbcConnection) victim).getId();
            assertThat(proxy.listener.backendThreadId(id)).isPresent();
            s.execute("KILL " + id);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (proxy.listener.session(id) != null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(proxy.listener.session(id)).isNull();
            assertThatThrownBy(() -> victim.createStatement().executeQuery("SELECT 1")).isInstanceOf(SQLException.class);
            assertThat(killer.isValid(2)).isTrue();
        }
    }

    @Test
    void runningQueryIsCancelledOnTheBackend() throws Exception {
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement()) {
            CompletableFuture<Void> result = CompletableFuture.runAsync(() -> {
                try {
                    s.executeQuery("SELECT SLEEP(20)").close();
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(500);
            long start = System.nanoTime();
            s.cancel();
            try {
                result.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                assertThat(e).hasRootCauseInstanceOf(SQLException.class);
            }
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(10);
            assertThat(c.isValid(2)).isTrue();
        }
    }

    @Test
    void observerSeesColumnsBeforeRowsAndCanStopTheResult() throws Exception {
        gate.columns.clear();
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement()) {
            long rowsBefore = gate.rows.get();
            try (ResultSet rs = s.executeQuery("SELECT a.owner AS who, balance FROM accounts a ORDER BY id")) {
                int n = 0;
                while (rs.next()) {
                    n++;
                }
                assertThat(n).isEqualTo(3);
            }
            var described = gate.columns.stream().filter(cols -> cols.get(0).name().equals("who")).findFirst().orElseThrow();
            assertThat(described).extracting(col -> col.name() + "=" + col.schema() + "." + col.table() + "." + col.column())
                    .containsExactly("who=" + db.name() + ".accounts.owner", "balance=" + db.name() + ".accounts.balance");
            assertThat(gate.rows.get() - rowsBefore).isEqualTo(3);
            assertThatThrownBy(() -> s.executeQuery("SELECT id, secret FROM accounts")).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(1142))
                    .hasMessageContaining("sensitive");
            assertThat(gate.rows.get() - rowsBefore).isEqualTo(3); // the stopped result's rows were neither sent nor watched
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM accounts")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(3);
            }
        }
    }

    @Test
    void preparedStatementShowsItsColumnsOnceReadAndAgainWhenTheTableChanges() throws Exception {
        db.execute("CREATE TABLE reshaped (id INT PRIMARY KEY, a INT)", "INSERT INTO reshaped VALUES (1, 10), (2, 20)");
        gate.columns.clear();
        try (Connection c = proxy.connectorJ("useServerPrepStmts=true");
             PreparedStatement ps = c.prepareStatement("SELECT * FROM reshaped WHERE id = ?")) {
            for (int id = 1; id <= 2; id++) {
                ps.setInt(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getInt("a")).isEqualTo(id * 10);
                }
            }
            List<List<io.countersign.wire.spi.ResultColumn>> seen = reshaped();
            assertThat(seen).hasSize(2);
            // the same definitions: the same list, read once, with what observers derived from it
            assertThat(seen.get(1)).isSameAs(seen.get(0)).isInstanceOf(io.countersign.wire.spi.ReusedColumns.class);
            assertThat(seen.get(0)).extracting(col -> col.column()).containsExactly("id", "a");

            // the backend re-prepares behind the same statement id and describes the new shape
            db.execute("ALTER TABLE reshaped CHANGE a b INT");
            ps.setInt(1, 1);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt("b")).isEqualTo(10);
            }
            seen = reshaped();
            assertThat(seen).hasSize(3);
            assertThat(seen.get(2)).isNotSameAs(seen.get(0)).extracting(col -> col.column()).containsExactly("id", "b");

            // a column that appears later is judged, not waved through with the remembered columns
            db.execute("ALTER TABLE reshaped ADD COLUMN secret VARCHAR(10)");
            ps.setInt(1, 2);
            assertThatThrownBy(ps::executeQuery).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(1142));
            seen = reshaped();
            assertThat(seen).hasSize(4);
            assertThat(seen.get(3)).extracting(col -> col.column()).containsExactly("id", "b", "secret");
        }
    }

    private static List<List<io.countersign.wire.spi.ResultColumn>> reshaped() {
        return gate.columns.stream().filter(cols -> "reshaped".equals(cols.get(0).table())).toList();
    }

    @Test
    void oneCompletionPerStatementWithCounts() throws Exception {
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement()) {
            s.executeQuery("SELECT id, owner FROM accounts").close();
            s.executeUpdate("UPDATE accounts SET balance = balance WHERE id <= 2");
            assertThatThrownBy(() -> s.execute("SELECT * FROM nope")).isInstanceOf(SQLException.class);
        }
        StatementCompletion select = find("SELECT id, owner FROM accounts");
        assertThat(select.rowsReturned()).isEqualTo(3);
        assertThat(select.error()).isNull();
        StatementCompletion update = find("UPDATE accounts");
        assertThat(update.rowsReturned()).isZero();
        assertThat(update.rowsAffected()).isGreaterThanOrEqualTo(0);
        StatementCompletion failed = find("FROM nope");
        assertThat(failed.error().mysqlCode()).isEqualTo(1146);
        assertThat(failed.bytesSent()).isPositive();
    }

    @Test
    void durabilityStageHoldsBackTheFinalPacket() throws Exception {
        CompletableFuture<Void> stage = new CompletableFuture<>();
        try (Connection c = proxy.connectorJ("")) {
            durability = stage;
            CompletableFuture<Integer> result = CompletableFuture.supplyAsync(() -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 5 /* durable */")) {
                    rs.next();
                    return rs.getInt(1);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            assertThatThrownBy(() -> result.get(500, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            durability = null;
            stage.complete(null);
            assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo(5);
        }
    }

    @Test
    void gateKnowsWhetherTheSessionIsInATransaction() throws Exception {
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement()) {
            s.execute("SELECT 'outside'");
            s.execute("START TRANSACTION");
            s.execute("SELECT 'inside'");
            s.execute("ROLLBACK");
        }
        assertThat(gate.seen.stream().filter(r -> r.sql().equals("SELECT 'outside'")).findFirst().orElseThrow().inTransaction()).isFalse();
        assertThat(gate.seen.stream().filter(r -> r.sql().equals("SELECT 'inside'")).findFirst().orElseThrow().inTransaction()).isTrue();
    }

    private static StatementCompletion find(String sqlPart) {
        return completions.stream().filter(c -> c.request().sql().contains(sqlPart)).findFirst()
                .orElseThrow(() -> new AssertionError("no completion for " + sqlPart + " in " + completions));
    }
}
