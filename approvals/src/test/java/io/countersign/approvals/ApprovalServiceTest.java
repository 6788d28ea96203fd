package io.countersign.approvals;

import static io.countersign.approvals.Facts.facts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.analysis.Category;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.PolicyEngine;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.approvals.policy.Tier;
import io.countersign.approvals.store.H2ApprovalStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApprovalServiceTest {

    static final Reviewer ALICE = Reviewer.human("alice", "alice@example.com", "dba", "security");
    static final Reviewer BOB = Reviewer.human("bob", "bob@example.com", "dba", "security");
    static final Reviewer OLIVIA = Reviewer.human("olivia", "olivia@example.com", "dba");   // owns the agents
    static final Reviewer SUPPORT = Reviewer.human("sam", "sam@example.com", "support");
    static final Reviewer ROBOT = new Reviewer("reviewbot", "", Set.of("dba"), Reviewer.Kind.AGENT);

    @TempDir
    Path dir;
    MutableClock clock = new MutableClock();
    H2ApprovalStore store;
    ApprovalService service;
    List<ApprovalEvent> events = new CopyOnWriteArrayList<>();

    static ReviewerDirectory directory() {
        return ReviewerDirectory.builder().reviewer(ALICE, "alice-token").reviewer(BOB, "bob-token")
                .reviewer(OLIVIA, "olivia-token").reviewer(SUPPORT, "sam-token").reviewer(ROBOT, "robot-token")
                .agent("bot").agent("ticketbot").build();
    }

    @BeforeEach
    void start() {
        store = H2ApprovalStore.open(dir.resolve("approvals"));
        service = new ApprovalService(store, directory(), new ApprovalService.Options(clock, "test",
                agent -> agent.equals("ticketbot"), Duration.ofMillis(200), Duration.ofDays(7)));
        service.addListener(events::add);
    }

    @AfterEach
    void stop() {
        service.close();
        store.close();
    }

    static PolicyDecision.Hold hold(int quorum, Duration timeout) {
        return new PolicyDecision.Hold("sensitive", quorum > 1 ? Tier.CRITICAL : Tier.HIGH, "dba", quorum, timeout,
                Duration.ofHours(1), List.of("SENSITIVE_READ: reads sensitive column public.customers.email"));
    }

    HeldRequest holdEmail(String agent, String param) {
        return service.hold(facts(agent, Facts.emailRead()), hold(1, Duration.ofMinutes(5)),
                "SELECT email FROM customers WHERE id = $1", List.of(param), "10.0.0.7:51234");
    }

    static Outcome await(CompletableFuture<Outcome> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    @Test
    void approvalReleasesTheWaitingStatementAndIsUsedOnce() throws Exception {
        HeldRequest held = holdEmail("bot", "42");
        ApprovalRequest r = held.request();
        assertThat(r.state()).isEqualTo(RequestState.PENDING);
        assertThat(r.owner()).isEqualTo("olivia");
        assertThat(r.sensitiveColumns()).containsExactly("public.customers.email");
        assertThat(r.bindingHash()).isEqualTo(BindingHash.of("bot", "shop", "SELECT email FROM customers WHERE id = $1", List.of("42")));
        assertThat(held.outcome()).isNotDone();

        ApprovalRequest decided = service.decide(r.id(), ALICE, Verdict.APPROVE, "fine", Channel.API);
        assertThat(decided.state()).isEqualTo(RequestState.APPROVED);
        Outcome outcome = await(held.outcome());
        assertThat(outcome).isInstanceOf(Outcome.Approved.class);
        assertThat(outcome.request().decisions()).extracting(Decision::reviewer).containsExactly("alice");

        assertThat(service.markExecuted(r.id()).state()).isEqualTo(RequestState.EXECUTED);
        assertThatThrownBy(() -> service.markExecuted(r.id())).isInstanceOf(DecisionRefusedException.class)
                .hasMessageContaining("used once");
        assertThatThrownBy(() -> service.decide(r.id(), BOB, Verdict.APPROVE, "", Channel.API))
                .isInstanceOf(DecisionRefusedException.class).hasMessageContaining("already executed")
                .satisfies(e -> assertThat(((DecisionRefusedException) e).reason()).isEqualTo(DecisionRefusedException.Reason.NOT_PENDING));

        assertThat(events).extracting(e -> e.getClass().getSimpleName())
                .containsExactly("RequestCreated", "DecisionRecorded", "StateChanged", "StateChanged");
    }

    @Test
    void quorumOfTwoNeedsTwoDistinctReviewers() throws Exception {
        HeldRequest held = service.hold(facts("bot", Facts.of("GRANT", "GRANT ALL ON customers TO bot", Category.PRIVILEGE)),
                new PolicyDecision.Hold("privilege", Tier.CRITICAL, "security", 2, Duration.ofMinutes(5), Duration.ofMinutes(10),
                        List.of("PRIVILEGE: grants")), "GRANT ALL ON customers TO bot", List.of(), "10.0.0.7:1");
        String id = held.request().id();
        assertThat(service.decide(id, ALICE, Verdict.APPROVE, "", Channel.CONSOLE).state()).isEqualTo(RequestState.PENDING);
        assertThatThrownBy(() -> service.decide(id, ALICE, Verdict.APPROVE, "again", Channel.API))
                .isInstanceOf(DecisionRefusedException.class).hasMessageContaining("distinct reviewers");
        assertThat(held.outcome()).isNotDone();
        assertThatThrownBy(() -> service.decide(id, OLIVIA, Verdict.APPROVE, "", Channel.API))
                .hasMessageContaining("owns agent bot");
        assertThat(service.decide(id, BOB, Verdict.APPROVE, "ok", Channel.CLI).state()).isEqualTo(RequestState.APPROVED);
        Outcome.Approved approved = (Outcome.Approved) await(held.outcome());
        assertThat(approved.request().approvals()).isEqualTo(2);
        assertThat(approved.request().stateReason()).isEqualTo("approved by alice, bob");
    }

    @Test
    void ownersAgentsAndOutsidersCannotDecide() {
        String id = holdEmail("bot", "1").request().id();
        assertThatThrownBy(() -> service.decide(id, OLIVIA, Verdict.APPROVE, "", Channel.API))
                .isInstanceOf(DecisionRefusedException.class).hasMessageContaining("olivia owns agent bot")
                .satisfies(e -> assertThat(((DecisionRefusedException) e).reason()).isEqualTo(DecisionRefusedException.Reason.SELF_APPROVAL));
        assertThatThrownBy(() -> service.decide(id, ROBOT, Verdict.APPROVE, "", Channel.API))
                .hasMessageContaining("agents can never review");
        Reviewer botAsReviewer = Reviewer.human("bot", "", "dba");
        assertThatThrownBy(() -> service.decide(id, botAsReviewer, Verdict.APPROVE, "", Channel.API))
                .hasMessageContaining("agent identity");
        assertThatThrownBy(() -> service.decide(id, SUPPORT, Verdict.APPROVE, "", Channel.API))
                .isInstanceOf(DecisionRefusedException.class).hasMessageContaining("not in group 'dba'")
                .hasMessageContaining("support");
        assertThat(service.request(id).orElseThrow().decisions()).isEmpty();
    }

    @Test
    void denyNeedsACommentAndTellsTheGateWhoAndWhy() throws Exception {
        HeldRequest held = holdEmail("bot", "1");
        String id = held.request().id();
        assertThatThrownBy(() -> service.decide(id, ALICE, Verdict.DENY, "  ", Channel.API))
                .hasMessageContaining("needs a comment");
        service.decide(id, ALICE, Verdict.DENY, "no customer emails for bots", Channel.CONSOLE);
        Outcome.Denied denied = (Outcome.Denied) await(held.outcome());
        assertThat(denied.reviewer()).isEqualTo("alice");
        assertThat(denied.reason()).isEqualTo("no customer emails for bots");
        assertThatThrownBy(() -> service.decide(id, BOB, Verdict.APPROVE, "", Channel.API))
                .hasMessageContaining("already denied (no customer emails for bots)");
    }

    @Test
    void nothingWaitsPastItsTimeout() throws Exception {
        HeldRequest held = service.hold(facts("bot", Facts.emailRead()), hold(1, Duration.ofMillis(300)), "SELECT 1", List.of(), "");
        Outcome outcome = await(held.outcome());
        assertThat(outcome).isInstanceOf(Outcome.Expired.class);
        ApprovalRequest r = service.request(held.request().id()).orElseThrow();
        assertThat(r.state()).isEqualTo(RequestState.EXPIRED);
        assertThat(r.stateReason()).isEqualTo("no decision within 300 ms");
        assertThatThrownBy(() -> service.decide(r.id(), ALICE, Verdict.APPROVE, "", Channel.API)).hasMessageContaining("already expired");
    }

    @Test
    void withdrawShowsToReviewers() throws Exception {
        HeldRequest held = holdEmail("bot", "1");
        assertThat(service.withdraw(held.request().id(), "the client disconnected while its statement was held")).isPresent();
        Outcome.Withdrawn w = (Outcome.Withdrawn) await(held.outcome());
        assertThat(w.reason()).contains("disconnected");
        assertThat(service.request(held.request().id()).orElseThrow().state()).isEqualTo(RequestState.WITHDRAWN);
        assertThat(service.withdraw(held.request().id(), "again")).isEmpty();
    }

    @Test
    void ticketIsBoundToTheExactStatementAndUsedOnce() throws Exception {
        HeldRequest held = holdEmail("ticketbot", "42");
        assertThat(held.request().ticket()).isTrue();
        StatementFacts f = facts("ticketbot", Facts.emailRead());
        String sql = "SELECT email FROM customers WHERE id = $1";
        assertThat(service.consumeTicket(f, sql, List.of("42"))).as("not approved yet").isEmpty();
        service.decide(held.request().id(), ALICE, Verdict.APPROVE, "", Channel.API);

        assertThat(service.consumeTicket(f, sql, List.of("43"))).as("changed parameter").isEmpty();
        assertThat(service.consumeTicket(facts("bot", Facts.emailRead()), sql, List.of("42"))).as("other agent").isEmpty();
        assertThat(service.consumeTicket(f, sql + " ", List.of("42"))).as("changed text").isEmpty();
        ApprovalRequest used = service.consumeTicket(f, sql, List.of("42")).orElseThrow();
        assertThat(used.state()).isEqualTo(RequestState.EXECUTED);
        assertThat(service.consumeTicket(f, sql, List.of("42"))).as("used once").isEmpty();
    }

    @Test
    void ticketApprovalStopsBeingValid() throws Exception {
        HeldRequest held = holdEmail("ticketbot", "7");
        service.decide(held.request().id(), ALICE, Verdict.APPROVE, "", Channel.API);
        clock.advance(Duration.ofHours(2));   // validity is 1 hour
        assertThat(service.consumeTicket(facts("ticketbot", Facts.emailRead()), "SELECT email FROM customers WHERE id = $1",
                List.of("7"))).isEmpty();
    }

    @Test
    void grantMatchesOnlyItsAgentAndShapeAndStopsAfterRevokeOrExpiry() throws Exception {
        HeldRequest held = holdEmail("bot", "42");
        Grant g = service.grant(held.request().id(), ALICE, Duration.ofHours(4), Channel.CONSOLE);
        assertThat(await(held.outcome())).as("granting a pending request approves it").isInstanceOf(Outcome.Approved.class);
        assertThat(g.agent()).isEqualTo("bot");

        StatementFacts sameShape = facts("bot", Facts.select("SELECT email FROM customers WHERE id = 99",
                Set.of("public.customers"), Set.of("public.customers.email"), Category.SENSITIVE_READ));
        assertThat(sameShape.fingerprint()).isEqualTo(held.request().fingerprint());
        assertThat(service.findGrant(sameShape)).map(Grant::id).contains(g.id());
        assertThat(service.findGrant(facts("other-bot", Facts.emailRead()))).isEmpty();
        assertThat(service.findGrant(facts("bot", Facts.select("SELECT phone FROM customers", Set.of("public.customers"),
                Set.of("public.customers.phone"), Category.SENSITIVE_READ)))).isEmpty();
        assertThat(service.findGrant(new StatementFacts("bot", Set.of(), "olivia", "other_db", List.of(Facts.emailRead())))).isEmpty();

        assertThatThrownBy(() -> service.revokeGrant(g.id(), ROBOT)).hasMessageContaining("agents cannot");
        Grant revoked = service.revokeGrant(g.id(), BOB);
        assertThat(revoked.revokedBy()).isEqualTo("bob");
        assertThat(service.findGrant(sameShape)).isEmpty();
        assertThatThrownBy(() -> service.revokeGrant(g.id(), BOB)).hasMessageContaining("already revoked");

        Grant g2 = service.grant(held.request().id(), ALICE, Duration.ofHours(1), Channel.API);
        assertThat(service.findGrant(sameShape)).map(Grant::id).contains(g2.id());
        clock.advance(Duration.ofMinutes(61));
        assertThat(service.findGrant(sameShape)).isEmpty();
        assertThat(service.grants(true, 10)).isEmpty();
        assertThat(service.grants(false, 10)).extracting(Grant::id).containsExactly(g2.id(), g.id());
        assertThat(events).filteredOn(e -> e instanceof ApprovalEvent.GrantCreated).hasSize(2);
        assertThat(events).filteredOn(e -> e instanceof ApprovalEvent.GrantRevoked).hasSize(1);
    }

    @Test
    void grantsAreRefusedForQuorumAboveOneAndOutsideTheGroup() {
        HeldRequest critical = service.hold(facts("bot", Facts.of("GRANT", "GRANT x", Category.PRIVILEGE)),
                hold(2, Duration.ofMinutes(5)), "GRANT x", List.of(), "");
        assertThatThrownBy(() -> service.grant(critical.request().id(), ALICE, Duration.ofHours(1), Channel.API))
                .hasMessageContaining("cannot be granted ahead");
        String id = holdEmail("bot", "1").request().id();
        assertThatThrownBy(() -> service.grant(id, SUPPORT, Duration.ofHours(1), Channel.API)).hasMessageContaining("not in group");
        assertThatThrownBy(() -> service.grant(id, OLIVIA, Duration.ofHours(1), Channel.API)).hasMessageContaining("owns agent");
        assertThatThrownBy(() -> service.grant(id, ALICE, Duration.ofDays(30), Channel.API)).hasMessageContaining("1 minute to 168 hours");
    }

    @Test
    void restartKeepsHistoryAndGrantsAndAbandonsPending() throws Exception {
        HeldRequest decided = holdEmail("bot", "1");
        service.decide(decided.request().id(), ALICE, Verdict.DENY, "no", Channel.CLI);
        HeldRequest granted = holdEmail("bot", "2");
        Grant g = service.grant(granted.request().id(), BOB, Duration.ofHours(3), Channel.API);
        HeldRequest pending = holdEmail("bot", "3");
        service.close();
        store.close();

        store = H2ApprovalStore.open(dir.resolve("approvals"));
        service = new ApprovalService(store, directory(), ApprovalService.Options.defaults());
        assertThat(store.abandonedAtOpen()).isEqualTo(1);
        ApprovalRequest d = service.request(decided.request().id()).orElseThrow();
        assertThat(d.state()).isEqualTo(RequestState.DENIED);
        assertThat(d.decisions()).singleElement().satisfies(x -> {
            assertThat(x.reviewer()).isEqualTo("alice");
            assertThat(x.comment()).isEqualTo("no");
            assertThat(x.channel()).isEqualTo(Channel.CLI);
        });
        assertThat(d.parameters()).containsExactly("1");
        assertThat(d.sql()).isEqualTo(decided.request().sql());
        ApprovalRequest p = service.request(pending.request().id()).orElseThrow();
        assertThat(p.state()).isEqualTo(RequestState.ABANDONED);
        assertThat(p.stateReason()).contains("restarted");
        assertThat(service.findGrant(facts("bot", Facts.emailRead()))).map(Grant::id).contains(g.id());
        assertThat(service.requests(null, "bot", 10)).hasSize(3);
        assertThat(service.requests(RequestState.APPROVED, null, 10)).extracting(ApprovalRequest::id)
                .containsExactly(granted.request().id());
    }

    @Test
    void twoHundredConcurrentHoldsAllComplete() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<HeldRequest>> holds = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String param = String.valueOf(i);
                holds.add(pool.submit(() -> holdEmail("bot", param)));
            }
            List<HeldRequest> held = new ArrayList<>();
            for (Future<HeldRequest> f : holds) {
                held.add(f.get(30, TimeUnit.SECONDS));
            }
            assertThat(held).extracting(h -> h.request().id()).doesNotHaveDuplicates();
            assertThat(service.requests(RequestState.PENDING, "bot", 1000)).hasSize(200);
            List<Future<?>> decisions = new ArrayList<>();
            for (int i = 0; i < held.size(); i++) {
                HeldRequest h = held.get(i);
                boolean approve = i % 4 != 0;
                decisions.add(pool.submit(() -> approve
                        ? service.decide(h.request().id(), i2(h) ? ALICE : BOB, Verdict.APPROVE, "", Channel.API)
                        : service.decide(h.request().id(), BOB, Verdict.DENY, "not this one", Channel.API)));
            }
            for (Future<?> f : decisions) {
                f.get(30, TimeUnit.SECONDS);
            }
            int approved = 0;
            int denied = 0;
            for (HeldRequest h : held) {
                Outcome o = await(h.outcome());
                if (o instanceof Outcome.Approved) {
                    approved++;
                } else if (o instanceof Outcome.Denied) {
                    denied++;
                }
            }
            assertThat(approved).isEqualTo(150);
            assertThat(denied).isEqualTo(50);
        } finally {
            pool.shutdownNow();
        }
    }

    private static boolean i2(HeldRequest h) {
        return h.request().id().hashCode() % 2 == 0;
    }

    @Test
    void nonBlockingHoldKnowsItsIdAtOnceAndStoresOnTheServiceThreads() throws Exception {
        HeldRequest held = service.holdNonBlocking(facts("bot", Facts.emailRead()), hold(1, Duration.ofMinutes(5)),
                "SELECT email FROM customers WHERE id = $1", List.of("9"), "");
        String id = held.request().id();
        assertThat(id).startsWith("apr-");
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (events.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(events).first().isInstanceOf(ApprovalEvent.RequestCreated.class);
        service.decide(id, ALICE, Verdict.APPROVE, "", Channel.API);
        assertThat(await(held.outcome())).isInstanceOf(Outcome.Approved.class);
        assertThat(service.markExecutedAsync(id).get(30, TimeUnit.SECONDS).state()).isEqualTo(RequestState.EXECUTED);

        HeldRequest other = holdEmail("bot", "10");
        assertThat(service.withdrawAsync(other.request().id(), "client cancelled").get(30, TimeUnit.SECONDS)).isPresent();
        assertThat(await(other.outcome())).isInstanceOf(Outcome.Withdrawn.class);
    }

    @Test
    void aWithdrawalRacingTheNonBlockingInsertStillWithdraws() throws Exception {
        for (int i = 0; i < 30; i++) {
            HeldRequest held = service.holdNonBlocking(facts("bot", Facts.emailRead()), hold(1, Duration.ofMinutes(5)),
                    "SELECT email FROM customers WHERE id = $1", List.of(String.valueOf(i)), "");
            if (i % 2 == 0) {
                service.withdraw(held.request().id(), "the client disconnected");
            } else {
                service.withdrawAsync(held.request().id(), "the client cancelled");
            }
            assertThat(await(held.outcome())).as("round " + i).isInstanceOf(Outcome.Withdrawn.class);
            assertThat(service.request(held.request().id()).orElseThrow().state()).isEqualTo(RequestState.WITHDRAWN);
        }
    }

    @Test
    void aRequestThatCannotBeStoredFailsClosed() {
        store.close();
        HeldRequest held = service.holdNonBlocking(facts("bot", Facts.emailRead()), hold(1, Duration.ofMinutes(5)),
                "SELECT email FROM customers", List.of(), "");
        assertThatThrownBy(() -> held.outcome().get(30, TimeUnit.SECONDS))
                .hasCauseInstanceOf(io.countersign.approvals.store.StoreException.class)
                .hasMessageContaining("the store is closed");
        assertThatThrownBy(() -> holdEmail("bot", "1")).isInstanceOf(io.countersign.approvals.store.StoreException.class);
    }

    @Test
    void sqlNullParametersAreKeptAndBoundDistinctly() {
        HeldRequest held = service.hold(facts("bot", Facts.emailRead()), hold(1, Duration.ofMinutes(5)),
                "SELECT email FROM customers WHERE id = $1 OR note = $2", java.util.Arrays.asList("1", null), "");
        ApprovalRequest stored = service.request(held.request().id()).orElseThrow();
        assertThat(stored.parameters()).containsExactly("1", null);
        assertThat(stored.bindingHash()).isEqualTo(held.request().bindingHash())
                .isNotEqualTo(BindingHash.of("bot", "shop", stored.sql(), List.of("1", "null")));
    }

    @Test
    void defaultPolicyHoldFeedsTheService() throws Exception {
        StatementFacts f = facts("bot", Facts.emailRead());
        PolicyDecision.Hold h = (PolicyDecision.Hold) PolicyEngine.defaultPolicy().decide(f);
        HeldRequest held = service.hold(f, h, "SELECT email FROM customers WHERE id = $1", List.of("5"), "127.0.0.1:5");
        assertThat(held.request().rule()).isEqualTo("sensitive-export-destructive");
        assertThat(held.request().expires()).isEqualTo(held.request().created().plus(Duration.ofMinutes(15)));
        service.decide(held.request().id(), BOB, Verdict.APPROVE, null, Channel.SLACK);
        assertThat(await(held.outcome())).isInstanceOf(Outcome.Approved.class);
    }
}
