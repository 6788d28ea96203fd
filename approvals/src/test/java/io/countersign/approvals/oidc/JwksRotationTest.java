package io.countersign.approvals.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.countersign.approvals.oidc.TokenRejectedException.Check;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The provider rotates its signing key: a token with the new key id makes Countersign fetch the key
 * set again and accept it; made-up key ids cannot make it fetch more than once per 30 s. The key set
 * is served by a local HTTP server that plays the provider's {@code jwks_uri} with real RSA keys.
 */
class JwksRotationTest {

    static final String ISSUER = "https://idp.example";
    final TestClock clock = new TestClock();
    final AtomicReference<JWKSet> served = new AtomicReference<>();
    HttpServer jwksServer;
    Jwks jwks;
    IdTokenValidator validator;
    RSAKey oldKey;
    RSAKey newKey;

    @BeforeEach
    void start() throws Exception {
        oldKey = new RSAKeyGenerator(2048).keyID("2026-10").generate();
        newKey = new RSAKeyGenerator(2048).keyID("2026-11").generate();
        served.set(new JWKSet(oldKey.toPublicJWK()));
        jwksServer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        jwksServer.createContext("/keys", ex -> {
            byte[] body = served.get().toString().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        jwksServer.start();
        jwks = new Jwks(HttpClient.newHttpClient(), URI.create("http://127.0.0.1:" + jwksServer.getAddress().getPort() + "/keys"), clock,
                Duration.ofSeconds(30));
        validator = new IdTokenValidator(ISSUER, Set.of("cs"), jwks, clock);
    }

    @AfterEach
    void stop() {
        jwksServer.stop(0);
    }

    String token(RSAKey key) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
                new JWTClaimsSet.Builder().issuer(ISSUER).audience(List.of("cs")).subject("alice")
                        .expirationTime(Date.from(clock.instant().plusSeconds(600))).issueTime(Date.from(clock.instant())).build());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    @Test
    void aRotatedKeyIsFetchedOnFirstSightAndUnknownKeysAreRateLimited() throws Exception {
        assertThat(validator.validate(token(oldKey), null, null).getSubject()).isEqualTo("alice");
        assertThat(jwks.fetches()).isEqualTo(1);
        assertThat(validator.validate(token(oldKey), null, null).getSubject()).isEqualTo("alice");
        assertThat(jwks.fetches()).as("cached").isEqualTo(1);

        served.set(new JWKSet(List.of(oldKey.toPublicJWK(), newKey.toPublicJWK()))); // the provider rotates
        clock.advance(Duration.ofSeconds(31));
        assertThat(validator.validate(token(newKey), null, null).getSubject()).isEqualTo("alice");
        assertThat(jwks.fetches()).isEqualTo(2);

        RSAKey bogus = new RSAKeyGenerator(2048).keyID("made-up").generate();
        assertThatThrownBy(() -> validator.validate(token(bogus), null, null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.UNKNOWN_KEY));
        assertThat(jwks.fetches()).as("within 30 s of the last fetch: no new fetch").isEqualTo(2);
    }
}
