package io.countersign.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.server.config.AgentConfig;
import io.countersign.server.config.AgentTokensConfig;
import io.countersign.wire.spi.TokenVerifier;
import java.net.URI;
import java.net.URL;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies agents' workload tokens (JWTs) against the identity provider's key set: signature
 * (asymmetric algorithms only), issuer, audience, expiry and not-before (with the configured clock
 * skew), and that the name claim names the agent that logs in. Each refusal says which check
 * failed; the log gets the token's subject and key id and nothing else of it.
 *
 * <p>The key set is fetched and cached by Nimbus's {@link JWKSourceBuilder}: a key id it does not
 * know makes it fetch the set again (at most once per rate-limit interval), so the provider can
 * rotate keys. Fetching is network I/O, so every verification runs on this class's own threads and
 * the session gets a stage: no event loop ever waits for the provider.
 */
public final class AgentTokenVerifier implements TokenVerifier, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AgentTokenVerifier.class);
    /** Asymmetric only: an HMAC "key" would be a secret shared with every workload. */
    private static final Set<JWSAlgorithm> ACCEPTED = java.util.stream.Stream.of(
                    JWSAlgorithm.Family.RSA, JWSAlgorithm.Family.EC, JWSAlgorithm.Family.ED)
            .flatMap(Set::stream).collect(java.util.stream.Collectors.toUnmodifiableSet());

    private final AgentTokensConfig config;
    private final Map<String, AgentConfig> agents;
    private final Clock clock;
    private final ExecutorService executor = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("countersign-agent-token-", 0).factory());
    private final DefaultJWSVerifierFactory verifiers = new DefaultJWSVerifierFactory();
    private volatile JWKSource<SecurityContext> keys;

    public AgentTokenVerifier(AgentTokensConfig config, Map<String, AgentConfig> agents) {
        this(config, agents, Clock.systemUTC());
    }

    AgentTokenVerifier(AgentTokensConfig config, Map<String, AgentConfig> agents, Clock clock) {
        this.config = config;
        this.agents = Map.copyOf(agents);
        this.clock = clock;
    }

    @Override
    public CompletionStage<Result> verify(String user, String token) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return check(user, token);
            } catch (RuntimeException e) {
                log.warn("agent token for user {} could not be verified: {}", user, e.toString());
                return new Result.Refused("the token could not be verified (" + e.getMessage() + ")");
            }
        }, executor);
    }

    private Result check(String user, String token) {
        SignedJWT jwt;
        JWTClaimsSet claims;
        try {
            jwt = SignedJWT.parse(token.trim());
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            return refuse(user, null, null, "malformed", "malformed token: not a signed JWT (send the identity provider's access token as the password)");
        }
        JWSHeader header = jwt.getHeader();
        String kid = header.getKeyID();
        String subject = claims.getSubject();
        if (!ACCEPTED.contains(header.getAlgorithm())) {
            return refuse(user, subject, kid, "algorithm", "unsupported signing algorithm " + header.getAlgorithm()
                    + ": only asymmetric (RS*, PS*, ES*, EdDSA) tokens from the identity provider are accepted");
        }
        // The issuer is read before the signature is checked only to say clearly what is wrong;
        // nothing is accepted on its word.
        if (!config.issuer().equals(claims.getIssuer())) {
            return refuse(user, subject, kid, "issuer", "wrong issuer: the token was issued by '" + claims.getIssuer()
                    + "', Countersign accepts tokens from '" + config.issuer() + "'");
        }
        List<JWK> candidates;
        try {
            candidates = keys().get(new JWKSelector(JWKMatcher.forJWSHeader(header)), null);
        } catch (KeySourceException e) {
            if (e instanceof com.nimbusds.jose.jwk.source.RateLimitReachedException) {
                candidates = List.of();
            } else {
                log.warn("agent token for user {} (sub {}, kid {}): the provider's key set could not be read: {}",
                        user, subject, kid, e.getMessage());
                return new Result.Refused("the identity provider's signing keys could not be fetched (" + e.getMessage()
                        + "); try again, or ask the operator to check identity.agent-tokens");
            }
        }
        if (candidates.isEmpty()) {
            return refuse(user, subject, kid, "unknown key", "unknown signing key: the identity provider's key set has no key "
                    + (kid == null ? "for this token" : "with id '" + kid + "'") + " (was the token signed by someone else?)");
        }
        if (!signatureValid(jwt, header, candidates)) {
            return refuse(user, subject, kid, "signature", "bad signature: the token was altered or not signed by the identity provider");
        }
        Instant now = clock.instant();
        Duration skew = Duration.ofSeconds(config.clockSkewSeconds());
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            return refuse(user, subject, kid, "no expiry", "the token has no expiry (exp); Countersign accepts only short-lived tokens");
        }
        if (!now.isBefore(exp.toInstant().plus(skew))) {
            return refuse(user, subject, kid, "expired", "expired at " + exp.toInstant() + "; get a fresh token from the identity provider");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(skew).isBefore(nbf.toInstant())) {
            return refuse(user, subject, kid, "not yet valid", "not valid yet (nbf " + nbf.toInstant() + "); check the clocks");
        }
        List<String> audience = claims.getAudience();
        if (audience == null || !audience.contains(config.audience())) {
            return refuse(user, subject, kid, "audience", "wrong audience: the token is for " + (audience == null || audience.isEmpty() ? "no audience" : audience)
                    + ", Countersign accepts '" + config.audience() + "'; ask the provider for a token with that audience");
        }
        String name = claimText(claims, config.nameClaim());
        if (!user.equals(name)) {
            return refuse(user, subject, kid, "name claim", "the token's " + config.nameClaim() + " claim names "
                    + (name == null ? "no agent" : "agent '" + name + "'") + ", not '" + user + "'; log in with the agent name the token carries");
        }
        AgentConfig agent = agents.get(user);
        if (agent == null || !agent.usesJwt()) {
            return refuse(user, subject, kid, "not a token agent", "agent '" + user + "' does not log in with tokens");
        }
        if (config.ownerClaim() != null) {
            String owner = claimText(claims, config.ownerClaim());
            if (!agent.owner().equals(owner)) {
                return refuse(user, subject, kid, "owner claim", "the token's " + config.ownerClaim() + " claim names owner "
                        + (owner == null ? "(none)" : "'" + owner + "'") + ", but agent '" + user + "' is owned by someone else in the Countersign config");
            }
        }
        log.info("agent {} logged in with a token (sub {}, kid {})", user, subject, kid);
        return new Result.Accepted(subject);
    }

    private boolean signatureValid(SignedJWT jwt, JWSHeader header, List<JWK> candidates) {
        for (JWK key : candidates) {
            try {
                JWSVerifier v = switch (key.getKeyType().getValue()) {
                    case "RSA" -> verifiers.createJWSVerifier(header, key.toRSAKey().toRSAPublicKey());
                    case "EC" -> verifiers.createJWSVerifier(header, key.toECKey().toECPublicKey());
                    default -> key.getKeyType() == KeyType.OKP
                            ? new com.nimbusds.jose.crypto.Ed25519Verifier(key.toOctetKeyPair().toPublicJWK()) : null;
                };
                if (v != null && jwt.verify(v)) {
                    return true;
                }
            } catch (JOSEException | RuntimeException e) {
                // a key of the wrong shape for this header: try the next candidate
            }
        }
        return false;
    }

    private static String claimText(JWTClaimsSet claims, String name) {
        Object v = claims.getClaim(name);
        return v == null ? null : String.valueOf(v);
    }

    /** Logs the failed check with the token's subject and key id only; the reason (with claim values) goes to the client. */
    private static Result refuse(String user, String subject, String kid, String check, String reason) {
        log.info("agent token refused for user {} (sub {}, kid {}): {}", user, subject, kid, check);
        return new Result.Refused(reason);
    }

    /** Built on first use (on a verification thread): discovery may have to ask the provider where its keys are. */
    private JWKSource<SecurityContext> keys() throws KeySourceException {
        JWKSource<SecurityContext> k = keys;
        if (k == null) {
            synchronized (this) {
                k = keys;
                if (k == null) {
                    URL url = jwksUrl();
                    // 5 s rather than Nimbus's 500 ms default: a busy provider is slow, not absent
                    k = JWKSourceBuilder.create(url, new DefaultResourceRetriever(5_000, 5_000, 256 * 1024))
                            .cache(Duration.ofMinutes(15).toMillis(), Duration.ofSeconds(10).toMillis())
                            .rateLimited(Duration.ofSeconds(30).toMillis())
                            .refreshAheadCache(false)
                            .build();
                    keys = k;
                }
            }
        }
        return k;
    }

    private URL jwksUrl() throws KeySourceException {
        try {
            if (config.jwksUrl() != null) {
                return URI.create(config.jwksUrl()).toURL();
            }
            String issuer = config.issuer().endsWith("/") ? config.issuer().substring(0, config.issuer().length() - 1) : config.issuer();
            URL discovery = URI.create(issuer + "/.well-known/openid-configuration").toURL();
            // the same HTTP client Nimbus fetches the key set with (bounded time and size)
            String body = new DefaultResourceRetriever(5_000, 5_000, 256 * 1024).retrieveResource(discovery).getContent();
            JsonNode doc = new ObjectMapper().readTree(body);
            String jwks = doc.path("jwks_uri").asText(null);
            if (jwks == null) {
                throw new KeySourceException("discovery at " + discovery + " names no jwks_uri; set identity.agent-tokens.jwks-url");
            }
            return URI.create(jwks).toURL();
        } catch (KeySourceException e) {
            throw e;
        } catch (Exception e) {
            throw new KeySourceException("the provider's key set location could not be read: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
