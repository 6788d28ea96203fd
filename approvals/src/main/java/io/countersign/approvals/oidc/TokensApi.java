package io.countersign.approvals.oidc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.countersign.approvals.ReviewerAuth;
import io.countersign.approvals.rest.ReviewerAuthenticator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Personal access tokens of the signed-in reviewer, for the console's Tokens tab:
 * <pre>
 * GET    /api/tokens              the reviewer's tokens (never the tokens themselves)
 * POST   /api/tokens              {"label": "laptop", "days": 90} mints one; the answer shows it once
 * DELETE /api/tokens/{id}         revokes one
 * </pre>
 * Only a console session signed in with the provider may mint (a token cannot mint more tokens,
 * nor can a static token); POST and DELETE need the session's CSRF token.
 */
final class TokensApi implements HttpHandler {

    private static final Pattern ONE = Pattern.compile("/api/tokens/([A-Za-z0-9_-]+)/?");

    private final Oidc oidc;

    TokensApi(Oidc oidc) {
        this.oidc = oidc;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
        ReviewerAuthenticator.Caller caller;
        try {
            caller = oidc.authenticate(ex);
        } catch (ReviewerAuthenticator.Refused e) {
            if (e.challenge() != null) {
                ex.getResponseHeaders().set("WWW-Authenticate", e.challenge());
            }
            Http.error(ex, e.status(), e.getMessage());
            return;
        }
        if (caller.auth() != ReviewerAuth.OIDC || caller.csrf() == null) {
            Http.error(ex, 403, "personal access tokens are managed in the console by a reviewer signed in with the identity provider;"
                    + " a " + caller.auth().label() + " cannot list, mint or revoke them");
            return;
        }
        if (!method.equals("GET")) {
            String got = ex.getRequestHeaders().getFirst(ReviewerAuthenticator.CSRF_HEADER);
            if (got == null || !MessageDigest.isEqual(got.strip().getBytes(StandardCharsets.UTF_8), caller.csrf().getBytes(StandardCharsets.UTF_8))) {
                Http.error(ex, 403, (got == null ? "missing " : "wrong ") + ReviewerAuthenticator.CSRF_HEADER
                        + " header: minting or revoking a token needs the session's CSRF token (GET /auth/session returns it)");
                return;
            }
        }
        String who = caller.reviewer().name();
        if (path.equals("/api/tokens") || path.equals("/api/tokens/")) {
            switch (method) {
                case "GET" -> {
                    ArrayNode out = Http.JSON.createArrayNode();
                    oidc.tokens().of(who).forEach(p -> out.add(json(p)));
                    Http.json(ex, 200, out);
                }
                case "POST" -> {
                    JsonNode body = body(ex);
                    if (body == null) {
                        Http.error(ex, 400, "send a JSON object: {\"label\": \"laptop\", \"days\": 90}");
                        return;
                    }
                    JsonNode days = body.path("days");
                    long d = days.isMissingNode() || days.isNull() ? 90 : days.isIntegralNumber() ? days.asLong() : -1;
                    if (d < 1 || d > 365) {
                        Http.error(ex, 400, "'days' must be a whole number from 1 to 365 (default 90)");
                        return;
                    }
                    var minted = oidc.tokens().mint(caller.reviewer(), body.path("label").asText("token"), Duration.ofDays(d));
                    ObjectNode out = json(minted.pat());
                    out.put("token", minted.token());
                    Http.json(ex, 201, out);
                }
                default -> Http.error(ex, 405, "use GET or POST on /api/tokens");
            }
            return;
        }
        Matcher m = ONE.matcher(path);
        if (m.matches() && method.equals("DELETE")) {
            var revoked = oidc.tokens().revoke(m.group(1), who);
            if (revoked.isEmpty()) {
                Http.error(ex, 404, "you have no personal access token " + m.group(1) + "; list yours with GET /api/tokens");
            } else {
                Http.json(ex, 200, json(revoked.get()));
            }
            return;
        }
        Http.error(ex, m.matches() ? 405 : 404, "use GET/POST /api/tokens or DELETE /api/tokens/{id}");
    }

    private static ObjectNode json(PersonalAccessTokens.Pat p) {
        ObjectNode n = Http.JSON.createObjectNode();
        n.put("id", p.id());
        n.put("label", p.label());
        n.put("reviewer", p.reviewer());
        n.put("created", p.created().toString());
        n.put("expires", p.expires().toString());
        n.put("revoked", p.revoked() == null ? null : p.revoked().toString());
        return n;
    }

    private static JsonNode body(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] b = in.readNBytes(16 * 1024 + 1);
            if (b.length > 16 * 1024) {
                return null;
            }
            if (b.length == 0) {
                return Http.JSON.createObjectNode();
            }
            JsonNode n = Http.JSON.readTree(b);
            return n != null && n.isObject() ? n : null;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null;
        }
    }
}
