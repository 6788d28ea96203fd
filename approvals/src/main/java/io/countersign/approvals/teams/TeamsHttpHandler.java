package io.countersign.approvals.teams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bot's messaging endpoint (e.g. {@code POST /teams/messages}) for the admin HTTP server. An
 * activity is acted on only after {@link BotAuthenticator} accepted its Bot Framework token; a
 * missing, forged, expired or misdirected token gets 401 and reaches nothing else.
 */
public final class TeamsHttpHandler implements HttpHandler {

    private static final Logger LOG = LoggerFactory.getLogger(TeamsHttpHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Activities are a few KiB; anything this large is not from Teams. */
    static final int MAX_BODY = 256 * 1024;

    private final BotAuthenticator authenticator;
    private final TeamsBot bot;

    public TeamsHttpHandler(BotAuthenticator authenticator, TeamsBot bot) {
        this.authenticator = authenticator;
        this.bot = bot;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!"POST".equalsIgnoreCase(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Allow", "POST");
                send(ex, 405, error("the Bot Framework posts activities here; use POST"));
                return;
            }
            String authorization = ex.getRequestHeaders().getFirst("Authorization");
            if (authorization == null || authorization.isBlank()) {
                // refuse before reading the body: nothing unauthenticated is parsed
                unauthorized(ex, "no Bot Framework token: the request has no 'Authorization: Bearer' header");
                return;
            }
            byte[] body = ex.getRequestBody().readNBytes(MAX_BODY + 1);
            if (body.length > MAX_BODY) {
                send(ex, 413, error("activity over " + MAX_BODY + " bytes"));
                return;
            }
            JsonNode activity;
            try {
                activity = JSON.readTree(new String(body, StandardCharsets.UTF_8));
            } catch (IOException e) {
                activity = null;
            }
            if (activity == null || !activity.isObject()) {
                send(ex, 400, error("the body is not a Bot Framework activity (a JSON object)"));
                return;
            }
            BotAuthenticator.Result auth = authenticator.verify(authorization, activity.path("serviceUrl").asText(null),
                    activity.path("channelId").asText(null));
            if (auth instanceof BotAuthenticator.Invalid invalid) {
                unauthorized(ex, invalid.reason());
                return;
            }
            TeamsBot.Reply reply;
            try {
                reply = bot.handle(activity);
            } catch (RuntimeException e) {
                LOG.warn("teams: handling a {} activity failed", activity.path("type").asText(), e);
                reply = new TeamsBot.Reply(500, JSON.createObjectNode().put("error", "Countersign could not handle this activity"));
            }
            send(ex, reply.status(), reply.body() == null ? "" : reply.body().toString());
        }
    }

    private static void unauthorized(HttpExchange ex, String reason) throws IOException {
        LOG.warn("teams: refused an activity from {}: {}", ex.getRemoteAddress() == null ? "?" : ex.getRemoteAddress().getAddress()
                .getHostAddress(), reason);
        ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"countersign-teams\"");
        send(ex, 401, error(reason));
    }

    private static String error(String message) {
        return JSON.createObjectNode().put("error", message).toString();
    }

    private static void send(HttpExchange ex, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > 0) {
            ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        }
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }
}
