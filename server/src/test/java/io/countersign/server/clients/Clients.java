package io.countersign.server.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Real client software in front of a Countersign that runs the shipped default policy (the config
 * names no policy file): agents on psycopg2, SQLAlchemy, node-postgres and pgjdbc, a reviewer on
 * the REST API who watches for holds.
 */
final class Clients {

    static final String REVIEWER_TOKEN = "tok-alice";

    private Clients() {}

    /**
     * The schema: customers.email is sensitive; products, categories and orders are not. Orders
     * has foreign keys and an index so reflection and DatabaseMetaData have something to read.
     */
    static void schema(PostgresDatabase db) throws SQLException {
        db.execute("CREATE TABLE categories(id int PRIMARY KEY, title text NOT NULL UNIQUE)",
                "INSERT INTO categories VALUES (1, 'tools'), (2, 'toys')",
                "CREATE TABLE products(id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), category_id int REFERENCES categories(id), tags text[])",
                "INSERT INTO products SELECT g, 'product ' || g, g * 1.5, 1 + g % 2, ARRAY['t' || g] FROM generate_series(1, 12) g",
                "CREATE TABLE customers(id int PRIMARY KEY, name text NOT NULL, email text NOT NULL)",
                "INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 5) g",
                "CREATE TABLE orders(id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), product_id int NOT NULL REFERENCES products(id), qty int NOT NULL DEFAULT 1, placed timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX orders_placed ON orders(placed)",
                "INSERT INTO orders(customer_id, product_id, qty) SELECT 1 + g % 5, 1 + g % 12, g FROM generate_series(1, 20) g",
                "CREATE VIEW product_names AS SELECT id, name FROM products",
                "CREATE FUNCTION price_with_tax(p numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT p * 1.2'",
                "CREATE PROCEDURE touch_products() LANGUAGE sql AS 'UPDATE products SET price = price WHERE id = 1'");
    }

    /**
     * Writes a config with no policy file (so the shipped default policy decides), one agent per
     * entry of {@code agents} (name to password), and {@code sensitive} as the sensitive columns.
     */
    static Path config(Path dir, PostgresDatabase db, Map<String, String> agents, List<String> sensitive) throws IOException {
        StringBuilder agentYaml = new StringBuilder();
        agents.forEach((name, pw) -> agentYaml.append("  - {name: ").append(name).append(", owner: dana@example.com, password: ")
                .append(pw).append(", backends: [shop]}\n"));
        String yaml = """
                listeners:
                  postgres:
                    port: 0
                admin: {port: 0}
                data-dir: %s
                backends:
                  - name: shop
                    host: %s
                    port: %d
                    database: %s
                    user: %s
                    tls: disable
                agents:
                %sanalysis:
                  sensitive-columns: [%s]
                approvals:
                  reviewers:
                    - {name: alice, email: alice@example.com, groups: [dba, security], token: %s}
                audit:
                  fsync: bounded
                  roll-seconds: 1
                """.formatted(dir.resolve("data"), db.host(), db.port(), db.name(), db.user(), agentYaml,
                String.join(", ", sensitive), REVIEWER_TOKEN);
        return Files.writeString(dir.resolve("countersign.yaml"), yaml);
    }

    /** The audit directory of a config written by {@link #config}. */
    static Path auditDir(Path dir) {
        return dir.resolve("data").resolve("audit");
    }

    static CountersignServer start(Path config) throws Exception {
        return CountersignServer.of(ConfigLoader.load(config)).start();
    }

    static ApprovalsClient reviewer(CountersignServer server) {
        return new ApprovalsClient(URI.create("http://127.0.0.1:" + server.adminAddress().getPort()), REVIEWER_TOKEN);
    }

    static int port(CountersignServer server) {
        return server.postgresAddress().getPort();
    }

    record Run(int exit, String out, String err) {}

    /**
     * Runs a client process to its end while a reviewer watches for holds (see {@link #unheld}).
     */
    static Run runUnheld(CountersignServer server, String agent, ProcessBuilder pb, int timeoutSeconds) throws Exception {
        Process p = pb.start();
        p.getOutputStream().close();
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try {
            int exit = unheld(server, agent, timeoutSeconds, () -> p.waitFor(), () -> "client stdout: " + out.getNow("")
                    + "\nclient stderr: " + err.getNow(""));
            return new Run(exit, out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * Runs {@code work} on its own thread while a reviewer polls for requests of {@code agent}. A
     * request fails the test at once, naming the held SQL and its reasons; it is denied first so
     * the client ends instead of waiting for the default policy's 15-minute hold timeout.
     */
    static <T> T unheld(CountersignServer server, String agent, int timeoutSeconds, Callable<T> work, Supplier<String> context)
            throws Exception {
        CompletableFuture<T> done = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                done.complete(work.call());
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        ApprovalsClient c = reviewer(server);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (true) {
            try {
                done.get(100, TimeUnit.MILLISECONDS);
                break;
            } catch (TimeoutException stillRunning) {
                // poll below
            } catch (ExecutionException e) {
                break; // the held check below still runs first; the failure is rethrown after it
            }
            List<ApprovalRequest> held = c.list(null, agent, 100);
            if (!held.isEmpty()) {
                for (ApprovalRequest r : held) {
                    try {
                        c.deny(r.id(), "held by mistake: benign client introspection");
                    } catch (RuntimeException ignored) {
                        // already settled
                    }
                }
                fail("benign client traffic was held: " + describe(held) + "\n" + context.get());
            }
            if (System.nanoTime() > deadline) {
                fail("client did not finish within " + timeoutSeconds + " s; " + context.get());
            }
        }
        assertNothingHeld(server, agent);
        try {
            return done.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) throw ex;
            throw e;
        }
    }

    static void assertNothingHeld(CountersignServer server, String agent) {
        List<ApprovalRequest> all = reviewer(server).list(null, agent, 100);
        assertThat(all).as("approval requests created for agent %s: %s", agent, describe(all)).isEmpty();
    }

    /** Like {@link #assertNothingHeld(CountersignServer, String)}, for one statement of the agent's. */
    static void assertNotHeld(CountersignServer server, String agent, String sql) {
        List<ApprovalRequest> of = reviewer(server).list(null, agent, 100).stream().filter(r -> r.sql().equals(sql)).toList();
        assertThat(of).as("approval requests for %s by %s: %s", sql, agent, describe(of)).isEmpty();
    }

    static String describe(List<ApprovalRequest> requests) {
        return requests.stream().map(r -> "\n  [" + r.rule() + "] " + r.sql() + " -- reasons " + r.reasons()).toList().toString();
    }

    /** Waits up to 30 s for a request of {@code agent} matching {@code match}. */
    static ApprovalRequest awaitRequest(CountersignServer server, String agent, Predicate<ApprovalRequest> match) throws InterruptedException {
        ApprovalsClient c = reviewer(server);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<ApprovalRequest> last = List.of();
        while (System.nanoTime() < deadline) {
            last = c.list(null, agent, 100);
            for (ApprovalRequest r : last) {
                if (match.test(r)) return r;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no matching request for " + agent + " within 30 s; requests: " + describe(last));
    }

    static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "<" + e + ">";
            }
        }, r -> Thread.ofVirtual().start(r));
    }

    /** A test resource (a client script) copied to a file so an interpreter can run it. */
    static Path script(Path dir, String name) throws IOException {
        try (InputStream in = Clients.class.getResourceAsStream("/clients/" + name)) {
            assertThat(in).as("test resource /clients/" + name).isNotNull();
            Path f = dir.resolve(name);
            Files.write(f, in.readAllBytes());
            return f;
        }
    }
}
