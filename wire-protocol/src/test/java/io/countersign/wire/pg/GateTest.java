package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.ResultColumn;
import io.countersign.wire.spi.ResultObserver;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementRequest;
import io.countersign.wire.spi.StatementWithdrawnException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class GateTest {

    @RegisterExtension static LeakCheck leaks = new LeakCheck();
    @RegisterExtension static PostgresDatabase db = new PostgresDatabase();

    /** The test gate: a rule per test, and every request it saw. */
    static final class TestGate implements StatementGate {
        volatile Function<StatementRequest, GateDecision> rule = r -> GateDecision.ALLOW_UNOBSERVED;
        final List<StatementRequest> seen = new CopyOnWriteArrayList<>();
        final List<CompletableFuture<GateDecision>> held = new CopyOnWriteArrayList<>();

        @Override
        public GateDecision decide(StatementRequest request) {
            seen.add(request);
            return rule.apply(request);
        }

        GateDecision hold(String notice) {
            CompletableFuture<GateDecision> f = new CompletableFuture<>();
            held.add(f);
            return new GateDecision.Defer(f, notice);
        }

        CompletableFuture<GateDecision> awaitHeld() throws InterruptedException {
            for (int i = 0; i < 200 && held.isEmpty(); i++) {
                Thread.sleep(25);
            }
            assertThat(held).as("a statement was held").isNotEmpty();
            return held.getFirst();
        }
    }

    static final TestGate gate = new TestGate();
    static Proxy proxy;
    static int peopleOid;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE people (id int PRIMARY KEY, name text, ssn text)",
                "INSERT INTO people VALUES (1, 'ann', '111-11-1111'), (2, 'bob', '222-22-2222')",
                "CREATE TABLE log (seq serial PRIMARY KEY, v text)");
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT 'people'::regclass::oid")) {
            rs.next();
            peopleOid = rs.getInt(1);
        }
        proxy = new Proxy(db, gate, null, PostgresListener.builder()
                .authMethods(EnumSet.of(PostgresListener.AuthMethod.SCRAM_SHA_256, PostgresListener.AuthMethod.MD5)));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    @BeforeEach
    void reset() throws SQLException {
        gate.rule = r -> GateDecision.ALLOW_UNOBSERVED;
        gate.seen.clear();
        gate.held.clear();
        db.execute("TRUNCATE log RESTART IDENTITY");
    }

    static GateDecision denyIf(StatementRequest r, String marker) {
        return r.sql().contains(marker)
                ? new GateDecision.Deny("ctx", ProtocolError.denied("denied by test policy: " + marker + " is not allowed"))
                : GateDecision.ALLOW_UNOBSERVED;
    }

    @Test
    void denyGives42501AndTheBackendNeverRunsIt() throws Exception {
        gate.rule = r -> denyIf(r, "log");
        for (String mode : new String[] {"preferQueryMode=simple", "preferQueryMode=extended"}) {
            try (Connection c = proxy.connect(mode); Statement s = c.createStatement()) {
                assertThatThrownBy(() -> s.executeUpdate("INSERT INTO log (v) VALUES ('x')"))
                        .isInstanceOf(SQLException.class)
                        .hasMessageContaining("denied by test policy")
                        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("42501"));
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM people")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(2);
                }
            }
        }
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM log")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
        var denied = proxy.completions.stream().filter(c -> "ctx".equals(c.context())).toList();
        assertThat(denied).isNotEmpty().allSatisfy(c -> assertThat(c.error().sqlState()).isEqualTo("42501"));
    }

    @Test
    void denialInsideATransactionFailsItLikePostgres() throws Exception {
        gate.rule = r -> denyIf(r, "FORBIDDEN");
        for (String mode : new String[] {"preferQueryMode=simple", "preferQueryMode=extended"}) {
            try (Connection c = proxy.connect(mode)) {
                c.setAutoCommit(false);
                Statement s = c.createStatement();
                s.executeUpdate("INSERT INTO log (v) VALUES ('in tx')");
                assertThatThrownBy(() -> s.executeQuery("SELECT 'FORBIDDEN'"))
                        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("42501"));
                assertThat(gate.seen.getLast().inTransaction()).isTrue();
                assertThatThrownBy(() -> s.executeQuery("SELECT 1"))
                        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("25P02"));
                c.rollback();
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM log")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isZero();
                }
                c.commit();
            }
        }
    }

    @Test
    void heldThenAllowedReturnsTheResultAndTheNotice() throws Exception {
        gate.rule = r -> r.sql().contains("people") ? gate.hold("held for approval: request 17, reads people") : GateDecision.ALLOW_UNOBSERVED;
        try (Connection c = proxy.connect(); PreparedStatement ps = c.prepareStatement("SELECT name FROM people WHERE id = ?")) {
            ps.setInt(1, 2);
            CompletableFuture<String> result = CompletableFuture.supplyAsync(() -> {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getString(1);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            CompletableFuture<GateDecision> held = gate.awaitHeld();
            assertThatThrownBy(() -> result.get(300, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            StatementRequest req = gate.seen.getLast();
            assertThat(req.extended()).isTrue();
            assertThat(req.parameters()).hasSize(1);
            assertThat(req.parameters().getFirst().text()).isEqualTo("2");
            held.complete(GateDecision.ALLOW_UNOBSERVED);
            assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo("bob");
            SQLWarning w = ps.getWarnings();
            assertThat((Object) w).isNotNull();
            assertThat(w.getMessage()).contains("held for approval: request 17");
        }
    }

    @Test
    void heldThenDeniedGets42501() throws Exception {
        gate.rule = r -> r.sql().contains("people") ? gate.hold("held") : GateDecision.ALLOW_UNOBSERVED;
        try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
            CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
                try {
                    s.executeQuery("SELECT * FROM people");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            gate.awaitHeld().complete(new GateDecision.Deny(null, ProtocolError.denied("denied by reviewer carol: not today")));
            assertThatThrownBy(() -> run.get(10, TimeUnit.SECONDS))
                    .hasRootCauseInstanceOf(SQLException.class)
                    .hasMessageContaining("denied by reviewer carol")
                    .satisfies(e -> assertThat(((SQLException) e.getCause().getCause()).getSQLState()).isEqualTo("42501"));
            try (ResultSet rs = s.executeQuery("SELECT 5")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(5);
            }
        }
    }

    @Test
    void cancelWhileHeldWithdrawsAndAnswers57014() throws Exception {
        gate.rule = r -> r.sql().contains("people") ? gate.hold("held") : GateDecision.ALLOW_UNOBSERVED;
        try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
            CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
                try {
                    s.executeQuery("SELECT * FROM people");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            CompletableFuture<GateDecision> held = gate.awaitHeld();
            s.cancel();
            assertThatThrownBy(() -> run.get(10, TimeUnit.SECONDS))
                    .hasMessageContaining("withdrawn while held for approval")
                    .satisfies(e -> assertThat(((SQLException) e.getCause().getCause()).getSQLState()).isEqualTo("57014"));
            assertThatThrownBy(() -> held.get(5, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOfSatisfying(StatementWithdrawnException.class,
                            w -> assertThat(w.reason()).isEqualTo(StatementWithdrawnException.Reason.CANCELLED));
            try (ResultSet rs = s.executeQuery("SELECT 6")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(6);
            }
        }
    }

    @Test
    void disconnectWhileHeldWithdraws() throws Exception {
        gate.rule = r -> r.sql().contains("people") ? gate.hold("held for approval: request 9") : GateDecision.ALLOW_UNOBSERVED;
        CompletableFuture<GateDecision> held;
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            raw.send(RawClient.query("SELECT * FROM people"));
            RawClient.Msg notice = raw.read();
            assertThat(notice.type()).isEqualTo('N');
            assertThat(notice.field('M')).isEqualTo("held for approval: request 9");
            held = gate.awaitHeld();
        }
        assertThatThrownBy(() -> held.get(5, TimeUnit.SECONDS))
                .cause().isInstanceOfSatisfying(StatementWithdrawnException.class,
                        w -> assertThat(w.reason()).isEqualTo(StatementWithdrawnException.Reason.DISCONNECTED));
    }

    @Test
    void pipelinedMessagesBehindAHeldExecuteKeepTheirOrder() throws Exception {
        gate.rule = r -> r.sql().contains("'first'") ? gate.hold("held") : GateDecision.ALLOW_UNOBSERVED;
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            raw.send(RawClient.concat(
                    RawClient.parse("", "INSERT INTO log (v) VALUES ('first')"), RawClient.bind("", ""), RawClient.execute(""),
                    RawClient.parse("s2", "INSERT INTO log (v) VALUES ($1)"), RawClient.bind("", "s2", "second"), RawClient.execute(""),
                    RawClient.bind("", "s2", "third"), RawClient.execute(""),
                    RawClient.sync()));
            CompletableFuture<GateDecision> held = gate.awaitHeld();
            Thread.sleep(300);
            assertThat(gate.seen).hasSize(1); // nothing behind the held Execute reached the gate or the backend
            try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM log")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
            held.complete(GateDecision.ALLOW_UNOBSERVED);
            List<Character> types = new ArrayList<>();
            for (RawClient.Msg m : raw.readUntil('Z')) {
                types.add(m.type());
            }
            assertThat(types).containsExactly('N', '1', '2', 'C', '1', '2', 'C', '2', 'C', 'Z');
            assertThat(gate.seen.get(2).parameters().getFirst().text()).isEqualTo("third");
        }
        List<String> order = new ArrayList<>();
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT v FROM log ORDER BY seq")) {
            while (rs.next()) {
                order.add(rs.getString(1));
            }
        }
        assertThat(order).containsExactly("first", "second", "third");
    }

    @Test
    void deniedExecuteSkipsToSyncAndRollsBackTheImplicitTransaction() throws Exception {
        gate.rule = r -> r.parameters().stream().anyMatch(p -> "bad".equals(p.text()))
                ? new GateDecision.Deny(null, ProtocolError.denied("parameter bad refused")) : GateDecision.ALLOW_UNOBSERVED;
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            raw.send(RawClient.concat(
                    RawClient.parse("s", "INSERT INTO log (v) VALUES ($1)"),
                    RawClient.bind("", "s", "ok-1"), RawClient.execute(""),
                    RawClient.bind("", "s", "bad"), RawClient.execute(""),
                    RawClient.bind("", "s", "ok-2"), RawClient.execute(""),
                    RawClient.sync()));
            List<RawClient.Msg> msgs = raw.readUntil('Z');
            assertThat(msgs.stream().map(RawClient.Msg::type).toList()).containsExactly('1', '2', 'C', '2', 'E', 'Z');
            assertThat(msgs.get(4).field('C')).isEqualTo("42501");
            assertThat(msgs.get(4).field('M')).isEqualTo("parameter bad refused");
            // The session goes on normally.
            raw.send(RawClient.query("SELECT 1"));
            assertThat(raw.readUntil('Z').stream().map(RawClient.Msg::type).toList()).containsExactly('T', 'D', 'C', 'Z');
        }
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM log")) {
            rs.next();
            assertThat(rs.getInt(1)).as("the implicit transaction was rolled back").isZero();
        }
    }

    /** Refuses any result that includes people.ssn (attribute 3), like the sensitive-column check. */
    static final ResultObserver NO_SSN = new ResultObserver() {
        @Override
        public ProtocolError onColumns(List<ResultColumn> columns) {
            return columns.stream().anyMatch(c -> c.tableOid() == peopleOid && c.attnum() == 3)
                    ? ProtocolError.denied("column people.ssn is sensitive") : null;
        }
    };

    @Test
    void resultObserverStopsASensitiveColumnBeforeAnyRow() throws Exception {
        List<Integer> rowsSeen = new CopyOnWriteArrayList<>();
        ResultObserver observer = new ResultObserver() {
            @Override
            public ProtocolError onColumns(List<ResultColumn> columns) {
                return NO_SSN.onColumns(columns);
            }

            @Override
            public void onRow(io.netty.buffer.ByteBuf row) {
                rowsSeen.add(row.readableBytes());
            }
        };
        gate.rule = r -> new GateDecision.Allow(null, observer);
        for (String mode : new String[] {"preferQueryMode=simple", "preferQueryMode=extended", "prepareThreshold=1"}) {
            try (Connection c = proxy.connect(mode); PreparedStatement ok = c.prepareStatement("SELECT id, name FROM people WHERE id > ?");
                 PreparedStatement bad = c.prepareStatement("SELECT name, ssn FROM people WHERE id > ?")) {
                for (int round = 0; round < 3; round++) {
                    ok.setInt(1, 0);
                    try (ResultSet rs = ok.executeQuery()) {
                        int n = 0;
                        while (rs.next()) {
                            n++;
                        }
                        assertThat(n).isEqualTo(2);
                    }
                    bad.setInt(1, 0);
                    assertThatThrownBy(bad::executeQuery)
                            .hasMessageContaining("people.ssn is sensitive")
                            .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("42501"));
                }
            }
        }
        assertThat(rowsSeen).hasSize(2 * 3 * 3);
        var refused = proxy.completions.stream().filter(c -> c.request().sql().contains("name, ssn")).toList();
        assertThat(refused).isNotEmpty().allSatisfy(c -> {
            assertThat(c.rowsReturned()).isZero();
            assertThat(c.error().message()).contains("sensitive");
        });
    }

    @Test
    void listenerStageHoldsBackTheFinalMessage() throws Exception {
        CompletableFuture<Void> durable = new CompletableFuture<>();
        try (Proxy p = new Proxy(db, StatementGate.ALLOW_ALL,
                c -> c.request().sql().contains("durable") ? durable : null, PostgresListener.builder());
             Connection c = p.connect(); Statement s = c.createStatement()) {
            CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> {
                try (ResultSet rs = s.executeQuery("SELECT 3 AS durable")) {
                    rs.next();
                    return rs.getInt(1);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            assertThatThrownBy(() -> run.get(500, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            durable.complete(null);
            assertThat(run.get(10, TimeUnit.SECONDS)).isEqualTo(3);
            try (ResultSet rs = s.executeQuery("SELECT 4")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(4);
            }
        }
    }

    @Test
    void resultsArrivingWhileTheFinalMessageIsHeldAreQueuedInOrderPastTheReadLimit() throws Exception {
        // The backend is read on while a statement's final message waits for its record; past the queue's
        // limit reading stops. Either way nothing may be lost, reordered or sent before the record is durable.
        CompletableFuture<Void> durable = new CompletableFuture<>();
        try (Proxy p = new Proxy(db, StatementGate.ALLOW_ALL,
                c -> c.request().sql().startsWith("SELECT 3 AS durable") ? durable : null, PostgresListener.builder());
             RawClient raw = new RawClient(p.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            int rows = 400; // ~400 KiB of rows behind the held message, over the 64 KiB read limit
            // Extended protocol, pipelined: the first statement's CommandComplete is held; the second's result follows it.
            raw.send(RawClient.concat(
                    RawClient.parse("", "SELECT 3 AS durable"), RawClient.bind("", ""), RawClient.execute(""),
                    RawClient.parse("", "SELECT g, repeat('x', 1000) FROM generate_series(1, " + rows + ") g"),
                    RawClient.bind("", ""), RawClient.execute(""), RawClient.sync()));
            CompletableFuture<List<RawClient.Msg>> read = CompletableFuture.supplyAsync(() -> {
                try {
                    return raw.readUntil('Z');
                } catch (java.io.IOException e) {
                    throw new RuntimeException(e);
                }
            });
            assertThatThrownBy(() -> read.get(500, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            durable.complete(null);
            List<RawClient.Msg> msgs = read.get(10, TimeUnit.SECONDS);
            List<Character> types = msgs.stream().map(RawClient.Msg::type).toList();
            assertThat(types.subList(0, 6)).containsExactly('1', '2', 'D', 'C', '1', '2');
            assertThat(types.subList(6, 6 + rows)).containsOnly('D');
            assertThat(types.subList(6 + rows, types.size())).containsExactly('C', 'Z');
            for (int i = 0; i < rows; i++) {
                byte[] body = msgs.get(6 + i).body(); // int16 columns, int32 length, then the first value
                int len = ((body[2] & 0xff) << 24) | ((body[3] & 0xff) << 16) | ((body[4] & 0xff) << 8) | (body[5] & 0xff);
                assertThat(new String(body, 6, len, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(String.valueOf(i + 1));
            }
        }
    }

    @Test
    void exactlyOneCompletionPerStatement() throws Exception {
        gate.rule = r -> denyIf(r, "nope");
        try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
            proxy.completions.clear();
            s.execute("SELECT 1");
            try {
                s.execute("SELECT 'nope'");
            } catch (SQLException expected) {
                assertThat(expected.getSQLState()).isEqualTo("42501");
            }
            try {
                s.execute("SELECT 1/0");
            } catch (SQLException expected) {
                assertThat(expected.getSQLState()).isEqualTo("22012");
            }
        }
        List<io.countersign.wire.spi.StatementCompletion> done = List.copyOf(proxy.completions);
        assertThat(done).hasSize(3);
        assertThat(done.get(0).error()).isNull();
        assertThat(done.get(1).error().sqlState()).isEqualTo("42501");
        assertThat(done.get(2).error().sqlState()).isEqualTo("22012");
        assertThat(done).allSatisfy(c -> assertThat(c.ended()).isAfterOrEqualTo(c.started()));
    }

    @Test
    void refusedResultEndsAMultiStatementQuery() throws Exception {
        gate.rule = r -> new GateDecision.Allow(null, NO_SSN);
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            raw.send(RawClient.query("SELECT id FROM people; SELECT ssn FROM people; SELECT 'after'"));
            List<RawClient.Msg> msgs = raw.readUntil('Z');
            assertThat(msgs.stream().map(RawClient.Msg::type).toList()).containsExactly('T', 'D', 'D', 'C', 'E', 'Z');
            assertThat(msgs.get(4).field('M')).isEqualTo("column people.ssn is sensitive");
            assertThat(msgs.stream().map(RawClient.Msg::text).noneMatch(t -> t.contains("111-11") || t.contains("after"))).isTrue();
        }
    }

    @Test
    void heldSessionsDoNotSlowOtherSessions() throws Exception {
        gate.rule = r -> r.sql().contains("people") ? gate.hold("held") : GateDecision.ALLOW_UNOBSERVED;
        int heldCount = 20;
        List<RawClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < heldCount; i++) {
                RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name());
                clients.add(raw);
                raw.send(RawClient.query("SELECT count(*) FROM people"));
                assertThat(raw.read().type()).isEqualTo('N');
            }
            assertThat(gate.held).hasSize(heldCount);
            long t0 = System.nanoTime();
            try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
                for (int i = 0; i < 200; i++) {
                    try (ResultSet rs = s.executeQuery("SELECT " + i)) {
                        rs.next();
                        assertThat(rs.getInt(1)).isEqualTo(i);
                    }
                }
            }
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(20);
            gate.held.forEach(f -> f.complete(GateDecision.ALLOW_UNOBSERVED));
            for (RawClient raw : clients) {
                List<RawClient.Msg> msgs = raw.readUntil('Z');
                assertThat(msgs.get(1).text()).contains("2");
            }
        } finally {
            for (RawClient raw : clients) {
                raw.close();
            }
        }
    }

    @Test
    void heldInsideATransactionThenDeniedFailsTheTransaction() throws Exception {
        gate.rule = r -> r.sql().contains("people") ? gate.hold("held") : GateDecision.ALLOW_UNOBSERVED;
        try (Connection c = proxy.connect()) {
            c.setAutoCommit(false);
            Statement s = c.createStatement();
            s.executeUpdate("INSERT INTO log (v) VALUES ('before the held one')");
            CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
                try {
                    s.executeQuery("SELECT * FROM people");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            CompletableFuture<GateDecision> held = gate.awaitHeld();
            assertThat(gate.seen.getLast().inTransaction()).isTrue();
            held.complete(new GateDecision.Deny(null, ProtocolError.denied("denied by reviewer dave")));
            assertThatThrownBy(() -> run.get(10, TimeUnit.SECONDS)).hasMessageContaining("denied by reviewer dave");
            assertThatThrownBy(() -> s.executeQuery("SELECT 1"))
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("25P02"));
            c.rollback();
        }
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM log")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
    }
}
