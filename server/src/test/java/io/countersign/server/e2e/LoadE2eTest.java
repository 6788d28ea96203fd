package io.countersign.server.e2e;

import static io.countersign.server.e2e.E2e.reviewer;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * 200 statements held at once while another agent's allowed traffic keeps flowing. Each held
 * statement sits on its own agent connection, and each agent connection has its own backend
 * connection, so this needs more than the shared test PostgreSQL's max_connections (100, shared
 * with everyone on the machine): it runs against an embedded PostgreSQL of its own with 300.
 */
@ExtendWith(NettyLeakWatch.class)
class LoadE2eTest {

    static final int HELD = 200;

    @Test
    void twoHundredHeldStatementsDoNotStopAnotherAgentsTraffic(@TempDir Path dir) throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().setServerConfig("max_connections", "300")
                .setDataDirectory(dir.resolve("pg")).setCleanDataDirectory(true).start()) {
            E2e.schema(sql -> {
                try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
                    for (String q : sql) s.execute(q);
                }
            });
            Path config = E2e.config(dir, "127.0.0.1", pg.getPort(), "postgres", "postgres", dir.resolve("data").toString(), null, "load");
            try (CountersignServer server = E2e.start(config)) {
                run(server);
            }
        }
    }

    private void run(CountersignServer server) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort() + "/shop?sslmode=disable";
        List<Connection> held = new ArrayList<>();
        List<CompletableFuture<String>> results = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger otherDone = new AtomicInteger();
        AtomicLong otherWorstNanos = new AtomicLong();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<Connection>> opening = new ArrayList<>();
            for (int i = 0; i < HELD; i++) {
                opening.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return DriverManager.getConnection(url + "&user=bot&password=bot-pw");
                    } catch (SQLException e) {
                        throw new CompletionException(e);
                    }
                }, threads));
            }
            for (CompletableFuture<Connection> f : opening) held.add(f.get(60, TimeUnit.SECONDS));

            // the other agent: allowed reads in a loop on two connections, for the whole test
            List<CompletableFuture<Void>> other = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                other.add(CompletableFuture.runAsync(() -> {
                    try (Connection c = DriverManager.getConnection(url + "&user=other-agent&password=other-pw");
                         PreparedStatement ps = c.prepareStatement("SELECT label FROM items WHERE id = ?")) {
                        int n = 0;
                        while (!stop.get()) {
                            int id = 1 + (n++ % 20);
                            ps.setInt(1, id);
                            long t0 = System.nanoTime();
                            try (ResultSet rs = ps.executeQuery()) {
                                assertThat(rs.next()).isTrue();
                                assertThat(rs.getString(1)).isEqualTo("item " + id);
                            }
                            otherWorstNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
                            otherDone.incrementAndGet();
                        }
                    } catch (SQLException e) {
                        throw new CompletionException(e);
                    }
                }, threads));
            }

            for (int i = 0; i < HELD; i++) {
                Connection c = held.get(i);
                int id = 1 + i % 5;
                String sql = "SELECT email FROM customers WHERE id = " + id + " AND " + i + " >= 0";
                results.add(CompletableFuture.supplyAsync(() -> {
                    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
                        assertThat(rs.next()).isTrue();
                        return rs.getString(1);
                    } catch (SQLException e) {
                        throw new CompletionException(e);
                    }
                }, threads));
            }

            ApprovalsClient alice = reviewer(server, "alice");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            List<ApprovalRequest> pending = List.of();
            while (System.nanoTime() < deadline) {
                pending = alice.list(RequestState.PENDING, "bot", 1000);
                if (pending.size() == HELD) break;
                Thread.sleep(100);
            }
            assertThat(pending).as("all held at once").hasSize(HELD);
            assertThat(results).noneMatch(CompletableFuture::isDone);

            // with all 200 waiting, the other agent keeps going
            int before = otherDone.get();
            otherWorstNanos.set(0);
            Thread.sleep(3_000);
            int during = otherDone.get() - before;
            System.out.println("other agent: " + during + " queries in 3 s while " + HELD + " statements were held; worst "
                    + TimeUnit.NANOSECONDS.toMillis(otherWorstNanos.get()) + " ms");
            assertThat(during).as("queries of the other agent in 3 s while 200 are held").isGreaterThanOrEqualTo(100);
            assertThat(TimeUnit.NANOSECONDS.toMillis(otherWorstNanos.get())).as("slowest query of the other agent, ms").isLessThan(2_000);
            assertThat(results).noneMatch(CompletableFuture::isDone);

            List<CompletableFuture<Void>> decisions = new ArrayList<>();
            for (ApprovalRequest r : pending) {
                decisions.add(CompletableFuture.runAsync(() -> alice.approve(r.id(), "load"), threads));
            }
            for (CompletableFuture<Void> d : decisions) d.get(60, TimeUnit.SECONDS);
            for (int i = 0; i < HELD; i++) {
                assertThat(results.get(i).get(60, TimeUnit.SECONDS)).isEqualTo("c" + (1 + i % 5) + "@example.com");
            }
            stop.set(true);
            for (CompletableFuture<Void> o : other) o.get(30, TimeUnit.SECONDS);
        } finally {
            stop.set(true);
            for (Connection c : held) c.close();
        }
    }
}
