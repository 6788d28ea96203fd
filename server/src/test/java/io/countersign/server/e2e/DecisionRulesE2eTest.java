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
import io.countersign.approvals.client.ApprovalsClientException;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** What an approval is bound to: tickets, parameters, single use, grants, who may decide, quorum. */
@ExtendWith(NettyLeakWatch.class)
class DecisionRulesE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;

    @BeforeAll
    static void start() throws Exception {
        E2e.schema(db);
        server = E2e.start(E2e.config(dir, db, dir.resolve("data").toString(), null, "rules"));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static Connection ticketBot() throws SQLException {
        return E2e.connect(server, "ticket-bot", "ticket-pw");
    }

    static String one(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }

    static String one(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }

    /** Runs the call, expects the ticket error and returns the request id it names. */
    static String ticket(java.util.concurrent.Callable<?> call) {
        SQLException e = null;
        try {
            call.call();
        } catch (SQLException x) {
            e = x;
        } catch (Exception x) {
            throw new AssertionError(x);
        }
        assertThat((Object) e).as("the ticket-mode statement failed at once").isNotNull();
        assertThat(e.getSQLState()).isEqualTo("42501");
        assertThat(e.getMessage()).contains("held for approval (ticket mode): request ");
        return E2e.requestId(e.getMessage());
    }

    static CompletableFuture<String> async(java.util.concurrent.Callable<String> call) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return call.call();
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
    }

    @Test
    void ticketModeFailsAtOnceThenRunsTheApprovedStatementExactlyOnce() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 1";
        try (Connection c = ticketBot(); Statement s = c.createStatement()) {
            long t0 = System.nanoTime();
            String id = ticket(() -> one(s, sql));
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
            assertThat(reviewer(server, "alice").show(id).state()).isEqualTo(RequestState.PENDING);
            reviewer(server, "alice").approve(id, "once");
            assertThat(one(s, sql)).isEqualTo("c1@example.com");
            awaitState(server, id, RequestState.EXECUTED);
            String again = ticket(() -> one(s, sql));
            assertThat(again).isNotEqualTo(id);
            assertThat(reviewer(server, "alice").show(again).state()).isEqualTo(RequestState.PENDING);
            reviewer(server, "alice").deny(again, "cleanup");
        }
    }

    @Test
    void aChangedParameterAfterAnApprovalIsHeldAgain() throws Exception {
        try (Connection c = ticketBot(); PreparedStatement ps = c.prepareStatement("SELECT email FROM customers WHERE id = ?")) {
            ps.setInt(1, 2);
            String approved = ticket(() -> one(ps));
            assertThat(reviewer(server, "bob").show(approved).parameters()).containsExactly("2");
            reviewer(server, "bob").approve(approved, "id 2 only");
            ps.setInt(1, 3);
            String other = ticket(() -> one(ps));
            assertThat(other).isNotEqualTo(approved);
            assertThat(reviewer(server, "bob").show(other).parameters()).containsExactly("3");
            assertThat(reviewer(server, "bob").show(approved).state()).as("the approval is still unused").isEqualTo(RequestState.APPROVED);
            ps.setInt(1, 2);
            assertThat(one(ps)).isEqualTo("c2@example.com");
            awaitState(server, approved, RequestState.EXECUTED);
            reviewer(server, "bob").deny(other, "cleanup");
        }
    }

    @Test
    void anApprovalIsUsedOnce() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 3 AND id > 0";
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            CompletableFuture<String> first = async(() -> one(s, sql));
            ApprovalRequest r = awaitPending(server, sql);
            reviewer(server, "alice").approve(r.id(), null);
            assertThat(first.get(20, TimeUnit.SECONDS)).isEqualTo("c3@example.com");
            awaitState(server, r.id(), RequestState.EXECUTED);
            CompletableFuture<String> second = async(() -> one(s, sql));
            ApprovalRequest r2 = awaitPending(server, sql);
            assertThat(r2.id()).isNotEqualTo(r.id());
            assertThat(second).isNotDone();
            reviewer(server, "alice").deny(r2.id(), "once was enough");
            assertThatThrownBy(() -> second.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(SQLException.class)
                    .hasMessageContaining("once was enough");
        }
    }

    @Test
    void aGrantLetsTheSameShapeThroughAndNotAnotherUntilRevoked() throws Exception {
        String url = E2e.adminUrl(server);
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            String sql = "SELECT email FROM customers WHERE id = 4 AND name LIKE 'customer%'";
            CompletableFuture<String> first = async(() -> one(s, sql));
            ApprovalRequest r = awaitPending(server, sql);
            E2e.Cli grant = E2e.cli("approvals", "grant", r.id(), "--hours", "2", "--url", url, "--token", "tok-alice");
            assertThat(grant.exit()).as(grant.err()).isZero();
            assertThat(grant.out()).contains("active").contains("bot");
            assertThat(first.get(20, TimeUnit.SECONDS)).isEqualTo("c4@example.com");
            List<Grant> grants = reviewer(server, "alice").grants(true);
            assertThat(grants).hasSize(1);
            Grant g = grants.get(0);
            assertThat(g.requestId()).isEqualTo(r.id());

            int requestsBefore = reviewer(server, "alice").list(null, "bot", 500).size();
            // same shape, other literal: through at once, no new request
            assertThat(async(() -> one(s, "SELECT email FROM customers WHERE id = 5 AND name LIKE 'cust%'")).get(10, TimeUnit.SECONDS))
                    .isEqualTo("c5@example.com");
            assertThat(reviewer(server, "alice").list(null, "bot", 500)).hasSize(requestsBefore);

            // another shape is held
            String otherShape = "SELECT name, email FROM customers WHERE id = 5 AND name LIKE 'customer%'";
            CompletableFuture<String> other = async(() -> one(s, otherShape));
            ApprovalRequest held = awaitPending(server, otherShape);
            reviewer(server, "alice").deny(held.id(), "not granted");
            assertThatThrownBy(() -> other.get(20, TimeUnit.SECONDS)).hasMessageContaining("not granted");

            E2e.Cli revoke = E2e.cli("approvals", "revoke", g.id(), "--url", url, "--token", "tok-bob");
            assertThat(revoke.exit()).as(revoke.err()).isZero();
            assertThat(revoke.out()).contains("revoked by bob");
            E2e.Cli active = E2e.cli("approvals", "grants", "--url", url, "--token", "tok-bob", "--json");
            assertThat(active.out().strip()).isEqualTo("[ ]");

            CompletableFuture<String> afterRevoke = async(() -> one(s, sql));
            ApprovalRequest again = awaitPending(server, sql);
            reviewer(server, "alice").deny(again.id(), "grant revoked");
            assertThatThrownBy(() -> afterRevoke.get(20, TimeUnit.SECONDS)).hasMessageContaining("grant revoked");
        }
    }

    @Test
    void theAgentsOwnerCannotApproveItsRequest() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 2 AND name <> 'self'";
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            CompletableFuture<String> rows = async(() -> one(s, sql));
            ApprovalRequest r = awaitPending(server, sql);
            assertThatThrownBy(() -> reviewer(server, "dana").approve(r.id(), "my own bot"))
                    .isInstanceOfSatisfying(ApprovalsClientException.class, e -> assertThat(e.status()).isEqualTo(403));
            E2e.Cli cli = E2e.cli("approvals", "approve", r.id(), "--url", E2e.adminUrl(server), "--token", "tok-dana");
            assertThat(cli.exit()).isEqualTo(1);
            assertThat(cli.err().lines().toList()).singleElement().satisfies(l -> assertThat(l).startsWith("countersign approve: ").contains("HTTP 403"));
            assertThat(reviewer(server, "alice").show(r.id()).state()).isEqualTo(RequestState.PENDING);
            assertThat(rows).isNotDone();
            reviewer(server, "alice").approve(r.id(), null);
            assertThat(rows.get(20, TimeUnit.SECONDS)).isEqualTo("c2@example.com");
        }
    }

    @Test
    void aPrivilegeStatementNeedsTwoDistinctSecurityReviewers() throws Exception {
        String sql = "GRANT SELECT ON items TO PUBLIC";
        try (Connection c = bot(server); Statement s = c.createStatement()) {
            CompletableFuture<String> done = async(() -> {
                s.execute(sql);
                return "ran";
            });
            ApprovalRequest r = awaitPending(server, sql);
            assertThat(r.quorum()).isEqualTo(2);
            assertThat(r.reviewerGroup()).isEqualTo("security");
            reviewer(server, "alice").approve(r.id(), "one");
            assertThat(reviewer(server, "alice").show(r.id()).state()).isEqualTo(RequestState.PENDING);
            assertThatThrownBy(() -> reviewer(server, "alice").approve(r.id(), "one again"))
                    .isInstanceOfSatisfying(ApprovalsClientException.class, e -> assertThat(e.status()).isEqualTo(409));
            assertThatThrownBy(() -> reviewer(server, "carol").approve(r.id(), "not security"))
                    .isInstanceOfSatisfying(ApprovalsClientException.class, e -> assertThat(e.status()).isEqualTo(403));
            Thread.sleep(200);
            assertThat(done).as("one approval of two does not release it").isNotDone();
            try (Connection direct = db.connect(); Statement d = direct.createStatement()) {
                assertThat(one(d, "SELECT has_table_privilege('public', 'items', 'SELECT')::text")).isEqualTo("false");
            }
            reviewer(server, "bob").approve(r.id(), "two");
            assertThat(done.get(20, TimeUnit.SECONDS)).isEqualTo("ran");
            try (Connection direct = db.connect(); Statement d = direct.createStatement()) {
                assertThat(one(d, "SELECT has_table_privilege('public', 'items', 'SELECT')::text")).isEqualTo("true");
            }
            assertThat(awaitState(server, r.id(), RequestState.EXECUTED).approvals()).isEqualTo(2);
        }
    }
}
