package io.countersign.server.reviewing;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Stands in for Slack's Web API (the one third-party service the tests replace): answers
 * auth.test, chat.postMessage, chat.update, chat.postEphemeral, views.open, users.info and
 * users.lookupByEmail with the JSON shapes Slack documents, records each call with the answer it
 * got, and can be told to answer 500 or to stall.
 */
final class LocalSlackApi implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    /** One Web API call: the method, its form (or JSON) parameters, and what this server answered. */
    record Call(String method, Map<String, String> params, JsonNode answer) {
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
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    /** Every request as it arrives, before any stall: shows what Countersign is waiting on. */
    private final List<Call> arrived = new CopyOnWriteArrayList<>();
    private final Map<String, String> emails = new ConcurrentHashMap<>();
    private final AtomicLong ts = new AtomicLong(1_764_300_000_000_100L);
    volatile int failStatus;
    volatile Duration stall = Duration.ZERO;

    LocalSlackApi() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/api/", this::handle);
        server.setExecutor(executor);
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/api/";
    }

    LocalSlackApi user(String id, String email) {
        emails.put(id, email);
        return this;
    }

    List<Call> calls(String method, Predicate<Call> filter) {
        return calls.stream().filter(c -> c.method().equals(method) && filter.test(c)).toList();
    }

    /** Requests that reached this server, answered or not (a stalled one is here before it is in {@link #calls}). */
    List<Call> arrived(String method, Predicate<Call> filter) {
        return arrived.stream().filter(c -> c.method().equals(method) && filter.test(c)).toList();
    }

    List<Call> calls(String method) {
        return calls(method, c -> true);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestURI().getPath().substring("/api/".length());
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Map<String, String> params = parse(ex.getRequestHeaders().getFirst("Content-Type"), body);
            arrived.add(new Call(method, params, JSON.nullNode()));
            if (!stall.isZero()) {
                try {
                    Thread.sleep(stall.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (failStatus != 0) {
                ObjectNode error = JSON.createObjectNode().put("ok", false).put("error", "internal_error");
                calls.add(new Call(method, params, error));
                send(ex, failStatus, error.toString());
                return;
            }
            ObjectNode answer = answer(method, params);
            calls.add(new Call(method, params, answer));
            send(ex, 200, answer.toString());
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
                out.putObject("message").put("type", "message").put("subtype", "bot_message").put("text", p.getOrDefault("text", ""))
                        .put("ts", stamp).put("bot_id", "B0BOT");
            }
            case "chat.update" -> out.put("channel", p.get("channel")).put("ts", p.get("ts")).put("text", p.getOrDefault("text", ""));
            case "chat.postEphemeral" -> out.put("message_ts", nextTs());
            case "views.open" -> {
                JsonNode view = readOrEmpty(p.getOrDefault("view", "{}"));
                out.putObject("view").put("id", "V" + nextTs().replace(".", "")).put("team_id", "T0ACME").put("type", "modal")
                        .put("callback_id", view.path("callback_id").asText())
                        .put("private_metadata", view.path("private_metadata").asText());
            }
            case "users.info" -> {
                String id = p.get("user");
                String email = emails.get(id);
                if (email == null) {
                    return JSON.createObjectNode().put("ok", false).put("error", "user_not_found");
                }
                ObjectNode u = out.putObject("user").put("id", id).put("team_id", "T0ACME").put("name", email.split("@")[0])
                        .put("deleted", false).put("is_bot", false);
                u.putObject("profile").put("email", email).put("real_name", email.split("@")[0]).put("display_name", email.split("@")[0]);
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

    private static JsonNode readOrEmpty(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    /** Channel names become stable ids, as Slack answers with the channel's id. */
    private static String channelId(String channel) {
        if (channel == null || channel.isEmpty() || channel.matches("[CDGU][A-Z0-9]+")) {
            return channel == null ? "" : channel;
        }
        return "C" + Integer.toHexString(channel.hashCode() & 0xfffffff).toUpperCase();
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
            if (!pair.isEmpty()) {
                int eq = pair.indexOf('=');
                out.put(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                        eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
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
        executor.shutdownNow();
    }
}
