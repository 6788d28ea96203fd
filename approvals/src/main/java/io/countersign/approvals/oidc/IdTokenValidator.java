package io.countersign.approvals.oidc;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.approvals.oidc.TokenRejectedException.Check;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checks an ID token as OpenID Connect Core §3.1.3.7 asks: signed by one of the provider's keys
 * (asymmetric algorithms only), issued by the configured issuer, for one of our client ids, not
 * expired, carrying the nonce of the sign-in it answers, and, when an access token came with it,
 * bound to that access token by {@code at_hash}. Signature maths is Nimbus JOSE's.
 */
public final class IdTokenValidator {

    /** Clocks of Countersign and the provider may differ by this much. */
    static final Duration LEEWAY = Duration.ofSeconds(60);

    private static final Set<JWSAlgorithm> ALLOWED = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512);

    private final String issuer;
    private final Set<String> audiences;
    private final Jwks jwks;
    private final Clock clock;

    public IdTokenValidator(String issuer, Set<String> audiences, Jwks jwks, Clock clock) {
        this.issuer = issuer;
        this.audiences = Set.copyOf(audiences);
        this.jwks = jwks;
        this.clock = clock;
    }

    /**
     * Returns the token's claims, or throws naming the check that failed.
     *
     * @param nonce       the nonce sent with the sign-in this token answers; null for bearer tokens (no sign-in to bind to)
     * @param accessToken the access token issued with it, checked against {@code at_hash} when the token has one; may be null
     */
    public JWTClaimsSet validate(String token, String nonce, String accessToken) throws TokenRejectedException {
        SignedJWT jwt;
        JWTClaimsSet claims;
        try {
            jwt = SignedJWT.parse(token == null ? "" : token.strip());
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new TokenRejectedException(Check.MALFORMED, "not a signed JWT: " + e.getMessage());
        }
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        if (!ALLOWED.contains(alg)) {
            throw new TokenRejectedException(Check.ALGORITHM, "signed with " + alg + "; only the provider's asymmetric keys"
                    + " (RS*, PS*, ES*) are accepted");
        }
        String kid = jwt.getHeader().getKeyID();
        Optional<JWK> key;
        try {
            key = jwks.key(kid);
        } catch (IOException e) {
            throw new TokenRejectedException(Check.KEYS_UNAVAILABLE, "the provider's signing keys could not be read: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TokenRejectedException(Check.KEYS_UNAVAILABLE, "interrupted while reading the provider's signing keys");
        }
        if (key.isEmpty()) {
            throw new TokenRejectedException(Check.UNKNOWN_KEY, "signed with key id '" + kid + "', which is not in the provider's"
                    + " key set (even after fetching it again); the token was not issued by " + issuer);
        }
        try {
            if (!jwt.verify(verifier(key.get(), alg))) {
                throw new TokenRejectedException(Check.SIGNATURE, "the signature does not match key '" + kid + "'; the token was altered");
            }
        } catch (JOSEException e) {
            throw new TokenRejectedException(Check.SIGNATURE, "the signature could not be checked with key '" + kid + "': " + e.getMessage());
        }
        if (!issuer.equals(claims.getIssuer())) {
            throw new TokenRejectedException(Check.ISSUER, "issued by '" + claims.getIssuer() + "', not by the configured issuer '"
                    + issuer + "'");
        }
        List<String> aud = claims.getAudience();
        if (aud.stream().noneMatch(audiences::contains)) {
            throw new TokenRejectedException(Check.AUDIENCE, "issued for audience " + aud + ", not for this Countersign's client id "
                    + audiences);
        }
        Object azp = claims.getClaim("azp");
        if (aud.size() > 1 && azp != null && !audiences.contains(String.valueOf(azp))) {
            throw new TokenRejectedException(Check.AUDIENCE, "authorized party '" + azp + "' is not this Countersign's client " + audiences);
        }
        Instant now = clock.instant();
        Date exp = claims.getExpirationTime();
        if (exp == null || !now.isBefore(exp.toInstant().plus(LEEWAY))) {
            throw new TokenRejectedException(Check.EXPIRED, exp == null ? "the token has no expiry (exp)"
                    : "expired at " + exp.toInstant() + " (now " + now + "); sign in again");
        }
        Date iat = claims.getIssueTime();
        Date nbf = claims.getNotBeforeTime();
        if ((iat != null && now.plus(LEEWAY).isBefore(iat.toInstant())) || (nbf != null && now.plus(LEEWAY).isBefore(nbf.toInstant()))) {
            throw new TokenRejectedException(Check.NOT_YET_VALID, "issued for a time in the future (iat " + iat + ", nbf " + nbf
                    + "; now " + now + "); check the clocks");
        }
        if (nonce != null) {
            Object got = claims.getClaim("nonce");
            if (!(got instanceof String s) || !MessageDigest.isEqual(s.getBytes(StandardCharsets.UTF_8), nonce.getBytes(StandardCharsets.UTF_8))) {
                throw new TokenRejectedException(Check.NONCE, got == null ? "the token carries no nonce, but this sign-in sent one"
                        : "the token's nonce is not the one this sign-in sent; it answers another sign-in (replay?)");
            }
        }
        Object atHash = claims.getClaim("at_hash");
        if (accessToken != null && atHash != null && !atHash.equals(accessTokenHash(accessToken, alg))) {
            throw new TokenRejectedException(Check.ACCESS_TOKEN_HASH, "at_hash does not match the access token issued with it;"
                    + " the access token was swapped");
        }
        return claims;
    }

    private static JWSVerifier verifier(JWK key, JWSAlgorithm alg) throws JOSEException, TokenRejectedException {
        if (key instanceof RSAKey rsa && (JWSAlgorithm.Family.RSA.contains(alg))) {
            return new RSASSAVerifier(rsa.toRSAPublicKey());
        }
        if (key instanceof ECKey ec && JWSAlgorithm.Family.EC.contains(alg)) {
            return new ECDSAVerifier(ec.toECPublicKey());
        }
        throw new TokenRejectedException(Check.ALGORITHM, "key '" + key.getKeyID() + "' is a " + key.getKeyType()
                + " key, which cannot verify " + alg);
    }

    /** OpenID Connect Core §3.1.3.6: base64url of the left half of the access token's hash, the hash the JWS algorithm uses. */
    static String accessTokenHash(String accessToken, JWSAlgorithm alg) {
        String n = alg.getName().substring(2);
        String digest = switch (n) {
            case "384" -> "SHA-384";
            case "512" -> "SHA-512";
            default -> "SHA-256";
        };
        try {
            byte[] h = MessageDigest.getInstance(digest).digest(accessToken.getBytes(StandardCharsets.US_ASCII));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(h, h.length / 2));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(digest + " is missing from this JDK", e);
        }
    }
}
