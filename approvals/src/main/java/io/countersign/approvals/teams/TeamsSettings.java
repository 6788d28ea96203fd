package io.countersign.approvals.teams;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code teams} section of Countersign's config.
 *
 * @param mode              {@link Mode#WEBHOOK}: cards are posted to a Workflows / incoming webhook and link to the
 *                          console; {@link Mode#BOT}: a Teams bot posts cards with Approve and Deny and updates them
 * @param webhookUrl        webhook mode: where cards go when the policy rule names no {@code teams-channel}
 * @param webhooks          webhook mode: a rule's {@code teams-channel} name to that channel's webhook URL
 * @param appId             bot mode: the Azure Bot's Microsoft App ID; Bot Framework tokens must carry it as audience
 * @param appPassword       bot mode: the app's client secret, used to obtain the bot's own token
 * @param tenantId          optional: activities from other Entra tenants are refused, and the token comes from this tenant
 * @param tokenUrl          bot mode: the OAuth token endpoint (client credentials); tests point it at a local server
 * @param openIdMetadataUrl bot mode: the Bot Framework's OpenID metadata (issuer and JWKS of incoming tokens)
 * @param serviceUrl        bot mode: the Bot Connector base URL for posting before Teams told us a conversation's own
 * @param defaultChannel    bot mode: the conversation id (e.g. {@code 19:...@thread.tacv2}) for rules that name none
 * @param consoleBaseUrl    the web console's base URL for links (blank: the server fills in its own)
 * @param userMapping       AAD object id to reviewer name; other Teams users are matched by their e-mail
 * @param callTimeout       one HTTP call's limit
 * @param maxAttempts       attempts per call before giving up and counting a failure
 * @param initialBackoff    wait before the second attempt; doubles per attempt
 * @param maxQueued         calls waiting at most; beyond it new ones are dropped and counted, never queued without bound
 */
public record TeamsSettings(
        Mode mode,
        String webhookUrl,
        Map<String, String> webhooks,
        String appId,
        String appPassword,
        String tenantId,
        String tokenUrl,
        String openIdMetadataUrl,
        String serviceUrl,
        String defaultChannel,
        String consoleBaseUrl,
        Map<String, String> userMapping,
        Duration callTimeout,
        int maxAttempts,
        Duration initialBackoff,
        int maxQueued) {

    public enum Mode { WEBHOOK, BOT }

    public static final String BOT_FRAMEWORK_TOKEN_URL = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";
    public static final String BOT_FRAMEWORK_OPENID = "https://login.botframework.com/v1/.well-known/openidconfiguration";
    public static final String TEAMS_SERVICE_URL = "https://smba.trafficmanager.net/teams/";
    /** The scope a bot asks for to call the Bot Connector. */
    public static final String BOT_SCOPE = "https://api.botframework.com/.default";

    public TeamsSettings {
        if (mode == null) {
            throw new IllegalArgumentException("teams.mode is missing: set it to webhook (cards link to the console) or bot"
                    + " (reviewers approve and deny on the card)");
        }
        webhookUrl = blankToNull(webhookUrl);
        webhooks = webhooks == null ? Map.of() : Map.copyOf(webhooks);
        appId = blankToNull(appId);
        appPassword = blankToNull(appPassword);
        tenantId = blankToNull(tenantId);
        defaultChannel = blankToNull(defaultChannel);
        if (mode == Mode.WEBHOOK) {
            if (webhookUrl == null) {
                throw new IllegalArgumentException("teams.webhook-url is missing: in webhook mode set it to the URL of a Teams Workflows"
                        + " 'post to a channel when a webhook request is received' flow (or an incoming webhook)");
            }
            httpUrl(webhookUrl, "webhook-url");
            webhooks.forEach((name, url) -> httpUrl(url, "webhooks." + name));
            for (String[] botOnly : new String[][] {{"app-id", appId}, {"app-password", appPassword}, {"default-channel", defaultChannel}}) {
                if (botOnly[1] != null) {
                    throw new IllegalArgumentException("teams." + botOnly[0] + " is only used in bot mode; remove it or set teams.mode: bot");
                }
            }
        } else {
            appId = require(appId, "app-id", "the Azure Bot's Microsoft App ID (Azure portal > the bot > Configuration)");
            appPassword = require(appPassword, "app-password", "a client secret of that app registration, e.g. ${TEAMS_APP_PASSWORD}");
            defaultChannel = require(defaultChannel, "default-channel",
                    "the conversation id of the channel (19:...@thread.tacv2) for requests whose policy rule names no teams-channel");
            if (webhookUrl != null || !webhooks.isEmpty()) {
                throw new IllegalArgumentException("teams.webhook-url and teams.webhooks are only used in webhook mode; remove them or"
                        + " set teams.mode: webhook");
            }
        }
        tokenUrl = blankToNull(tokenUrl) != null ? tokenUrl.strip()
                : tenantId == null ? BOT_FRAMEWORK_TOKEN_URL : "https://login.microsoftonline.com/" + tenantId + "/oauth2/v2.0/token";
        openIdMetadataUrl = blankToNull(openIdMetadataUrl) == null ? BOT_FRAMEWORK_OPENID : openIdMetadataUrl.strip();
        serviceUrl = slash(blankToNull(serviceUrl) == null ? TEAMS_SERVICE_URL : serviceUrl.strip());
        httpUrl(tokenUrl, "token-url");
        httpUrl(openIdMetadataUrl, "openid-metadata-url");
        httpUrl(serviceUrl, "service-url");
        consoleBaseUrl = consoleBaseUrl == null ? "" : unslash(consoleBaseUrl.strip());
        userMapping = userMapping == null ? Map.of() : Map.copyOf(userMapping);
        callTimeout = callTimeout == null ? Duration.ofSeconds(10) : callTimeout;
        maxAttempts = maxAttempts <= 0 ? 5 : maxAttempts;
        initialBackoff = initialBackoff == null ? Duration.ofMillis(500) : initialBackoff;
        maxQueued = maxQueued <= 0 ? 1000 : maxQueued;
        if (callTimeout.isNegative() || callTimeout.isZero() || initialBackoff.isNegative()) {
            throw new IllegalArgumentException("teams.call-timeout must be positive and teams.initial-backoff not negative; got "
                    + callTimeout + " and " + initialBackoff);
        }
    }

    private static final Set<String> KEYS = Set.of("mode", "webhook-url", "webhooks", "app-id", "app-password", "tenant-id",
            "token-url", "openid-metadata-url", "service-url", "default-channel", "console-base-url", "user-mapping",
            "call-timeout", "max-attempts", "initial-backoff", "max-queued");

    /**
     * Reads the config's {@code teams:} section (environment variables already substituted),
     * strictly: an unknown key or a value of the wrong kind fails naming {@code teams.<key>}.
     */
    public static TeamsSettings parse(JsonNode node, String source) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(source + ": teams must be a mapping (mode, webhook-url or app-id, app-password, ...)");
        }
        node.fieldNames().forEachRemaining(k -> {
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException(source + ": teams." + k + " is not a setting; known: " + String.join(", ", new TreeSet<>(KEYS)));
            }
        });
        try {
            String mode = text(node.get("mode"), "mode");
            Mode m = null;
            if (mode != null) {
                try {
                    m = Mode.valueOf(mode.strip().toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("teams.mode '" + mode + "' is not a mode; write webhook or bot");
                }
            }
            return new TeamsSettings(m, text(node.get("webhook-url"), "webhook-url"),
                    map(node.get("webhooks"), "webhooks", "channel names to webhook URLs, e.g. db-approvals: https://..."),
                    text(node.get("app-id"), "app-id"), text(node.get("app-password"), "app-password"),
                    text(node.get("tenant-id"), "tenant-id"), text(node.get("token-url"), "token-url"),
                    text(node.get("openid-metadata-url"), "openid-metadata-url"), text(node.get("service-url"), "service-url"),
                    text(node.get("default-channel"), "default-channel"), text(node.get("console-base-url"), "console-base-url"),
                    map(node.get("user-mapping"), "user-mapping", "AAD object ids to reviewer names, e.g. 6d9a...: alice"),
                    duration(node.get("call-timeout"), "call-timeout"), positiveInt(node.get("max-attempts"), "max-attempts"),
                    duration(node.get("initial-backoff"), "initial-backoff"), positiveInt(node.get("max-queued"), "max-queued"));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(source) ? e : new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /** Webhook mode with the given URL; the rest take their defaults. */
    public static TeamsSettings webhook(String url, String consoleBaseUrl) {
        return new TeamsSettings(Mode.WEBHOOK, url, Map.of(), null, null, null, null, null, null, null, consoleBaseUrl, Map.of(),
                null, 0, null, 0);
    }

    /** Bot mode: the app's credentials and the channel for rules that name none. */
    public static TeamsSettings bot(String appId, String appPassword, String defaultChannel, String consoleBaseUrl) {
        return new TeamsSettings(Mode.BOT, null, Map.of(), appId, appPassword, null, null, null, null, defaultChannel, consoleBaseUrl,
                Map.of(), null, 0, null, 0);
    }

    /** The same settings with Microsoft's endpoints replaced (tests point them at a local server). */
    public TeamsSettings withEndpoints(String tokenUrl, String openIdMetadataUrl, String serviceUrl) {
        return new TeamsSettings(mode, webhookUrl, webhooks, appId, appPassword, tenantId, tokenUrl, openIdMetadataUrl, serviceUrl,
                defaultChannel, consoleBaseUrl, userMapping, callTimeout, maxAttempts, initialBackoff, maxQueued);
    }

    public TeamsSettings withWebhooks(Map<String, String> byChannel) {
        return new TeamsSettings(mode, webhookUrl, byChannel, appId, appPassword, tenantId, tokenUrl, openIdMetadataUrl, serviceUrl,
                defaultChannel, consoleBaseUrl, userMapping, callTimeout, maxAttempts, initialBackoff, maxQueued);
    }

    public TeamsSettings withConsoleBaseUrl(String url) {
        return new TeamsSettings(mode, webhookUrl, webhooks, appId, appPassword, tenantId, tokenUrl, openIdMetadataUrl, serviceUrl,
                defaultChannel, url, userMapping, callTimeout, maxAttempts, initialBackoff, maxQueued);
    }

    public TeamsSettings withUserMapping(Map<String, String> mapping) {
        return new TeamsSettings(mode, webhookUrl, webhooks, appId, appPassword, tenantId, tokenUrl, openIdMetadataUrl, serviceUrl,
                defaultChannel, consoleBaseUrl, mapping, callTimeout, maxAttempts, initialBackoff, maxQueued);
    }

    public TeamsSettings withRetries(Duration timeout, int attempts, Duration backoff) {
        return new TeamsSettings(mode, webhookUrl, webhooks, appId, appPassword, tenantId, tokenUrl, openIdMetadataUrl, serviceUrl,
                defaultChannel, consoleBaseUrl, userMapping, timeout, attempts, backoff, maxQueued);
    }

    public boolean botMode() {
        return mode == Mode.BOT;
    }

    /** The console's page for one request, or empty when no console URL is known. */
    public String consoleLink(String requestId) {
        return consoleBaseUrl.isEmpty() ? "" : consoleBaseUrl + "/console/#" + requestId;
    }

    private static String text(JsonNode n, String key) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isValueNode()) {
            throw new IllegalArgumentException("teams." + key + " must be a single value, not a list or mapping");
        }
        return n.asText();
    }

    private static Map<String, String> map(JsonNode n, String key, String what) {
        Map<String, String> out = new LinkedHashMap<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException("teams." + key + " must map " + what);
        }
        n.fields().forEachRemaining(e -> {
            String v = text(e.getValue(), key + "." + e.getKey());
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException("teams." + key + "." + e.getKey() + " is empty; it must map " + what);
            }
            out.put(e.getKey(), v.strip());
        });
        return out;
    }

    private static int positiveInt(JsonNode n, String key) {
        if (n == null || n.isNull()) {
            return 0;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 1) {
            throw new IllegalArgumentException("teams." + key + " must be a whole number from 1, got '" + n.asText() + "'");
        }
        return n.asInt();
    }

    /** {@code 500ms}, {@code 10s}, {@code 2m}, or an ISO-8601 duration such as {@code PT10S}. */
    private static Duration duration(JsonNode n, String key) {
        if (n == null || n.isNull()) {
            return null;
        }
        String v = n.asText().strip().toLowerCase(Locale.ROOT);
        try {
            if (v.startsWith("p")) {
                return Duration.parse(v.toUpperCase(Locale.ROOT));
            }
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2).strip()));
            }
            long amount = Long.parseLong(v.substring(0, v.length() - 1).strip());
            return switch (v.charAt(v.length() - 1)) {
                case 's' -> Duration.ofSeconds(amount);
                case 'm' -> Duration.ofMinutes(amount);
                default -> throw new NumberFormatException();
            };
        } catch (NumberFormatException | DateTimeParseException | StringIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("teams." + key + " '" + n.asText() + "' is not a duration; write e.g. 500ms, 10s, 2m or PT10S");
        }
    }

    private static void httpUrl(String url, String key) {
        if (!url.startsWith("https://") && !url.startsWith("http://")) {
            throw new IllegalArgumentException("teams." + key + " '" + url + "' is not an http(s) URL");
        }
    }

    private static String require(String value, String key, String what) {
        if (value == null) {
            throw new IllegalArgumentException("teams." + key + " is missing: in bot mode set it to " + what);
        }
        return value;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    static String slash(String s) {
        return s.endsWith("/") ? s : s + "/";
    }

    private static String unslash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public String toString() {
        // The app password and webhook URLs (which carry their own signature) never reach logs.
        return "TeamsSettings[mode=" + mode.name().toLowerCase(Locale.ROOT) + (botMode() ? ", appId=" + appId + ", defaultChannel="
                + defaultChannel + ", serviceUrl=" + serviceUrl + ", openIdMetadataUrl=" + openIdMetadataUrl
                : ", webhooks=" + (1 + webhooks.size())) + ", consoleBaseUrl=" + consoleBaseUrl + ", mappedUsers=" + userMapping.size() + "]";
    }
}
