package io.countersign.server.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP port: {@code /healthz} (the process is up), {@code /readyz} (every registered
 * {@link ReadinessCheck} passes) and {@code /metrics} (Prometheus text). Other modules add their
 * endpoints with {@link #mount} (the console, the REST API, Slack's callback, ...).
 * Each request runs on its own virtual thread.
 */
public final class AdminHttpServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminHttpServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.time.Duration CHECK_TIMEOUT = java.time.Duration.ofSeconds(2);

    private record NamedCheck(String name, ReadinessCheck check) {}

    private final InetSocketAddress bind;
    private final PrometheusMeterRegistry metrics;
    private final List<NamedCheck> checks = new CopyOnWriteArrayList<>();
    private final Map<String, HttpHandler> mounted = new java.util.LinkedHashMap<>();
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private HttpServer server;

    public AdminHttpServer(InetSocketAddress bind, PrometheusMeterRegistry metrics) {
        this.bind = bind;
        this.metrics = metrics;
    }

    /** Adds a named condition to {@code /readyz}; the name appears in its report. */
    public void addReadinessCheck(String name, ReadinessCheck check) {
        checks.add(new NamedCheck(name, check));
    }

    /**
     * Serves every path under {@code pathPrefix} (e.g. {@code "/api/"}) with {@code handler}; the
     * longest matching prefix wins. May be called before or after {@link #start()}.
     */
    public synchronized void mount(String pathPrefix, HttpHandler handler) {
        if (!pathPrefix.startsWith("/")) {
            throw new IllegalArgumentException("admin path prefix must start with '/': " + pathPrefix);
        }
        mounted.put(pathPrefix, handler);
        if (server != null) {
            server.createContext(pathPrefix, guarded(handler));
        }
    }

    /** Binds and starts serving; returns the bound address (port 0 picks a free one). */
    public synchronized InetSocketAddress start() throws IOException {
        try {
            server = HttpServer.create(bind, 64);
        } catch (java.net.BindException e) {
            throw new java.net.BindException("cannot bind the admin HTTP server to " + bind.getHostString() + ":" + bind.getPort()
                    + ": " + e.getMessage() + "; choose another admin port (admin.port in the config)");
        }
        server.setExecutor(executor);
        server.createContext("/healthz", guarded(this::healthz));
        server.createContext("/readyz", guarded(this::readyz));
        server.createContext("/metrics", guarded(this::metrics));
        mounted.forEach((prefix, handler) -> server.createContext(prefix, guarded(handler)));
        server.start();
        return server.getAddress();
    }

    public synchronized InetSocketAddress address() {
        return server == null ? null : server.getAddress();
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
        executor.shutdownNow();
    }

    private void healthz(HttpExchange ex) throws IOException {
        if (!exactPath(ex, "/healthz")) return;
        send(ex, 200, "text/plain; charset=utf-8", "ok\n");
    }

    private void readyz(HttpExchange ex) throws IOException {
        if (!exactPath(ex, "/readyz")) return;
        ObjectNode body = JSON.createObjectNode();
        ArrayNode list = body.putArray("checks");
        List<String> failed = new java.util.ArrayList<>();
        // all checks at once, each on its own virtual thread, so one slow backend costs at most CHECK_TIMEOUT
        List<java.util.concurrent.Future<ReadinessCheck.Status>> running = new java.util.ArrayList<>();
        for (NamedCheck c : checks) {
            running.add(executor.submit(() -> c.check().check()));
        }
        long deadline = System.nanoTime() + CHECK_TIMEOUT.toNanos();
        for (int i = 0; i < running.size(); i++) {
            NamedCheck c = checks.get(i);
            ReadinessCheck.Status s;
            try {
                s = running.get(i).get(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                running.get(i).cancel(true);
                s = ReadinessCheck.Status.notReady("no answer within " + CHECK_TIMEOUT.toMillis() + " ms");
            } catch (java.util.concurrent.ExecutionException e) {
                s = ReadinessCheck.Status.notReady("check failed: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                s = ReadinessCheck.Status.notReady("interrupted");
            }
            if (!s.ready()) failed.add(c.name());
            list.addObject().put("name", c.name()).put("ready", s.ready()).put("detail", s.detail());
        }
        body.put("ready", failed.isEmpty());
        ArrayNode f = body.putArray("failed");
        failed.forEach(f::add);
        send(ex, failed.isEmpty() ? 200 : 503, "application/json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(body) + "\n");
    }

    private void metrics(HttpExchange ex) throws IOException {
        if (!exactPath(ex, "/metrics")) return;
        send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
    }

    /** Contexts match by prefix; the built-in endpoints answer only their exact path. */
    private static boolean exactPath(HttpExchange ex, String path) throws IOException {
        if (ex.getRequestURI().getPath().equals(path)) {
            return true;
        }
        send(ex, 404, "text/plain; charset=utf-8", "no such admin endpoint: " + ex.getRequestURI().getPath() + "\n");
        return false;
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        boolean head = "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
        ex.close();
    }

    /** A failing handler answers 500 and is logged, instead of leaving the client hanging. */
    private static HttpHandler guarded(HttpHandler handler) {
        return ex -> {
            try {
                handler.handle(ex);
            } catch (Exception | Error e) {
                log.warn("admin handler for {} failed", ex.getRequestURI(), e);
                try {
                    send(ex, 500, "text/plain; charset=utf-8", "internal error: " + e + "\n");
                } catch (IOException | RuntimeException ignored) {
                    ex.close();
                }
            }
        };
    }
}
