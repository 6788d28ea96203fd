package io.countersign.approvals.slack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Plays Slack's Web API on a local port: answers the methods Countersign calls with the JSON
 * shapes Slack documents, and records every call (method, form parameters, bearer token) so tests
 * can assert on what Countersign sent. Can answer 500 or stall, like a Slack having a bad day.
 */
final class FakeSlack implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    record Call(String method, Map<String, String> params, String authorization) {
        String param(String name) {
            return params.getOrDefault(name, "");
        }

        JsonNode json(String name) {
            try {
                return JSON.readTree(param(name));
            } catch (IOException e) {
                throw new AssertionError(method + " sent " + name + " that is not JSON: " + param(name), e);
            }
        }
    }

    private final HttpServer server;
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final Map<String, String> emails = new ConcurrentHashMap<>();
    private final Map<String, String> channelIds = new ConcurrentHashMap<>();
    private final AtomicLong ts = new AtomicLong(1_764_300_000_000_100L);
    volatile int failStatus;
    volatile Duration stall = Duration.ZERO;

    FakeSlack() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/api/", this::handle);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-slack");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/api/";
    }

    FakeSlack user(String id, String email) {
        emails.put(id, email);
        return this;
    }

    List<Call> calls(String method) {
        return calls.stream().filter(c -> c.method().equals(method)).toList();
    }

    List<Call> calls(String method, Predicate<Call> filter) {
        return calls.stream().filter(c -> c.method().equals(method) && filter.test(c)).toList();
    }

    List<Call> all() {
        return List.copyOf(calls);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestURI().getPath().substring("/api/".length());
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Map<String, String> params = parse(ex.getRequestHeaders().getFirst("Content-Type"), body);
            calls.add(new Call(method, params, String.valueOf(ex.getRequestHeaders().getFirst("Authorization"))));
            if (!stall.isZero()) {
                try {
                    Thread.sleep(stall.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (failStatus != 0) {
                send(ex, failStatus, "{\"ok\":false,\"error\":\"internal_error\"}");
                return;
            }
            send(ex, 200, answer(method, params).toString());
        }
    }

    private ObjectNode answer(String method, Map<String, String> p) {
        ObjectNode out = JSON.createObjectNode().put("ok", true);
        switch (method) {
            case "auth.test" -> out.put("url", "https://acme.slack.com/").put("team", "Acme").put("user", "countersign")
                    .put("team_id", "T0ACME").put("user_id", "UBOT").put("bot_id", "B0BOT");
            case "chat.postMessage" -> {
                String channel = channelId(p.get("channel"));
                String stamp = nextTs();
                out.put("channel", channel).put("ts", stamp);
                out.putObject("message").put("type", "message").put("text", p.getOrDefault("text", "")).put("ts", stamp)
                        .put("bot_id", "B0BOT");
            }
            case "chat.update" -> out.put("channel", p.get("channel")).put("ts", p.get("ts")).put("text", p.getOrDefault("text", ""));
            case "chat.postEphemeral" -> out.put("message_ts", nextTs());
            case "views.open" -> {
                JsonNode view;
                try {
                    view = JSON.readTree(p.getOrDefault("view", "{}"));
                } catch (IOException e) {
                    return JSON.createObjectNode().put("ok", false).put("error", "invalid_arguments");
                }
                ObjectNode v = out.putObject("view");
                v.put("id", "V" + nextTs().replace(".", "")).put("team_id", "T0ACME").put("type", "modal")
                        .put("callback_id", view.path("callback_id").asText()).put("private_metadata",
                                view.path("private_metadata").asText());
            }
            case "users.info" -> {
                String id = p.get("user");
                String email = emails.get(id);
                if (email == null) {
                    return JSON.createObjectNode().put("ok", false).put("error", "user_not_found");
                }
                ObjectNode u = out.putObject("user").put("id", id).put("team_id", "T0ACME").put("name", email.split("@")[0]);
                u.putObject("profile").put("email", email).put("real_name", email.split("@")[0]);
            }
            case "users.lookupByEmail" -> {
                String email = p.get("email");
                String id = emails.entrySet().stream().filter(e -> e.getValue().equalsIgnoreCase(email)).map(Map.Entry::getKey)
                        .findFirst().orElse(null);
                if (id == null) {
                    return JSON.createObjectNode().put("ok", false).put("error", "users_not_found");
                }
                out.putObject("user").put("id", id).put("team_id", "T0ACME").putObject("profile").put("email", email);
            }
            default -> {
                return JSON.createObjectNode().put("ok", false).put("error", "unknown_method");
            }
        }
        return out;
    }

    private String channelId(String channel) {
        if (channel == null || channel.isEmpty()) {
            return "";
        }
        if (channel.matches("[CDGU][A-Z0-9]+")) {
            return channel;
        }
        return channelIds.computeIfAbsent(channel, c -> "C" + Integer.toHexString(c.hashCode() & 0xfffffff).toUpperCase());
    }

    String channelIdOf(String name) {
        return channelId(name);
    }

    private String nextTs() {
        long n = ts.getAndIncrement();
        return (n / 1_000_000) + "." + String.format("%06d", n % 1_000_000);
    }

    private static Map<String, String> parse(String contentType, String body) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        if (contentType != null && contentType.startsWith("application/json")) {
            JSON.readTree(body).fields().forEachRemaining(e -> out.put(e.getKey(),
                    e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString()));
            return out;
        }
        for (String pair : body.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            out.put(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                    eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static void send(HttpExchange ex, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }

    static List<String> texts(JsonNode blocks) {
        List<String> out = new ArrayList<>();
        blocks.findValues("text").forEach(t -> out.add(t.isTextual() ? t.asText() : t.path("text").asText()));
        return out;
    }
}
