package io.countersign.approvals.store;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Grant;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A store in PostgreSQL shared by several Countersign replicas. Every change to a request sends
 * {@code NOTIFY countersign_approvals, '<replica>:<id>'} inside its transaction (so it is delivered
 * only if it commits); each replica LISTENs on a connection of its own and re-reads the request,
 * which releases a statement it holds as soon as a reviewer decides on any replica. Notifications
 * can be lost while the listening connection reconnects; the service's periodic re-read of the
 * requests it waits on covers that gap.
 *
 * <p>The replica name must be stable across restarts: at startup the requests this replica left
 * pending are marked ABANDONED, and only those.
 */
public final class PgApprovalStore extends JdbcApprovalStore {

    static final String CHANNEL = "countersign_approvals";
    private static final Logger LOG = LoggerFactory.getLogger(PgApprovalStore.class);
    private static final long SCHEMA_LOCK = 0x436f756e74657273L; // "Counters"

    private final String url;
    private final Properties props;
    private final String replica;
    private static final String GRANT_PREFIX = "grant/";
    private final List<Consumer<String>> remoteListeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> grantListeners = new CopyOnWriteArrayList<>();
    private final Thread listener;
    private final int abandonedAtOpen;
    private volatile boolean running = true;
    private volatile Connection listenConnection;
    private final java.util.concurrent.CountDownLatch listening = new java.util.concurrent.CountDownLatch(1);

    private PgApprovalStore(String url, Properties props, String replica, boolean listen) {
        super("PostgreSQL " + url);
        this.url = url;
        this.props = props;
        this.replica = replica;
        createSchema();
        this.abandonedAtOpen = abandonPending(replica, Instant.now());
        this.listener = listen ? Thread.ofPlatform().daemon().name("approvals-listen " + replica).start(this::listenLoop) : null;
    }

    /**
     * Opens the shared store. {@code props} are pgjdbc connection properties (user, password, ssl...);
     * {@code replica} names this Countersign instance and must be the same after a restart.
     */
    public static PgApprovalStore open(String jdbcUrl, Properties props, String replica) {
        return new PgApprovalStore(jdbcUrl, props, replica, true);
    }

    /** Without LISTEN: decisions from other replicas are seen only by polling. For tests of the fallback. */
    static PgApprovalStore openWithoutListening(String jdbcUrl, Properties props, String replica) {
        return new PgApprovalStore(jdbcUrl, props, replica, false);
    }

    /** Waits until this store's LISTEN connection is up (the first time); false on timeout. */
    public boolean awaitListening(Duration timeout) throws InterruptedException {
        return listening.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    public int abandonedAtOpen() {
        return abandonedAtOpen;
    }

    public String replica() {
        return replica;
    }

    @Override
    Connection open() throws SQLException {
        Properties p = new Properties();
        p.putAll(props);
        p.putIfAbsent("ApplicationName", "countersign-approvals " + replica);
        return DriverManager.getConnection(url, p);
    }

    @Override
    String textType() {
        return "TEXT";
    }

    @Override
    void lockSchema(Statement s) throws SQLException {
        s.execute("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
    }

    @Override
    void afterUpdate(Connection c, ApprovalRequest r) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            ps.setString(1, CHANNEL);
            ps.setString(2, replica + ":" + r.id());
            ps.execute();
        }
    }

    @Override
    void afterGrantChange(Connection c, Grant g) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            ps.setString(1, CHANNEL);
            ps.setString(2, replica + ":" + GRANT_PREFIX + g.id());
            ps.execute();
        }
    }

    @Override
    public void onRemoteChange(Consumer<String> listener) {
        remoteListeners.add(listener);
    }

    @Override
    public void onRemoteGrantChange(Runnable listener) {
        grantListeners.add(listener);
    }

    @Override
    public boolean shared() {
        return true;
    }

    private void listenLoop() {
        Duration backoff = Duration.ofMillis(200);
        while (running) {
            try (Connection c = open()) {
                listenConnection = c;
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + CHANNEL);
                }
                backoff = Duration.ofMillis(200);
                listening.countDown();
                PGConnection pg = c.unwrap(PGConnection.class);
                while (running) {
                    PGNotification[] batch = pg.getNotifications(1000);
                    if (batch == null) {
                        continue;
                    }
                    for (PGNotification n : batch) {
                        deliver(n.getParameter());
                    }
                }
            } catch (SQLException e) {
                if (!running) {
                    return;
                }
                LOG.warn("approvals store {}: listening for decisions from other replicas failed ({}); retrying in {} ms,"
                        + " polling covers the gap", url, e.getMessage(), backoff.toMillis());
                try {
                    Thread.sleep(backoff.toMillis());
                } catch (InterruptedException ie) {
                    return;
                }
                backoff = backoff.multipliedBy(2).compareTo(Duration.ofSeconds(10)) > 0 ? Duration.ofSeconds(10) : backoff.multipliedBy(2);
            } finally {
                listenConnection = null;
            }
        }
    }

    private void deliver(String payload) {
        int colon = payload.lastIndexOf(':');
        if (colon < 0 || payload.substring(0, colon).equals(replica)) {
            return;   // our own change: already settled locally
        }
        String id = payload.substring(colon + 1);
        if (id.startsWith(GRANT_PREFIX)) {
            for (Runnable l : grantListeners) {
                try {
                    l.run();
                } catch (RuntimeException e) {
                    LOG.warn("approvals store: grant change listener failed", e);
                }
            }
            return;
        }
        for (Consumer<String> l : remoteListeners) {
            try {
                l.accept(id);
            } catch (RuntimeException e) {
                LOG.warn("approvals store: remote change listener failed for {}", id, e);
            }
        }
    }

    @Override
    public void close() {
        running = false;
        Connection c = listenConnection;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing anyway
            }
        }
        if (listener != null) {
            listener.interrupt();
            try {
                listener.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        super.close();
    }
}
