package io.countersign.approvals.rest;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * Serves the reviewers' web console: one static page, a script and a style sheet from the jar.
 * The page talks to {@link ApprovalsApi} with the bearer token the reviewer pastes in (kept in
 * sessionStorage, so it dies with the tab).
 */
public final class ConsoleHandler implements HttpHandler {

    private static final String BASE = "/io/countersign/approvals/console/";
    private static final Map<String, String> FILES = Map.of(
            "", "index.html",
            "index.html", "index.html",
            "console.js", "console.js",
            "console.css", "console.css");

    @Override
    public void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        if (path.equals("/console")) {
            ex.getResponseHeaders().set("Location", "/console/");
            ex.sendResponseHeaders(302, -1);
            ex.close();
            return;
        }
        String name = FILES.get(path.startsWith("/console/") ? path.substring("/console/".length()) : "?");
        if (name == null || !ex.getRequestMethod().equalsIgnoreCase("GET")) {
            ApprovalsApi.send(ex, 404, ApprovalJson.error("no console page " + path + "; open /console/"));
            return;
        }
        byte[] body;
        try (InputStream in = ConsoleHandler.class.getResourceAsStream(BASE + name)) {
            if (in == null) {
                ApprovalsApi.send(ex, 500, ApprovalJson.error("console file " + name + " is missing from the jar"));
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
                "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'");
        ex.sendResponseHeaders(200, body.length);
        try (var out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
