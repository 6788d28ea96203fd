package io.countersign.tracking;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.analysis.StatementAnalysis;
import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.pg.PostgresListener;
import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.StatementCompletion;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
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
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * End to end: pgjdbc clients talk to the real PostgresListener in front of the real PostgreSQL; the
 * gate hands out the tracker's observer, the statement listener completes it, and each statement's
 * StatementUsage is checked for exact rows, keys and the cap.
 */
class ProxyTrackingTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    record Tracked(StatementCompletion completion, StatementUsage usage) {}

    static PostgresListener listener;
    static InetSocketAddress address;
    static UsageTracker tracker;
    static final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    static final List<Tracked> tracked = new CopyOnWriteArrayList<>();
    /** What the analysis would say about each statement text; the analyser is another module's work. */
    static final Map<String, StatementAnalysis> analyses = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        db.execute(TrackingFixture.SCHEMA);
        tracker = new UsageTracker(TrackingFixture.resolver(db),
                TrackingSettings.DEFAULTS.withKeyCap(10).withSensitiveColumns(Set.of("public.customers.email")),
                new UsageCounters(registry));
        BackendTarget target = new BackendTarget("test", db.host(), db.port(), db.name(), db.user(), db.password(),
                BackendTarget.TlsMode.DISABLE);
        AgentAuthenticator auth = new AgentAuthenticator() {
            @Override
            public Optional<AgentCredential> credentialFor(String user) {
                return user.endsWith("-bot") ? Optional.of(new AgentCredential.Password("pw")) : Optional.empty();
            }

            @Override
            public Route route(String agent, String database) {
                return new Route.Backend(target);
            }
        };
        listener = PostgresListener.builder()
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(auth)
                .gate(request -> {
                    StatementAnalysis a = analyses.getOrDefault(request.sql().strip(),
                            TrackingFixture.analysis(request.sql(), "OTHER", Set.of(), Set.of(), Set.of(), Set.of()));
                    TrackedStatement t = tracker.track(request, List.of(a));
                    return new GateDecision.Allow(t, t);
                })
                .listener(c -> {
                    if (c.context() instanceof TrackedStatement t) {
                        tracked.add(new Tracked(c, t.complete(c)));
                    }
                    return null;
                })
                .build();
        address = listener.start();
    }

    @AfterAll
    static void stop() {
        if (listener != null) {
            listener.close();
        }
    }

    @BeforeEach
    void clear() {
        tracked.clear();
    }

    static Connection connect(String agent, String extra) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", agent);
        p.setProperty("password", "pw");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + address.getPort() + "/" + db.name() + "?" + extra, p);
    }

    static void expect(String sql, StatementAnalysis a) {
        analyses.put(sql, a);
    }

    /** The usage of the one completed statement whose text is {@code sql}; waits briefly for the listener. */
    static List<Tracked> usagesOf(String sql, int count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (true) {
            List<Tracked> found = new ArrayList<>();
            for (Tracked t : tracked) {
                if (t.completion().request().sql().strip().equals(sql)) {
                    found.add(t);
                }
            }
            if (found.size() >= count || System.nanoTime() > deadline) {
                assertThat(found).hasSize(count);
                return found;
            }
            Thread.sleep(10);
        }
    }

    @Test
    void readsWithKeysAndTheCapThroughTheProxy() throws Exception {
        String keyed = "SELECT id, email FROM customers WHERE id <= 3 ORDER BY id";
        String all = "SELECT id, name FROM customers ORDER BY id";
        expect(keyed, TrackingFixture.analysis(keyed, "SELECT", Set.of("public.customers"), Set.of(),
                Set.of("public.customers.id", "public.customers.email"), Set.of()));
        expect(all, TrackingFixture.read(all, "public.customers"));
        try (Connection c = connect("alice-bot", ""); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery(keyed)) {
                int n = 0;
                while (rs.next()) {
                    n++;
                }
                assertThat(n).isEqualTo(3);
            }
            try (ResultSet rs = s.executeQuery(all)) {
                int n = 0;
                while (rs.next()) {
                    n++;
                }
                assertThat(n).isEqualTo(30);
            }
        }
        Tracked k = usagesOf(keyed, 1).get(0);
        assertThat(k.usage().rowsReturned()).isEqualTo(3);
        assertThat(k.usage().keys()).isEqualTo(Map.of("public.customers", List.of("1", "2", "3")));
        assertThat(k.usage().keysCapped()).isFalse();
        assertThat(k.usage().resultColumns()).containsExactly("public.customers.id", "public.customers.email");
        assertThat(k.usage().sensitiveColumnsRead()).containsExactly("public.customers.email");
        assertThat(k.usage().bytes()).isEqualTo(k.completion().bytesSent()).isPositive();

        Tracked a = usagesOf(all, 1).get(0);
        assertThat(a.usage().rowsReturned()).isEqualTo(30);
        assertThat(a.usage().keysOf("public.customers")).containsExactly("1", "2", "3", "4", "5", "6", "7", "8", "9", "10");
        assertThat(a.usage().keysCapped()).isTrue();
    }

    @Test
    void writesTakeKeysFromReturningAndFromTheWhere() throws Exception {
        String insert = "INSERT INTO items (title) VALUES ('p'), ('q') RETURNING id";
        String update = "UPDATE customers SET name = $1 WHERE id = $2";
        String delete = "DELETE FROM orders WHERE customer_id = 2 AND line = 1";
        expect(insert, TrackingFixture.write(insert, "INSERT", "public.items"));
        expect(update, TrackingFixture.write(update, "UPDATE", "public.customers"));
        expect(delete, TrackingFixture.write(delete, "DELETE", "public.orders"));
        List<Integer> ids = new ArrayList<>();
        try (Connection c = connect("bob-bot", "")) {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(insert)) {
                while (rs.next()) {
                    ids.add(rs.getInt(1));
                }
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE customers SET name = ? WHERE id = ?")) {
                ps.setString(1, "changed");
                ps.setInt(2, 5);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            try (Statement s = c.createStatement()) {
                assertThat(s.executeUpdate(delete)).isEqualTo(1);
            }
        }
        Tracked i = usagesOf(insert, 1).get(0);
        assertThat(i.usage().rowsAffected()).isEqualTo(2);
        assertThat(i.usage().keysOf("public.items")).containsExactly(ids.get(0).toString(), ids.get(1).toString());

        Tracked u = usagesOf(update, 1).get(0);
        assertThat(u.usage().rowsAffected()).isEqualTo(1);
        assertThat(u.usage().keys()).isEqualTo(Map.of("public.customers", List.of("5")));

        Tracked d = usagesOf(delete, 1).get(0);
        assertThat(d.usage().keys()).isEqualTo(Map.of("public.orders", List.of("(2,1)")));

        assertThat(tracker.counters().snapshot()).filteredOn(t -> t.agent().equals("bob-bot"))
                .extracting(t -> t.table() + " " + t.statements() + " " + t.rowsWritten())
                .contains("public.items 1 2", "public.customers 1 1", "public.orders 1 1");
    }

    @Test
    void binaryResultsOfServerPreparedStatementsStillYieldKeys() throws Exception {
        String sql = "SELECT id, kind FROM events WHERE id > $1 ORDER BY id";
        expect(sql, TrackingFixture.read(sql, "public.events"));
        try (Connection c = connect("carol-bot", "prepareThreshold=1&binaryTransfer=true");
             PreparedStatement ps = c.prepareStatement("SELECT id, kind FROM events WHERE id > ? ORDER BY id")) {
            for (int round = 0; round < 3; round++) {
                ps.setLong(1, 0);
                try (ResultSet rs = ps.executeQuery()) {
                    int n = 0;
                    while (rs.next()) {
                        n++;
                    }
                    assertThat(n).isEqualTo(2);
                }
            }
        }
        List<Tracked> runs = usagesOf(sql, 3);
        // The first execution is described (binary int8 values, decoded without the Bind codes: unambiguous).
        assertThat(runs.get(0).usage().keysOf("public.events")).containsExactly("5000000001", "5000000002");
        assertThat(runs.get(0).usage().keysCapped()).isFalse();
        for (Tracked t : runs) {
            assertThat(t.usage().rowsReturned()).isEqualTo(2);
            // Re-executions of a server-prepared statement carry no RowDescription; unless the session replays the
            // statement's columns, the tracker cannot key the rows and must say the key set is incomplete.
            if (!t.usage().keysCapped()) {
                assertThat(t.usage().keysOf("public.events")).containsExactly("5000000001", "5000000002");
            } else {
                assertThat(t.usage().resultColumns()).isEmpty();
            }
        }
        assertThat(registry.get("countersign.tracking.statements").tags("agent", "carol-bot", "table", "public.events")
                .functionCounter().count()).isEqualTo(3.0);
    }

    @Test
    void simpleQueryProtocolResultsAreText() throws Exception {
        String sql = "SELECT c.id, o.customer_id, o.line FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = 1 ORDER BY o.line";
        expect(sql, TrackingFixture.read(sql, "public.customers", "public.orders"));
        try (Connection c = connect("alice-bot", "preferQueryMode=simple"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            int n = 0;
            while (rs.next()) {
                n++;
            }
            assertThat(n).isEqualTo(2);
        }
        Tracked t = usagesOf(sql, 1).get(0);
        assertThat(t.completion().request().extended()).isFalse();
        assertThat(t.usage().keysOf("public.orders")).containsExactly("(1,1)", "(1,2)");
        assertThat(t.usage().keysOf("public.customers")).containsExactly("1");
    }
}
