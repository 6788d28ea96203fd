package io.countersign.server.e2e;

import static io.countersign.server.e2e.E2e.awaitPending;
import static io.countersign.server.e2e.E2e.awaitState;
import static io.countersign.server.e2e.E2e.bot;
import static io.countersign.server.e2e.E2e.reviewer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Grant;
import io.countersign.approvals.RequestState;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The request store: a restart keeps decisions and grants; two instances share one PostgreSQL store. */
@ExtendWith(NettyLeakWatch.class)
class StoreE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @BeforeAll
    static void schema() throws Exception {
        E2e.schema(db);
    }

    static CompletableFuture<String> first(Statement s, String sql) {
        return CompletableFuture.supplyAsync(() -> {
            try (ResultSet rs = s.executeQuery(sql)) {
                assertThat(rs.next()).isTrue();
                return rs.getString(1);
            } catch (SQLException e) {
                throw new CompletionException(e);
            }
        });
    }

    @Test
    void aRestartOnTheSameDataDirKeepsDecidedHistoryAndGrants(@TempDir Path dir) throws Exception {
        Path config = E2e.config(dir, db, dir.resolve("data").toString(), null, "restart");
        String denied = "SELECT email FROM customers WHERE id = 1 AND name <> 'restart'";
        String granted = "SELECT email FROM customers WHERE id = 2 AND name <> 'restart'";
        String pendingAtStop = "SELECT name, email FROM customers WHERE id = 3"; // another shape than the grant's
        String deniedId;
        Grant grant;
        try (CountersignServer first = E2e.start(config)) {
            try (Connection c = bot(first); Statement s = c.createStatement()) {
                CompletableFuture<String> d = first(s, denied);
                deniedId = awaitPending(first, denied).id();
                reviewer(first, "bob").deny(deniedId, "kept across restarts");
                assertThatThrownBy(() -> d.get(20, TimeUnit.SECONDS)).hasMessageContaining("kept across restarts");

                CompletableFuture<String> g = first(s, granted);
                grant = reviewer(first, "alice").grant(awaitPending(first, granted).id(), 3);
                assertThat(g.get(20, TimeUnit.SECONDS)).isEqualTo("c2@example.com");
            }
            Connection held = bot(first);
            CompletableFuture<String> p = first(held.createStatement(), pendingAtStop);
            awaitPending(first, pendingAtStop);
            // stopped with a statement still waiting
            first.close();
            assertThatThrownBy(() -> p.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(SQLException.class);
            held.close();
        }
        try (CountersignServer second = E2e.start(config)) {
            ApprovalRequest r = reviewer(second, "alice").show(deniedId);
            assertThat(r.state()).isEqualTo(RequestState.DENIED);
            assertThat(r.decisions()).singleElement().satisfies(dec -> {
                assertThat(dec.reviewer()).isEqualTo("bob");
                assertThat(dec.comment()).isEqualTo("kept across restarts");
            });
            List<Grant> grants = reviewer(second, "alice").grants(true);
            assertThat(grants).extracting(Grant::id).containsExactly(grant.id());
            ApprovalRequest stale = E2e.awaitRequest(second, null, x -> x.sql().equals(pendingAtStop));
            assertThat(stale.state()).isIn(RequestState.ABANDONED, RequestState.WITHDRAWN);
            int before = reviewer(second, "alice").list(null, "bot", 500).size();
            try (Connection c = bot(second); Statement s = c.createStatement()) {
                // the grant still lets the same shape through, at once
                assertThat(first(s, "SELECT email FROM customers WHERE id = 5 AND name <> 'x'").get(10, TimeUnit.SECONDS))
                        .isEqualTo("c5@example.com");
            }
            assertThat(reviewer(second, "alice").list(null, "bot", 500)).hasSize(before);
        }
    }

    @Test
    void twoInstancesOnOnePostgresStoreReleaseEachOthersStatements(@TempDir Path dir) throws Exception {
        String store = db.jdbcUrl() + "?user=" + db.user() + (db.password() == null ? "" : "&password=" + db.password());
        Path d1 = Files.createDirectories(dir.resolve("one"));
        Path d2 = Files.createDirectories(dir.resolve("two"));
        try (CountersignServer one = E2e.start(E2e.config(d1, db, d1.resolve("data").toString(), store, "replica-one"));
             CountersignServer two = E2e.start(E2e.config(d2, db, d2.resolve("data").toString(), store, "replica-two"))) {
            String sql = "SELECT email FROM customers WHERE id = 4 AND name <> 'replicas'";
            try (Connection c = bot(one); Statement s = c.createStatement()) {
                CompletableFuture<String> rows = first(s, sql);
                ApprovalRequest seenOnTwo = awaitPending(two, sql);
                long t0 = System.nanoTime();
                reviewer(two, "alice").approve(seenOnTwo.id(), "decided on replica two");
                assertThat(rows.get(20, TimeUnit.SECONDS)).isEqualTo("c4@example.com");
                System.out.println("released on replica one " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)
                        + " ms after the decision on replica two");
                awaitState(one, seenOnTwo.id(), RequestState.EXECUTED);
            }
            String other = "SELECT email FROM customers WHERE id = 1 AND name <> 'replicas'";
            try (Connection c = bot(two); Statement s = c.createStatement()) {
                CompletableFuture<String> rows = first(s, other);
                ApprovalRequest seenOnOne = awaitPending(one, other);
                reviewer(one, "bob").deny(seenOnOne.id(), "denied on replica one");
                assertThatThrownBy(() -> rows.get(20, TimeUnit.SECONDS)).cause()
                        .isInstanceOfSatisfying(SQLException.class, e -> {
                            assertThat(e.getSQLState()).isEqualTo("42501");
                            assertThat(e.getMessage()).contains("denied by bob: denied on replica one");
                        });
            }
        }
    }
}
