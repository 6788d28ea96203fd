package io.countersign.server.teams;

import static io.countersign.server.reviewing.Reviewing.async;
import static io.countersign.server.reviewing.Reviewing.awaitPending;
import static io.countersign.server.reviewing.Reviewing.bot;
import static io.countersign.server.reviewing.Reviewing.column;
import static io.countersign.server.reviewing.Reviewing.reviewer;
import static io.countersign.server.teams.TeamsBotE2eTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.teams.TeamsCards;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.reviewing.Reviewing;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Teams notification mode end to end: the real proxy in front of real PostgreSQL posts each held
 * statement's card to the Workflows webhook of the channel its rule names; the card links to the
 * console, where the request is decided. One rule's webhook is a closed port, and the others can
 * be made to answer 503: holding and deciding must not notice (that a stalled Teams delays
 * nothing is shown by {@link TeamsBotE2eTest}, whose posts go through the same client).
 */
@ExtendWith(NettyLeakWatch.class)
class TeamsWebhookE2eTest {

    static final String CONSOLE = "https://countersign.example:8443/console/";

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static LocalTeams teams;
    static CountersignServer server;

    @BeforeAll
    static void start() throws Exception {
        Reviewing.schema(db);
        teams = new LocalTeams("unused-app-id", "unused");
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();   // nothing listens here once closed
        }
        String section = """
                teams:
                  mode: webhook
                  webhook-url: %s
                  webhooks:
                    db-approvals: %s
                    security-desk: http://127.0.0.1:%d/webhookb2/gone
                  call-timeout: 700ms
                  max-attempts: 2
                  initial-backoff: 50ms
                """.formatted(teams.webhookUrl("general"), teams.webhookUrl("db-approvals"), closed);
        Path config = Reviewing.configWith(dir, db, section);
        // the console link comes from approvals.console-url, as in the notices the agent gets
        Files.writeString(config, Files.readString(config).replace("approvals:\n  reviewers:",
                "approvals:\n  console-url: " + CONSOLE + "\n  reviewers:"));
        Files.writeString(dir.resolve("policy.yaml"), Reviewing.POLICY
                .replace("    tier: high\n", "    tier: high\n    teams-channel: db-approvals\n")
                .replace("    quorum: 2\n", "    quorum: 2\n    teams-channel: security-desk\n"));
        server = Reviewing.start(config);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (teams != null) teams.close();
    }

    @Test
    void aHeldStatementIsPostedToTheRulesWebhookAsACardThatLinksToTheConsole() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 4";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);
            await(() -> !teams.calls("POST", p -> p.status() == 202 && p.cardText().contains(held.id())).isEmpty(),
                    "the webhook post for " + held.id());
            LocalTeams.Call post = teams.calls("POST", p -> p.cardText().contains(held.id())).get(0);

            assertThat(post.path()).as("the rule's teams-channel, through teams.webhooks").isEqualTo("/webhookb2/db-approvals");
            assertThat(post.authorization()).as("a webhook URL carries its own signature; no bot token").isNull();
            assertThat(post.body().path("type").asText()).isEqualTo("message");
            assertThat(post.body().path("attachments").path(0).path("contentType").asText()).isEqualTo(TeamsCards.CONTENT_TYPE);
            JsonNode card = post.card();
            assertThat(card.path("type").asText()).isEqualTo("AdaptiveCard");
            assertThat(card.toString()).contains(sql).contains("public.customers.email").contains(Reviewing.OWNER).contains("high");
            assertThat(LocalTeams.verbs(card)).as("no Approve/Deny without the bot").isEmpty();
            assertThat(LocalTeams.actions(card)).singleElement().satisfies(a -> {
                assertThat(a.path("type").asText()).isEqualTo("Action.OpenUrl");
                assertThat(a.path("url").asText()).isEqualTo(CONSOLE + "#" + held.id());
            });

            // webhook mode has no messaging endpoint: nothing on the admin port takes activities
            HttpResponse<String> bot = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(Reviewing.adminUrl(server) + "/teams/messages")).header("Authorization", "Bearer x")
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(bot.statusCode()).isEqualTo(404);

            reviewer(server, "carol").approve(held.id(), "seen in the console after the Teams card");
            assertThat(query.get(20, TimeUnit.SECONDS)).containsExactly("c4@example.com");
        }
    }

    @Test
    void anUnreachableOrFailingWebhookDelaysNothingAndIsRetriedAndCounted() throws Exception {
        // the critical rule's webhook is a closed port
        double closedFailures = counter("countersign_teams_calls_total", "failed");
        double retries = counter("countersign_teams_retries_total", null);
        String grant = "GRANT SELECT ON items TO PUBLIC";
        try (Connection c = bot(server)) {
            CompletableFuture<Integer> statement = async(() -> {
                try (var s = c.createStatement()) {
                    return s.executeUpdate(grant);
                }
            });
            ApprovalRequest held = awaitPending(server, grant);
            await(() -> counter("countersign_teams_calls_total", "failed") > closedFailures,
                    "the unreachable webhook's failure in countersign_teams_calls_total{call=webhook,outcome=failed}");
            assertThat(counter("countersign_teams_retries_total", null)).as("tried again before giving up").isGreaterThan(retries);
            reviewer(server, "alice").approve(held.id(), "first of two");
            reviewer(server, "bob").approve(held.id(), "second of two");
            assertThat(statement.get(20, TimeUnit.SECONDS)).isZero();
        }

        // the sensitive rule's webhook answers 503
        teams.failStatus = 503;
        try {
            double failures = counter("countersign_teams_calls_total", "failed");
            String sql = "SELECT email FROM customers WHERE id = 1";
            try (Connection c = bot(server); Connection other = Reviewing.connect(server, "other-agent", "other-pw")) {
                CompletableFuture<List<String>> query = async(() -> column(c, sql));
                ApprovalRequest held = awaitPending(server, sql);
                assertThat(column(other, "SELECT label FROM items WHERE id = 7")).containsExactly("item 7");
                await(() -> teams.arrived("POST", p -> p.cardText().contains(held.id())).size() == 2,
                        "two attempts at the webhook (teams.max-attempts)");
                await(() -> counter("countersign_teams_calls_total", "failed") > failures, "the 503s counted as a failure");
                reviewer(server, "alice").approve(held.id(), "Teams is down");
                assertThat(query.get(20, TimeUnit.SECONDS)).containsExactly("c1@example.com");
            }
        } finally {
            teams.failStatus = 0;
        }
    }

    static double counter(String name, String outcome) {
        var search = server.metrics().find(name).tag("call", "webhook");
        if (outcome != null) {
            search = search.tag("outcome", outcome);
        }
        var counter = search.counter();
        return counter == null ? 0 : counter.count();
    }
}
