package io.countersign.approvals.slack;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import io.countersign.analysis.Category;
import io.countersign.analysis.Finding;
import io.countersign.analysis.SettledBy;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.HeldRequest;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerDirectory;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.approvals.policy.Tier;
import io.countersign.approvals.store.H2ApprovalStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A real ApprovalService on H2 in a temp dir, a fake Slack Web API, and the real Bolt app behind
 * the real HTTP handler on an ephemeral port; payloads are signed like Slack signs them.
 */
final class SlackHarness implements AutoCloseable {

    static final String SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
    static final String BOT_TOKEN = "xoxb-test-bot-token";
    static final String DEFAULT_CHANNEL = "#countersign";
    static final String RULE_CHANNEL = "#db-approvals";

    static final Reviewer ALICE = Reviewer.human("alice", "alice@example.com", "dba", "security");
    static final Reviewer BOB = Reviewer.human("bob", "bob@corp.example", "dba", "security");
    static final Reviewer OLIVIA = Reviewer.human("olivia", "olivia@example.com", "dba");   // owns the agent
    static final Reviewer SAM = Reviewer.human("sam", "sam@example.com", "support");

    final FakeSlack slack;
    final H2ApprovalStore store;
    final ApprovalService service;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    SlackIntegration integration;
    HttpServer admin;

    SlackHarness(Path dir) throws Exception {
        slack = new FakeSlack()
                .user("UALICE", "alice@example.com")
                .user("UBOB", "robert.private@gmail.example")   // mapped by config, not by e-mail
                .user("UOLIVIA", "olivia@example.com")
                .user("USAM", "sam@example.com")
                .user("UNOBODY", "nobody@elsewhere.example");
        store = H2ApprovalStore.open(dir.resolve("approvals"));
        ReviewerDirectory directory = ReviewerDirectory.builder().reviewer(ALICE, "a-token").reviewer(BOB, "b-token")
                .reviewer(OLIVIA, "o-token").reviewer(SAM, "s-token").agent("bot").build();
        service = new ApprovalService(store, directory, new ApprovalService.Options(Clock.systemUTC(), "test", a -> false,
                Duration.ofMillis(200), Duration.ofDays(7)));
        start(settings());
    }

    SlackSettings settings() {
        return SlackSettings.of(BOT_TOKEN, SECRET, DEFAULT_CHANNEL, "https://countersign.example:8443")
                .withApiBaseUrl(slack.baseUrl())
                .withUserMapping(Map.of("UBOB", "bob"))
                .withRetries(Duration.ofMillis(800), 3, Duration.ofMillis(50));
    }

    void start(SlackSettings settings) throws Exception {
        if (integration != null) {
            integration.close();
            admin.stop(0);
        }
        integration = SlackIntegration.start(settings, service,
                rule -> rule.equals("sensitive") ? Optional.of(RULE_CHANNEL) : Optional.empty(),
                SlackReviewers.byEmail(List.of(ALICE, BOB, OLIVIA, SAM)), registry);
        admin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        admin.createContext("/slack/events", integration.httpHandler());
        admin.start();
    }

    // ------------------------------------------------------------ requests

    static StatementAnalysis emailRead() {
        return new StatementAnalysis("SELECT email FROM customers WHERE id = $1", "SELECT email FROM customers WHERE id = ?",
                "SELECT", Set.of("public.customers"), Set.of(), Set.of("public.customers.email", "public.customers.id"), Set.of(),
                Set.of(), List.of(new Finding(Category.SENSITIVE_READ, "reads sensitive column public.customers.email")),
                SettledBy.CALCITE);
    }

    HeldRequest hold(String rule, Tier tier, String group, int quorum) {
        return hold(rule, tier, group, quorum, "SELECT email FROM customers WHERE id = $1");
    }

    HeldRequest hold(String rule, Tier tier, String group, int quorum, String sql) {
        return hold(rule, tier, group, quorum, sql, Duration.ofMinutes(5));
    }

    HeldRequest hold(String rule, Tier tier, String group, int quorum, String sql, Duration timeout) {
        StatementFacts facts = new StatementFacts("bot", Set.of("bots"), "olivia", "shop", List.of(emailRead()));
        PolicyDecision.Hold decision = new PolicyDecision.Hold(rule, tier, group, quorum, timeout,
                Duration.ofHours(1), List.of("SENSITIVE_READ: reads sensitive column public.customers.email"));
        return service.hold(facts, decision, sql, List.of("42"), "10.0.0.7:51234");
    }

    /** The chat.postMessage that announced {@code requestId}. */
    FakeSlack.Call posted(String requestId) {
        await(() -> !slack.calls("chat.postMessage", c -> c.param("blocks").contains(requestId)).isEmpty(),
                "chat.postMessage for " + requestId);
        return slack.calls("chat.postMessage", c -> c.param("blocks").contains(requestId)).get(0);
    }

    /** Waits for a chat.update of the request's message whose blocks contain {@code text}. */
    FakeSlack.Call updatedWith(String requestId, String text) {
        Supplier<List<FakeSlack.Call>> found = () -> slack.calls("chat.update",
                c -> c.param("blocks").contains(requestId) && c.param("blocks").contains(text));
        await(() -> !found.get().isEmpty(), "chat.update of " + requestId + " containing '" + text + "'; updates so far: "
                + slack.calls("chat.update").stream().map(c -> c.param("text")).toList());
        return found.get().get(found.get().size() - 1);
    }

    FakeSlack.Call ephemeralTo(String user, String text) {
        Supplier<List<FakeSlack.Call>> found = () -> slack.calls("chat.postEphemeral",
                c -> c.param("user").equals(user) && c.param("text").contains(text));
        await(() -> !found.get().isEmpty(), "ephemeral message to " + user + " containing '" + text + "'; sent: "
                + slack.calls("chat.postEphemeral").stream().map(c -> c.param("user") + ": " + c.param("text")).toList());
        return found.get().get(0);
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

    // ------------------------------------------------------------ interactions, signed like Slack signs them

    /** A click on one of the message's buttons, as Slack posts it. */
    static String blockAction(String user, String actionId, String requestId, SlackNotifier.MessageRef message) {
        ObjectNode p = FakeSlack.JSON.createObjectNode().put("type", "block_actions").put("api_app_id", "A0COUNTER")
                .put("token", "legacy-verification-token").put("trigger_id", "13345224609.738474920.8088930838d88f008e0")
                .put("response_url", "https://hooks.slack.com/actions/T0ACME/1/abc");
        p.putObject("team").put("id", "T0ACME").put("domain", "acme");
        p.putObject("user").put("id", user).put("username", user.toLowerCase()).put("team_id", "T0ACME");
        p.putObject("container").put("type", "message").put("message_ts", message.ts()).put("channel_id", message.channel())
                .put("is_ephemeral", false);
        p.putObject("channel").put("id", message.channel()).put("name", "db-approvals");
        p.putObject("message").put("type", "message").put("ts", message.ts()).put("text", "held");
        ObjectNode action = p.putArray("actions").addObject().put("action_id", actionId).put("block_id", SlackMessages.ACTIONS_BLOCK)
                .put("value", requestId).put("type", "button").put("action_ts", "1764300001.000200");
        action.putObject("text").put("type", "plain_text").put("text", "Approve");
        return p.toString();
    }

    /** The message announcing the request, once Slack answered the post. */
    SlackNotifier.MessageRef message(String requestId) {
        posted(requestId);
        await(() -> integration.notifier().message(requestId).isPresent(), "message ref of " + requestId);
        return integration.notifier().message(requestId).orElseThrow();
    }

    static String viewSubmission(String user, String callbackId, String privateMetadata, String comment) {
        ObjectNode p = FakeSlack.JSON.createObjectNode().put("type", "view_submission").put("api_app_id", "A0COUNTER")
                .put("token", "legacy-verification-token").put("trigger_id", "12466734323.1395872398.abc");
        p.putObject("team").put("id", "T0ACME").put("domain", "acme");
        p.putObject("user").put("id", user).put("username", user.toLowerCase()).put("team_id", "T0ACME");
        ObjectNode view = p.putObject("view").put("id", "V0MODAL").put("team_id", "T0ACME").put("type", "modal")
                .put("callback_id", callbackId).put("private_metadata", privateMetadata).put("hash", "156663117.cd33ad1f");
        view.putObject("state").putObject("values").putObject(SlackMessages.COMMENT_BLOCK).putObject(SlackMessages.COMMENT_INPUT)
                .put("type", "plain_text_input").put("value", comment);
        p.putArray("response_urls");
        return p.toString();
    }

    HttpResponse<String> post(String payloadJson) throws Exception {
        return post(payloadJson, SECRET, System.currentTimeMillis() / 1000);
    }

    HttpResponse<String> post(String payloadJson, String secret, long timestamp) throws Exception {
        String body = "payload=" + URLEncoder.encode(payloadJson, StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.getAddress().getPort() + "/slack/events"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Slack-Request-Timestamp", Long.toString(timestamp))
                .header("X-Slack-Signature", sign(secret, timestamp, body))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** Slack's v0 signature: HMAC-SHA256 over "v0:timestamp:body" with the signing secret. */
    static String sign(String secret, long timestamp, String body) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return "v0=" + HexFormat.of().formatHex(mac.doFinal(("v0:" + timestamp + ":" + body).getBytes(StandardCharsets.UTF_8)));
    }

    double failures(String method) {
        var c = registry.find("countersign_slack_failures_total").tag("method", method).counter();
        return c == null ? 0 : c.count();
    }

    static JsonNode actions(JsonNode blocks) {
        for (JsonNode b : blocks) {
            if (b.path("type").asText().equals("actions")) {
                return b;
            }
        }
        return null;
    }

    @Override
    public void close() {
        if (integration != null) {
            integration.close();
        }
        if (admin != null) {
            admin.stop(0);
        }
        service.close();
        store.close();
        slack.close();
    }
}
