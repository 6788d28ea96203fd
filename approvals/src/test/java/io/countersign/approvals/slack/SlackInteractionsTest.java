package io.countersign.approvals.slack;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Channel;
import io.countersign.approvals.Decision;
import io.countersign.approvals.HeldRequest;
import io.countersign.approvals.Outcome;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.Tier;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clicks and modal submissions POSTed to the real handler and Bolt app, signed like Slack signs them. */
class SlackInteractionsTest {

    @TempDir
    Path dir;
    SlackHarness h;

    @BeforeEach
    void start() throws Exception {
        h = new SlackHarness(dir);
    }

    @AfterEach
    void stop() {
        h.close();
    }

    @Test
    void approveClickApprovesTheRequestAndReleasesTheWaitingStatement() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);

        HttpResponse<String> response = h.post(SlackHarness.blockAction("UALICE", SlackMessages.APPROVE, id, ref));
        assertThat(response.statusCode()).isEqualTo(200);

        Outcome outcome = held.outcome().get(10, TimeUnit.SECONDS);
        assertThat(outcome).isInstanceOf(Outcome.Approved.class);
        Decision d = outcome.request().decisions().get(0);
        assertThat(d.reviewer()).isEqualTo("alice");
        assertThat(d.channel()).isEqualTo(Channel.SLACK);
        assertThat(h.slack.calls("users.info").get(0).param("user")).isEqualTo("UALICE");

        FakeSlack.Call update = h.updatedWith(id, "*Approved* by <@UALICE>");
        assertThat(update.param("ts")).isEqualTo(ref.ts());
        assertThat(SlackHarness.actions(update.json("blocks"))).isNull();
    }

    @Test
    void denyOpensAModalAndItsSubmissionDeniesWithTheReason() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);

        assertThat(h.post(SlackHarness.blockAction("UBOB", SlackMessages.DENY, id, ref)).statusCode()).isEqualTo(200);
        SlackHarness.await(() -> !h.slack.calls("views.open").isEmpty(), "views.open");
        FakeSlack.Call open = h.slack.calls("views.open").get(0);
        assertThat(open.param("trigger_id")).isEqualTo("13345224609.738474920.8088930838d88f008e0");
        JsonNode view = open.json("view");
        assertThat(view.path("callback_id").asText()).isEqualTo(SlackMessages.DENY_MODAL);
        assertThat(view.toString()).contains(id, SlackMessages.COMMENT_INPUT);
        assertThat(h.service.request(id).orElseThrow().state()).as("opening the modal decides nothing").isEqualTo(RequestState.PENDING);
        assertThat(h.slack.calls("users.info")).as("UBOB is mapped in the config, no lookup").isEmpty();

        HttpResponse<String> submitted = h.post(SlackHarness.viewSubmission("UBOB", SlackMessages.DENY_MODAL,
                view.path("private_metadata").asText(), "reads every customer's e-mail; filter by id"));
        assertThat(submitted.statusCode()).isEqualTo(200);

        Outcome outcome = held.outcome().get(10, TimeUnit.SECONDS);
        assertThat(outcome).isInstanceOfSatisfying(Outcome.Denied.class, denied -> {
            assertThat(denied.reviewer()).isEqualTo("bob");
            assertThat(denied.reason()).isEqualTo("reads every customer's e-mail; filter by id");
        });
        h.updatedWith(id, "*Denied* by <@UBOB>: reads every customer's e-mail; filter by id");
    }

    @Test
    void quorumOfTwoTakesTwoDifferentUsersAndTheMessageShowsProgress() throws Exception {
        HeldRequest held = h.hold("privilege", Tier.CRITICAL, "security", 2);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);
        assertThat(SlackHarness.actions(h.posted(id).json("blocks")).findValuesAsText("action_id"))
                .as("no grant button: a quorum rule cannot be granted ahead").doesNotContain(SlackMessages.GRANT);

        h.post(SlackHarness.blockAction("UALICE", SlackMessages.APPROVE, id, ref));
        FakeSlack.Call progress = h.updatedWith(id, "1 of 2 approvals: <@UALICE>");
        assertThat(SlackHarness.actions(progress.json("blocks"))).as("still pending: buttons stay").isNotNull();

        // The same person again does not count twice; the service says why.
        h.post(SlackHarness.blockAction("UALICE", SlackMessages.APPROVE, id, ref));
        h.ephemeralTo("UALICE", "already decided");
        assertThat(h.service.request(id).orElseThrow().approvals()).isEqualTo(1);
        assertThat(held.outcome()).isNotDone();

        h.post(SlackHarness.blockAction("UBOB", SlackMessages.APPROVE, id, ref));
        assertThat(held.outcome().get(10, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);
        h.updatedWith(id, "*Approved* by <@UALICE>, <@UBOB>");
    }

    @Test
    void theOwnersClickIsRefusedWithAnEphemeralMessageAndDecidesNothing() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);

        h.post(SlackHarness.blockAction("UOLIVIA", SlackMessages.APPROVE, id, ref));
        FakeSlack.Call refusal = h.ephemeralTo("UOLIVIA", "olivia owns agent bot and cannot decide");
        assertThat(refusal.param("channel")).isEqualTo(ref.channel());

        h.post(SlackHarness.blockAction("UOLIVIA", SlackMessages.GRANT, id, ref));
        SlackHarness.await(() -> h.slack.calls("chat.postEphemeral", c -> c.param("user").equals("UOLIVIA")).size() == 2,
                "second refusal");

        ApprovalRequest after = h.service.request(id).orElseThrow();
        assertThat(after.state()).isEqualTo(RequestState.PENDING);
        assertThat(after.decisions()).isEmpty();
        assertThat(h.service.grants(false, 10)).isEmpty();
        assertThat(held.outcome()).isNotDone();
    }

    @Test
    void unmappedUsersAndUsersOutsideTheGroupAreToldWhyAndDecideNothing() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);

        h.post(SlackHarness.blockAction("UNOBODY", SlackMessages.APPROVE, id, ref));
        h.ephemeralTo("UNOBODY", "not a Countersign reviewer: no reviewer has the e-mail nobody@elsewhere.example");
        h.post(SlackHarness.blockAction("USAM", SlackMessages.APPROVE, id, ref));
        h.ephemeralTo("USAM", "reviewer sam is not in group 'dba'");
        h.post(SlackHarness.blockAction("UGHOST", SlackMessages.DENY, id, ref));
        h.ephemeralTo("UGHOST", "could not look up your Slack profile");

        assertThat(h.slack.calls("views.open")).as("no deny modal for a user who cannot decide").isEmpty();
        assertThat(h.service.request(id).orElseThrow().decisions()).isEmpty();
        assertThat(held.outcome()).isNotDone();
    }

    @Test
    void grantButtonApprovesAndGrantsTheShapeForOneHour() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);

        h.post(SlackHarness.blockAction("UALICE", SlackMessages.GRANT, id, ref));
        assertThat(held.outcome().get(10, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);
        // The service approves first, then stores the grant: wait for the second step too.
        SlackHarness.await(() -> !h.service.grants(true, 10).isEmpty(), "the grant stored");
        var grants = h.service.grants(true, 10);
        assertThat(grants).hasSize(1);
        assertThat(grants.get(0).createdBy()).isEqualTo("alice");
        assertThat(grants.get(0).fingerprint()).isEqualTo(held.request().fingerprint());
        assertThat(java.time.Duration.between(grants.get(0).created(), grants.get(0).expires())).isEqualTo(java.time.Duration.ofHours(1));
        h.updatedWith(id, "granted for 1 hour");
    }

    @Test
    void criticalApprovalAsksForACommentWhenConfigured() throws Exception {
        h.start(h.settings().withRequireCommentOnCritical(true));
        HeldRequest held = h.hold("privilege", Tier.CRITICAL, "security", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);

        h.post(SlackHarness.blockAction("UALICE", SlackMessages.APPROVE, id, ref));
        SlackHarness.await(() -> !h.slack.calls("views.open").isEmpty(), "views.open for the comment");
        JsonNode view = h.slack.calls("views.open").get(0).json("view");
        assertThat(view.path("callback_id").asText()).isEqualTo(SlackMessages.APPROVE_MODAL);
        assertThat(h.service.request(id).orElseThrow().state()).isEqualTo(RequestState.PENDING);

        h.post(SlackHarness.viewSubmission("UALICE", SlackMessages.APPROVE_MODAL, view.path("private_metadata").asText(),
                "one-off role change agreed with the owner"));
        Outcome outcome = held.outcome().get(10, TimeUnit.SECONDS);
        assertThat(outcome).isInstanceOf(Outcome.Approved.class);
        assertThat(outcome.request().decisions().get(0).comment()).isEqualTo("one-off role change agreed with the owner");
    }

    @Test
    void aForgedSignatureOrAStaleTimestampGets401AndChangesNothing() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);
        String click = SlackHarness.blockAction("UALICE", SlackMessages.APPROVE, id, ref);
        int callsBefore = h.slack.all().size();

        HttpResponse<String> forged = h.post(click, "not-the-signing-secret", System.currentTimeMillis() / 1000);
        assertThat(forged.statusCode()).isEqualTo(401);
        HttpResponse<String> stale = h.post(click, SlackHarness.SECRET, System.currentTimeMillis() / 1000 - 600);
        assertThat(stale.statusCode()).isEqualTo(401);
        HttpResponse<String> submission = h.post(SlackHarness.viewSubmission("UALICE", SlackMessages.DENY_MODAL,
                "{\"id\":\"" + id + "\"}", "forged"), "guess", System.currentTimeMillis() / 1000);
        assertThat(submission.statusCode()).isEqualTo(401);

        Thread.sleep(300);   // anything queued by a wrongly accepted request would have run by now
        assertThat(h.service.request(id).orElseThrow().decisions()).isEmpty();
        assertThat(held.outcome()).isNotDone();
        assertThat(h.slack.all()).as("no Slack call caused by a rejected request").hasSize(callsBefore);

        // The same click, correctly signed, is accepted: the 401s were about the signature.
        assertThat(h.post(click).statusCode()).isEqualTo(200);
        assertThat(held.outcome().get(10, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);
    }

    @Test
    void concurrentClicksFromUsersLookedUpByEmailAllLandWhileSlackIsSlow() throws Exception {
        java.util.List<HeldRequest> held = new java.util.ArrayList<>();
        java.util.List<SlackNotifier.MessageRef> refs = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            held.add(h.hold("sensitive", Tier.HIGH, "dba", 1));
            refs.add(h.message(held.get(i).request().id()));
        }
        // Every Slack call now takes 300 ms; the four clicks each need users.info before deciding.
        h.slack.stall = java.time.Duration.ofMillis(300);
        java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> clicks = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String click = SlackHarness.blockAction("UALICE", SlackMessages.APPROVE, held.get(i).request().id(), refs.get(i));
            clicks.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return h.post(click);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        for (var c : clicks) {
            assertThat(c.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        for (HeldRequest r : held) {
            assertThat(r.outcome().get(10, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);
        }
        assertThat(h.slack.calls("chat.postEphemeral")).as("no lookup gave up").isEmpty();
        h.slack.stall = java.time.Duration.ZERO;
    }

    @Test
    void aClickOnAnAlreadyDecidedRequestIsAnsweredWithItsState() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);
        h.service.decide(id, SlackHarness.ALICE, Verdict.DENY, "not today", Channel.CONSOLE);

        h.post(SlackHarness.blockAction("UBOB", SlackMessages.APPROVE, id, ref));
        h.ephemeralTo("UBOB", "is already denied (not today)");
        assertThat(h.service.request(id).orElseThrow().decisions()).hasSize(1);
    }
}
