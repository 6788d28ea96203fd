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
    public static final String AGENT_OWNER = "dana@example.com";
    public static final String DATABASE = DemoDatabase.DATABASE;

    /** @param dataDir where the embedded database lives; {@code null} for a temporary directory removed on close */
    public record Options(int pgPort, int adminPort, Path dataDir) {}

    /** The demo's reviewers: two can decide anything (quorum 2 needs both), the third only dba-tier requests. */
    public static final List<String> REVIEWERS = List.of("alice", "bob", "carol");

    private final DemoDatabase database;
    private final CountersignServer server;
    private final Map<String, String> reviewerTokens;
    private boolean closed;

    private Demo(DemoDatabase database, CountersignServer server, Map<String, String> reviewerTokens) {
        this.database = database;
        this.server = server;
        this.reviewerTokens = reviewerTokens;
    }

    public static Demo start(Options options) throws Exception {
        // fail before spending seconds on the database when a port is taken
        ensureFree(options.pgPort(), "--pg-port");
        ensureFree(options.adminPort(), "--admin-port");
        DemoDatabase db = DemoDatabase.start(options.dataDir());
        try {
            Map<String, String> tokens = new LinkedHashMap<>();
            for (String r : REVIEWERS) {
                tokens.put(r, newToken());
            }
            Path state = options.dataDir() != null ? options.dataDir().resolve("countersign") : db.directory().resolveSibling(
                    db.directory().getFileName() + "-countersign");
            CountersignServer server = CountersignServer.of(config(options, db.port(), state, tokens)).start();
            return new Demo(db, server, tokens);
        } catch (Exception | Error e) {
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

    /** The demo's configuration with its state directory and reviewer tokens. */
    public static CountersignConfig config(Options options, int backendPort, Path state, Map<String, String> reviewerTokens) {
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
        return new CountersignConfig(
                new ListenersConfig(new PostgresListenerConfig("127.0.0.1", options.pgPort(),
                        new TlsConfig(null, null, true, false), List.of(AuthMethod.SCRAM_SHA_256))),
                new AdminConfig("127.0.0.1", options.adminPort()),
                List.of(new BackendConfig(DATABASE, "127.0.0.1", backendPort, DATABASE, "postgres", null, BackendTls.DISABLE)),
                List.of(new AgentConfig(AGENT, AGENT_OWNER, AGENT_PASSWORD, null, List.of("demo"), List.of(DATABASE))),
                state.toString(),
                new AnalysisConfig(List.of("public.customers.email", "public.customers.phone", "public.customers.ssn",
                        "public.payments.card_number"), null, null, null),
                null,
                new ApprovalsConfig(null, "demo", admin == 0 ? null : "http://127.0.0.1:" + admin + "/console/", null, reviewers),
                // short rolls so that reports and DuckDB see a statement within seconds
                new AuditSettings(null, null, null, null, null, 5),
                null);
    }

    public InetSocketAddress postgresAddress() {
        return server.postgresAddress();
    }

    public InetSocketAddress adminAddress() {
        return server.adminAddress();
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
                "",
                "Admin endpoints:",
                "  " + admin + "/healthz",
                "  " + admin + "/readyz",
                "  " + admin + "/metrics",
                "",
                "Backend: embedded PostgreSQL at 127.0.0.1:" + database.port() + ", database " + DATABASE + " ("
                        + ShopData.CUSTOMERS + " customers, " + ShopData.ORDERS + " orders, their payments), data in "
                        + database.directory() + (database.temporary() ? " (removed on exit)" : ""),
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
        database.close();
    }
}
