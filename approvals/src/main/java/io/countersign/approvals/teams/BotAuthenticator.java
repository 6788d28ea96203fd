package io.countersign.approvals.teams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks that an activity posted to the messaging endpoint comes from the Bot Framework, as its
 * documentation requires: the {@code Authorization: Bearer} JWT is signed (RS256) by a key from
 * the JWKS named in the OpenID metadata, its issuer is the metadata's issuer, its audience is this
 * bot's app id, it is within its validity (five minutes' clock skew), its {@code serviceUrl} claim
 * equals the activity's serviceUrl, and when the key lists endorsements, the activity's channel is
 * among them. Keys are cached and re-read when a token names an unknown key id (at most once per
 * {@link #MIN_REFRESH}), and daily.
 *
 * <p>Blocking (it may fetch the metadata): call it on the HTTP server's request thread.
 */
public final class BotAuthenticator {

    private static final Logger LOG = LoggerFactory.getLogger(BotAuthenticator.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration SKEW = Duration.ofMinutes(5);
    static final Duration MIN_REFRESH = Duration.ofSeconds(30);
    static final Duration MAX_AGE = Duration.ofHours(24);

    /** The outcome: the token's claims, or why the activity is refused (logged, and in the 401's body). */
    public sealed interface Result {}

    public record Valid(JWTClaimsSet claims) implements Result {}

    public record Invalid(String reason) implements Result {}

    private record Keys(String issuer, Set<String> algorithms, Map<String, RSAKey> byId, Map<String, Set<String>> endorsements,
            Instant fetched) {}

    private final TeamsSettings settings;
    private final HttpClient http;
    private final Clock clock;
    private volatile Keys keys;
    private volatile Instant lastFetch = Instant.EPOCH;

    public BotAuthenticator(TeamsSettings settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(settings.callTimeout()).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /**
     * @param authorization the request's Authorization header (may be null)
     * @param serviceUrl    the activity's {@code serviceUrl}
     * @param channelId     the activity's {@code channelId} (e.g. {@code msteams})
     */
    public Result verify(String authorization, String serviceUrl, String channelId) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7) || authorization.length() <= 7) {
            return new Invalid("no Bot Framework token: the request has no 'Authorization: Bearer' header");
        }
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(authorization.substring(7).strip());
        } catch (ParseException e) {
            return new Invalid("the bearer token is not a signed JWT");
        }
        JWSHeader header = jwt.getHeader();
        String kid = header.getKeyID();
        if (kid == null) {
            return new Invalid("the token names no signing key (kid)");
        }
        Keys k;
        try {
            k = keysFor(kid);
        } catch (IOException e) {
            LOG.warn("teams: cannot read the Bot Framework signing keys from {}: {}", settings.openIdMetadataUrl(), e.getMessage());
            return new Invalid("the Bot Framework signing keys could not be read; try again");
        }
        if (!k.algorithms().contains(header.getAlgorithm().getName())) {
            return new Invalid("the token is signed with " + header.getAlgorithm() + ", which the OpenID metadata does not allow");
        }
        RSAKey key = k.byId().get(kid);
        if (key == null) {
            return new Invalid("the token is signed by key " + kid + ", which is not in the Bot Framework's JWKS");
        }
        try {
            if (!jwt.verify(new RSASSAVerifier(key))) {
                return new Invalid("the token's signature does not verify with key " + kid);
            }
        } catch (JOSEException e) {
            return new Invalid("the token's signature cannot be checked: " + e.getMessage());
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            return new Invalid("the token's claims are not readable");
        }
        Instant now = clock.instant();
        if (!k.issuer().equals(claims.getIssuer())) {
            return new Invalid("the token's issuer '" + claims.getIssuer() + "' is not the Bot Framework's '" + k.issuer() + "'");
        }
        List<String> audience = claims.getAudience();
        if (audience == null || !audience.contains(settings.appId())) {
            return new Invalid("the token is for audience " + audience + ", not this bot's app id (teams.app-id)");
        }
        Date exp = claims.getExpirationTime();
        if (exp == null || now.isAfter(exp.toInstant().plus(SKEW))) {
            return new Invalid(exp == null ? "the token has no expiry" : "the token expired at " + exp.toInstant());
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(SKEW).isBefore(nbf.toInstant())) {
            return new Invalid("the token is not valid before " + nbf.toInstant());
        }
        Object claimed = claims.getClaim("serviceUrl");
        if (!(claimed instanceof String s) || serviceUrl == null || !sameUrl(s, serviceUrl)) {
            // the serviceUrl is where the bot sends its token and replies: it must be the one Microsoft vouched for
            return new Invalid("the token's serviceUrl claim " + (claimed == null ? "is missing" : "'" + claimed + "'")
                    + " and the activity's serviceUrl '" + serviceUrl + "' differ");
        }
        Set<String> endorsed = k.endorsements().get(kid);
        if (endorsed != null && !endorsed.isEmpty() && (channelId == null || !endorsed.contains(channelId))) {
            return new Invalid("key " + kid + " is not endorsed for channel '" + channelId + "'");
        }
        return new Valid(claims);
    }

    private Keys keysFor(String kid) throws IOException {
        Keys k = keys;
        Instant now = clock.instant();
        boolean stale = k == null || now.isAfter(k.fetched().plus(MAX_AGE));
        boolean unknownKid = k != null && !k.byId().containsKey(kid);
        if (stale || (unknownKid && now.isAfter(lastFetch.plus(MIN_REFRESH)))) {
            synchronized (this) {
                Keys current = keys;
                if (current == k) {
                    try {
                        keys = fetch();
                    } catch (IOException e) {
                        if (k == null) {
                            throw e;
                        }
                        LOG.warn("teams: refreshing the Bot Framework keys failed ({}); keeping the {} known keys", e.getMessage(),
                                k.byId().size());
                    } finally {
                        lastFetch = clock.instant();
                    }
                }
            }
        }
        return keys;
    }

    private Keys fetch() throws IOException {
        JsonNode meta = getJson(settings.openIdMetadataUrl());
        String issuer = meta.path("issuer").asText("");
        String jwksUri = meta.path("jwks_uri").asText("");
        if (issuer.isEmpty() || jwksUri.isEmpty()) {
            throw new IOException("the OpenID metadata at " + settings.openIdMetadataUrl() + " has no issuer or jwks_uri");
        }
        Set<String> algorithms = new HashSet<>();
        meta.path("id_token_signing_alg_values_supported").forEach(a -> algorithms.add(a.asText()));
        if (algorithms.isEmpty()) {
            algorithms.add(JWSAlgorithm.RS256.getName());
        }
        algorithms.retainAll(Set.of("RS256", "RS384", "RS512"));   // never "none", never HMAC with a public key
        String jwksText = get(jwksUri);
        Map<String, RSAKey> byId = new HashMap<>();
        Map<String, Set<String>> endorsements = new HashMap<>();
        try {
            for (JWK jwk : JWKSet.parse(jwksText).getKeys()) {
                if (jwk instanceof RSAKey rsa && jwk.getKeyID() != null) {
                    byId.put(jwk.getKeyID(), rsa);
                }
            }
        } catch (ParseException e) {
            throw new IOException("the JWKS at " + jwksUri + " is not a JWK set: " + e.getMessage());
        }
        // Bot Framework keys carry "endorsements" (channels they may sign for), which JWK parsers drop.
        for (JsonNode key : JSON.readTree(jwksText).path("keys")) {
            if (key.has("kid") && key.path("endorsements").isArray()) {
                Set<String> channels = new HashSet<>();
                key.get("endorsements").forEach(c -> channels.add(c.asText().toLowerCase(Locale.ROOT)));
                endorsements.put(key.get("kid").asText(), channels);
            }
        }
        LOG.debug("teams: {} Bot Framework signing keys from {}", byId.size(), jwksUri);
        return new Keys(issuer, Set.copyOf(algorithms), Map.copyOf(byId), Map.copyOf(endorsements), clock.instant());
    }

    private JsonNode getJson(String url) throws IOException {
        return JSON.readTree(get(url));
    }

    private String get(String url) throws IOException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(settings.callTimeout()).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException(url + " answered HTTP " + r.statusCode());
            }
            return r.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading " + url, e);
        } catch (IllegalArgumentException e) {
            throw new IOException("'" + url + "' is not a URL", e);
        }
    }

    static boolean sameUrl(String a, String b) {
        return TeamsSettings.slash(a.strip()).equalsIgnoreCase(TeamsSettings.slash(b.strip()));
    }
}
