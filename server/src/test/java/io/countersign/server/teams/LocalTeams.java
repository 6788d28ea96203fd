package io.countersign.server.teams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Stands in for Microsoft's side of Teams (the one third-party service these tests replace): the
 * Entra token endpoint (client credentials), the Bot Framework's OpenID metadata and JWKS (with the
 * test's own signing key, which {@link #sign} uses the way the Bot Framework signs the activities
 * it posts to a bot), the Bot Connector's conversation activities (POST, PUT) and member lookup,
 * and Workflows webhooks. Records every call with what it answered; can answer 503 or stall.
 */
final class LocalTeams implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String ISSUER = "https://api.botframework.com";
    static final String KEY_ID = "countersign-test-key";

    /** One call: method, path (decoded), the bearer token it carried, its JSON body, and the status answered. */
    record Call(String method, String path, String authorization, JsonNode body, int status) {
        /** For connector calls: the conversation id in the path. */
        String conversation() {
            String[] parts = path.split("/");
            return parts.length > 4 ? parts[4] : "";
        }

        /** The Adaptive Card in an activity or webhook message. */
        JsonNode card() {
            return body.path("attachments").path(0).path("content");
        }

        String cardText() {
            return card().toString();
        }
    }

    /** A Teams user: Teams id, AAD object id, and the e-mail the connector reports for them. */
    record User(String id, String aadObjectId, String name, String email) {}

    final String appId;
    final String appPassword;
    final RSAKey key;
    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final List<Call> arrived = new CopyOnWriteArrayList<>();
    private final Set<String> issuedTokens = ConcurrentHashMap.newKeySet();
    private final Map<String, User> users = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    /** When set, connector and webhook calls (not the token endpoint or keys) answer this status. */
    volatile int failStatus;
    volatile Duration stall = Duration.ZERO;

    LocalTeams(String appId, String appPassword) throws Exception {
        this.appId = appId;
        this.appPassword = appPassword;
        this.key = new RSAKeyGenerator(2048).keyID(KEY_ID).generate();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(executor);
        server.start();
    }

    String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    String tokenUrl() {
        return base() + "/botframework.com/oauth2/v2.0/token";
    }

    String openIdMetadataUrl() {
        return base() + "/v1/.well-known/openidconfiguration";
    }

    /** The Bot Connector's base URL, as activities carry it in {@code serviceUrl}. */
    String serviceUrl() {
        return base() + "/amer/";
    }

    String webhookUrl(String name) {
        return base() + "/webhookb2/" + name;
    }

    LocalTeams user(User user) {
        users.put(user.id(), user);
        return this;
    }

    List<Call> calls(String method, Predicate<Call> filter) {
        return calls.stream().filter(c -> c.method().equals(method) && filter.test(c)).toList();
    }

    List<Call> arrived(String method, Predicate<Call> filter) {
        return arrived.stream().filter(c -> c.method().equals(method) && filter.test(c)).toList();
    }

    // ------------------------------------------------------------ the Bot Framework's side of an activity

    /** A token as the Bot Framework sends with each activity, signed with {@code signer}. */
    String sign(RSAKey signer, String audience, String serviceUrl, Instant expires) throws JOSEException {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(ISSUER).audience(audience).expirationTime(Date.from(expires))
                .notBeforeTime(Date.from(Instant.now().minusSeconds(60))).claim("serviceUrl", serviceUrl).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(signer.getKeyID()).type(JOSEObjectType.JWT)
                .build(), claims);
        jwt.sign(new RSASSASigner(signer));
        return jwt.serialize();
    }

    /** The token the real Bot Framework would send: this JWKS's key, our app id, this connector, valid for 5 minutes. */
    String validToken() throws JOSEException {
        return sign(key, appId, serviceUrl(), Instant.now().plusSeconds(300));
    }

    /** An {@code adaptiveCard/action} invoke: a click on Approve, or Deny with the reason typed in. */
    ObjectNode invoke(User from, String verb, String requestId, String reason, Call card) {
        ObjectNode a = JSON.createObjectNode().put("type", "invoke").put("name", "adaptiveCard/action")
                .put("id", "f:" + System.nanoTime()).put("timestamp", Instant.now().toString()).put("serviceUrl", serviceUrl())
                .put("channelId", "msteams").put("locale", "en-US").put("replyToId", card.body().path("id").asText());
        a.putObject("from").put("id", from.id()).put("name", from.name()).put("aadObjectId", from.aadObjectId());
        a.putObject("conversation").put("isGroup", true).put("conversationType", "channel").put("tenantId", "tenant-acme")
                .put("id", card.conversation());
        a.putObject("recipient").put("id", "28:" + appId).put("name", "Countersign");
        ObjectNode action = a.putObject("value").put("trigger", "manual").putObject("action").put("type", "Action.Execute")
                .put("verb", verb);
        ObjectNode data = action.putObject("data").put("requestId", requestId);
        if (reason != null) {
            data.put("reason", reason);
        }
        ObjectNode channelData = a.putObject("channelData");
        channelData.putObject("tenant").put("id", "tenant-acme");
        channelData.putObject("channel").put("id", card.conversation());
        return a;
    }

    // ------------------------------------------------------------ serving

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            String text = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (path.equals("/botframework.com/oauth2/v2.0/token")) {
                token(ex, text);
                return;
            }
            if (path.equals("/v1/.well-known/openidconfiguration")) {
                ObjectNode meta = JSON.createObjectNode().put("issuer", ISSUER).put("authorization_endpoint", "https://invalid.example/")
                        .put("jwks_uri", base() + "/v1/.well-known/keys");
                meta.putArray("id_token_signing_alg_values_supported").add("RS256");
                meta.putArray("token_endpoint_auth_methods_supported").add("private_key_jwt");
                send(ex, 200, meta.toString());
                return;
            }
            if (path.equals("/v1/.well-known/keys")) {
                ObjectNode jwk = JSON.valueToTree(key.toPublicJWK().toJSONObject());
                jwk.putArray("endorsements").add("msteams").add("webchat");
                ObjectNode set = JSON.createObjectNode();
                set.putArray("keys").add(jwk);
                send(ex, 200, set.toString());
                return;
            }
            JsonNode body = text.isBlank() ? JSON.createObjectNode() : JSON.readTree(text);
            arrived.add(new Call(method, path, auth, body, 0));
            if (!stall.isZero()) {
                try {
                    Thread.sleep(stall.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (failStatus != 0) {
                calls.add(new Call(method, path, auth, body, failStatus));
                send(ex, failStatus, "{\"error\":{\"code\":\"ServiceError\",\"message\":\"unavailable\"}}");
                return;
            }
            if (path.startsWith("/webhookb2/")) {
                calls.add(new Call(method, path, auth, body, 202));
                send(ex, 202, "");
                return;
            }
            if (!path.startsWith("/amer/v3/conversations/")) {
                send(ex, 404, "{\"error\":{\"code\":\"NotFound\"}}");
                return;
            }
            if (auth == null || !auth.startsWith("Bearer ") || !issuedTokens.contains(auth.substring(7))) {
                calls.add(new Call(method, path, auth, body, 401));
                send(ex, 401, "{\"message\":\"Authorization has been denied for this request.\"}");
                return;
            }
            String[] parts = path.split("/");   // "", amer, v3, conversations, {conv}, activities|members, [id]
            if (method.equals("POST") && parts.length == 6 && parts[5].equals("activities")) {
                String id = "1764" + String.format("%09d", ids.incrementAndGet());
                ((ObjectNode) body).put("id", id);
                calls.add(new Call(method, path, auth, body, 201));
                send(ex, 201, JSON.createObjectNode().put("id", id).toString());
            } else if (method.equals("PUT") && parts.length == 7 && parts[5].equals("activities")) {
                calls.add(new Call(method, path, auth, body, 200));
                send(ex, 200, JSON.createObjectNode().put("id", parts[6]).toString());
            } else if (method.equals("GET") && parts.length == 7 && parts[5].equals("members")) {
                User u = users.get(parts[6]);
                calls.add(new Call(method, path, auth, body, u == null ? 404 : 200));
                if (u == null) {
                    send(ex, 404, "{\"error\":{\"code\":\"MemberNotFoundInConversation\",\"message\":\"not a member\"}}");
                } else {
                    send(ex, 200, JSON.createObjectNode().put("id", u.id()).put("name", u.name()).put("aadObjectId", u.aadObjectId())
                            .put("email", u.email()).put("userPrincipalName", u.email()).put("tenantId", "tenant-acme")
                            .put("userRole", "user").toString());
                }
            } else {
                send(ex, 405, "{\"error\":{\"code\":\"BadArgument\"}}");
            }
        }
    }

    private void token(HttpExchange ex, String form) throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        for (String pair : form.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                p.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        if (!"client_credentials".equals(p.get("grant_type")) || !appId.equals(p.get("client_id"))
                || !appPassword.equals(p.get("client_secret")) || !"https://api.botframework.com/.default".equals(p.get("scope"))) {
            send(ex, 401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}");
            return;
        }
        String token = "bot-token-" + ids.incrementAndGet();
        issuedTokens.add(token);
        send(ex, 200, JSON.createObjectNode().put("token_type", "Bearer").put("expires_in", 3599).put("ext_expires_in", 3599)
                .put("access_token", token).toString());
    }

    private static void send(HttpExchange ex, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** Every Action.Execute verb in a card (including those inside a ShowCard). */
    static List<String> verbs(JsonNode card) {
        return card.findValuesAsText("verb");
    }

    static ArrayNode actions(JsonNode card) {
        return (ArrayNode) card.path("actions");
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
