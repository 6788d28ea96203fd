package io.countersign.approvals.oidc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jwt.JWTClaimsSet;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.rest.ReviewerAuthenticator;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sign-in endpoints under {@code /auth/}:
 * <pre>
 * GET  /auth/login?return=/console/   starts the authorization code flow with PKCE (S256), state and nonce
 * GET  /auth/callback                 the provider's answer: code for tokens, ID token checked, session cookie set
 * GET  /auth/session                  the signed-in reviewer and the session's CSRF token, or {"signedIn": false}
 * POST /auth/logout                   ends the session (X-CSRF-Token required); answers where to go next
 * GET  /auth/cli                      issuer and client id for 'countersign login'
 * </pre>
 * A sign-in is bound to the browser that started it by a short-lived cookie holding its state, so
 * a link with someone else's code and state cannot sign a victim in as the attacker.
 */
final class OidcHandler implements HttpHandler {

    private static final Logger LOG = LoggerFactory.getLogger(OidcHandler.class);
    static final String LOGIN_COOKIE = "countersign_login";
    private static final Duration LOGIN_TTL = Duration.ofMinutes(10);
    private static final int MAX_PENDING = 10_000;

    private record Pending(String nonce, String verifier, String returnTo, Instant started) {}

    private final Oidc oidc;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();

    OidcHandler(Oidc oidc) {
        this.oidc = oidc;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
        try {
            switch (path) {
                case "/auth/login" -> {
                    if (method.equals("GET")) login(ex); else Http.error(ex, 405, "use GET /auth/login");
                }
                case "/auth/callback" -> {
                    if (method.equals("GET")) callback(ex); else Http.error(ex, 405, "use GET /auth/callback");
                }
                case "/auth/session" -> {
                    if (method.equals("GET")) session(ex); else Http.error(ex, 405, "use GET /auth/session");
                }
                case "/auth/logout" -> {
                    if (method.equals("POST")) logout(ex); else Http.error(ex, 405, "use POST /auth/logout with the X-CSRF-Token header");
                }
                case "/auth/cli" -> {
                    if (method.equals("GET")) cli(ex); else Http.error(ex, 405, "use GET /auth/cli");
                }
                default -> Http.error(ex, 404, "no sign-in endpoint " + path + "; see /auth/login, /auth/session, /auth/logout, /auth/cli");
            }
        } catch (RuntimeException e) {
            LOG.error("OIDC: {} {} failed", method, path, e);
            Http.error(ex, 500, "internal error: " + e + "; see the Countersign log");
        }
    }

    private void login(HttpExchange ex) throws IOException {
        Oidc.Provider p;
        try {
            p = oidc.provider();
        } catch (IOException e) {
            Http.text(ex, 503, "Sign-in is unavailable: " + e.getMessage());
            return;
        }
        String returnTo = safeReturn(Http.query(ex.getRequestURI().getRawQuery()).get("return"));
        Instant now = oidc.clock().instant();
        pending.values().removeIf(x -> now.isAfter(x.started().plus(LOGIN_TTL)));
        if (pending.size() >= MAX_PENDING) {
            Http.text(ex, 503, "Too many sign-ins are under way; try again in a few minutes.");
            return;
        }
        String state = Sessions.random();
        String nonce = Sessions.random();
        String verifier = Sessions.random() + Sessions.random().substring(0, 20); // 63 chars: RFC 7636 allows 43-128
        pending.put(state, new Pending(nonce, verifier, returnTo, now));
        Map<String, String> q = new LinkedHashMap<>();
        q.put("response_type", "code");
        q.put("client_id", oidc.settings().clientId());
        q.put("redirect_uri", oidc.redirectUrl().toString());
        q.put("scope", String.join(" ", oidc.settings().scopes()));
        q.put("state", state);
        q.put("nonce", nonce);
        q.put("code_challenge", challenge(verifier));
        q.put("code_challenge_method", "S256");
        URI auth = p.metadata().authorizationEndpoint();
        ex.getResponseHeaders().add("Set-Cookie", Http.cookie(LOGIN_COOKIE, state, LOGIN_TTL.toSeconds(), oidc.secureCookies()));
        Http.redirect(ex, auth + (auth.getRawQuery() == null ? "?" : "&") + Http.form(q));
    }

    private void callback(HttpExchange ex) throws IOException {
        Map<String, String> q = Http.query(ex.getRequestURI().getRawQuery());
        String state = q.getOrDefault("state", "");
        String bound = Http.cookies(ex).get(LOGIN_COOKIE);
        ex.getResponseHeaders().add("Set-Cookie", Http.cookie(LOGIN_COOKIE, "", 0, oidc.secureCookies()));
        Pending started = state.isEmpty() ? null : pending.remove(state);
        if (started == null || bound == null || !MessageDigest.isEqual(bound.getBytes(StandardCharsets.UTF_8), state.getBytes(StandardCharsets.UTF_8))) {
            Http.text(ex, 400, "Sign-in refused: this answer from the identity provider does not belong to a sign-in started in this"
                    + " browser in the last " + LOGIN_TTL.toMinutes() + " minutes (unknown or reused state).");
            return;
        }
        if (q.containsKey("error")) {
            Http.text(ex, 403, "The identity provider refused the sign-in: " + q.get("error")
                    + (q.containsKey("error_description") ? " (" + q.get("error_description") + ")" : ""));
            return;
        }
        String code = q.get("code");
        if (code == null || code.isBlank()) {
            Http.text(ex, 400, "Sign-in refused: the identity provider's answer has no authorization code.");
            return;
        }
        Oidc.Provider p;
        JsonNode tokens;
        try {
            p = oidc.provider();
            tokens = exchange(p, code, started.verifier());
        } catch (IOException e) {
            Http.text(ex, 502, "Sign-in failed: " + e.getMessage());
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            Http.text(ex, 503, "Sign-in interrupted; try again.");
            return;
        }
        String idToken = tokens.path("id_token").asText("");
        String accessToken = tokens.path("access_token").isTextual() ? tokens.path("access_token").asText() : null;
        JWTClaimsSet claims;
        try {
            claims = p.validator().validate(idToken, started.nonce(), accessToken);
        } catch (TokenRejectedException e) {
            LOG.warn("OIDC: sign-in refused, ID token failed the {} check: {}", e.check(), e.getMessage());
            Http.text(ex, 401, "Sign-in refused: the identity provider's ID token failed the "
                    + e.check().name().toLowerCase(Locale.ROOT).replace('_', ' ') + " check: " + e.getMessage());
            return;
        }
        Reviewer reviewer;
        try {
            reviewer = oidc.identities().reviewer(claims);
        } catch (ReviewerIdentities.RefusedException e) {
            LOG.warn("OIDC: sign-in of subject {} refused: {}", claims.getSubject(), e.getMessage());
            Http.text(ex, 403, "Sign-in refused: " + e.getMessage());
            return;
        }
        String cookie = oidc.sessions().create(reviewer, idToken);
        LOG.info("OIDC: {} ({}) signed in, groups {}", reviewer.name(), reviewer.email(), reviewer.groups());
        ex.getResponseHeaders().add("Set-Cookie", Http.cookie(Oidc.SESSION_COOKIE, cookie, oidc.sessions().ttl().toSeconds(),
                oidc.secureCookies()));
        Http.redirect(ex, started.returnTo());
    }

    private JsonNode exchange(Oidc.Provider p, String code, String verifier) throws IOException, InterruptedException {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "authorization_code");
        form.put("code", code);
        form.put("redirect_uri", oidc.redirectUrl().toString());
        form.put("code_verifier", verifier);
        form.put("client_id", oidc.settings().clientId());
        String basic = Base64.getEncoder().encodeToString((Http.enc(oidc.settings().clientId()) + ":"
                + Http.enc(oidc.settings().clientSecret())).getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> resp = oidc.http().send(HttpRequest.newBuilder(p.metadata().tokenEndpoint())
                .timeout(ProviderMetadata.TIMEOUT)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .header("Authorization", "Basic " + basic)
                .POST(HttpRequest.BodyPublishers.ofString(Http.form(form))).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode body;
        try {
            body = Http.JSON.readTree(resp.body());
        } catch (IOException e) {
            throw new IOException("the provider's token endpoint answered HTTP " + resp.statusCode() + " without JSON");
        }
        if (resp.statusCode() != 200 || !body.path("id_token").isTextual()) {
            throw new IOException("the provider's token endpoint answered HTTP " + resp.statusCode() + ": "
                    + body.path("error").asText("no id_token") + " " + body.path("error_description").asText("")
                    + " (check approvals.oidc.client-id, client-secret and that the redirect URL " + oidc.redirectUrl()
                    + " is registered)");
        }
        return body;
    }

    private void session(HttpExchange ex) throws IOException {
        ObjectNode out = Http.JSON.createObjectNode();
        out.put("oidc", true);
        out.put("loginUrl", "/auth/login");
        String cookie = Http.cookies(ex).get(Oidc.SESSION_COOKIE);
        var s = oidc.sessions().find(cookie);
        if (s.isEmpty()) {
            out.put("signedIn", false);
            Http.json(ex, 200, out);
            return;
        }
        Reviewer r = s.get().reviewer();
        out.put("signedIn", true);
        out.put("name", r.name());
        out.put("email", r.email());
        r.groups().stream().sorted().forEach(out.putArray("groups")::add);
        out.put("auth", "oidc");
        out.put("csrf", s.get().csrf());
        out.put("expires", s.get().expires().toString());
        Http.json(ex, 200, out);
    }

    private void logout(HttpExchange ex) throws IOException {
        String cookie = Http.cookies(ex).get(Oidc.SESSION_COOKIE);
        var s = oidc.sessions().find(cookie);
        if (s.isEmpty()) {
            Http.error(ex, 401, "not signed in (the session has expired or is unknown); nothing to sign out of");
            return;
        }
        String got = ex.getRequestHeaders().getFirst(ReviewerAuthenticator.CSRF_HEADER);
        if (got == null || !MessageDigest.isEqual(got.strip().getBytes(StandardCharsets.UTF_8), s.get().csrf().getBytes(StandardCharsets.UTF_8))) {
            Http.error(ex, 403, "missing or wrong " + ReviewerAuthenticator.CSRF_HEADER + " header: signing out needs the session's CSRF"
                    + " token (GET /auth/session returns it)");
            return;
        }
        oidc.sessions().end(cookie);
        ex.getResponseHeaders().add("Set-Cookie", Http.cookie(Oidc.SESSION_COOKIE, "", 0, oidc.secureCookies()));
        String next = "/console/";
        try {
            var end = oidc.provider().metadata().endSessionEndpoint();
            if (end.isPresent()) {
                URI console = oidc.redirectUrl().resolve("/console/");
                Map<String, String> q = new LinkedHashMap<>();
                q.put("client_id", oidc.settings().clientId());
                q.put("id_token_hint", s.get().idToken());
                q.put("post_logout_redirect_uri", console.toString());
                next = end.get() + (end.get().getRawQuery() == null ? "?" : "&") + Http.form(q);
            }
        } catch (IOException e) {
            LOG.warn("OIDC: signed out locally; the provider's own session stays ({})", e.getMessage());
        }
        LOG.info("OIDC: {} signed out", s.get().reviewer().name());
        Http.json(ex, 200, Http.JSON.createObjectNode().put("signedOut", true).put("redirect", next));
    }

    private void cli(HttpExchange ex) throws IOException {
        ObjectNode out = Http.JSON.createObjectNode();
        out.put("issuer", oidc.settings().issuer().toString());
        out.put("clientId", oidc.settings().cliClientId());
        out.put("scope", String.join(" ", oidc.settings().scopes()));
        out.put("tokensUrl", "/console/#tokens");
        Http.json(ex, 200, out);
    }

    /** Only a path on this server: an absolute or protocol-relative URL would make sign-in an open redirect. */
    static String safeReturn(String r) {
        if (r == null || !r.startsWith("/") || r.startsWith("//") || r.contains("\\") || r.chars().anyMatch(c -> c < 0x20)) {
            return "/console/";
        }
        return r;
    }

    static String challenge(String verifier) {
        byte[] h;
        try {
            h = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(h);
    }
}
