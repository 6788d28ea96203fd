package io.countersign.approvals.teams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Outgoing HTTP to Teams: the Bot Connector (with the bot's own token from the token endpoint) and
 * webhooks. Every call runs on this class's two threads, is retried with exponential backoff when
 * Teams is slow, down or throttling, and is counted:
 * {@code countersign_teams_calls_total{call, outcome=ok|failed|dropped}} and
 * {@code countersign_teams_retries_total{call}}. Callers get a future and never wait on Teams. At
 * most {@link TeamsSettings#maxQueued()} calls wait; more are dropped and counted, so an outage
 * cannot grow memory without bound.
 */
public final class TeamsApi implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TeamsApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** A token is renewed this long before it expires. */
    private static final Duration TOKEN_MARGIN = Duration.ofMinutes(5);

    /** A call that Teams refused, or that failed every attempt; already logged and counted. */
    public static final class TeamsCallFailed extends RuntimeException {
        private final int status;

        TeamsCallFailed(String call, String error, int status, Throwable cause) {
            super("Teams " + call + " failed: " + error, cause);
            this.status = status;
        }

        /** The HTTP status Teams answered with, or 0 when none came. */
        public int status() {
            return status;
        }
    }

    /** A request to make; {@code bot} adds the bot's bearer token. */
    record Call(String name, String method, URI uri, String jsonBody, boolean bot) {}

    private record Token(String value, Instant renewAt) {}

    private final TeamsSettings settings;
    private final MeterRegistry registry;
    private final HttpClient http;
    private final ScheduledThreadPoolExecutor executor;
    private final AtomicInteger queued = new AtomicInteger();
    private volatile Token token;

    public TeamsApi(TeamsSettings settings, MeterRegistry registry) {
        this.settings = settings;
        this.registry = registry;
        this.http = HttpClient.newBuilder().connectTimeout(settings.callTimeout()).followRedirects(HttpClient.Redirect.NEVER).build();
        AtomicInteger n = new AtomicInteger();
        this.executor = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "teams-api-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
    }

    public TeamsSettings settings() {
        return settings;
    }

    Executor executor() {
        return executor;
    }

    /** Runs {@code task} once after {@code delay} on the Teams threads (dropped when closed). */
    void schedule(Runnable task, Duration delay) {
        try {
            executor.schedule(task, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closed) {
            // shutting down
        }
    }

    /** POSTs an activity to a conversation; the answer carries the new activity's {@code id}. */
    public CompletableFuture<JsonNode> postActivity(String serviceUrl, String conversationId, JsonNode activity) {
        return call(new Call("post", "POST", connector(serviceUrl, "v3/conversations/" + enc(conversationId) + "/activities"),
                activity.toString(), true));
    }

    /** Replaces an earlier activity (the card) with {@code activity}. */
    public CompletableFuture<JsonNode> updateActivity(String serviceUrl, String conversationId, String activityId, JsonNode activity) {
        return call(new Call("update", "PUT", connector(serviceUrl, "v3/conversations/" + enc(conversationId) + "/activities/"
                + enc(activityId)), activity.toString(), true));
    }

    /** One member of a conversation: its {@code email}, {@code userPrincipalName} and {@code aadObjectId}. */
    public CompletableFuture<JsonNode> member(String serviceUrl, String conversationId, String userId) {
        return call(new Call("member", "GET", connector(serviceUrl, "v3/conversations/" + enc(conversationId) + "/members/"
                + enc(userId)), null, true));
    }

    public CompletableFuture<JsonNode> postWebhook(String url, JsonNode message) {
        return call(new Call("webhook", "POST", URI.create(url), message.toString(), false));
    }

    CompletableFuture<JsonNode> call(Call call) {
        CompletableFuture<JsonNode> result = new CompletableFuture<>();
        if (queued.incrementAndGet() > settings.maxQueued()) {
            queued.decrementAndGet();
            count(call.name(), "dropped");
            LOG.warn("teams: {} dropped: {} calls already wait for Teams (teams.max-queued)", call.name(), settings.maxQueued());
            result.completeExceptionally(new TeamsCallFailed(call.name(), "too many calls waiting for Teams", 0, null));
            return result;
        }
        result.whenComplete((r, e) -> queued.decrementAndGet());
        attempt(call, 1, result);
        return result;
    }

    private void attempt(Call call, int attempt, CompletableFuture<JsonNode> result) {
        try {
            executor.execute(() -> {
                String error;
                int status = 0;
                Throwable cause = null;
                boolean retry;
                try {
                    HttpResponse<String> response = http.send(request(call), HttpResponse.BodyHandlers.ofString());
                    status = response.statusCode();
                    if (status / 100 == 2) {
                        count(call.name(), "ok");
                        String body = response.body();
                        result.complete(body == null || body.isBlank() ? JSON.createObjectNode() : readOrEmpty(body));
                        return;
                    }
                    if (status == 401 && call.bot()) {
                        token = null;   // expired or revoked early: the next attempt gets a new one
                    }
                    error = "HTTP " + status;
                    retry = status == 429 || status >= 500 || (status == 401 && call.bot() && attempt == 1);
                } catch (IOException e) {
                    error = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
                    cause = e;
                    retry = true;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    error = "interrupted";
                    cause = e;
                    retry = false;
                } catch (RuntimeException e) {
                    error = e.getMessage() == null ? e.toString() : e.getMessage();
                    cause = e;
                    retry = e instanceof TokenUnavailable;
                }
                if (retry && attempt < settings.maxAttempts() && !executor.isShutdown()) {
                    long delay = backoff(attempt);
                    Counter.builder("countersign_teams_retries_total").description("Teams HTTP calls attempted again after a failure")
                            .tag("call", call.name()).register(registry).increment();
                    LOG.debug("teams: {} attempt {} failed ({}); retrying in {} ms", call.name(), attempt, error, delay);
                    try {
                        executor.schedule(() -> attempt(call, attempt + 1, result), delay, TimeUnit.MILLISECONDS);
                        return;
                    } catch (RejectedExecutionException closed) {
                        // fall through: closing
                    }
                }
                fail(call.name(), error + (retry ? " after " + attempt + " attempts" : ""), status, cause, result);
            });
        } catch (RejectedExecutionException closed) {
            result.completeExceptionally(new TeamsCallFailed(call.name(), "Countersign's Teams client is closed", 0, closed));
        }
    }

    private HttpRequest request(Call call) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(call.uri()).timeout(settings.callTimeout()).header("Accept", "application/json");
        if (call.bot()) {
            b.header("Authorization", "Bearer " + token());
        }
        if (call.jsonBody() == null) {
            b.method(call.method(), HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json; charset=utf-8")
                    .method(call.method(), HttpRequest.BodyPublishers.ofString(call.jsonBody(), StandardCharsets.UTF_8));
        }
        return b.build();
    }

    /** The token endpoint could not give the bot a token; retried like a failed call. */
    static final class TokenUnavailable extends RuntimeException {
        TokenUnavailable(String message) {
            super(message);
        }
    }

    /** The bot's token (client credentials), cached until shortly before it expires. */
    private String token() throws IOException, InterruptedException {
        Token t = token;
        if (t != null && Instant.now().isBefore(t.renewAt())) {
            return t.value();
        }
        synchronized (this) {
            t = token;
            if (t != null && Instant.now().isBefore(t.renewAt())) {
                return t.value();
            }
            String form = "grant_type=client_credentials&client_id=" + enc(settings.appId()) + "&client_secret="
                    + enc(settings.appPassword()) + "&scope=" + enc(TeamsSettings.BOT_SCOPE);
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(settings.tokenUrl()))
                    .timeout(settings.callTimeout()).header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode body = readOrEmpty(response.body());
            String value = body.path("access_token").asText("");
            if (response.statusCode() != 200 || value.isEmpty()) {
                count("token", "failed");
                // the endpoint's error code says what is wrong (invalid_client: wrong app id or password), never the secret
                throw new TokenUnavailable("the token endpoint " + settings.tokenUrl() + " answered HTTP " + response.statusCode()
                        + (body.hasNonNull("error") ? " (" + body.get("error").asText() + ")" : "")
                        + "; check teams.app-id and teams.app-password");
            }
            count("token", "ok");
            long seconds = body.path("expires_in").asLong(3600);
            Instant renew = Instant.now().plusSeconds(seconds).minus(TOKEN_MARGIN);
            token = new Token(value, renew.isAfter(Instant.now()) ? renew : Instant.now().plusSeconds(Math.max(1, seconds / 2)));
            return value;
        }
    }

    private long backoff(int attempt) {
        long base = settings.initialBackoff().toMillis();
        long delay = base << Math.min(20, attempt - 1);
        return Math.min(delay <= 0 ? MAX_BACKOFF.toMillis() : delay, MAX_BACKOFF.toMillis());
    }

    private void fail(String call, String error, int status, Throwable cause, CompletableFuture<?> result) {
        count(call, "failed");
        LOG.warn("teams: {} failed: {}; the request is still decided through the console, CLI and API", call, error);
        result.completeExceptionally(new TeamsCallFailed(call, error, status, cause));
    }

    private void count(String call, String outcome) {
        Counter.builder("countersign_teams_calls_total").description("Teams HTTP calls by their final outcome")
                .tag("call", call).tag("outcome", outcome).register(registry).increment();
    }

    private static URI connector(String serviceUrl, String path) {
        return URI.create(TeamsSettings.slash(serviceUrl) + path);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static JsonNode readOrEmpty(String body) {
        try {
            JsonNode n = JSON.readTree(body == null ? "" : body);
            return n == null ? JSON.createObjectNode() : n;
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        http.close();
    }
}
