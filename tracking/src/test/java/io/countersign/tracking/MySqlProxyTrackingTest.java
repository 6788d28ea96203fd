package io.countersign.tracking;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.analysis.StatementAnalysis;
import io.countersign.testing.MariaDbDatabase;
import io.countersign.wire.mysql.MySqlListener;
import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.StatementCompletion;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * MariaDB Connector/J → the real MySqlListener → the real MariaDB, with the tracker as observer:
 * result columns from org_table/org_name, keys from text rows and from the WHERE, binary rows marked incomplete.
 */
class MySqlProxyTrackingTest {

    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    record Tracked(StatementCompletion completion, StatementUsage usage) {}

    static MySqlListener listener;
    static InetSocketAddress address;
    static UsageTracker tracker;
    static String customers;
    static final List<Tracked> tracked = new CopyOnWriteArrayList<>();
    static final Map<String, StatementAnalysis> analyses = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE customers (id int PRIMARY KEY, email varchar(100), name varchar(100))",
                "INSERT INTO customers VALUES (1, 'a@x', 'a'), (2, 'b@x', 'b'), (3, 'c@x', 'c'), (4, 'd@x', 'd'), (5, 'e@x', 'e')",
                "CREATE TABLE order_lines (order_no int, line int, qty int, PRIMARY KEY (order_no, line))",
                "INSERT INTO order_lines VALUES (10, 1, 5), (10, 2, 6)");
        customers = db.name() + ".customers";
        try (Connection c = db.connect()) {
            tracker = new UsageTracker(MySqlCatalogResolver.load(c), TrackingSettings.DEFAULTS, new UsageCounters(null));
        }
        BackendTarget target = new BackendTarget("test-mariadb", db.host(), db.port(), db.name(), db.user(), db.password(),
                BackendTarget.TlsMode.DISABLE);
        AgentAuthenticator auth = new AgentAuthenticator() {
            @Override
            public Optional<AgentCredential> credentialFor(String user) {
                return user.equals("dave-bot") ? Optional.of(new AgentCredential.Password("pw")) : Optional.empty();
            }

            @Override
            public Route route(String agent, String database) {
                return new Route.Backend(target);
            }
        };
        listener = MySqlListener.builder()
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(auth)
                .serverVersion(db.server().greetingVersion())
                .announce(MySqlListener.AuthMethod.MYSQL_NATIVE_PASSWORD)
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

    static Connection connect(String extra) throws Exception {
        return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + address.getPort() + "/" + db.name()
                + "?allowPublicKeyRetrieval=true" + extra, "dave-bot", "pw");
    }

    static Tracked usageOf(String sql) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (true) {
            List<Tracked> found = new ArrayList<>();
            for (Tracked t : tracked) {
                if (t.completion().request().sql().strip().equals(sql)) {
                    found.add(t);
                }
            }
            if (!found.isEmpty() || System.nanoTime() > deadline) {
                assertThat(found).hasSize(1);
                return found.get(0);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void textRowsYieldColumnsAndKeys() throws Exception {
        String sql = "SELECT id, email FROM customers WHERE id <= 3 ORDER BY id";
        String join = "SELECT l.order_no, l.line, c.name FROM order_lines l JOIN customers c ON c.id = l.line ORDER BY l.line";
        analyses.put(sql, TrackingFixture.read(sql, customers));
        analyses.put(join, TrackingFixture.read(join, customers, db.name() + ".order_lines"));
        try (Connection c = connect(""); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery(sql)) {
                int n = 0;
                while (rs.next()) {
                    n++;
                }
                assertThat(n).isEqualTo(3);
            }
            try (ResultSet rs = s.executeQuery(join)) {
                while (rs.next()) {
                    // drain
                }
            }
        }
        Tracked t = usageOf(sql);
        assertThat(t.usage().rowsReturned()).isEqualTo(3);
        assertThat(t.usage().resultColumns()).containsExactly(customers + ".id", customers + ".email");
        assertThat(t.usage().keys()).isEqualTo(Map.of(customers, List.of("1", "2", "3")));
        assertThat(t.usage().keysCapped()).isFalse();

        // c.id is not in the result: only the lines table is keyed.
        Tracked j = usageOf(join);
        assertThat(j.usage().keys()).isEqualTo(Map.of(db.name() + ".order_lines", List.of("(10,1)", "(10,2)")));
    }

    @Test
    void updateKeysFromTheWhere() throws Exception {
        String sql = "UPDATE customers SET name = 'renamed' WHERE id = 4";
        analyses.put(sql, TrackingFixture.write(sql, "UPDATE", customers));
        try (Connection c = connect(""); Statement s = c.createStatement()) {
            assertThat(s.executeUpdate(sql)).isEqualTo(1);
        }
        Tracked t = usageOf(sql);
        assertThat(t.usage().rowsAffected()).isEqualTo(1);
        assertThat(t.usage().keys()).isEqualTo(Map.of(customers, List.of("4")));
    }

    @Test
    void binaryProtocolRowsAreCountedButNotKeyed() throws Exception {
        String sql = "SELECT id, name FROM customers WHERE id >= ?";
        analyses.put(sql, TrackingFixture.read(sql, customers));
        try (Connection c = connect("&useServerPrepStmts=true"); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setInt(1, 2);
            try (ResultSet rs = ps.executeQuery()) {
                int n = 0;
                while (rs.next()) {
                    n++;
                }
                assertThat(n).isEqualTo(4);
            }
        }
        Tracked t = tracked.stream().filter(x -> x.completion().request().sql().strip().equals(sql)
                && x.completion().request().extended()).findFirst().orElseThrow();
        assertThat(t.usage().rowsReturned()).isEqualTo(4);
        assertThat(t.usage().resultColumns()).containsExactly(customers + ".id", customers + ".name");
        assertThat(t.usage().keys()).isEmpty();
        assertThat(t.usage().keysCapped()).isTrue();
    }

    @Test
    void everyExecuteOfAPreparedStatementGetsItsOwnUsage() throws Exception {
        // the executes share one column list and the plan derived from it; counts and columns stay per statement
        String sql = "SELECT name, id FROM customers WHERE id >= ? ORDER BY id";
        analyses.put(sql, TrackingFixture.read(sql, customers));
        try (Connection c = connect("&useServerPrepStmts=true"); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int from : new int[] {2, 4, 5}) {
                ps.setInt(1, from);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        // drain
                    }
                }
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        List<Tracked> runs;
        do {
            runs = tracked.stream().filter(x -> x.completion().request().sql().strip().equals(sql)).toList();
            Thread.sleep(10);
        } while (runs.size() < 3 && System.nanoTime() < deadline);
        assertThat(runs).extracting(r -> r.usage().rowsReturned()).containsExactly(4L, 2L, 1L);
        for (Tracked r : runs) {
            assertThat(r.usage().resultColumns()).containsExactly(customers + ".name", customers + ".id");
            assertThat(r.usage().tablesRead()).containsExactly(customers);
            assertThat(r.usage().keys()).isEmpty();
            assertThat(r.usage().keysCapped()).isTrue(); // binary rows: keys not read, the list says so every time
        }
    }
}
