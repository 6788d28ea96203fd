package io.countersign.server.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.server.config.AdminConfig;
import io.countersign.server.config.AnalysisConfig;
import io.countersign.server.config.ApprovalsConfig;
import io.countersign.server.config.AuditSettings;
import io.countersign.server.config.AgentConfig;
import io.countersign.server.config.AuthMethod;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.BackendTls;
import io.countersign.server.config.BackendType;
import io.countersign.server.config.MySqlListenerConfig;
import io.countersign.server.config.CountersignConfig;
import io.countersign.server.config.ListenersConfig;
import io.countersign.server.config.PostgresListenerConfig;
import io.countersign.server.config.TlsConfig;
import io.countersign.server.runtime.CountersignServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code countersign demo}: the {@link DemoDatabase} and a Countersign in front of it, configured in
 * code the way a config file would configure it (see {@link #config}).
 */
public final class Demo implements AutoCloseable {

    public static final String AGENT = "demo-agent";
    public static final String AGENT_PASSWORD = "demo-agent-pw";

    /** The analyst who may query the audit as SQL ({@code dbname=countersign_audit}); agents never can. */
    public static final String ANALYST = "analyst";
    public static final String ANALYST_PASSWORD = "analyst-demo-password";
    public static final String AGENT_OWNER = "dana@example.com";
    public static final String DATABASE = DemoDatabase.DATABASE;
    /** The MySQL backend's name: the same as the PostgreSQL one; agents pick by the listener they connect to. */
    public static final String MYSQL_BACKEND = DemoMariaDb.DATABASE;

    /** {@link Options#mysqlPort()} that starts no MariaDB and no MySQL listener. */
    public static final int NO_MYSQL = -1;

    /**
     * @param dataDir   where the embedded databases live; {@code null} for a temporary directory removed on close
     * @param mysqlPort the MySQL listener's port (0: a free one), or {@link #NO_MYSQL} for a PostgreSQL-only demo
     */
    public record Options(int pgPort, int adminPort, Path dataDir, int mysqlPort) {

        /** A PostgreSQL-only demo (no embedded MariaDB). */
        public Options(int pgPort, int adminPort, Path dataDir) {
            this(pgPort, adminPort, dataDir, NO_MYSQL);
        }

        public boolean withMySql() {
            return mysqlPort != NO_MYSQL;
        }
    }

    /** The demo's reviewers: two can decide anything (quorum 2 needs both), the third only dba-tier requests. */
    public static final List<String> REVIEWERS = List.of("alice", "bob", "carol");

    private final DemoDatabase database;
    private final DemoMariaDb mariaDb;
    private final CountersignServer server;
    private final Map<String, String> reviewerTokens;
    private boolean closed;

    private Demo(DemoDatabase database, DemoMariaDb mariaDb, CountersignServer server, Map<String, String> reviewerTokens) {
        this.database = database;
        this.mariaDb = mariaDb;
        this.server = server;
        this.reviewerTokens = reviewerTokens;
    }

    public static Demo start(Options options) throws Exception {
        // fail before spending seconds on the database when a port is taken
        ensureFree(options.pgPort(), "--pg-port");
        ensureFree(options.adminPort(), "--admin-port");
        if (options.mysqlPort() < NO_MYSQL || options.mysqlPort() > 65535) {
            throw new IllegalArgumentException("--mysql-port " + options.mysqlPort()
                    + " is not a port; expected 1-65535, 0 for a free one, or -1 for no MySQL side");
        }
        if (options.withMySql()) {
            ensureFree(options.mysqlPort(), "--mysql-port");
        }
        // MariaDB starts beside PostgreSQL: both spend most of their start waiting on their own processes
        java.util.concurrent.CompletableFuture<DemoMariaDb> mariaDbStart = options.withMySql()
                ? java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        return DemoMariaDb.start(options.dataDir() == null ? null : options.dataDir().resolve("mariadb"));
                    } catch (java.io.IOException | java.sql.SQLException e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                }, runnable -> Thread.ofPlatform().name("countersign-demo-mariadb").start(runnable))
                : java.util.concurrent.CompletableFuture.completedFuture(null);
        DemoDatabase db;
        try {
            db = DemoDatabase.start(options.dataDir());
        } catch (Exception | Error e) {
            mariaDbStart.thenAccept(m -> {
                if (m != null) m.close();
            });
            throw e;
        }
        DemoMariaDb mariaDb = null;
        try {
            try {
                mariaDb = mariaDbStart.join();
            } catch (java.util.concurrent.CompletionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
            Map<String, String> tokens = new LinkedHashMap<>();
            for (String r : REVIEWERS) {
                tokens.put(r, newToken());
            }
            Path state = options.dataDir() != null ? options.dataDir().resolve("countersign") : db.directory().resolveSibling(
                    db.directory().getFileName() + "-countersign");
            CountersignServer server = CountersignServer.of(
                    config(options, db.port(), mariaDb == null ? NO_MYSQL : mariaDb.port(), state, tokens)).start();
            return new Demo(db, mariaDb, server, tokens);
        } catch (Exception | Error e) {
            if (mariaDb != null) {
                mariaDb.close();
            }
            db.close();
            throw e;
        }
    }

    private static void ensureFree(int port, String option) throws java.io.IOException {
        if (port == 0) {
            return;
        }
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress("127.0.0.1", port));
        } catch (java.net.BindException e) {
            throw new java.net.BindException("port " + port + " on 127.0.0.1 is already in use (another demo running?); stop it or choose another with "
                    + option + " N");
        }
    }

    /**
     * The demo's configuration: TLS with a generated self-signed certificate, SCRAM-SHA-256, one
     * backend (the embedded database, as its superuser; the agent never sees that) and one agent.
     */
    public static CountersignConfig config(Options options, int backendPort) {
        return config(options, backendPort, Path.of("countersign-demo-state"), Map.of());
    }

    /** The demo's configuration with its state directory and reviewer tokens (PostgreSQL only). */
    public static CountersignConfig config(Options options, int backendPort, Path state, Map<String, String> reviewerTokens) {
        return config(options, backendPort, NO_MYSQL, state, reviewerTokens);
    }

    /**
     * The demo's configuration. With a MariaDB port, a second backend {@code shop} of type mysql
     * (the embedded MariaDB, as root) behind a MySQL listener; the agent reaches both, each
     * through the listener of its protocol, under the same policy and sensitive columns.
     */
    public static CountersignConfig config(Options options, int backendPort, int mariaDbPort, Path state,
                                           Map<String, String> reviewerTokens) {
        ArrayNode reviewers = JsonNodeFactory.instance.arrayNode();
        reviewerTokens.forEach((name, token) -> {
            ObjectNode r = reviewers.addObject();
            r.put("name", name);
            r.put("email", name + "@example.com");
            ArrayNode groups = r.putArray("groups");
            groups.add("dba");
            if (!name.equals("carol")) {
                groups.add("security");
            }
            r.put("token", token);
        });
        int admin = options.adminPort();
        boolean mysql = mariaDbPort != NO_MYSQL;
        PostgresListenerConfig pg = new PostgresListenerConfig("127.0.0.1", options.pgPort(),
                new TlsConfig(null, null, true, false), List.of(AuthMethod.SCRAM_SHA_256));
        List<BackendConfig> backends = new java.util.ArrayList<>();
        backends.add(new BackendConfig(DATABASE, "127.0.0.1", backendPort, DATABASE, "postgres", null, BackendTls.DISABLE));
        List<String> sensitive = new java.util.ArrayList<>(List.of("public.customers.email", "public.customers.phone",
                "public.customers.ssn", "public.payments.card_number"));
        if (mysql) {
            // PostgreSQL and MySQL backends are separate namespaces: agents pick one by the listener they connect to
            backends.add(new BackendConfig(MYSQL_BACKEND, "127.0.0.1", mariaDbPort, DemoMariaDb.DATABASE, DemoMariaDb.USER,
                    null, BackendTls.DISABLE, BackendType.MYSQL));
            // in MySQL the schema is the database
            sensitive.addAll(List.of("shop.customers.email", "shop.customers.phone", "shop.customers.ssn",
                    "shop.payments.card_number"));
        }
        return new CountersignConfig(
                new ListenersConfig(pg, mysql ? new MySqlListenerConfig("127.0.0.1", options.mysqlPort(), null, null) : null),
                new AdminConfig("127.0.0.1", options.adminPort()),
                backends,
                List.of(new AgentConfig(AGENT, AGENT_OWNER, AGENT_PASSWORD, null, List.of("demo"),
                        List.of(DATABASE))),
                state.toString(),
                new AnalysisConfig(sensitive, null, null, null),
                null,
                new ApprovalsConfig(null, "demo", admin == 0 ? null : "http://127.0.0.1:" + admin + "/console/", null, reviewers),
                // short rolls so that reports and DuckDB see a statement within seconds
                new AuditSettings(null, null, null, null, null, 5, null, null),
                new io.countersign.server.config.TrackingConfig(null, null, null, new io.countersign.server.config.SqlEndpointConfig(
                        true, null, List.of(new io.countersign.server.config.AnalystConfig(ANALYST, ANALYST_PASSWORD, null)), null, null)),
                null, null);
    }

    public InetSocketAddress postgresAddress() {
        return server.postgresAddress();
    }

    public InetSocketAddress adminAddress() {
        return server.adminAddress();
    }

    /** The MySQL listener's address, or {@code null} in a PostgreSQL-only demo. */
    public InetSocketAddress mysqlAddress() {
        return server.mysqlAddress();
    }

    /** The embedded MariaDB behind the MySQL listener, or {@code null} in a PostgreSQL-only demo. */
    public DemoMariaDb mariaDb() {
        return mariaDb;
    }

    /** The mysql command line that connects as the demo agent (it asks for {@link #AGENT_PASSWORD}), or {@code null}. */
    public String mysqlCommand() {
        InetSocketAddress a = mysqlAddress();
        return a == null ? null : "mysql -h 127.0.0.1 -P " + a.getPort() + " -u " + AGENT + " -p " + MYSQL_BACKEND;
    }

    /** Reviewer name to bearer token, made fresh at every start. */
    public Map<String, String> reviewerTokens() {
        return reviewerTokens;
    }

    private static String newToken() {
        byte[] b = new byte[18];
        new SecureRandom().nextBytes(b);
        return "cs_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public CountersignServer server() {
        return server;
    }

    public DemoDatabase database() {
        return database;
    }

    /** The psql command line that connects as the demo agent. */
    public String psqlCommand() {
        return "PGPASSWORD=" + AGENT_PASSWORD + " psql \"host=127.0.0.1 port=" + postgresAddress().getPort()
                + " user=" + AGENT + " dbname=" + DATABASE + " sslmode=require\"";
    }

    /** The psql command line that connects as the analyst to the read-only audit database. */
    public String analystPsqlCommand() {
        return "PGPASSWORD=" + ANALYST_PASSWORD + " psql \"host=127.0.0.1 port=" + postgresAddress().getPort()
                + " user=" + ANALYST + " dbname=countersign_audit sslmode=require\"";
    }

        /** What the demo prints once it is up. */
    public String instructions() {
        int port = postgresAddress().getPort();
        String admin = "http://127.0.0.1:" + adminAddress().getPort();
        return String.join("\n",
                "",
                "Countersign demo is running.",
                "",
                "Connect as the agent " + AGENT + " (owned by " + AGENT_OWNER + "):",
                "  " + psqlCommand(),
                "  JDBC: jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE + "?user=" + AGENT + "&password=" + AGENT_PASSWORD + "&sslmode=require",
                "",
                mysqlAddress() == null ? "" : String.join("\n",
                        "Or over the MySQL protocol (password " + AGENT_PASSWORD + "; the mariadb client works too):",
                        "  " + mysqlCommand(),
                        "  JDBC: jdbc:mariadb://127.0.0.1:" + mysqlAddress().getPort() + "/" + MYSQL_BACKEND + "?user=" + AGENT
                                + "&password=" + AGENT_PASSWORD,
                        ""),
                "Try:  SELECT name, email FROM customers ORDER BY id LIMIT 5;",
                "      \\copy (SELECT * FROM orders WHERE status = 'paid') TO 'paid-orders.csv' CSV HEADER",
                "",
                "Try a held statement (sensitive columns wait for a reviewer):  SELECT name, email FROM customers LIMIT 3;",
                "",
                "Review in the console: " + admin + "/console/  (sign in with a reviewer token)",
                "Reviewer tokens (made for this run; alice and bob are in groups dba+security, carol in dba):",
                String.join("\n", reviewerTokens.entrySet().stream().map(e -> "  " + e.getKey() + ": " + e.getValue()).toList()),
                "Or from the CLI:  ./countersign approvals list --url " + admin + " --token " + reviewerTokens.get("alice"),
                "                  ./countersign approvals approve REQUEST_ID --url " + admin + " --token " + reviewerTokens.get("alice"),
                "",
                "Audit trail (Parquet, readable a few seconds after each statement): " + server.config().dataPath().resolve("audit"),
                "  ./countersign report usage --audit-dir " + server.config().dataPath().resolve("audit"),
                "  ./countersign audit verify " + server.config().dataPath().resolve("audit"),
                "Query it with SQL as the analyst (any PostgreSQL client; views statements, approvals, usage_by_agent_table, rows_touched):",
                "  " + analystPsqlCommand() + " -c 'SELECT * FROM usage_by_agent_table'",
                "Usage page: " + admin + "/console/usage/  (sign in with a reviewer token)",
                "",
                "Admin endpoints:",
                "  " + admin + "/healthz",
                "  " + admin + "/readyz",
                "  " + admin + "/metrics",
                "",
                "Backend: embedded PostgreSQL at 127.0.0.1:" + database.port() + ", database " + DATABASE + " ("
                        + ShopData.CUSTOMERS + " customers, " + ShopData.ORDERS + " orders, their payments), data in "
                        + database.directory() + (database.temporary() ? " (removed on exit)" : ""),
                mariaDb == null ? "" : "Backend: embedded MariaDB at 127.0.0.1:" + mariaDb.port() + ", database "
                        + DemoMariaDb.DATABASE + " (the same rows), data in " + mariaDb.directory()
                        + (mariaDb.temporary() ? " (removed on exit)" : ""),
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
        if (mariaDb != null) {
            mariaDb.close();
        }
        boolean temporary = database.temporary();
        database.close();
        if (temporary) {
            // the approvals store and audit of a throwaway demo go with its database
            deleteTree(server.config().dataPath());
        }
    }

    private static void deleteTree(Path dir) {
        if (!java.nio.file.Files.exists(dir)) {
            return;
        }
        try (var paths = java.nio.file.Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            // best effort: a leftover directory under /tmp harms nothing
        }
    }
}
