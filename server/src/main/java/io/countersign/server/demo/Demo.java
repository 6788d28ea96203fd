package io.countersign.server.demo;

import io.countersign.server.config.AdminConfig;
import io.countersign.server.config.AgentConfig;
import io.countersign.server.config.AuthMethod;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.BackendTls;
import io.countersign.server.config.CountersignConfig;
import io.countersign.server.config.ListenersConfig;
import io.countersign.server.config.PostgresListenerConfig;
import io.countersign.server.config.TlsConfig;
import io.countersign.server.runtime.CountersignServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code countersign demo}: an embedded PostgreSQL 16 (zonky, binaries from Maven Central) with the
 * {@code shop} database, and a Countersign in front of it configured in code the way a config file
 * would (see {@link #config}).
 */
public final class Demo implements AutoCloseable {

    public static final String AGENT = "demo-agent";
    public static final String AGENT_PASSWORD = "demo-agent-pw";
    public static final String AGENT_OWNER = "dana@example.com";
    public static final String DATABASE = "shop";

    private static final Logger log = LoggerFactory.getLogger(Demo.class);

    /** @param dataDir where the embedded database lives; {@code null} for a temporary directory removed on close */
    public record Options(int pgPort, int adminPort, Path dataDir) {}

    private final EmbeddedPostgres postgres;
    private final CountersignServer server;
    private final Path dataDir;
    private final boolean temporary;
    private boolean closed;

    private Demo(EmbeddedPostgres postgres, CountersignServer server, Path dataDir, boolean temporary) {
        this.postgres = postgres;
        this.server = server;
        this.dataDir = dataDir;
        this.temporary = temporary;
    }

    public static Demo start(Options options) throws Exception {
        boolean temporary = options.dataDir() == null;
        Path dir = temporary ? Files.createTempDirectory("countersign-demo-") : options.dataDir().toAbsolutePath();
        Files.createDirectories(dir);
        EmbeddedPostgres pg = null;
        try {
            long t0 = System.nanoTime();
            pg = EmbeddedPostgres.builder()
                    .setDataDirectory(dir.resolve("postgres"))
                    .setCleanDataDirectory(temporary)
                    .start();
            log.info("embedded PostgreSQL on 127.0.0.1:{} in {} ms (data in {})", pg.getPort(), (System.nanoTime() - t0) / 1_000_000, dir);
            loadShop(pg);
            CountersignServer server = CountersignServer.of(config(options, pg.getPort())).start();
            return new Demo(pg, server, dir, temporary);
        } catch (Exception | Error e) {
            if (pg != null) {
                closeQuietly(pg);
            }
            if (temporary) {
                deleteTree(dir);
            }
            throw e;
        }
    }

    /** The demo's configuration, equivalent to docker/countersign.example.yaml with the demo's values. */
    public static CountersignConfig config(Options options, int backendPort) {
        return new CountersignConfig(
                new ListenersConfig(new PostgresListenerConfig("127.0.0.1", options.pgPort(),
                        new TlsConfig(null, null, true, false), List.of(AuthMethod.SCRAM_SHA_256))),
                new AdminConfig("127.0.0.1", options.adminPort()),
                List.of(new BackendConfig(DATABASE, "127.0.0.1", backendPort, DATABASE, "postgres", null, BackendTls.DISABLE)),
                List.of(new AgentConfig(AGENT, AGENT_OWNER, AGENT_PASSWORD, null, List.of("demo"), List.of(DATABASE))));
    }

    private static void loadShop(EmbeddedPostgres pg) throws SQLException {
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
                if (r.next()) {
                    log.info("database {} already exists in the data directory; keeping it", DATABASE);
                    return;
                }
            }
            s.execute("CREATE DATABASE " + DATABASE);
        }
        try (Connection c = pg.getDatabase("postgres", DATABASE).getConnection()) {
            ShopData.create(c);
        }
    }

    public InetSocketAddress postgresAddress() {
        return server.postgresAddress();
    }

    public InetSocketAddress adminAddress() {
        return server.adminAddress();
    }

    public CountersignServer server() {
        return server;
    }

    /** The embedded backend's port (for checks that bypass the proxy). */
    public int backendPort() {
        return postgres.getPort();
    }

    /** What the demo prints once it is up. */
    public String instructions() {
        int port = postgresAddress().getPort();
        String admin = "http://127.0.0.1:" + adminAddress().getPort();
        return String.join("\n",
                "",
                "Countersign demo is running.",
                "",
                "Connect as the agent (" + AGENT + ", owned by " + AGENT_OWNER + "):",
                "  PGPASSWORD=" + AGENT_PASSWORD + " psql \"host=127.0.0.1 port=" + port + " user=" + AGENT + " dbname=" + DATABASE + " sslmode=require\"",
                "  JDBC: jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE + "?user=" + AGENT + "&password=" + AGENT_PASSWORD + "&sslmode=require",
                "",
                "Try: SELECT name, email FROM customers LIMIT 5;   \\copy orders TO 'orders.csv' CSV HEADER",
                "",
                "Admin:",
                "  " + admin + "/healthz",
                "  " + admin + "/readyz",
                "  " + admin + "/metrics",
                "",
                "Database shop (" + ShopData.CUSTOMERS + " customers, " + ShopData.ORDERS + " orders, payments) on an embedded PostgreSQL at 127.0.0.1:"
                        + postgres.getPort() + ", data in " + dataDir + (temporary ? " (removed on exit)" : ""),
                "Every statement through Countersign is logged below as one JSON line.",
                "Stop with Ctrl-C.",
                "");
    }

    public void awaitStop() throws InterruptedException {
        server.awaitStop();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.close();
        closeQuietly(postgres);
        if (temporary) {
            deleteTree(dataDir);
        }
    }

    private static void closeQuietly(EmbeddedPostgres pg) {
        try {
            pg.close();
        } catch (IOException | RuntimeException e) {
            log.warn("stopping the embedded PostgreSQL failed: {}", e.getMessage());
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a temp directory left behind is harmless
                }
            });
        } catch (IOException ignored) {
            // as above
        }
    }
}
