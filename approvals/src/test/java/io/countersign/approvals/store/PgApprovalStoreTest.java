package io.countersign.approvals.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.analysis.Category;
import io.countersign.analysis.Finding;
import io.countersign.analysis.SettledBy;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.approvals.ApprovalEvent;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.Channel;
import io.countersign.approvals.DecisionRefusedException;
import io.countersign.approvals.Grant;
import io.countersign.approvals.HeldRequest;
import io.countersign.approvals.Outcome;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerDirectory;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.approvals.policy.Tier;
import io.countersign.testing.PostgresDatabase;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Several Countersign replicas sharing one queue in a real PostgreSQL. */
class PgApprovalStoreTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    static final Reviewer ALICE = Reviewer.human("alice", "", "dba");
    static final Reviewer BOB = Reviewer.human("bob", "", "dba");
    static final ReviewerDirectory DIRECTORY = ReviewerDirectory.builder().reviewer(ALICE, "a").reviewer(BOB, "b").build();

    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    Properties props() {
        Properties p = new Properties();
        p.setProperty("user", db.user());
        if (db.password() != null) {
            p.setProperty("password", db.password());
        }
        return p;
    }

    PgApprovalStore store(String replica, boolean listen) {
        PgApprovalStore s = listen ? PgApprovalStore.open(db.jdbcUrl(), props(), replica)
                : PgApprovalStore.openWithoutListening(db.jdbcUrl(), props(), replica);
        open.add(s);
        return s;
    }

    ApprovalService service(ApprovalStore store, String replica, Duration sync) {
        ApprovalService s = new ApprovalService(store, DIRECTORY,
                new ApprovalService.Options(Clock.systemUTC(), replica, a -> false, sync, Duration.ofDays(7)));
        open.add(s);
        return s;
    }

    static StatementFacts facts() {
        return facts("bot");
    }

    static StatementFacts facts(String agent) {
        StatementAnalysis a = new StatementAnalysis("SELECT email FROM customers", "SELECT email FROM customers", "SELECT",
                Set.of("public.customers"), Set.of(), Set.of("public.customers.email"), Set.of(), Set.of(),
                List.of(new Finding(Category.SENSITIVE_READ, "reads sensitive column public.customers.email")), SettledBy.CALCITE);
        return new StatementFacts(agent, Set.of(), "olivia", "shop", List.of(a));
    }

    static PolicyDecision.Hold hold(Duration timeout) {
        return new PolicyDecision.Hold("sensitive", Tier.HIGH, "dba", 1, timeout, Duration.ofHours(1), List.of("reads email"));
    }

    @Test
    void aDecisionOnOneReplicaReleasesTheStatementWaitingOnAnother() throws Exception {
        // polling is set to a minute: only the notification can release the statement in time
        PgApprovalStore storeA = store("replica-a", true);
        PgApprovalStore storeB = store("replica-b", true);
        ApprovalService a = service(storeA, "replica-a", Duration.ofMinutes(1));
        ApprovalService b = service(storeB, "replica-b", Duration.ofMinutes(1));
        List<ApprovalEvent> seenOnA = new CopyOnWriteArrayList<>();
        a.addListener(seenOnA::add);
        List<ApprovalEvent> seenOnB = new CopyOnWriteArrayList<>();
        b.addListener(seenOnB::add);
        assertThat(storeA.awaitListening(Duration.ofSeconds(10))).isTrue();
        assertThat(storeB.awaitListening(Duration.ofSeconds(10))).isTrue();

        HeldRequest held = a.hold(facts(), hold(Duration.ofMinutes(5)), "SELECT email FROM customers", List.of(), "10.0.0.1:1");
        assertThat(b.requests(RequestState.PENDING, "bot", 1000)).extracting(ApprovalRequest::id).contains(held.request().id());
        // consoles on B see the new request live
        long until = System.nanoTime() + 20_000_000_000L;
        while (seenOnB.isEmpty() && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        assertThat(seenOnB).anyMatch(e -> e instanceof ApprovalEvent.RemoteChange rc
                && rc.request().id().equals(held.request().id()) && rc.request().state() == RequestState.PENDING);
        long start = System.nanoTime();
        b.decide(held.request().id(), ALICE, Verdict.APPROVE, "ok from b", Channel.CONSOLE);
        Outcome outcome = held.outcome().get(30, TimeUnit.SECONDS);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(outcome).isInstanceOf(Outcome.Approved.class);
        assertThat(millis).as("released by NOTIFY, not by the one-minute poll").isLessThan(30_000);
        assertThat(seenOnA).anyMatch(e -> e instanceof ApprovalEvent.RemoteChange rc && rc.request().state() == RequestState.APPROVED);

        // and the other way round, with a denial
        HeldRequest onB = b.hold(facts(), hold(Duration.ofMinutes(5)), "SELECT email FROM customers", List.of(), "10.0.0.2:2");
        a.decide(onB.request().id(), BOB, Verdict.DENY, "not today", Channel.API);
        Outcome.Denied denied = (Outcome.Denied) onB.outcome().get(30, TimeUnit.SECONDS);
        assertThat(denied.reviewer()).isEqualTo("bob");
    }

    @Test
    void twoHundredHeldOnOneReplicaAreAllReleasedByDecisionsOnTheOther() throws Exception {
        PgApprovalStore storeA = store("many-a", true);
        ApprovalService a = service(storeA, "many-a", Duration.ofMinutes(1));
        ApprovalService b = service(store("many-b", true), "many-b", Duration.ofMinutes(1));
        assertThat(storeA.awaitListening(Duration.ofSeconds(10))).isTrue();
        List<HeldRequest> held = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            held.add(a.holdNonBlocking(facts("manybot"), hold(Duration.ofMinutes(5)), "SELECT email FROM customers WHERE id = $1",
                    List.of(String.valueOf(i)), "10.0.0.1:" + i));
        }
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (b.requests(RequestState.PENDING, "manybot", 1000).size() < 200 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<ApprovalRequest>> decisions = new ArrayList<>();
            for (int i = 0; i < held.size(); i++) {
                String id = held.get(i).request().id();
                boolean approve = i % 5 != 0;
                decisions.add(pool.submit(() -> approve ? b.decide(id, ALICE, Verdict.APPROVE, "", Channel.API)
                        : b.decide(id, BOB, Verdict.DENY, "no", Channel.API)));
            }
            for (Future<ApprovalRequest> f : decisions) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        int approved = 0;
        for (HeldRequest h : held) {
            if (h.outcome().get(60, TimeUnit.SECONDS) instanceof Outcome.Approved) {
                approved++;
            }
        }
        assertThat(approved).isEqualTo(160);
    }

    @Test
    void serviceAndStoreMustAgreeOnTheReplicaName() {
        PgApprovalStore s = store("named", false);
        assertThatThrownBy(() -> service(s, "other-name", Duration.ofMinutes(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'other-name'").hasMessageContaining("'named'");
    }

    @Test
    void pollingReleasesTheStatementWhenNotificationsAreMissed() throws Exception {
        ApprovalService a = service(store("poll-a", false), "poll-a", Duration.ofMillis(200));
        ApprovalService b = service(store("poll-b", true), "poll-b", Duration.ofMinutes(1));
        HeldRequest held = a.hold(facts(), hold(Duration.ofMinutes(5)), "SELECT email FROM customers", List.of(), "");
        b.decide(held.request().id(), ALICE, Verdict.APPROVE, "", Channel.API);
        assertThat(held.outcome().get(30, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);
    }

    @Test
    void concurrentDecisionsOnTwoReplicasHaveOneWinner() throws Exception {
        ApprovalService a = service(store("race-a", true), "race-a", Duration.ofMinutes(1));
        ApprovalService b = service(store("race-b", true), "race-b", Duration.ofMinutes(1));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 10; round++) {
                HeldRequest held = a.hold(facts(), hold(Duration.ofMinutes(5)), "SELECT email FROM customers", List.of(), "");
                String id = held.request().id();
                Callable<Boolean> onA = () -> attempt(() -> a.decide(id, ALICE, Verdict.APPROVE, "", Channel.API));
                Callable<Boolean> onB = () -> attempt(() -> b.decide(id, BOB, Verdict.DENY, "no", Channel.API));
                Future<Boolean> fa = pool.submit(onA);
                Future<Boolean> fb = pool.submit(onB);
                assertThat(fa.get(30, TimeUnit.SECONDS) ^ fb.get(30, TimeUnit.SECONDS)).as("exactly one decision wins").isTrue();
                assertThat(held.outcome().get(30, TimeUnit.SECONDS)).isNotNull();
                assertThat(a.request(id).orElseThrow().decisions()).hasSize(1);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static boolean attempt(Runnable r) {
        try {
            r.run();
            return true;
        } catch (DecisionRefusedException e) {
            assertThat(e.reason()).isEqualTo(DecisionRefusedException.Reason.NOT_PENDING);
            return false;
        }
    }

    @Test
    void restartOfOneReplicaAbandonsOnlyItsOwnPendingRequests() throws Exception {
        PgApprovalStore storeA = store("keep-a", true);
        ApprovalService a = service(storeA, "keep-a", Duration.ofMinutes(1));
        ApprovalService b = service(store("keep-b", true), "keep-b", Duration.ofMinutes(1));
        HeldRequest onA = a.hold(facts(), hold(Duration.ofMinutes(5)), "SELECT email FROM customers", List.of("1"), "");
        HeldRequest onB = b.hold(facts(), hold(Duration.ofMinutes(5)), "SELECT email FROM customers", List.of("2"), "");
        HeldRequest decided = a.hold(facts(), hold(Duration.ofMinutes(5)), "SELECT email FROM customers", List.of("3"), "");
        a.decide(decided.request().id(), ALICE, Verdict.APPROVE, "", Channel.API);
        Grant g = a.grant(decided.request().id(), BOB, Duration.ofHours(2), Channel.API);
        a.close();
        storeA.close();

        PgApprovalStore again = store("keep-a", true);
        assertThat(again.abandonedAtOpen()).isEqualTo(1);
        ApprovalService a2 = service(again, "keep-a", Duration.ofMinutes(1));
        assertThat(a2.request(onA.request().id()).orElseThrow().state()).isEqualTo(RequestState.ABANDONED);
        assertThat(a2.request(onB.request().id()).orElseThrow().state()).isEqualTo(RequestState.PENDING);
        assertThat(a2.request(decided.request().id()).orElseThrow().decisions()).hasSize(1);
        assertThat(a2.findGrant(facts())).map(Grant::id).contains(g.id());
        assertThat(onB.outcome()).isNotDone();
    }

    @Test
    void grantsGivenOrRevokedOnOneReplicaApplyOnTheOther() throws Exception {
        PgApprovalStore storeA = store("grant-a", true);
        PgApprovalStore storeB = store("grant-b", true);
        ApprovalService a = service(storeA, "grant-a", Duration.ofMinutes(1));
        ApprovalService b = service(storeB, "grant-b", Duration.ofMinutes(1));
        assertThat(storeA.awaitListening(Duration.ofSeconds(10))).isTrue();
        HeldRequest held = a.hold(facts("grantbot"), hold(Duration.ofMinutes(5)), "SELECT email FROM customers", List.of(), "");
        Grant g = b.grant(held.request().id(), ALICE, Duration.ofHours(1), Channel.API);
        assertThat(held.outcome().get(30, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (a.findGrant(facts("grantbot")).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(a.findGrant(facts("grantbot"))).map(Grant::id).contains(g.id());
        b.revokeGrant(g.id(), BOB);
        assertThat(b.findGrant(facts("grantbot"))).as("at once on the revoking replica").isEmpty();
        deadline = System.nanoTime() + 20_000_000_000L;
        while (a.findGrant(facts("grantbot")).isPresent() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(a.findGrant(facts("grantbot"))).as("by notification on the other").isEmpty();
    }

    @Test
    void overdueRequestsOfADeadReplicaExpire() throws Exception {
        PgApprovalStore dead = store("dead", true);
        ApprovalService deadService = service(dead, "dead", Duration.ofMinutes(1));
        HeldRequest orphan = deadService.hold(facts(), hold(Duration.ofMillis(400)), "SELECT 1", List.of(), "");
        deadService.close();   // its timer dies with it
        ApprovalService alive = service(store("alive", true), "alive", Duration.ofMillis(200));
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (alive.request(orphan.request().id()).orElseThrow().state() == RequestState.PENDING && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(alive.request(orphan.request().id()).orElseThrow().state()).isEqualTo(RequestState.EXPIRED);
        assertThatThrownBy(() -> alive.decide(orphan.request().id(), ALICE, Verdict.APPROVE, "", Channel.API))
                .hasMessageContaining("already expired");
    }
}
