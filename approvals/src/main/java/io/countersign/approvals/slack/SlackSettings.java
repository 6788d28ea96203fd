package io.countersign.approvals.slack;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code slack} section of Countersign's config.
 *
 * @param botToken                 the app's bot token ({@code xoxb-...}): posts and updates messages, opens modals
 * @param signingSecret            verifies requests on the HTTP endpoint; may be blank only in Socket Mode
 * @param appToken                 app-level token ({@code xapp-...}); when set, interactions arrive over Socket Mode
 * @param defaultChannel           where requests go when their policy rule names no {@code slack-channel}
 * @param apiBaseUrl               Slack's Web API, {@code https://slack.com/api/}; tests point it at a local server
 * @param consoleBaseUrl           the web console's base URL for links (blank: no links)
 * @param userMapping              Slack user id to reviewer name; users not listed are matched by their e-mail
 * @param requireCommentOnCritical approving a critical-tier request asks for a comment first
 * @param notifyOwner              send the agent's owner a direct message when their agent waits
 * @param callTimeout              one Web API call's limit
 * @param maxAttempts              attempts per Web API call before giving up and counting a failure
 * @param initialBackoff           wait before the second attempt; doubles per attempt
 */
public record SlackSettings(
        String botToken,
        String signingSecret,
        String appToken,
        String defaultChannel,
        String apiBaseUrl,
        String consoleBaseUrl,
        Map<String, String> userMapping,
        boolean requireCommentOnCritical,
        boolean notifyOwner,
        Duration callTimeout,
        int maxAttempts,
        Duration initialBackoff) {

    public static final String SLACK_API = "https://slack.com/api/";

    public SlackSettings {
        botToken = require(botToken, "bot-token", "the app's Bot User OAuth Token (xoxb-...) from its OAuth & Permissions page");
        appToken = blankToNull(appToken);
        signingSecret = signingSecret == null ? "" : signingSecret.strip();
        if (signingSecret.isEmpty() && appToken == null) {
            throw new IllegalArgumentException("slack.signing-secret is missing: the HTTP endpoint verifies Slack's requests with it;"
                    + " copy the Signing Secret from the app's Basic Information page (or set slack.app-token for Socket Mode)");
        }
        defaultChannel = require(defaultChannel, "default-channel",
                "the channel (e.g. #db-approvals) for requests whose policy rule names no slack-channel");
        apiBaseUrl = blankToNull(apiBaseUrl) == null ? SLACK_API : apiBaseUrl.strip();
        if (!apiBaseUrl.startsWith("http://") && !apiBaseUrl.startsWith("https://")) {
            throw new IllegalArgumentException("slack.api-base-url '" + apiBaseUrl + "' is not an http(s) URL; leave it out to use "
                    + SLACK_API);
        }
        apiBaseUrl = apiBaseUrl.endsWith("/") ? apiBaseUrl : apiBaseUrl + "/";
        consoleBaseUrl = consoleBaseUrl == null ? "" : stripSlash(consoleBaseUrl.strip());
        userMapping = userMapping == null ? Map.of() : Map.copyOf(userMapping);
        callTimeout = callTimeout == null ? Duration.ofSeconds(10) : callTimeout;
        maxAttempts = maxAttempts <= 0 ? 5 : maxAttempts;
        initialBackoff = initialBackoff == null ? Duration.ofMillis(500) : initialBackoff;
        if (callTimeout.isNegative() || callTimeout.isZero() || initialBackoff.isNegative()) {
            throw new IllegalArgumentException("slack.call-timeout must be positive and slack.initial-backoff not negative; got "
                    + callTimeout + " and " + initialBackoff);
        }
    }

    private static final Set<String> KEYS = Set.of("bot-token", "signing-secret", "app-token", "default-channel", "api-base-url",
            "console-base-url", "user-mapping", "require-comment-on-critical", "notify-owner", "call-timeout", "max-attempts",
            "initial-backoff");

    /**
     * Reads the config's {@code slack:} section (environment variables already substituted),
     * strictly: an unknown key or a value of the wrong kind fails naming {@code slack.<key>}.
     */
    public static SlackSettings parse(JsonNode node, String source) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(source + ": slack must be a mapping (bot-token, signing-secret, default-channel, ...)");
        }
        node.fieldNames().forEachRemaining(k -> {
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException(source + ": slack." + k + " is not a setting; known: " + String.join(", ",
                        new java.util.TreeSet<>(KEYS)));
            }
        });
        Map<String, String> mapping = new LinkedHashMap<>();
        JsonNode m = node.path("user-mapping");
        if (!m.isMissingNode() && !m.isNull()) {
            if (!m.isObject()) {
                throw new IllegalArgumentException(source + ": slack.user-mapping must map Slack user ids to reviewer names,"
                        + " e.g. U024BE7LH: alice");
            }
            m.fields().forEachRemaining(e -> mapping.put(e.getKey(), text(e.getValue(), "user-mapping." + e.getKey(), source)));
        }
        try {
            return new SlackSettings(text(node.get("bot-token"), "bot-token", source), text(node.get("signing-secret"),
                    "signing-secret", source), text(node.get("app-token"), "app-token", source),
                    text(node.get("default-channel"), "default-channel", source), text(node.get("api-base-url"), "api-base-url", source),
                    text(node.get("console-base-url"), "console-base-url", source), mapping,
                    bool(node.get("require-comment-on-critical"), "require-comment-on-critical", source),
                    bool(node.get("notify-owner"), "notify-owner", source),
                    duration(node.get("call-timeout"), "call-timeout", source),
                    node.hasNonNull("max-attempts") ? positiveInt(node.get("max-attempts"), source) : 0,
                    duration(node.get("initial-backoff"), "initial-backoff", source));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(source) ? e : new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode n, String key, String source) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isValueNode()) {
            throw new IllegalArgumentException(source + ": slack." + key + " must be a single value, not a list or mapping");
        }
        return n.asText();
    }

    private static boolean bool(JsonNode n, String key, String source) {
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(source + ": slack." + key + " must be true or false, got '" + n.asText() + "'");
        }
        return n.booleanValue();
    }

    private static int positiveInt(JsonNode n, String source) {
        if (!n.canConvertToInt() || n.asInt() < 1 || !n.isIntegralNumber()) {
            throw new IllegalArgumentException(source + ": slack.max-attempts must be a whole number from 1, got '" + n.asText() + "'");
        }
        return n.asInt();
    }

    /** {@code 500ms}, {@code 10s}, {@code 2m}, or an ISO-8601 duration such as {@code PT10S}. */
    static Duration duration(JsonNode n, String key, String source) {
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
                case 'h' -> Duration.ofHours(amount);
                default -> throw new NumberFormatException();
            };
        } catch (NumberFormatException | DateTimeParseException | StringIndexOutOfBoundsException e) {
            throw new IllegalArgumentException(source + ": slack." + key + " '" + n.asText()
                    + "' is not a duration; write e.g. 500ms, 10s, 2m or PT10S");
        }
    }

    /** The settings a deployment usually writes; the rest take their defaults. */
    public static SlackSettings of(String botToken, String signingSecret, String defaultChannel, String consoleBaseUrl) {
        return new SlackSettings(botToken, signingSecret, null, defaultChannel, null, consoleBaseUrl, Map.of(), false, false,
                null, 0, null);
    }

    public SlackSettings withApiBaseUrl(String url) {
        return new SlackSettings(botToken, signingSecret, appToken, defaultChannel, url, consoleBaseUrl, userMapping,
                requireCommentOnCritical, notifyOwner, callTimeout, maxAttempts, initialBackoff);
    }

    public SlackSettings withUserMapping(Map<String, String> mapping) {
        return new SlackSettings(botToken, signingSecret, appToken, defaultChannel, apiBaseUrl, consoleBaseUrl, mapping,
                requireCommentOnCritical, notifyOwner, callTimeout, maxAttempts, initialBackoff);
    }

    public SlackSettings withRequireCommentOnCritical(boolean require) {
        return new SlackSettings(botToken, signingSecret, appToken, defaultChannel, apiBaseUrl, consoleBaseUrl, userMapping,
                require, notifyOwner, callTimeout, maxAttempts, initialBackoff);
    }

    public SlackSettings withNotifyOwner(boolean notify) {
        return new SlackSettings(botToken, signingSecret, appToken, defaultChannel, apiBaseUrl, consoleBaseUrl, userMapping,
                requireCommentOnCritical, notify, callTimeout, maxAttempts, initialBackoff);
    }

    public SlackSettings withRetries(Duration timeout, int attempts, Duration backoff) {
        return new SlackSettings(botToken, signingSecret, appToken, defaultChannel, apiBaseUrl, consoleBaseUrl, userMapping,
                requireCommentOnCritical, notifyOwner, timeout, attempts, backoff);
    }

    public boolean socketMode() {
        return appToken != null;
    }

    /** The console's page for one request, or empty when no console URL is configured. */
    public String consoleLink(String requestId) {
        return consoleBaseUrl.isEmpty() ? "" : consoleBaseUrl + "/console/#" + requestId;
    }

    private static String require(String value, String key, String what) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("slack." + key + " is missing: set it to " + what);
        }
        return value.strip();
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public String toString() {
        // Tokens and the signing secret never reach logs.
        return "SlackSettings[defaultChannel=" + defaultChannel + ", apiBaseUrl=" + apiBaseUrl + ", consoleBaseUrl="
                + consoleBaseUrl + ", socketMode=" + socketMode() + ", mappedUsers=" + userMapping.size() + "]";
    }
}
