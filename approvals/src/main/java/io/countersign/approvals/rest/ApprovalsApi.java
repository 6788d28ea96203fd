package io.countersign.approvals.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.Channel;
import io.countersign.approvals.DecisionRefusedException;
import io.countersign.approvals.Grant;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerAuth;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.security.MessageDigest;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reviewers' REST API, mounted at {@code /api/} on the admin HTTP server. Every call is
 * authenticated by a {@link ReviewerAuthenticator}: {@code Authorization: Bearer <token>} with a
 * token from the reviewer directory, or (with OIDC) a console session cookie, an ID token or a
 * personal access token. A cookie session must send its CSRF token in {@code X-CSRF-Token} with
 * every state-changing request. Errors are {@code {"error": "..."}} with 400, 401, 403, 404, 405,
 * 409 or 500.
 *
 * <pre>
 * GET    /api/me                          the signed-in reviewer
 * GET    /api/requests?state=&agent=&limit=
 * GET    /api/requests/{id}
 * POST   /api/requests/{id}/approve       {"comment": "..."}
 * POST   /api/requests/{id}/deny          {"comment": "..."}   (comment required)
 * POST   /api/requests/{id}/grant         {"hours": 4}
 * GET    /api/grants?active=true|false
 * DELETE /api/grants/{id}
 * GET    /api/events                      server-sent events of every change
 * </pre>
 * The channel recorded with a decision is {@code api} unless the client sends
 * {@code X-Countersign-Channel: console} or {@code cli}.
 */
public final class ApprovalsApi implements HttpHandler {

    private static final Logger LOG = LoggerFactory.getLogger(ApprovalsApi.class);
    private static final Pattern REQUEST = Pattern.compile("/api/requests/([A-Za-z0-9_-]+)(?:/(approve|deny|grant))?/?");
    private static final Pattern GRANT = Pattern.compile("/api/grants/([A-Za-z0-9_-]+)/?");
    private static final int MAX_BODY = 64 * 1024;

    private final ApprovalService service;
    private final long heartbeatMillis;
    private final ReviewerAuthenticator authenticator;

    public ApprovalsApi(ApprovalService service) {
        this(service, ReviewerAuthenticator.staticTokens(service.reviewers()));
    }

    public ApprovalsApi(ApprovalService service, ReviewerAuthenticator authenticator) {
        this(service, 15_000, authenticator);
    }

    ApprovalsApi(ApprovalService service, long heartbeatMillis) {
        this(service, heartbeatMillis, ReviewerAuthenticator.staticTokens(service.reviewers()));
    }

    ApprovalsApi(ApprovalService service, long heartbeatMillis, ReviewerAuthenticator authenticator) {
        this.service = service;
        this.heartbeatMillis = heartbeatMillis;
        this.authenticator = authenticator;
    }

    /** Mounts the API at {@code /api/} and the console at {@code /console/} on {@code server}. */
    public static void mount(HttpServer server, ApprovalService service) {
        server.createContext("/api/", new ApprovalsApi(service));
        server.createContext("/console", new ConsoleHandler());
    }

    /** A refusal that maps straight to an HTTP status and a message. */
    private static final class ApiError extends RuntimeException {
        final int status;

        ApiError(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        try {
            route(ex);
        } catch (ApiError e) {
            send(ex, e.status, ApprovalJson.error(e.getMessage()));
        } catch (ReviewerAuthenticator.Refused e) {
            if (e.challenge() != null) {
                ex.getResponseHeaders().set("WWW-Authenticate", e.challenge());
            }
            send(ex, e.status(), ApprovalJson.error(e.getMessage()));
        } catch (DecisionRefusedException e) {
            send(ex, e.reason().httpStatus(), ApprovalJson.error(e.getMessage()));
        } catch (StoreException e) {
            LOG.error("approvals API: {}", e.getMessage(), e);
            send(ex, 503, ApprovalJson.error(e.getMessage()));
        } catch (RuntimeException e) {
            LOG.error("approvals API: {} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
            send(ex, 500, ApprovalJson.error("internal error: " + e + "; see the Countersign log"));
        }
    }

    private void route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
        ReviewerAuthenticator.Caller caller = authenticator.authenticate(ex);
        if (caller.csrf() != null && !method.equals("GET") && !method.equals("HEAD")) {
            requireCsrf(ex, caller.csrf());
        }
        Reviewer reviewer = caller.reviewer();
        ReviewerAuth auth = caller.auth();
        Channel channel = channel(ex);
        Map<String, String> query = query(ex.getRequestURI().getRawQuery());

        if (path.equals("/api/me") || path.equals("/api/me/")) {
            requireMethod(method, "GET");
            ObjectNode me = ApprovalJson.MAPPER.createObjectNode();
            me.put("name", reviewer.name());
            me.put("email", reviewer.email());
            reviewer.groups().stream().sorted().forEach(me.putArray("groups")::add);
            me.put("auth", auth.label());
            send(ex, 200, me);
            return;
        }
        if (path.equals("/api/events") || path.equals("/api/events/")) {
            requireMethod(method, "GET");
            new EventStream(ex, service, heartbeatMillis).start();
            return;
        }
        if (path.equals("/api/requests") || path.equals("/api/requests/")) {
            requireMethod(method, "GET");
            RequestState state = state(query.get("state"));
            String agent = blankToNull(query.get("agent"));
            int limit = intParam(query, "limit", 100, 1, 1000);
            ArrayNode out = ApprovalJson.MAPPER.createArrayNode();
            service.requests(state, agent, limit).forEach(r -> out.add(ApprovalJson.request(r)));
            send(ex, 200, out);
            return;
        }
        Matcher m = REQUEST.matcher(path);
        if (m.matches()) {
            String id = m.group(1);
            String action = m.group(2);
            if (action == null) {
                requireMethod(method, "GET");
                ApprovalRequest r = service.request(id).orElseThrow(() -> new ApiError(404,
                        "no approval request with id " + id + "; list requests with GET /api/requests"));
                send(ex, 200, ApprovalJson.request(r));
                return;
            }
            requireMethod(method, "POST");
            JsonNode body = body(ex);
            switch (action) {
                case "approve" -> send(ex, 200, ApprovalJson.request(
                        service.decide(id, reviewer, Verdict.APPROVE, text(body, "comment"), channel, auth)));
                case "deny" -> {
                    String comment = text(body, "comment");
                    if (comment == null || comment.isBlank()) {
                        throw new ApiError(400, "denying request " + id
                                + " needs a comment: send {\"comment\": \"why\"}; the agent's owner reads it");
                    }
                    send(ex, 200, ApprovalJson.request(service.decide(id, reviewer, Verdict.DENY, comment, channel, auth)));
                }
                default -> {
                    JsonNode hours = body.path("hours");
                    if (!hours.isNumber() || hours.asDouble() <= 0) {
                        throw new ApiError(400, "a grant needs {\"hours\": N} with N a positive number of hours");
                    }
                    Duration d = Duration.ofSeconds(Math.round(hours.asDouble() * 3600));
                    Grant g = service.grant(id, reviewer, d, channel, auth);
                    send(ex, 201, ApprovalJson.grant(g));
                }
            }
            return;
        }
        if (path.equals("/api/grants") || path.equals("/api/grants/")) {
            requireMethod(method, "GET");
            boolean activeOnly = !"false".equalsIgnoreCase(query.getOrDefault("active", "true"));
            ArrayNode out = ApprovalJson.MAPPER.createArrayNode();
            service.grants(activeOnly, intParam(query, "limit", 200, 1, 1000)).forEach(g -> out.add(ApprovalJson.grant(g)));
            send(ex, 200, out);
            return;
        }
        Matcher g = GRANT.matcher(path);
        if (g.matches()) {
            requireMethod(method, "DELETE");
            send(ex, 200, ApprovalJson.grant(service.revokeGrant(g.group(1), reviewer)));
            return;
        }
        throw new ApiError(404, "no API endpoint " + method + " " + path
                + "; see /api/requests, /api/requests/{id}[/approve|/deny|/grant], /api/grants[/{id}], /api/events, /api/me");
    }

    /** A browser sends cookies by itself; only our own page can read the CSRF token and echo it in a header. */
    private static void requireCsrf(HttpExchange ex, String expected) {
        String got = ex.getRequestHeaders().getFirst(ReviewerAuthenticator.CSRF_HEADER);
        if (got == null || !MessageDigest.isEqual(got.strip().getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8))) {
            throw new ApiError(403, (got == null ? "missing " : "wrong ") + ReviewerAuthenticator.CSRF_HEADER
                    + " header: a request that changes something, made with the console's session cookie, must carry the session's"
                    + " CSRF token (GET /auth/session returns it)");
        }
    }

    private static Channel channel(HttpExchange ex) {
        String c = ex.getRequestHeaders().getFirst("X-Countersign-Channel");
        if (c == null) {
            return Channel.API;
        }
        return switch (c.trim().toLowerCase(Locale.ROOT)) {
            case "console" -> Channel.CONSOLE;
            case "cli" -> Channel.CLI;
            case "api" -> Channel.API;
            default -> throw new ApiError(400, "X-Countersign-Channel '" + c + "' is not one of console, cli, api");
        };
    }

    private static void requireMethod(String method, String expected) {
        if (!method.equals(expected)) {
            throw new ApiError(405, "method " + method + " is not allowed here; use " + expected);
        }
    }

    private static JsonNode body(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] bytes = in.readNBytes(MAX_BODY + 1);
            if (bytes.length > MAX_BODY) {
                throw new ApiError(400, "request body is larger than " + MAX_BODY + " bytes");
            }
            if (bytes.length == 0) {
                return ApprovalJson.MAPPER.createObjectNode();
            }
            JsonNode n = ApprovalJson.MAPPER.readTree(bytes);
            if (n == null || !n.isObject()) {
                throw new ApiError(400, "request body must be a JSON object, e.g. {\"comment\": \"...\"}");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new ApiError(400, "request body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static String text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new ApiError(400, "'" + field + "' must be a string");
        }
        return v.asText();
    }

    private static RequestState state(String value) {
        if (value == null || value.isBlank() || value.equalsIgnoreCase("all")) {
            return null;
        }
        try {
            return RequestState.valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, "state '" + value + "' is not one of pending, approved, denied, expired, withdrawn, executed,"
                    + " abandoned, all");
        }
    }

    private static int intParam(Map<String, String> q, String name, int dflt, int min, int max) {
        String v = q.get(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ApiError(400, name + " '" + v + "' must be a whole number from " + min + " to " + max);
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.put(k, v);
        }
        return out;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = ApprovalJson.MAPPER.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(status, bytes.length);
        try (var out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
