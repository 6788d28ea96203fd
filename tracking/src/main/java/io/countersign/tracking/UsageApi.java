package io.countersign.tracking;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerDirectory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console's usage page and its data, on the admin HTTP port next to the approvals console:
 *
 * <pre>
 * GET /api/usage?since=7d&amp;until=&amp;bucket=hour|day   per agent, per table, per agent and table, and a timeline
 * GET /console/usage/                                  the page (plain JS, an inline SVG chart; no CDN)
 * </pre>
 *
 * The API takes the reviewers' bearer tokens ({@code Authorization: Bearer}), checked by the same
 * {@link ReviewerDirectory} as the approvals API; the page signs in with the token the console keeps
 * in the tab's sessionStorage. Numbers come from the audit's Parquet files through {@link UsageReports}
 * (statements that never ran are left out), so they are those of {@code countersign report usage}.
 */
public final class UsageApi implements HttpHandler {

    private static final Logger log = LoggerFactory.getLogger(UsageApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BASE = "/io/countersign/tracking/usage/";
    private static final Map<String, String> FILES = Map.of("", "index.html", "index.html", "index.html",
            "usage.js", "usage.js", "usage.css", "usage.css");

    private final UsageReports reports;
    private final ReviewerDirectory reviewers;
    private final Clock clock;

    public UsageApi(Path auditDir, ReviewerDirectory reviewers) {
        this(new UsageReports(auditDir), reviewers, Clock.systemUTC());
    }

    UsageApi(UsageReports reports, ReviewerDirectory reviewers, Clock clock) {
        this.reports = reports;
        this.reviewers = reviewers;
        this.clock = clock;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        try {
            if (!ex.getRequestMethod().equalsIgnoreCase("GET")) {
                send(ex, 405, error("only GET is served here"));
            } else if (path.equals("/api/usage") || path.equals("/api/usage/")) {
                api(ex);
            } else if (path.equals("/console/usage")) {
                ex.getResponseHeaders().set("Location", "/console/usage/");
                ex.sendResponseHeaders(302, -1);
                ex.close();
            } else if (path.startsWith("/console/usage/") && FILES.containsKey(path.substring("/console/usage/".length()))) {
                file(ex, FILES.get(path.substring("/console/usage/".length())));
            } else {
                send(ex, 404, error("nothing at " + path + "; the usage page is /console/usage/, its data /api/usage"));
            }
        } catch (IllegalArgumentException e) {
            send(ex, 400, error(e.getMessage()));
        } catch (RuntimeException e) {
            log.error("usage API: {} failed", path, e);
            send(ex, 500, error("the usage report failed: " + e.getMessage() + "; see the Countersign log"));
        }
    }

    private void api(HttpExchange ex) throws IOException {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        Optional<Reviewer> reviewer = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)
                ? reviewers.authenticate(auth.substring(7)) : Optional.empty();
        if (reviewer.isEmpty()) {
            ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            send(ex, 401, error("sign in with a reviewer's bearer token (Authorization: Bearer <token>)"));
            return;
        }
        Map<String, String> q = query(ex.getRequestURI().getRawQuery());
        TimeRange range = TimeRange.parse(q.getOrDefault("since", "7d"), emptyToNull(q.get("until")), clock);
        String bucket = q.getOrDefault("bucket", Duration.between(range.from(), range.until()).toHours() > 48 ? "day" : "hour");
        ObjectNode body = JSON.createObjectNode();
        body.put("reviewer", reviewer.get().name());
        body.put("since", range.from().toString());
        body.put("until", range.until().toString());
        body.put("bucket", bucket);
        ReportTable usage = reports.usage(range);
        body.set("agents", rows(reports.agents(range)));
        body.set("tables", tables(usage));
        body.set("usage", rows(usage));
        body.set("timeline", rows(reports.timeline(range, bucket)));
        send(ex, 200, body);
    }

    /** Per table over all agents; each statement counts once per table, as in {@code usage}. */
    private static ArrayNode tables(ReportTable usage) {
        Map<String, long[]> byTable = new java.util.TreeMap<>();
        Map<String, java.util.Set<String>> agents = new HashMap<>();
        for (List<Object> row : usage.rows()) {
            String table = (String) row.get(1);
            long[] t = byTable.computeIfAbsent(table, k -> new long[3]);
            t[0] += (Long) row.get(2);
            t[1] += (Long) row.get(3);
            t[2] += (Long) row.get(4);
            agents.computeIfAbsent(table, k -> new java.util.TreeSet<>()).add((String) row.get(0));
        }
        ArrayNode out = JSON.createArrayNode();
        byTable.forEach((table, t) -> {
            ObjectNode o = out.addObject();
            o.put("table", table);
            o.put("statements", t[0]);
            o.put("rows_read", t[1]);
            o.put("rows_written", t[2]);
            agents.get(table).forEach(o.putArray("agents")::add);
        });
        return out;
    }

    private static ArrayNode rows(ReportTable table) {
        ArrayNode out = JSON.createArrayNode();
        for (List<Object> row : table.rows()) {
            ObjectNode o = out.addObject();
            for (int i = 0; i < table.columns().size(); i++) {
                String name = table.columns().get(i);
                switch (row.get(i)) {
                    case null -> o.putNull(name);
                    case Long l -> o.put(name, l);
                    case Double d -> o.put(name, d);
                    case Boolean b -> o.put(name, b);
                    case Instant t -> o.put(name, t.toString());
                    case Object v -> o.put(name, v.toString());
                }
            }
        }
        return out;
    }

    private void file(HttpExchange ex, String name) throws IOException {
        byte[] body;
        try (InputStream in = UsageApi.class.getResourceAsStream(BASE + name)) {
            if (in == null) {
                send(ex, 500, error("usage page file " + name + " is missing from the jar"));
                return;
            }
            body = in.readAllBytes();
        }
        String type = name.endsWith(".html") ? "text/html; charset=utf-8"
                : name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        ex.getResponseHeaders().set("X-Frame-Options", "DENY");
        ex.getResponseHeaders().set("Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'");
        ex.sendResponseHeaders(200, body.length);
        try (var out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void send(HttpExchange ex, int status, ObjectNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(status, bytes.length);
        try (var out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            q.put(k, v);
        }
        return q;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
