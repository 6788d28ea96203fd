package io.countersign.server.teams;

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
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Channel;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.teams.TeamsCards;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.reviewing.Reviewing;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Teams bot end to end: a whole Countersign (the real proxy in front of real PostgreSQL, the bot's
 * messaging endpoint on the admin port's /teams/messages) with only Microsoft's side played by a
 * local HTTP server. Activities are POSTed the way the Bot Framework posts them, with a JWT signed
 * by the key the local JWKS serves.
 */
@ExtendWith(NettyLeakWatch.class)
class TeamsBotE2eTest {

    static final String APP_ID = "4f6e0f0a-7a1c-4b8e-9d3e-0c5b2a9e1d11";
    static final String APP_PASSWORD = "bot~secret.e2e";
    static final String DEFAULT_CHANNEL = "19:general0a1b2c@thread.tacv2";
    static final String RULE_CHANNEL = "19:dbapprovals9f8e@thread.tacv2";

    static final LocalTeams.User ALICE = new LocalTeams.User("29:1alice", "aad-alice-0001", "Alice", "alice@example.com");
    /** bob's Teams e-mail is not his reviewer e-mail: he is found through teams.user-mapping. */
    static final LocalTeams.User BOB = new LocalTeams.User("29:1bob", "aad-bob-0002", "Bob", "robert@private.example");
    /** dana owns the agent and is in group security. */
    static final LocalTeams.User DANA = new LocalTeams.User("29:1dana", "aad-dana-0004", "Dana", Reviewing.OWNER);
    static final LocalTeams.User MALLORY = new LocalTeams.User("29:1mallory", "aad-mallory-0666", "Mallory", "mallory@elsewhere.example");

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static LocalTeams teams;
    static CountersignServer server;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        Reviewing.schema(db);
        teams = new LocalTeams(APP_ID, APP_PASSWORD).user(ALICE).user(BOB).user(DANA).user(MALLORY);
        String section = """
                teams:
                  mode: bot
                  app-id: %s
                  app-password: "%s"
                  tenant-id: tenant-acme
                  default-channel: "%s"
                  token-url: %s
                  openid-metadata-url: %s
                  service-url: %s
                  user-mapping: {%s: bob}
                  call-timeout: 700ms
                  max-attempts: 3
                  initial-backoff: 50ms
                """.formatted(APP_ID, APP_PASSWORD, DEFAULT_CHANNEL, teams.tokenUrl(), teams.openIdMetadataUrl(), teams.serviceUrl(),
                BOB.aadObjectId());
        Path config = Reviewing.configWith(dir, db, section);
        // sensitive reads are announced in their own channel; the critical rule uses the default one
        Files.writeString(dir.resolve("policy.yaml"), Reviewing.POLICY.replace("    tier: high\n",
                "    tier: high\n    teams-channel: \"" + RULE_CHANNEL + "\"\n"));
        server = Reviewing.start(config);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (teams != null) teams.close();
    }

    @AfterEach
    void healTeams() {
        teams.failStatus = 0;
        teams.stall = Duration.ZERO;
    }

    // ------------------------------------------------------------ the tests

    @Test
    void approveOnTheCardReleasesTheWaitingQueryAndTheCardShowsTheOutcome() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = $1 AND name LIKE 'customer%'";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> {   // a prepared statement: the card shows its parameter
                try (var ps = c.prepareStatement("SELECT email FROM customers WHERE id = ? AND name LIKE 'customer%'")) {
                    ps.setInt(1, 2);
                    try (var rs = ps.executeQuery()) {
                        return rs.next() ? List.of(rs.getString(1)) : List.<String>of();
                    }
                }
            });
            ApprovalRequest held = awaitPending(server, sql);
            LocalTeams.Call card = posted(held.id());

            assertThat(card.conversation()).as("the rule's teams-channel").isEqualTo(RULE_CHANNEL);
            assertThat(card.authorization()).as("the post carries the bot's token from the token endpoint").startsWith("Bearer bot-token-");
            assertThat(card.cardText()).contains("bot").contains(Reviewing.OWNER).contains("shop").contains("high")
                    .contains("public.customers.email").contains(sql).contains("$1 = '2'").doesNotContain("$1 = '3'");
            assertThat(LocalTeams.verbs(card.card())).containsExactly(TeamsCards.APPROVE, TeamsCards.DENY);
            assertThat(query).isNotDone();

            HttpResponse<String> answer = post(teams.invoke(ALICE, TeamsCards.APPROVE, held.id(), null, card), teams.validToken());
            assertThat(answer.statusCode()).isEqualTo(200);
            JsonNode invokeResponse = LocalTeams.JSON.readTree(answer.body());
            assertThat(invokeResponse.path("statusCode").asInt()).isEqualTo(200);
            assertThat(invokeResponse.path("type").asText()).isEqualTo(TeamsCards.CONTENT_TYPE);
            assertThat(invokeResponse.path("value").toString()).contains("Approved by alice");
            assertThat(LocalTeams.verbs(invokeResponse.path("value"))).as("no buttons on a decided card").isEmpty();

            assertThat(query.get(20, TimeUnit.SECONDS)).containsExactly("c2@example.com");
            ApprovalRequest done = awaitState(server, held.id(), RequestState.EXECUTED);
            assertThat(done.decisions()).singleElement().satisfies(d -> {
                assertThat(d.reviewer()).isEqualTo("alice");
                assertThat(d.channel()).isEqualTo(Channel.TEAMS);
            });
            LocalTeams.Call update = updatedWith(card, "Executed");
            assertThat(LocalTeams.verbs(update.card())).isEmpty();
        }
    }

    @Test
    void denyWithAReasonGivesTheAgent42501WithTheReasonAndDenyWithoutOneIsRefused() throws Exception {
        String sql = "SELECT name, email FROM customers WHERE id = 3";
        String reason = "reads e-mails without a ticket; ask support";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);
            LocalTeams.Call card = posted(held.id());

            JsonNode refused = invokeResponse(post(teams.invoke(BOB, TeamsCards.DENY, held.id(), "  ", card), teams.validToken()));
            assertThat(refused.path("type").asText()).isEqualTo("application/vnd.microsoft.error");
            assertThat(refused.path("value").path("message").asText()).contains("needs a comment");
            assertThat(reviewer(server, "alice").show(held.id()).decisions()).as("a denial without a reason decides nothing").isEmpty();

            JsonNode denied = invokeResponse(post(teams.invoke(BOB, TeamsCards.DENY, held.id(), reason, card), teams.validToken()));
            assertThat(denied.path("value").toString()).contains("Denied by bob").contains(reason);
            assertThatThrownBy(() -> query.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(SQLException.class).cause().satisfies(e -> {
                assertThat(((SQLException) e).getSQLState()).isEqualTo("42501");
                assertThat(e.getMessage()).contains(reason);
            });
            ApprovalRequest done = awaitState(server, held.id(), RequestState.DENIED);
            assertThat(done.decisions()).singleElement().satisfies(d -> {
                assertThat(d.reviewer()).as("bob, through teams.user-mapping").isEqualTo("bob");
                assertThat(d.comment()).isEqualTo(reason);
                assertThat(d.channel()).isEqualTo(Channel.TEAMS);
            });
            updatedWith(card, "Denied by bob");
        }
    }

    @Test
    void quorumTwoShowsProgressAndTheOwnerAndStrangersAreRefused() throws Exception {
        String sql = "GRANT SELECT ON items TO PUBLIC";
        try (Connection c = bot(server)) {
            CompletableFuture<Integer> grant = async(() -> {
                try (var s = c.createStatement()) {
                    return s.executeUpdate(sql);
                }
            });
            ApprovalRequest held = awaitPending(server, sql);
            assertThat(held.quorum()).isEqualTo(2);
            LocalTeams.Call card = posted(held.id());
            assertThat(card.conversation()).as("a rule without teams-channel: the default channel").isEqualTo(DEFAULT_CHANNEL);
            assertThat(card.cardText()).contains("critical");

            JsonNode own = invokeResponse(post(teams.invoke(DANA, TeamsCards.APPROVE, held.id(), null, card), teams.validToken()));
            assertThat(own.path("type").asText()).isEqualTo("application/vnd.microsoft.error");
            assertThat(own.path("value").path("message").asText()).containsIgnoringCase("own");
            JsonNode stranger = invokeResponse(post(teams.invoke(MALLORY, TeamsCards.APPROVE, held.id(), null, card), teams.validToken()));
            assertThat(stranger.path("value").path("message").asText()).contains("not a Countersign reviewer");
            assertThat(reviewer(server, "alice").show(held.id()).decisions()).as("neither decides anything").isEmpty();

            JsonNode first = invokeResponse(post(teams.invoke(ALICE, TeamsCards.APPROVE, held.id(), null, card), teams.validToken()));
            assertThat(first.path("value").toString()).contains("1 of 2 approvals: alice");
            assertThat(LocalTeams.verbs(first.path("value"))).as("still pending: buttons stay").contains(TeamsCards.APPROVE);
            updatedWith(card, "1 of 2 approvals");
            JsonNode again = invokeResponse(post(teams.invoke(ALICE, TeamsCards.APPROVE, held.id(), null, card), teams.validToken()));
            assertThat(again.path("value").path("message").asText()).contains("already decided");
            assertThat(grant).as("one approval of two").isNotDone();

            post(teams.invoke(BOB, TeamsCards.APPROVE, held.id(), null, card), teams.validToken());
            assertThat(grant.get(20, TimeUnit.SECONDS)).isZero();
            ApprovalRequest done = awaitState(server, held.id(), RequestState.EXECUTED);
            assertThat(done.decisions()).extracting(d -> d.reviewer()).containsExactly("alice", "bob");
            updatedWith(card, "Executed (approved by alice, bob)");
        }
    }

    @Test
    void aForgedActivityGets401AndOneFromAnotherTenant403AndNeitherChangesAnything() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 5";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);
            LocalTeams.Call card = posted(held.id());
            ObjectNode click = teams.invoke(ALICE, TeamsCards.APPROVE, held.id(), null, card);
            RSAKey impostor = new RSAKeyGenerator(2048).keyID(LocalTeams.KEY_ID).generate();   // same key id, another key
            Instant soon = Instant.now().plusSeconds(300);

            assertThat(post(click, null).statusCode()).as("no token").isEqualTo(401);
            assertThat(post(click, teams.sign(impostor, APP_ID, teams.serviceUrl(), soon)).statusCode()).as("wrong key").isEqualTo(401);
            assertThat(post(click, teams.sign(teams.key, "another-bot-app-id", teams.serviceUrl(), soon)).statusCode())
                    .as("another bot's audience").isEqualTo(401);
            assertThat(post(click, teams.sign(teams.key, APP_ID, teams.serviceUrl(), Instant.now().minusSeconds(3600))).statusCode())
                    .as("expired an hour ago").isEqualTo(401);
            assertThat(post(click, teams.sign(teams.key, APP_ID, "https://attacker.example/", soon)).statusCode())
                    .as("a token for another serviceUrl").isEqualTo(401);
            ObjectNode otherTenant = click.deepCopy();
            ((ObjectNode) otherTenant.path("channelData").path("tenant")).put("id", "tenant-elsewhere");
            ((ObjectNode) otherTenant.path("conversation")).put("tenantId", "tenant-elsewhere");
            assertThat(post(otherTenant, teams.validToken()).statusCode()).as("a genuine activity from another tenant (teams.tenant-id)")
                    .isEqualTo(403);
            HttpResponse<String> garbled = post(click, "not-a-jwt");
            assertThat(garbled.statusCode()).isEqualTo(401);
            assertThat(garbled.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));

            Thread.sleep(300);
            assertThat(reviewer(server, "alice").show(held.id()).decisions()).isEmpty();
            assertThat(teams.calls("PUT", u -> u.path().endsWith(card.body().path("id").asText()))).as("the card is untouched").isEmpty();
            assertThat(query).isNotDone();

            // the same click with the Bot Framework's token is accepted: the refusals above were about the token only
            assertThat(invokeResponse(post(click, teams.validToken())).path("statusCode").asInt()).isEqualTo(200);
            assertThat(query.get(20, TimeUnit.SECONDS)).containsExactly("c5@example.com");
        }
    }

    @Test
    void teamsAnswering503OrStallingDelaysNeitherTheHoldNorOtherAgentsAndIsRetriedAndCounted() throws Exception {
        for (String mode : List.of("503", "stall")) {
            if (mode.equals("503")) {
                teams.failStatus = 503;
            } else {
                teams.stall = Duration.ofSeconds(4);
            }
            double retriesBefore = counter("countersign_teams_retries_total", "post", null);
            double failedBefore = counter("countersign_teams_calls_total", "post", "failed");
            String sql = "SELECT email FROM customers WHERE id = 1 AND name <> '" + mode + "'";
            try (Connection c = bot(server); Connection other = Reviewing.connect(server, "other-agent", "other-pw")) {
                long t0 = System.nanoTime();
                CompletableFuture<List<String>> query = async(() -> column(c, sql));
                ApprovalRequest held = awaitPending(server, sql);
                assertThat(millisSince(t0)).as("Teams " + mode + ": the request is pending at once").isLessThan(3_000);

                long t1 = System.nanoTime();
                for (int i = 1; i <= 5; i++) {
                    assertThat(column(other, "SELECT label FROM items WHERE id = " + i)).containsExactly("item " + i);
                }
                assertThat(millisSince(t1)).as("Teams " + mode + ": five queries of another agent").isLessThan(2_500);

                await(() -> !teams.arrived("POST", p -> p.body().toString().contains(held.id())).isEmpty(),
                        "Countersign's post of the card for " + held.id());
                if (mode.equals("503")) {
                    await(() -> teams.arrived("POST", p -> p.body().toString().contains(held.id())).size() == 3,
                            "three attempts (teams.max-attempts)");
                    await(() -> counter("countersign_teams_calls_total", "post", "failed") > failedBefore,
                            "the failure counted in countersign_teams_calls_total{outcome=failed}");
                    assertThat(counter("countersign_teams_retries_total", "post", null)).isGreaterThanOrEqualTo(retriesBefore + 2);
                } else {
                    assertThat(teams.calls("POST", p -> p.body().toString().contains(held.id())))
                            .as("the post is still stalled while the statement is held and other agents run").isEmpty();
                }
                long t2 = System.nanoTime();
                reviewer(server, "alice").approve(held.id(), "Teams is down, approved in the console");
                assertThat(query.get(20, TimeUnit.SECONDS)).containsExactly("c1@example.com");
                assertThat(millisSince(t2)).as("Teams " + mode + ": approval through the API releases at once").isLessThan(3_000);
            }
        }
    }

    // ------------------------------------------------------------ Teams' side

    /** The POST that put a request's card in a channel (answered 201 with the activity id). */
    static LocalTeams.Call posted(String requestId) {
        Supplier<List<LocalTeams.Call>> found = () -> teams.calls("POST", c -> c.status() == 201 && c.cardText().contains(requestId));
        await(() -> !found.get().isEmpty(), "the card announcing " + requestId);
        return found.get().get(0);
    }

    /** Waits for a PUT replacing that card whose text contains {@code text}. */
    static LocalTeams.Call updatedWith(LocalTeams.Call card, String text) {
        String activity = card.body().path("id").asText();
        String path = card.path() + "/" + activity;
        Supplier<List<LocalTeams.Call>> found = () -> teams.calls("PUT", c -> c.status() == 200 && c.path().equals(path)
                && c.cardText().contains(text));
        await(() -> !found.get().isEmpty(), "an update of card " + activity + " containing '" + text + "'; updates: "
                + teams.calls("PUT", c -> c.path().equals(path)).stream().map(c -> c.body().path("summary").asText()).toList());
        List<LocalTeams.Call> calls = found.get();
        assertThat(calls.get(calls.size() - 1).body().path("id").asText()).isEqualTo(activity);
        return calls.get(calls.size() - 1);
    }

    static HttpResponse<String> post(JsonNode activity, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(Reviewing.adminUrl(server) + "/teams/messages"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(15))
                .POST(HttpRequest.BodyPublishers.ofString(activity.toString()));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode invokeResponse(HttpResponse<String> response) throws Exception {
        assertThat(response.statusCode()).as("HTTP status of the invoke: " + response.body()).isEqualTo(200);
        return LocalTeams.JSON.readTree(response.body());
    }

    static double counter(String name, String call, String outcome) {
        var search = server.metrics().find(name).tag("call", call);
        if (outcome != null) {
            search = search.tag("outcome", outcome);
        }
        var counter = search.counter();
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
