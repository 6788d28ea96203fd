package io.countersign.approvals.oidc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.countersign.analysis.Category;
import io.countersign.analysis.Finding;
import io.countersign.analysis.SettledBy;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.approvals.ApprovalEvent;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.Channel;
import io.countersign.approvals.HeldRequest;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerAuth;
import io.countersign.approvals.ReviewerDirectory;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.approvals.policy.Tier;
import io.countersign.approvals.rest.ApprovalsApi;
import io.countersign.approvals.store.H2ApprovalStore;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sign-in over HTTP exactly as a browser does it (redirects, cookies), against a real provider
 * (mock-oauth2-server issues the code and the signed ID token), in front of the real approvals API
 * and decision service.
 */
class OidcSignInTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String CLIENT = "countersign-console";
    static final Reviewer ALICE = Reviewer.human("alice", "alice@example.com", "dba");
    static final Reviewer OLIVIA = Reviewer.human("olivia", "olivia@example.com", "dba"); // owns the agent

    static MockOAuth2Server provider;

    @TempDir
    Path dir;
    final TestClock clock = new TestClock();
    H2ApprovalStore store;
    ApprovalService service;
    HttpServer server;
    URI base;
    Oidc oidc;
    final List<ApprovalEvent> events = new CopyOnWriteArrayList<>();
    final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

    @BeforeAll
    static void startProvider() throws Exception {
        provider = new MockOAuth2Server();
        provider.start(java.net.InetAddress.getByName("127.0.0.1"), 0);
    }

    @AfterAll
    static void stopProvider() {
        provider.shutdown();
    }

    @BeforeEach
    void start() throws Exception {
        ReviewerDirectory directory = ReviewerDirectory.builder().reviewer(ALICE, "alice-static-token").reviewer(OLIVIA, "olivia-token")
                .agent("bot").build();
        store = H2ApprovalStore.open(dir.resolve("approvals"));
        service = new ApprovalService(store, directory, new ApprovalService.Options(clock, "test", a -> false, Duration.ofMillis(200),
                Duration.ofDays(7)));
        service.addListener(events::add);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        URI callback = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + OidcSettings.CALLBACK_PATH);
        OidcSettings settings = new OidcSettings(provider.issuerUrl("default").uri(), CLIENT, "s3cret", null, "groups", "email",
                Map.of("okta-db-admins", List.of("dba")), null, "countersign-cli", Duration.ofHours(8));
        oidc = new Oidc(settings, () -> callback, directory, id -> id.equalsIgnoreCase("bot"), dir.resolve("pats.json"), clock);
        server.createContext("/api/", new ApprovalsApi(service, oidc));
        oidc.mount(server::createContext);
        server.start();
        base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.stop(0);
        service.close();
        store.close();
    }

    // ---------------------------------------------------------------- a browser, by hand

    record Reply(int status, String body, Map<String, String> setCookies, String location) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }
    }

    Reply send(String method, String url, Map<String, String> headers, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        headers.forEach(b::header);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        Map<String, String> cookies = new LinkedHashMap<>();
        for (String c : r.headers().allValues("Set-Cookie")) {
            String pair = c.split(";", 2)[0];
            cookies.put(pair.substring(0, pair.indexOf('=')), c);
        }
        return new Reply(r.statusCode(), r.body(), cookies, r.headers().firstValue("Location").orElse(null));
    }

    static String value(String setCookie) {
        String pair = setCookie.split(";", 2)[0];
        return pair.substring(pair.indexOf('=') + 1);
    }

    /** The provider signs {@code email} in with these groups; returns the session cookie header value. */
    String signIn(String subject, Map<String, Object> claims) throws Exception {
        provider.enqueueCallback(new DefaultOAuth2TokenCallback("default", subject, "JWT", List.of(CLIENT), claims, 3600));
        Reply login = send("GET", base + "/auth/login?return=/console/%23apr_1", Map.of(), null);
        assertThat(login.status()).isEqualTo(302);
        assertThat(login.location()).startsWith(provider.authorizationEndpointUrl("default").toString())
                .contains("code_challenge_method=S256").contains("code_challenge=").contains("nonce=").contains("state=");
        String loginCookie = login.setCookies().get(OidcHandler.LOGIN_COOKIE);
        assertThat(loginCookie).contains("HttpOnly").contains("SameSite=Lax");
        Reply authorize = send("GET", login.location(), Map.of(), null); // the provider signs the user in and sends them back
        assertThat(authorize.status()).isEqualTo(302);
        assertThat(authorize.location()).startsWith(base + "/auth/callback?code=");
        Reply callback = send("GET", authorize.location(), Map.of("Cookie", OidcHandler.LOGIN_COOKIE + "=" + value(loginCookie)), null);
        if (callback.status() != 302) {
            return "refused " + callback.status() + ": " + callback.body();
        }
        assertThat(callback.location()).isEqualTo("/console/#apr_1");
        String session = callback.setCookies().get(Oidc.SESSION_COOKIE);
        assertThat(session).contains("HttpOnly").contains("SameSite=Lax").contains("Path=/").doesNotContain("Secure");
        return Oidc.SESSION_COOKIE + "=" + value(session);
    }

    JsonNode session(String cookie) throws Exception {
        return send("GET", base + "/auth/session", Map.of("Cookie", cookie), null).json();
    }

    HeldRequest holdEmail() {
        StatementAnalysis a = new StatementAnalysis("SELECT email FROM customers WHERE id = $1", "SELECT email FROM customers WHERE id = ?",
                "SELECT", Set.of("public.customers"), Set.of(), Set.of("public.customers.email"), Set.of(), Set.of(),
                List.of(new Finding(Category.SENSITIVE_READ, "reads sensitive column public.customers.email")), SettledBy.CALCITE);
        return service.hold(new StatementFacts("bot", Set.of("bots"), "olivia@example.com", "shop", List.of(a)),
                new PolicyDecision.Hold("sensitive", Tier.HIGH, "dba", 1, Duration.ofMinutes(5), Duration.ofHours(1),
                        List.of("SENSITIVE_READ: reads sensitive column public.customers.email")),
                "SELECT email FROM customers WHERE id = $1", List.of("42"), "10.0.0.7:51234");
    }

    static final Map<String, Object> ALICE_CLAIMS = Map.of("email", "alice@example.com", "groups", List.of("okta-db-admins", "everyone"));

    // ---------------------------------------------------------------- tests

    @Test
    void aReviewerSignedInWithTheProviderApprovesWithTheSessionAndItsCsrfToken() throws Exception {
        String cookie = signIn("00u-alice", ALICE_CLAIMS);
        JsonNode s = session(cookie);
        assertThat(s.path("signedIn").asBoolean()).isTrue();
        assertThat(s.path("name").asText()).as("linked to the directory by e-mail").isEqualTo("alice");
        assertThat(s.path("groups").toString()).isEqualTo("[\"dba\"]");
        String csrf = s.path("csrf").asText();
        assertThat(csrf).hasSizeGreaterThan(30);
        assertThat(send("GET", base + "/api/me", Map.of("Cookie", cookie), null).json().path("auth").asText()).isEqualTo("oidc");

        HeldRequest held = holdEmail();
        Reply ok = send("POST", base + "/api/requests/" + held.request().id() + "/approve",
                Map.of("Cookie", cookie, "X-CSRF-Token", csrf, "X-Countersign-Channel", "console"), "{\"comment\":\"ok\"}");
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(ok.json().path("state").asText()).isEqualTo("approved");
        assertThat(ok.json().path("decisions").get(0).path("auth").asText()).isEqualTo("oidc");
        assertThat(events).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(ApprovalEvent.DecisionRecorded.class, d -> {
            assertThat(d.decision().reviewer()).isEqualTo("alice");
            assertThat(d.decision().auth()).isEqualTo(ReviewerAuth.OIDC);
            assertThat(d.decision().channel()).isEqualTo(Channel.CONSOLE);
        }));
        assertThat(service.request(held.request().id()).orElseThrow().decisions().get(0).auth())
                .as("kept by the store").isEqualTo(ReviewerAuth.OIDC);
    }

    @Test
    void aStateChangingRequestWithoutTheCsrfTokenIsRefused() throws Exception {
        String cookie = signIn("00u-alice", ALICE_CLAIMS);
        HeldRequest held = holdEmail();
        String approve = base + "/api/requests/" + held.request().id() + "/approve";
        Reply none = send("POST", approve, Map.of("Cookie", cookie), "{}");
        assertThat(none.status()).isEqualTo(403);
        assertThat(none.json().path("error").asText()).contains("missing X-CSRF-Token");
        Reply wrong = send("POST", approve, Map.of("Cookie", cookie, "X-CSRF-Token", "guessed"), "{}");
        assertThat(wrong.status()).isEqualTo(403);
        assertThat(wrong.json().path("error").asText()).contains("wrong X-CSRF-Token");
        Reply logout = send("POST", base + "/auth/logout", Map.of("Cookie", cookie), null);
        assertThat(logout.status()).isEqualTo(403);
        assertThat(service.request(held.request().id()).orElseThrow().state()).isEqualTo(RequestState.PENDING);
        assertThat(send("GET", base + "/api/requests?state=pending", Map.of("Cookie", cookie), null).status())
                .as("reading needs no CSRF token").isEqualTo(200);
    }

    @Test
    void anExpiredSessionAndAForgedCookieAreRefused() throws Exception {
        String cookie = signIn("00u-alice", ALICE_CLAIMS);
        assertThat(send("GET", base + "/api/me", Map.of("Cookie", cookie), null).status()).isEqualTo(200);
        Reply forged = send("GET", base + "/api/me", Map.of("Cookie", Oidc.SESSION_COOKIE + "=" + Sessions.random()), null);
        assertThat(forged.status()).isEqualTo(401);
        assertThat(forged.json().path("error").asText()).contains("session has expired or is not known");
        assertThat(session(Oidc.SESSION_COOKIE + "=forged").path("signedIn").asBoolean()).isFalse();

        clock.advance(Duration.ofHours(8).plusSeconds(1));
        Reply expired = send("GET", base + "/api/me", Map.of("Cookie", cookie), null);
        assertThat(expired.status()).isEqualTo(401);
        assertThat(session(cookie).path("signedIn").asBoolean()).isFalse();
    }

    @Test
    void aReviewerWhoseGroupsClaimLacksTheRulesGroupIsRefused() throws Exception {
        String cookie = signIn("00u-sam", Map.of("email", "sam@example.com", "groups", List.of("support")));
        JsonNode s = session(cookie);
        assertThat(s.path("groups").size()).as("'support' maps to no policy group").isZero();
        HeldRequest held = holdEmail();
        Reply r = send("POST", base + "/api/requests/" + held.request().id() + "/approve",
                Map.of("Cookie", cookie, "X-CSRF-Token", s.path("csrf").asText()), "{}");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.json().path("error").asText()).contains("not in group 'dba'");
        assertThat(service.request(held.request().id()).orElseThrow().state()).isEqualTo(RequestState.PENDING);
    }

    @Test
    void anAgentIdentityCannotSignInAndTheOwnerCannotDecideOnTheirAgent() throws Exception {
        String agent = signIn("bot", Map.of("email", "bot-service@example.com", "groups", List.of("okta-db-admins")));
        assertThat(agent).startsWith("refused 403").contains("'bot' is an agent identity");

        String owner = signIn("00u-olivia", Map.of("email", "olivia@example.com", "groups", List.of("okta-db-admins")));
        HeldRequest held = holdEmail();
        Reply r = send("POST", base + "/api/requests/" + held.request().id() + "/approve",
                Map.of("Cookie", owner, "X-CSRF-Token", session(owner).path("csrf").asText()), "{}");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.json().path("error").asText()).contains("owns agent bot");
    }

    @Test
    void aCallbackNotStartedInThisBrowserIsRefused() throws Exception {
        provider.enqueueCallback(new DefaultOAuth2TokenCallback("default", "00u-mallory", "JWT", List.of(CLIENT),
                Map.of("email", "mallory@example.com"), 3600));
        Reply login = send("GET", base + "/auth/login", Map.of(), null);
        Reply authorize = send("GET", login.location(), Map.of(), null);
        // the attacker's callback link, opened in a browser that did not start this sign-in
        Reply victim = send("GET", authorize.location(), Map.of(), null);
        assertThat(victim.status()).isEqualTo(400);
        assertThat(victim.body()).contains("does not belong to a sign-in started in this browser");
        assertThat(victim.setCookies()).doesNotContainKey(Oidc.SESSION_COOKIE);
        assertThat(send("GET", base + "/auth/login?return=https://evil.example/", Map.of(), null).location())
                .as("no open redirect").isNotNull();
        assertThat(OidcHandler.safeReturn("https://evil.example/")).isEqualTo("/console/");
        assertThat(OidcHandler.safeReturn("//evil.example/")).isEqualTo("/console/");
    }

    @Test
    void logoutEndsTheSessionAndSendsTheBrowserToTheProvider() throws Exception {
        String cookie = signIn("00u-alice", ALICE_CLAIMS);
        Reply out = send("POST", base + "/auth/logout", Map.of("Cookie", cookie, "X-CSRF-Token", session(cookie).path("csrf").asText()), null);
        assertThat(out.status()).isEqualTo(200);
        assertThat(out.json().path("redirect").asText()).startsWith(provider.endSessionEndpointUrl("default").toString())
                .contains("id_token_hint=").contains("post_logout_redirect_uri=");
        assertThat(out.setCookies().get(Oidc.SESSION_COOKIE)).contains("Max-Age=0");
        assertThat(send("GET", base + "/api/me", Map.of("Cookie", cookie), null).status()).isEqualTo(401);
    }

    @Test
    void personalAccessTokensAreMintedInASessionKeptHashedUsableAsBearerAndRevocable() throws Exception {
        String cookie = signIn("00u-alice", ALICE_CLAIMS);
        String csrf = session(cookie).path("csrf").asText();
        Reply minted = send("POST", base + "/api/tokens", Map.of("Cookie", cookie, "X-CSRF-Token", csrf), "{\"label\":\"laptop\",\"days\":30}");
        assertThat(minted.status()).as(minted.body()).isEqualTo(201);
        String token = minted.json().path("token").asText();
        assertThat(token).startsWith("csp_");

        Path file = dir.resolve("pats.json");
        assertThat(Files.readString(file)).doesNotContain(token).contains("laptop");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");

        JsonNode me = send("GET", base + "/api/me", Map.of("Authorization", "Bearer " + token), null).json();
        assertThat(me.path("name").asText()).isEqualTo("alice");
        assertThat(me.path("auth").asText()).isEqualTo("personal-access-token");
        HeldRequest held = holdEmail();
        Reply ok = send("POST", base + "/api/requests/" + held.request().id() + "/approve", Map.of("Authorization", "Bearer " + token), "{}");
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(ok.json().path("decisions").get(0).path("auth").asText()).isEqualTo("personal-access-token");

        Reply chained = send("POST", base + "/api/tokens", Map.of("Authorization", "Bearer " + token), "{}");
        assertThat(chained.status()).as("a token cannot mint tokens").isEqualTo(403);
        assertThat(send("POST", base + "/api/tokens", Map.of("Authorization", "Bearer alice-static-token"), "{}").status()).isEqualTo(403);
        assertThat(send("POST", base + "/api/tokens", Map.of("Cookie", cookie), "{}").status()).as("CSRF").isEqualTo(403);

        String id = minted.json().path("id").asText();
        assertThat(send("DELETE", base + "/api/tokens/" + id, Map.of("Cookie", cookie, "X-CSRF-Token", csrf), null).status()).isEqualTo(200);
        Reply revoked = send("GET", base + "/api/me", Map.of("Authorization", "Bearer " + token), null);
        assertThat(revoked.status()).isEqualTo(401);
        assertThat(revoked.json().path("error").asText()).contains("unknown, expired or revoked");
        // and across a restart, from the file
        assertThat(PersonalAccessTokens.open(file, clock).authenticate(token)).isEmpty();
    }

    @Test
    void staticTokensAndProviderIdTokensWorkAsBearerAndDecisionsSayWhich() throws Exception {
        HeldRequest first = holdEmail();
        Reply byStatic = send("POST", base + "/api/requests/" + first.request().id() + "/approve",
                Map.of("Authorization", "Bearer alice-static-token"), "{}");
        assertThat(byStatic.json().path("decisions").get(0).path("auth").asText()).isEqualTo("static-token");

        String idToken = provider.issueToken("default", "00u-alice", "countersign-cli", ALICE_CLAIMS).serialize();
        JsonNode me = send("GET", base + "/api/me", Map.of("Authorization", "Bearer " + idToken), null).json();
        assertThat(me.path("name").asText()).isEqualTo("alice");
        assertThat(me.path("auth").asText()).isEqualTo("oidc");
        String foreign = provider.issueToken("default", "00u-alice", "another-app", ALICE_CLAIMS).serialize();
        Reply refused = send("GET", base + "/api/me", Map.of("Authorization", "Bearer " + foreign), null);
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.json().path("error").asText()).contains("audience");
        Reply nothing = send("GET", base + "/api/me", Map.of(), null);
        assertThat(nothing.status()).isEqualTo(401);
        assertThat(service.decide(holdEmail().request().id(), ALICE, Verdict.APPROVE, "", Channel.SLACK).decisions().get(0).auth())
                .isEqualTo(ReviewerAuth.CHAT_IDENTITY);
    }

    @Test
    void theCliLearnsWhereToSignIn() throws Exception {
        JsonNode cli = send("GET", base + "/auth/cli", Map.of(), null).json();
        assertThat(cli.path("issuer").asText()).isEqualTo(provider.issuerUrl("default").toString());
        assertThat(cli.path("clientId").asText()).isEqualTo("countersign-cli");
        List<String> scopes = new ArrayList<>(List.of(cli.path("scope").asText().split(" ")));
        assertThat(scopes).contains("openid", "email");
    }
}
