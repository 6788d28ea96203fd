package io.countersign.approvals.slack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.HeldRequest;
import io.countersign.approvals.policy.Tier;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Config errors name the key and the fix; Socket Mode failing at startup leaves posting working. */
class SlackSettingsTest {

    @TempDir
    Path dir;

    @Test
    void missingOrWrongSettingsAreNamedWithTheFix() {
        assertThatThrownBy(() -> SlackSettings.of(" ", "s", "#c", ""))
                .hasMessageContaining("slack.bot-token is missing").hasMessageContaining("xoxb-");
        assertThatThrownBy(() -> SlackSettings.of("xoxb-1", "", "#c", ""))
                .hasMessageContaining("slack.signing-secret is missing").hasMessageContaining("Basic Information");
        assertThatThrownBy(() -> SlackSettings.of("xoxb-1", "s", null, ""))
                .hasMessageContaining("slack.default-channel is missing");
        assertThatThrownBy(() -> SlackSettings.of("xoxb-1", "s", "#c", "").withApiBaseUrl("slack.com/api"))
                .hasMessageContaining("slack.api-base-url 'slack.com/api' is not an http(s) URL");

        SlackSettings socket = new SlackSettings("xoxb-1", null, "xapp-1", "#c", null, "https://cs.example/", Map.of(), false,
                false, null, 0, null);
        assertThat(socket.socketMode()).isTrue();
        assertThat(socket.apiBaseUrl()).isEqualTo(SlackSettings.SLACK_API);
        assertThat(socket.consoleLink("apr-1")).isEqualTo("https://cs.example/console/#apr-1");
        assertThat(socket.toString()).doesNotContain("xoxb-1", "xapp-1");
    }

    @Test
    void theConfigSectionIsReadStrictly() throws Exception {
        var yaml = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
        SlackSettings s = SlackSettings.parse(yaml.readTree("""
                bot-token: xoxb-1
                signing-secret: abc
                default-channel: "#db-approvals"
                console-base-url: https://cs.example
                user-mapping: { U024BE7LH: alice }
                require-comment-on-critical: true
                call-timeout: 3s
                max-attempts: 4
                initial-backoff: 250ms
                """), "countersign.yaml");
        assertThat(s.userMapping()).containsEntry("U024BE7LH", "alice");
        assertThat(s.requireCommentOnCritical()).isTrue();
        assertThat(s.notifyOwner()).isFalse();
        assertThat(s.callTimeout()).isEqualTo(java.time.Duration.ofSeconds(3));
        assertThat(s.initialBackoff()).isEqualTo(java.time.Duration.ofMillis(250));
        assertThat(s.maxAttempts()).isEqualTo(4);
        assertThat(s.apiBaseUrl()).isEqualTo(SlackSettings.SLACK_API);

        assertThatThrownBy(() -> SlackSettings.parse(yaml.readTree("bot-token: x\nsigning-secret: y\ndefault-channel: c\nchanel: d\n"),
                "countersign.yaml")).hasMessageContaining("countersign.yaml: slack.chanel is not a setting");
        assertThatThrownBy(() -> SlackSettings.parse(yaml.readTree("bot-token: x\nsigning-secret: y\ndefault-channel: c\ncall-timeout: soon\n"),
                "countersign.yaml")).hasMessageContaining("slack.call-timeout 'soon' is not a duration");
        assertThatThrownBy(() -> SlackSettings.parse(yaml.readTree("bot-token: x\ndefault-channel: c\n"), "countersign.yaml"))
                .hasMessageContaining("countersign.yaml: slack.signing-secret is missing");
    }

    @Test
    void socketModeThatCannotConnectAtStartupLeavesMessagesWorking() throws Exception {
        try (SlackHarness h = new SlackHarness(dir)) {
            // The fake answers apps.connections.open with ok:false, as Slack does for a bad app token.
            h.start(new SlackSettings(SlackHarness.BOT_TOKEN, SlackHarness.SECRET, "xapp-1-bad", SlackHarness.DEFAULT_CHANNEL,
                    h.slack.baseUrl(), "", Map.of(), false, false, null, 2, null));
            HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
            assertThat(h.posted(held.request().id()).param("channel")).isEqualTo(SlackHarness.RULE_CHANNEL);
            SlackHarness.await(() -> !h.slack.calls("apps.connections.open").isEmpty(), "Socket Mode tried to connect");
            assertThat(h.slack.calls("apps.connections.open").get(0).authorization()).isEqualTo("Bearer xapp-1-bad");
        }
    }

    @Test
    void slackDownAtStartupDoesNotStopCountersignStarting() throws Exception {
        try (SlackHarness h = new SlackHarness(dir)) {
            h.slack.failStatus = 503;
            h.start(h.settings());   // no auth.test or other call needed to start
            HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
            SlackHarness.await(() -> h.failures("chat.postMessage") >= 1, "the failed post counted");
            h.slack.failStatus = 0;
            h.service.withdraw(held.request().id(), "client went away");
            SlackHarness.await(() -> !h.slack.calls("chat.postMessage", c -> c.param("blocks").contains("*Withdrawn*")).isEmpty(),
                    "the request's current state posted once Slack is back");
        }
    }

    @Test
    void theEndpointTakesOnlyPostsOfReasonableSize() throws Exception {
        try (SlackHarness h = new SlackHarness(dir)) {
            URI uri = URI.create("http://127.0.0.1:" + h.admin.getAddress().getPort() + "/slack/events");
            HttpResponse<String> get = h.http.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(get.statusCode()).isEqualTo(405);
            HttpResponse<String> huge = h.http.send(HttpRequest.newBuilder(uri)
                    .POST(HttpRequest.BodyPublishers.ofString("payload=" + "x".repeat(SlackHttpHandler.MAX_BODY + 10))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(huge.statusCode()).isEqualTo(413);
            HttpResponse<String> notSlack = h.http.send(HttpRequest.newBuilder(uri).header("Content-Type",
                    "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString("payload=%7B%7D")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(notSlack.statusCode()).isEqualTo(400);
            HeldRequest held = h.hold("sensitive", Tier.HIGH, "dba", 1);
            String click = SlackHarness.blockAction("UALICE", SlackMessages.APPROVE, held.request().id(), h.message(held.request().id()));
            HttpResponse<String> unsigned = h.http.send(HttpRequest.newBuilder(uri).header("Content-Type",
                    "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString("payload="
                            + java.net.URLEncoder.encode(click, java.nio.charset.StandardCharsets.UTF_8))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(unsigned.statusCode()).isEqualTo(401);
            assertThat(h.service.request(held.request().id()).orElseThrow().decisions()).isEmpty();
        }
    }
}
