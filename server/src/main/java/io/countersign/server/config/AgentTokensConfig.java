package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;

/**
 * Workload tokens (JWTs) agents may log in with instead of a password: who issues them, where
 * their signing keys are, and which claims name the agent and its owner.
 *
 * <p>Agents stay declared in the config (their backends, groups and owner live there); an agent
 * with {@code auth: jwt} logs in with its name as the user name and a token as the password, and
 * the token's {@code name-claim} must equal that name. Countersign never creates agents from claims:
 * a token for a workload nobody declared is refused, so the identity provider cannot grant database
 * access on its own.
 *
 * @param issuer       the provider's issuer URL; the token's {@code iss} must equal it
 * @param jwksUrl      the provider's key set; absent: read {@code jwks_uri} from
 *                     {@code <issuer>/.well-known/openid-configuration}
 * @param audience     the value the token's {@code aud} must contain (what the provider mints for Countersign)
 * @param nameClaim    the claim holding the agent's name (default {@code sub}; e.g. {@code azp} or {@code client_id})
 * @param ownerClaim   optional: a claim that must equal the agent's configured owner
 * @param clockSkewSeconds tolerance for {@code exp}/{@code nbf}/{@code iat} (default 60)
 * @param allowPlaintextOnLoopback accept tokens without TLS from loopback clients (default false; for local
 *                     sidecars and tests); from anywhere else a token is accepted only over TLS
 */
public record AgentTokensConfig(
        String issuer,
        @JsonProperty("jwks-url") String jwksUrl,
        String audience,
        @JsonProperty("name-claim") String nameClaim,
        @JsonProperty("owner-claim") String ownerClaim,
        @JsonProperty("clock-skew-seconds") Integer clockSkewSeconds,
        @JsonProperty("allow-plaintext-on-loopback") Boolean allowPlaintextOnLoopback) implements ConfigSection {

    public AgentTokensConfig {
        nameClaim = nameClaim == null || nameClaim.isBlank() ? "sub" : nameClaim;
        clockSkewSeconds = clockSkewSeconds == null ? 60 : clockSkewSeconds;
        allowPlaintextOnLoopback = allowPlaintextOnLoopback != null && allowPlaintextOnLoopback;
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        if (problems.require(issuer, Problems.join(at, "issuer"), "the identity provider's issuer URL, e.g. https://login.example.com/")) {
            url(issuer, Problems.join(at, "issuer"), problems);
        }
        if (jwksUrl != null) {
            url(jwksUrl, Problems.join(at, "jwks-url"), problems);
        }
        problems.require(audience, Problems.join(at, "audience"), "the audience the provider puts in tokens for Countersign");
        if (clockSkewSeconds < 0 || clockSkewSeconds > 600) {
            problems.add(Problems.join(at, "clock-skew-seconds"), clockSkewSeconds + " is out of range; expected 0 to 600 seconds");
        }
    }

    private static void url(String value, String at, Problems problems) {
        try {
            URI u = URI.create(value);
            if (!"https".equals(u.getScheme()) && !"http".equals(u.getScheme())) {
                problems.add(at, "'" + value + "' is not an http(s) URL");
            }
        } catch (IllegalArgumentException e) {
            problems.add(at, "'" + value + "' is not a URL: " + e.getMessage());
        }
    }
}
