package io.countersign.server.reviewing;

import static io.countersign.server.reviewing.Reviewing.async;
import static io.countersign.server.reviewing.Reviewing.awaitPending;
import static io.countersign.server.reviewing.Reviewing.awaitState;
import static io.countersign.server.reviewing.Reviewing.bot;
import static io.countersign.server.reviewing.Reviewing.column;
import static io.countersign.server.reviewing.Reviewing.reviewer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Channel;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.slack.SlackMessages;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slack end to end: a whole Countersign (the real proxy in front of real PostgreSQL, real Bolt on
 * the admin port's /slack/events) with only Slack's Web API played by a local HTTP server.
 * Interactions are POSTed the way Slack posts them, signed with HMAC-SHA256 over
 * {@code v0:timestamp:body} with the configured signing secret.
 */
@ExtendWith(NettyLeakWatch.class)
class SlackE2eTest {

    static final String SECRET = "e2e0c5d3f1a94b7c8d2e6f0a1b3c5d7e";
    static final String CHANNEL = "#db-approvals";

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static LocalSlackApi slack;
    static CountersignServer server;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        Reviewing.schema(db);
        slack = new LocalSlackApi()
                .user("UALICE", "alice@example.com")
                .user("UBOB", "bob@example.com")
                .user("UDANA", Reviewing.OWNER);        // dana owns the agent bot, and is in group security
        String section = """
                  bot-token: xoxb-e2e-bot-token
                  signing-secret: %s
                  default-channel: "%s"
                  api-base-url: %s
                  call-timeout: 700ms
                  max-attempts: 2
                  initial-backoff: 50ms
                """.formatted(SECRET, CHANNEL, slack.baseUrl());
        server = Reviewing.start(Reviewing.config(dir, db, section));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (slack != null) slack.close();
    }

    @AfterEach
    void healSlack() {
        slack.failStatus = 0;
        slack.stall = Duration.ZERO;
    }

    // ------------------------------------------------------------ the tests

    @Test
    void aHeldStatementIsPostedAndAnApproveClickReleasesTheWaitingQuery() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 2";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);
            Posted msg = posted(held.id());

            assertThat(msg.call().param("channel")).isEqualTo(CHANNEL);
            String blocks = msg.call().param("blocks");
            assertThat(blocks).contains("bot").contains("public.customers.email").contains(sql).contains(Reviewing.OWNER);
            assertThat(actionIds(msg.call().json("blocks"))).contains(SlackMessages.APPROVE, SlackMessages.DENY);
            assertThat(query).isNotDone();

            assertThat(post(blockAction("UALICE", SlackMessages.APPROVE, held.id(), msg)).statusCode()).isEqualTo(200);
            assertThat(query.get(20, TimeUnit.SECONDS)).containsExactly("c2@example.com");
            ApprovalRequest done = awaitState(server, held.id(), RequestState.EXECUTED);
            assertThat(done.decisions()).singleElement().satisfies(d -> {
                assertThat(d.reviewer()).isEqualTo("alice");
                assertThat(d.channel()).isEqualTo(Channel.SLACK);
            });
            LocalSlackApi.Call update = updatedWith(msg, "Approved");
            assertThat(actionIds(update.json("blocks"))).as("buttons removed once final").doesNotContain(SlackMessages.APPROVE);
        }
    }

    @Test
    void denyThroughTheModalGivesTheAgent42501WithTheReason() throws Exception {
        String sql = "SELECT name, email FROM customers WHERE id = 3";
        String reason = "reads e-mails without a ticket; ask support";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);
            Posted msg = posted(held.id());

            assertThat(post(blockAction("UBOB", SlackMessages.DENY, held.id(), msg)).statusCode()).isEqualTo(200);
            await(() -> !slack.calls("views.open", v -> v.param("view").contains(held.id())).isEmpty(), "views.open for " + held.id());
            JsonNode view = slack.calls("views.open", v -> v.param("view").contains(held.id())).get(0).json("view");
            assertThat(view.path("callback_id").asText()).isEqualTo(SlackMessages.DENY_MODAL);
            assertThat(reviewer(server, "alice").show(held.id()).state()).as("opening the modal decides nothing").isEqualTo(RequestState.PENDING);

            assertThat(post(viewSubmission("UBOB", view.path("private_metadata").asText(), reason)).statusCode()).isEqualTo(200);
            assertThatThrownBy(() -> query.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(SQLException.class).cause().satisfies(e -> {
                assertThat(((SQLException) e).getSQLState()).isEqualTo("42501");
                assertThat(e.getMessage()).contains(reason);
            });
            ApprovalRequest denied = awaitState(server, held.id(), RequestState.DENIED);
            assertThat(denied.decisions()).singleElement().satisfies(d -> {
                assertThat(d.reviewer()).isEqualTo("bob");
                assertThat(d.comment()).isEqualTo(reason);
                assertThat(d.channel()).isEqualTo(Channel.SLACK);
            });
            updatedWith(msg, "Denied");
        }
    }

    @Test
    void quorumTwoTakesTwoDifferentSlackUsersAndTheOwnersClickIsRefused() throws Exception {
        String sql = "GRANT SELECT ON items TO PUBLIC";
        try (Connection c = bot(server)) {
            CompletableFuture<Integer> grant = async(() -> {
                try (var s = c.createStatement()) {
                    return s.executeUpdate(sql);
                }
            });
            ApprovalRequest held = awaitPending(server, sql);
            assertThat(held.quorum()).isEqualTo(2);
            assertThat(held.reviewerGroup()).isEqualTo("security");
            Posted msg = posted(held.id());
            assertThat(msg.call().param("blocks")).contains("critical").contains(sql);

            // the agent's owner is in group security, but may never decide on their own agent's request
            assertThat(post(blockAction("UDANA", SlackMessages.APPROVE, held.id(), msg)).statusCode()).isEqualTo(200);
            await(() -> !slack.calls("chat.postEphemeral", e -> e.param("user").equals("UDANA")).isEmpty(), "an ephemeral refusal to UDANA");
            LocalSlackApi.Call refusal = slack.calls("chat.postEphemeral", e -> e.param("user").equals("UDANA")).get(0);
            assertThat(refusal.param("channel")).isEqualTo(msg.channel());
            assertThat(refusal.param("text")).containsIgnoringCase("own");
            assertThat(reviewer(server, "alice").show(held.id()).decisions()).as("the owner's click decides nothing").isEmpty();

            post(blockAction("UALICE", SlackMessages.APPROVE, held.id(), msg));
            LocalSlackApi.Call progress = updatedWith(msg, "1 of 2 approvals");
            assertThat(progress.param("blocks")).as("progress names who approved").containsAnyOf("UALICE", "alice");
            assertThat(actionIds(progress.json("blocks"))).as("still pending: buttons stay").contains(SlackMessages.APPROVE);
            // the same person cannot count twice
            post(blockAction("UALICE", SlackMessages.APPROVE, held.id(), msg));
            await(() -> !slack.calls("chat.postEphemeral", e -> e.param("user").equals("UALICE")).isEmpty(), "an ephemeral refusal to UALICE");
            assertThat(slack.calls("chat.postEphemeral", e -> e.param("user").equals("UALICE")).get(0).param("text")).contains("already");
            assertThat(reviewer(server, "alice").show(held.id()).approvals()).isEqualTo(1);
            assertThat(grant).as("one approval of two").isNotDone();

            post(blockAction("UBOB", SlackMessages.APPROVE, held.id(), msg));
            assertThat(grant.get(20, TimeUnit.SECONDS)).isZero();
            ApprovalRequest done = awaitState(server, held.id(), RequestState.EXECUTED);
            assertThat(done.decisions()).extracting(d -> d.reviewer()).containsExactly("alice", "bob");
            updatedWith(msg, "Executed");
        }
    }

    @Test
    void aDecisionTakenThroughTheRestApiUpdatesTheSlackMessage() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 4";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);
            Posted msg = posted(held.id());
            reviewer(server, "carol").approve(held.id(), "checked with support");
            assertThat(query.get(20, TimeUnit.SECONDS)).containsExactly("c4@example.com");
            LocalSlackApi.Call update = updatedWith(msg, "carol");
            assertThat(update.param("blocks")).containsAnyOf("Approved", "Executed");
            assertThat(actionIds(update.json("blocks"))).doesNotContain(SlackMessages.APPROVE);
        }
    }

    @Test
    void aForgedSignatureOrAnOldTimestampGets401AndDecidesNothing() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 5";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);
            Posted msg = posted(held.id());
            String click = blockAction("UALICE", SlackMessages.APPROVE, held.id(), msg);
            long now = System.currentTimeMillis() / 1000;

            assertThat(post(click, "not-the-signing-secret", now).statusCode()).isEqualTo(401);
            assertThat(post(click, SECRET, now - 3600).statusCode()).as("a replay an hour old").isEqualTo(401);
            Thread.sleep(300);
            assertThat(reviewer(server, "alice").show(held.id()).decisions()).isEmpty();
            assertThat(query).isNotDone();

            reviewer(server, "alice").deny(held.id(), "cleanup after the forged click");
            assertThatThrownBy(() -> query.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(SQLException.class);
        }
    }

    @Test
    void slackAnswering500OrStallingDelaysNeitherTheHoldNorOtherAgents() throws Exception {
        for (String mode : List.of("500", "stall")) {
            if (mode.equals("500")) {
                slack.failStatus = 500;
            } else {
                slack.stall = Duration.ofSeconds(5);
            }
            double failuresBefore = failures("chat.postMessage");
            String sql = "SELECT email FROM customers WHERE id = 1 AND name <> '" + mode + "'";
            try (Connection c = bot(server); Connection other = Reviewing.connect(server, "other-agent", "other-pw")) {
                long t0 = System.nanoTime();
                CompletableFuture<List<String>> query = async(() -> column(c, sql));
                ApprovalRequest held = awaitPending(server, sql);
                assertThat(millisSince(t0)).as("Slack " + mode + ": the request is pending at once").isLessThan(2_000);

                long t1 = System.nanoTime();
                for (int i = 1; i <= 5; i++) {
                    assertThat(column(other, "SELECT label FROM items WHERE id = " + i)).containsExactly("item " + i);
                }
                assertThat(millisSince(t1)).as("Slack " + mode + ": five queries of another agent").isLessThan(1_500);

                // Countersign did try Slack for this very request: it got a 500, or its post is still stalled
                await(() -> !slack.arrived("chat.postMessage", p -> p.param("blocks").contains(held.id())).isEmpty(),
                        "Countersign's chat.postMessage for " + held.id());
                if (mode.equals("500")) {
                    await(() -> failures("chat.postMessage") > failuresBefore, "the failure counted in countersign_slack_failures_total");
                } else {
                    assertThat(slack.calls("chat.postMessage", p -> p.param("blocks").contains(held.id())))
                            .as("the post is still stalled while the statement is held and other agents run").isEmpty();
                }
                long t2 = System.nanoTime();
                reviewer(server, "alice").approve(held.id(), "Slack is down, approved in the console");
                assertThat(query.get(20, TimeUnit.SECONDS)).containsExactly("c1@example.com");
                assertThat(millisSince(t2)).as("Slack " + mode + ": approval through the API releases at once").isLessThan(2_000);
            }
        }
    }

    // ------------------------------------------------------------ Slack's side

    /** The chat.postMessage that announced a request, with the channel id and ts the Web API answered. */
    record Posted(LocalSlackApi.Call call) {
        String channel() {
            return call.answer().path("channel").asText();
        }

        String ts() {
            return call.answer().path("ts").asText();
        }
    }

    static Posted posted(String requestId) {
        Supplier<List<LocalSlackApi.Call>> found = () -> slack.calls("chat.postMessage",
                c -> c.answer().path("ok").asBoolean() && c.param("blocks").contains(requestId));
        await(() -> !found.get().isEmpty(), "chat.postMessage announcing " + requestId);
        return new Posted(found.get().get(0));
    }

    /** Waits for a chat.update of that message whose blocks contain {@code text}. */
    static LocalSlackApi.Call updatedWith(Posted msg, String text) {
        Supplier<List<LocalSlackApi.Call>> found = () -> slack.calls("chat.update",
                c -> c.param("ts").equals(msg.ts()) && c.param("channel").equals(msg.channel()) && c.param("blocks").contains(text));
        await(() -> !found.get().isEmpty(), "chat.update of " + msg.ts() + " containing '" + text + "'; updates: "
                + slack.calls("chat.update", c -> c.param("ts").equals(msg.ts())).stream().map(c -> c.param("text")).toList());
        List<LocalSlackApi.Call> calls = found.get();
        return calls.get(calls.size() - 1);
    }

    static List<String> actionIds(JsonNode blocks) {
        return blocks.findValuesAsText("action_id");
    }

    /** A button click as Slack posts it (block_actions). */
    static String blockAction(String user, String actionId, String requestId, Posted msg) {
        ObjectNode p = LocalSlackApi.JSON.createObjectNode().put("type", "block_actions").put("api_app_id", "A0COUNTER")
                .put("token", "legacy-verification-token").put("trigger_id", "13345224609.738474920." + Long.toHexString(System.nanoTime()))
                .put("response_url", "https://hooks.slack.com/actions/T0ACME/1/abc");
        p.putObject("team").put("id", "T0ACME").put("domain", "acme");
        p.putObject("user").put("id", user).put("username", user.toLowerCase()).put("team_id", "T0ACME");
        p.putObject("container").put("type", "message").put("message_ts", msg.ts()).put("channel_id", msg.channel())
                .put("is_ephemeral", false);
        p.putObject("channel").put("id", msg.channel()).put("name", "db-approvals");
        p.putObject("message").put("type", "message").put("ts", msg.ts()).put("text", "held");
        ObjectNode action = p.putArray("actions").addObject().put("action_id", actionId).put("block_id", SlackMessages.ACTIONS_BLOCK)
                .put("value", requestId).put("type", "button").put("action_ts", "1764300001.000200");
        action.putObject("text").put("type", "plain_text").put("text", actionId);
        return p.toString();
    }

    /** The deny modal's submission (view_submission) with the reason typed in. */
    static String viewSubmission(String user, String privateMetadata, String reason) {
        ObjectNode p = LocalSlackApi.JSON.createObjectNode().put("type", "view_submission").put("api_app_id", "A0COUNTER")
                .put("token", "legacy-verification-token").put("trigger_id", "12466734323.1395872398.abc");
        p.putObject("team").put("id", "T0ACME").put("domain", "acme");
        p.putObject("user").put("id", user).put("username", user.toLowerCase()).put("team_id", "T0ACME");
        ObjectNode view = p.putObject("view").put("id", "V0MODAL").put("team_id", "T0ACME").put("type", "modal")
                .put("callback_id", SlackMessages.DENY_MODAL).put("private_metadata", privateMetadata).put("hash", "156663117.cd33ad1f");
        view.putObject("state").putObject("values").putObject(SlackMessages.COMMENT_BLOCK).putObject(SlackMessages.COMMENT_INPUT)
                .put("type", "plain_text_input").put("value", reason);
        p.putArray("response_urls");
        return p.toString();
    }

    static HttpResponse<String> post(String payloadJson) throws Exception {
        return post(payloadJson, SECRET, System.currentTimeMillis() / 1000);
    }

    /** POSTs an interaction to the admin port's /slack/events, signed as Slack signs: v0=HMAC-SHA256(secret, "v0:ts:body"). */
    static HttpResponse<String> post(String payloadJson, String secret, long timestamp) throws Exception {
        String body = "payload=" + URLEncoder.encode(payloadJson, StandardCharsets.UTF_8);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        String signature = "v0=" + HexFormat.of().formatHex(mac.doFinal(("v0:" + timestamp + ":" + body).getBytes(StandardCharsets.UTF_8)));
        HttpRequest request = HttpRequest.newBuilder(URI.create(Reviewing.adminUrl(server) + "/slack/events"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Slack-Request-Timestamp", Long.toString(timestamp))
                .header("X-Slack-Signature", signature)
                .timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    static double failures(String method) {
        var counter = server.metrics().find("countersign_slack_failures_total").tag("method", method).counter();
        return counter == null ? 0 : counter.count();
    }

    static long millisSince(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
