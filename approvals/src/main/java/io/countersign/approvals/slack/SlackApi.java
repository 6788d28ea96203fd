package io.countersign.approvals.slack;

import com.slack.api.Slack;
import com.slack.api.SlackConfig;
import com.slack.api.methods.MethodsClient;
import com.slack.api.methods.SlackApiException;
import com.slack.api.methods.SlackApiTextResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Slack's Web API as Countersign uses it: every call runs on this class's own threads, is retried
 * with exponential backoff when Slack is slow, down or rate limiting, and when it finally fails is
 * logged and counted in {@code countersign_slack_failures_total{method=...}}. Callers get a future
 * and never wait on Slack.
 */
public final class SlackApi implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SlackApi.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** Slack's "ok": false errors that say "try again later" rather than "this call is wrong". */
    private static final Set<String> TRANSIENT = Set.of("ratelimited", "internal_error", "fatal_error", "service_unavailable",
            "request_timeout");

    /** A call Slack answered with {@code ok: false} (or that could not be made); not retried further. */
    public static final class SlackCallFailed extends RuntimeException {
        private final String error;

        SlackCallFailed(String method, String error, Throwable cause) {
            super("Slack " + method + " failed: " + error, cause);
            this.error = error;
        }

        public String error() {
            return error;
        }
    }

    private final SlackSettings settings;
    private final Slack slack;
    private final MethodsClient methods;
    private final MeterRegistry registry;
    private final ScheduledThreadPoolExecutor executor;

    public SlackApi(SlackSettings settings, MeterRegistry registry) {
        this.settings = settings;
        this.registry = registry;
        SlackConfig config = new SlackConfig();
        config.setMethodsEndpointUrlPrefix(settings.apiBaseUrl());
        int timeout = (int) Math.min(Integer.MAX_VALUE, settings.callTimeout().toMillis());
        config.setHttpClientCallTimeoutMillis(timeout);
        config.setHttpClientReadTimeoutMillis(timeout);
        config.setHttpClientWriteTimeoutMillis(timeout);
        config.setStatsEnabled(false);
        this.slack = Slack.getInstance(config);
        this.methods = slack.methods(settings.botToken());
        AtomicInteger n = new AtomicInteger();
        this.executor = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "slack-api-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
    }

    /** The configured client (its base URL is the settings' api base URL); for Bolt's App and Socket Mode. */
    public Slack slack() {
        return slack;
    }

    public MethodsClient methods() {
        return methods;
    }

    public SlackSettings settings() {
        return settings;
    }

    /** The Slack threads, for chaining work that must not run on the caller's thread. */
    Executor executor() {
        return executor;
    }

    /** Runs {@code task} once after {@code delay} on the Slack threads (dropped when closed). */
    void schedule(Runnable task, Duration delay) {
        try {
            executor.schedule(task, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closed) {
            // shutting down: nothing left to clean up
        }
    }

    /**
     * Calls {@code method} asynchronously with retries. The future fails with {@link SlackCallFailed}
     * when Slack refused the call or every attempt failed; the failure is already logged and counted.
     */
    public <T extends SlackApiTextResponse> CompletableFuture<T> call(String method, Callable<T> call) {
        CompletableFuture<T> result = new CompletableFuture<>();
        attempt(method, call, 1, result);
        return result;
    }

    private <T extends SlackApiTextResponse> void attempt(String method, Callable<T> call, int attempt, CompletableFuture<T> result) {
        try {
            executor.execute(() -> {
                String error;
                Throwable cause = null;
                boolean retry;
                try {
                    T response = call.call();
                    if (response.isOk()) {
                        result.complete(response);
                        return;
                    }
                    error = response.getError();
                    retry = TRANSIENT.contains(error);
                } catch (SlackApiException e) {
                    int status = e.getResponse().code();
                    error = "HTTP " + status;
                    cause = e;
                    retry = status == 429 || status >= 500;
                } catch (IOException e) {
                    error = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
                    cause = e;
                    retry = true;
                } catch (Exception e) {
                    error = e.toString();
                    cause = e;
                    retry = false;
                }
                if (retry && attempt < settings.maxAttempts() && !executor.isShutdown()) {
                    long delay = backoff(attempt);
                    LOG.debug("slack: {} attempt {} failed ({}); retrying in {} ms", method, attempt, error, delay);
                    executor.schedule(() -> attempt(method, call, attempt + 1, result), delay, TimeUnit.MILLISECONDS);
                    return;
                }
                fail(method, error + (retry ? " after " + attempt + " attempts" : ""), cause, result);
            });
        } catch (RejectedExecutionException closed) {
            result.completeExceptionally(new SlackCallFailed(method, "Countersign's Slack client is closed", closed));
        }
    }

    private long backoff(int attempt) {
        long base = settings.initialBackoff().toMillis();
        long delay = base << Math.min(20, attempt - 1);
        return Math.min(delay <= 0 ? MAX_BACKOFF.toMillis() : delay, MAX_BACKOFF.toMillis());
    }

    private void fail(String method, String error, Throwable cause, CompletableFuture<?> result) {
        Counter.builder("countersign_slack_failures_total")
                .description("Slack Web API calls that failed after their retries")
                .tag("method", method)
                .register(registry)
                .increment();
        LOG.warn("slack: {} failed: {}; the request is still decided through the console, CLI and API", method, error);
        result.completeExceptionally(new SlackCallFailed(method, error, cause));
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            slack.close();
        } catch (Exception e) {
            LOG.debug("slack: closing the client", e);
        }
    }
}
