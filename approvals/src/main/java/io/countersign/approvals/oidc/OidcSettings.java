package io.countersign.approvals.oidc;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code approvals.oidc} section: reviewers sign in with the company's OpenID Connect provider.
 *
 * @param issuer       the provider's issuer URL; discovery is read from {@code <issuer>/.well-known/openid-configuration}
 * @param clientId     this Countersign's client id at the provider (the web console's)
 * @param clientSecret its client secret (use {@code ${ENV}})
 * @param redirectUrl  the console's callback as the provider knows it, {@code https://<admin host>/auth/callback}; null:
 *                     derived from {@code approvals.console-url} (or the admin address) when the first sign-in starts
 * @param groupsClaim  the claim holding the user's groups; a dotted path reaches nested claims ({@code realm_access.roles})
 * @param emailClaim   the claim holding the e-mail address that links the user to the reviewer directory
 * @param groupMapping provider group to policy reviewer groups; empty: provider group names are used as they are
 * @param scopes       scopes asked for at sign-in; must include {@code openid}
 * @param cliClientId  the public client the CLI's device flow uses (default: {@code clientId}); its ID tokens are accepted as bearer tokens
 * @param sessionTtl   how long a console session lasts
 */
public record OidcSettings(
        URI issuer,
        String clientId,
        String clientSecret,
        URI redirectUrl,
        String groupsClaim,
        String emailClaim,
        Map<String, List<String>> groupMapping,
        List<String> scopes,
        String cliClientId,
        Duration sessionTtl) {

    public static final String CALLBACK_PATH = "/auth/callback";

    public OidcSettings {
        groupsClaim = groupsClaim == null || groupsClaim.isBlank() ? "groups" : groupsClaim.strip();
        emailClaim = emailClaim == null || emailClaim.isBlank() ? "email" : emailClaim.strip();
        groupMapping = groupMapping == null ? Map.of() : Map.copyOf(groupMapping);
        scopes = scopes == null || scopes.isEmpty() ? List.of("openid", "email", "profile") : List.copyOf(scopes);
        cliClientId = cliClientId == null || cliClientId.isBlank() ? clientId : cliClientId.strip();
        sessionTtl = sessionTtl == null ? Duration.ofHours(8) : sessionTtl;
    }

    /** The audiences a bearer ID token may carry: the console's client and the CLI's. */
    public Set<String> audiences() {
        return new LinkedHashSet<>(List.of(clientId, cliClientId));
    }

    /** Policy reviewer groups for the provider's groups of one user. */
    public Set<String> mapGroups(List<String> providerGroups) {
        Set<String> out = new TreeSet<>();
        for (String g : providerGroups) {
            if (groupMapping.isEmpty()) {
                out.add(g);
            } else {
                out.addAll(groupMapping.getOrDefault(g, List.of()));
            }
        }
        return out;
    }

    private static final Set<String> KEYS = new TreeSet<>(Set.of("issuer", "client-id", "client-secret", "redirect-url",
            "groups-claim", "email-claim", "group-mapping", "scopes", "cli-client-id", "session-hours"));

    /**
     * Reads {@code approvals.oidc} strictly (environment variables already substituted): an unknown
     * key or a bad value fails with a message naming {@code <at>.<key>} and what is expected.
     */
    public static OidcSettings parse(JsonNode node, String at) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(at + " must be a mapping with issuer, client-id, client-secret (and redirect-url)");
        }
        node.fieldNames().forEachRemaining(k -> {
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException(at + "." + k + " is not a setting; expected one of: " + String.join(", ", KEYS));
            }
        });
        URI issuer = url(node, at, "issuer", "the provider's issuer URL, e.g. https://login.example.com/realms/acme");
        String clientId = text(node, at, "client-id", true, "the client id registered for Countersign at the provider");
        String secret = text(node, at, "client-secret", true,
                "the client secret registered for Countersign (write ${OIDC_CLIENT_SECRET} to read it from the environment)");
        URI redirect = node.hasNonNull("redirect-url")
                ? url(node, at, "redirect-url", "this console's callback, e.g. https://countersign.example.com" + CALLBACK_PATH) : null;
        if (redirect != null && !CALLBACK_PATH.equals(redirect.getPath())) {
            throw new IllegalArgumentException(at + ".redirect-url '" + redirect + "' must end in " + CALLBACK_PATH
                    + ", where Countersign receives the provider's answer; register the same URL at the provider");
        }
        Map<String, List<String>> mapping = new LinkedHashMap<>();
        JsonNode m = node.get("group-mapping");
        if (m != null && !m.isNull()) {
            if (!m.isObject()) {
                throw new IllegalArgumentException(at + ".group-mapping must be a mapping of provider group to policy group(s),"
                        + " e.g. {\"db-admins\": dba}");
            }
            m.fields().forEachRemaining(e -> mapping.put(e.getKey(), strings(e.getValue(), at + ".group-mapping." + e.getKey())));
        }
        List<String> scopes = node.has("scopes") ? strings(node.get("scopes"), at + ".scopes") : null;
        if (scopes != null && !scopes.contains("openid")) {
            throw new IllegalArgumentException(at + ".scopes " + scopes + " lacks 'openid'; OpenID Connect sign-in needs it");
        }
        Duration ttl = null;
        JsonNode hours = node.get("session-hours");
        if (hours != null && !hours.isNull()) {
            if (!hours.isNumber() || hours.asDouble() <= 0 || hours.asDouble() > 24 * 30) {
                throw new IllegalArgumentException(at + ".session-hours '" + hours + "' must be a number of hours above 0 and at most 720");
            }
            ttl = Duration.ofSeconds(Math.round(hours.asDouble() * 3600));
        }
        return new OidcSettings(issuer, clientId, secret, redirect, text(node, at, "groups-claim", false, ""),
                text(node, at, "email-claim", false, ""), mapping, scopes, text(node, at, "cli-client-id", false, ""), ttl);
    }

    private static String text(JsonNode node, String at, String key, boolean required, String expected) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().isBlank())) {
            if (required) {
                throw new IllegalArgumentException(at + "." + key + " is missing; expected " + expected);
            }
            return null;
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException(at + "." + key + " must be a single text value");
        }
        return v.asText().strip();
    }

    private static URI url(JsonNode node, String at, String key, String expected) {
        String s = text(node, at, key, true, expected);
        URI u;
        try {
            u = URI.create(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + "." + key + " '" + s + "' is not a URL; expected " + expected);
        }
        if (u.getHost() == null || !("https".equals(u.getScheme()) || "http".equals(u.getScheme()))) {
            throw new IllegalArgumentException(at + "." + key + " '" + s + "' is not an http(s) URL; expected " + expected);
        }
        // tokens and the client secret travel to the issuer: plain http only to this machine (tests, a local Keycloak)
        if ("http".equals(u.getScheme()) && !isLoopback(u.getHost()) && key.equals("issuer")) {
            throw new IllegalArgumentException(at + ".issuer '" + s + "' uses plain http; the provider must be reached over https"
                    + " (http is accepted only for localhost / 127.0.0.1)");
        }
        return u;
    }

    static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]") || host.equals("::1");
    }

    private static List<String> strings(JsonNode v, String at) {
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.asText().strip());
        } else if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isTextual() || e.asText().isBlank()) {
                    throw new IllegalArgumentException(at + " must list names as text; got " + e);
                }
                out.add(e.asText().strip());
            }
        } else {
            throw new IllegalArgumentException(at + " must be a name or a list of names; got " + v);
        }
        return out;
    }
}
