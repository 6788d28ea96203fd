package io.countersign.approvals.slack;

import static io.countersign.approvals.slack.SlackHarness.ALICE;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.approvals.Channel;
import io.countersign.approvals.HeldRequest;
import io.countersign.approvals.Outcome;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.Tier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What Countersign posts and updates in Slack, and that Slack's health never reaches the proxy. */
class SlackNotifierTest {

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
    void heldRequestPostsAMessageNamingAgentColumnsSqlAndButtons() {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();

        FakeSlack.Call post = h.posted(id);
        assertThat(post.param("channel")).isEqualTo(SlackHarness.RULE_CHANNEL);
        assertThat(post.authorization()).isEqualTo("Bearer " + SlackHarness.BOT_TOKEN);
        assertThat(post.param("text")).contains("bot", "shop", id);
        JsonNode blocks = post.json("blocks");
        String all = String.join("\n", FakeSlack.texts(blocks));
        assertThat(all)
                .contains("*Agent*\nbot", "*Owner*\nolivia", "*Database*\nshop", "*Tier*\nhigh")
                .contains("`public.customers.email`")
                .contains("reads sensitive column public.customers.email")
                .contains("```SELECT email FROM customers WHERE id = $1```")
                .contains("`$1` = `42`")
                .contains("<!date^" + held.request().expires().getEpochSecond() + "^");
        JsonNode actions = SlackHarness.actions(blocks);
        assertThat(actions).isNotNull();
        assertThat(actions.findValuesAsText("action_id")).containsExactly(SlackMessages.APPROVE, SlackMessages.DENY,
                SlackMessages.GRANT, SlackMessages.CONSOLE);
        assertThat(actions.findValuesAsText("value")).containsOnly(id);
        assertThat(actions.findValuesAsText("url")).containsExactly("https://countersign.example:8443/console/#" + id);
    }

    @Test
    void ruleWithoutChannelGoesToTheDefaultChannelAndLongSqlIsCutWithAConsoleLink() {
        String longSql = "SELECT email FROM customers WHERE id IN (" + "1, ".repeat(2000) + "1)";
        HeldRequest held = h.hold("unanalysable", Tier.HIGH, "dba", 1, longSql);
        FakeSlack.Call post = h.posted(held.request().id());
        assertThat(post.param("channel")).isEqualTo(SlackHarness.DEFAULT_CHANNEL);
        String all = String.join("\n", FakeSlack.texts(post.json("blocks")));
        assertThat(all).doesNotContain(longSql)
                .contains("Statement cut at " + SlackMessages.SQL_LIMIT + " of " + longSql.length() + " characters")
                .contains("<https://countersign.example:8443/console/#" + held.request().id() + "|full statement in the console>");
        for (JsonNode b : post.json("blocks")) {
            assertThat(b.path("text").path("text").asText().length()).as("Slack's 3000-character section limit").isLessThanOrEqualTo(3000);
        }
    }

    @Test
    void aDecisionTakenInTheConsoleUpdatesTheSlackMessageAndRemovesTheButtons() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        String id = held.request().id();
        SlackNotifier.MessageRef ref = h.message(id);

        h.service.decide(id, ALICE, Verdict.APPROVE, "looked fine", Channel.CONSOLE);

        FakeSlack.Call update = h.updatedWith(id, "*Approved* by alice");
        assertThat(update.param("channel")).isEqualTo(ref.channel());
        assertThat(update.param("ts")).isEqualTo(ref.ts());
        assertThat(update.param("blocks")).contains("looked fine");
        assertThat(SlackHarness.actions(update.json("blocks"))).as("buttons removed").isNull();
        assertThat(held.outcome().get(5, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);

        h.service.markExecuted(id);
        h.updatedWith(id, "*Executed*");
    }

    @Test
    void withdrawnAndDeniedRequestsShowWhoEndedThemAndWhy() {
        HeldRequest first = h.hold("sensitive", Tier.HIGH, "dba", 1);
        h.message(first.request().id());
        h.service.withdraw(first.request().id(), "client disconnected");
        h.updatedWith(first.request().id(), "*Withdrawn* by the agent: client disconnected");

        HeldRequest second = h.hold("sensitive", Tier.HIGH, "dba", 1);
        h.message(second.request().id());
        h.service.decide(second.request().id(), ALICE, Verdict.DENY, "use the <orders> view & filter", Channel.CLI);
        h.updatedWith(second.request().id(), "*Denied* by alice: use the &lt;orders&gt; view &amp; filter");
    }

    @Test
    void anExpiredRequestSaysSoAndLosesItsButtons() throws Exception {
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1, "SELECT email FROM customers WHERE id = $1",
                Duration.ofMillis(700));
        h.message(held.request().id());
        assertThat(held.outcome().get(10, TimeUnit.SECONDS)).isInstanceOf(Outcome.Expired.class);
        FakeSlack.Call update = h.updatedWith(held.request().id(), "*Expired*: no decision within 700 ms");
        assertThat(SlackHarness.actions(update.json("blocks"))).isNull();
    }

    @Test
    void slackAnswering500DelaysNeitherHoldNorDecideAndIsCounted() throws Exception {
        // Retries back off 1 s then 2 s: a caller waiting on Slack would take 3 s or more.
        h.start(h.settings().withRetries(Duration.ofMillis(800), 3, Duration.ofSeconds(1)));
        warmUp();
        h.slack.failStatus = 500;
        long start = System.nanoTime();
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        long holdMillis = (System.nanoTime() - start) / 1_000_000;
        start = System.nanoTime();
        h.service.decide(held.request().id(), ALICE, Verdict.APPROVE, "", Channel.CONSOLE);
        long decideMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(held.outcome().get(2, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);
        assertThat(holdMillis).isLessThan(1000);
        assertThat(decideMillis).isLessThan(1000);

        // Three attempts with backoff, then one counted failure per call that gave up.
        SlackHarness.await(() -> h.failures("chat.postMessage") >= 1, "a counted chat.postMessage failure");
        assertThat(h.slack.calls("chat.postMessage").size()).isGreaterThanOrEqualTo(3);

        // Slack is back: the next change posts the request's current state.
        h.slack.failStatus = 0;
        h.service.markExecuted(held.request().id());
        SlackHarness.await(() -> h.slack.calls("chat.postMessage", c -> c.param("blocks").contains("*Executed*")).size() == 1
                || h.slack.calls("chat.update", c -> c.param("blocks").contains("*Executed*")).size() == 1, "the executed state shown");
    }

    @Test
    void slackStallingForSecondsDelaysNeitherHoldNorDecide() throws Exception {
        warmUp();
        h.slack.stall = Duration.ofSeconds(3);
        long start = System.nanoTime();
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        HeldRequest other = h.hold("sensitive", Tier.HIGH, "dba", 1);
        h.service.decide(held.request().id(), ALICE, Verdict.APPROVE, "", Channel.API);
        h.service.decide(other.request().id(), ALICE, Verdict.DENY, "no", Channel.API);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(held.outcome().get(2, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);
        assertThat(other.outcome().get(2, TimeUnit.SECONDS)).isInstanceOf(Outcome.Denied.class);
        assertThat(millis).as("two holds and two decisions while Slack stalls").isLessThan(1000);
        assertThat(h.service.request(held.request().id()).orElseThrow().state()).isEqualTo(RequestState.APPROVED);
        SlackHarness.await(() -> h.failures("chat.postMessage") >= 1, "timed-out posts counted as failures");
        h.slack.stall = Duration.ZERO;
    }

    /** One hold and decision before measuring, so class loading and H2's first writes are not what is timed. */
    private void warmUp() {
        HeldRequest warm = h.hold("sensitive", Tier.HIGH, "dba", 1);
        h.posted(warm.request().id());
        h.service.decide(warm.request().id(), ALICE, Verdict.APPROVE, "", Channel.API);
        h.updatedWith(warm.request().id(), "*Approved*");
    }

    @Test
    void ownerGetsAnInformationalDirectMessageWhenEnabled() throws Exception {
        h.start(h.settings().withNotifyOwner(true));
        HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
        SlackHarness.await(() -> !h.slack.calls("chat.postMessage", c -> c.param("channel").equals("UOLIVIA")).isEmpty(),
                "a direct message to the owner");
        FakeSlack.Call dm = h.slack.calls("chat.postMessage", c -> c.param("channel").equals("UOLIVIA")).get(0);
        assertThat(dm.param("text")).contains("bot", held.request().id(), "cannot approve");
        assertThat(h.slack.calls("users.lookupByEmail").get(0).param("email")).isEqualTo("olivia@example.com");
        List<FakeSlack.Call> channelPosts = h.slack.calls("chat.postMessage", c -> c.param("channel").equals(SlackHarness.RULE_CHANNEL));
        SlackHarness.await(() -> !h.slack.calls("chat.postMessage", c -> c.param("channel").equals(SlackHarness.RULE_CHANNEL)).isEmpty(),
                "the channel message too");
        assertThat(channelPosts.size()).isLessThanOrEqualTo(1);
    }
}
