package io.countersign.approvals.slack;

import com.slack.api.bolt.App;
import com.slack.api.bolt.request.Request;
import com.slack.api.bolt.request.RequestHeaders;
import com.slack.api.bolt.response.Response;
import com.slack.api.bolt.util.SlackRequestParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Slack's interactivity endpoint (e.g. {@code POST /slack/events}) for the admin HTTP server: turns
 * the exchange into a Bolt request and runs the app. Bolt checks the signature and the timestamp
 * window; a forged, altered or replayed request gets 401 and reaches no handler.
 */
public final class SlackHttpHandler implements HttpHandler {

    private static final Logger LOG = LoggerFactory.getLogger(SlackHttpHandler.class);
    /** Interaction payloads are a few KiB; anything this large is not from Slack. */
    static final int MAX_BODY = 1 << 20;

    private final App app;
    private final SlackRequestParser parser;

    public SlackHttpHandler(SlackInteractions interactions) {
        this.app = interactions.app();
        this.parser = new SlackRequestParser(app.config());
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!"POST".equalsIgnoreCase(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Allow", "POST");
                send(ex, 405, "application/json", "{\"error\":\"Slack posts interactions here; use POST\"}");
                return;
            }
            byte[] body = readLimited(ex.getRequestBody());
            if (body == null) {
                send(ex, 413, "application/json", "{\"error\":\"request body over " + MAX_BODY + " bytes\"}");
                return;
            }
            Map<String, List<String>> headers = new LinkedHashMap<>();
            ex.getRequestHeaders().forEach((k, v) -> headers.put(k, new ArrayList<>(v)));
            Request<?> request = parser.parse(SlackRequestParser.HttpRequest.builder()
                    .requestUri(ex.getRequestURI().getPath())
                    .queryString(query(ex.getRequestURI().getRawQuery()))
                    .headers(new RequestHeaders(headers))
                    .requestBody(new String(body, StandardCharsets.UTF_8))
                    .remoteAddress(ex.getRemoteAddress() == null ? null : ex.getRemoteAddress().getAddress().getHostAddress())
                    .build());
            Response response;
            try {
                response = app.run(request);
            } catch (Exception e) {
                LOG.warn("slack: handling an interaction failed", e);
                response = Response.json(500, "{\"error\":\"Countersign could not handle this interaction\"}");
            }
            if (response.getHeaders() != null) {
                response.getHeaders().forEach((k, v) -> v.forEach(value -> ex.getResponseHeaders().add(k, value)));
            }
            send(ex, response.getStatusCode() == null ? 200 : response.getStatusCode(),
                    response.getContentType() == null ? "text/plain; charset=utf-8" : response.getContentType(),
                    response.getBody() == null ? "" : response.getBody());
        }
    }

    private static byte[] readLimited(InputStream in) throws IOException {
        byte[] data = in.readNBytes(MAX_BODY + 1);
        return data.length > MAX_BODY ? null : data;
    }

    private static Map<String, List<String>> query(String raw) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return out;
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }
}
