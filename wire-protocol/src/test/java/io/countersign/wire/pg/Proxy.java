package io.countersign.wire.pg;

import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.spi.StatementCompletion;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/** A started PostgresListener in front of a test database, with one agent "agent"/"agent-pw". */
final class Proxy implements AutoCloseable {

    static final String AGENT = "agent";
    static final String PASSWORD = "agent-pw";

    final PostgresDatabase db;
    final MapAuthenticator auth;
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    /** Every completion, in order; safe to stream while sessions still complete statements. */
    final java.util.Queue<StatementCompletion> completions = new java.util.concurrent.ConcurrentLinkedQueue<>();
    final PostgresListener listener;
    final InetSocketAddress address;

    Proxy(PostgresDatabase db) throws InterruptedException {
        this(db, StatementGate.ALLOW_ALL, null, PostgresListener.builder());
    }

    Proxy(PostgresDatabase db, StatementGate gate, StatementListener events, PostgresListener.Builder builder) throws InterruptedException {
        this.db = db;
        this.auth = MapAuthenticator.forDatabase(db).agent(AGENT, PASSWORD);
        StatementListener record = c -> {
            completions.add(c);
            return events == null ? null : events.onCompleted(c);
        };
        this.listener = builder.bind(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(auth).gate(gate).listener(record).metrics(metrics).build();
        this.address = listener.start();
    }

    int port() {
        return address.getPort();
    }

    String url(String extra) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + db.name() + (extra == null || extra.isEmpty() ? "" : "?" + extra);
    }

    Connection connect() throws SQLException {
        return connect("");
    }

    Connection connect(String extra) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", AGENT);
        p.setProperty("password", PASSWORD);
        return DriverManager.getConnection(url(extra), p);
    }

    double counter(String name) {
        var c = metrics.find(name).counter();
        return c == null ? 0 : c.count();
    }

    @Override
    public void close() {
        listener.close();
    }
}
