package io.countersign.approvals.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.approvals.oidc.TokenRejectedException.Check;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ID token checks against a real provider (mock-oauth2-server: its discovery document, its JWKS,
 * its signed tokens). Each refusal names the check that failed.
 */
class IdTokenValidatorTest {

    static final String CLIENT = "countersign-console";
    static MockOAuth2Server provider;
    static ProviderMetadata metadata;

    final TestClock clock = new TestClock();
    Jwks jwks;
    IdTokenValidator validator;

    @BeforeAll
    static void startProvider() throws Exception {
        provider = new MockOAuth2Server();
        provider.start();
        metadata = ProviderMetadata.discover(HttpClient.newHttpClient(), provider.issuerUrl("default").uri());
    }

    @AfterAll
    static void stopProvider() {
        provider.shutdown();
    }

    @BeforeEach
    void validator() {
        jwks = new Jwks(HttpClient.newHttpClient(), metadata.jwksUri(), clock, Duration.ofSeconds(30));
        validator = new IdTokenValidator(metadata.issuer(), Set.of(CLIENT), jwks, clock);
    }

    String token(String audience, Map<String, Object> claims) {
        return provider.issueToken("default", "alice", audience, claims).serialize();
    }

    @Test
    void discoveryFindsTheProvidersEndpoints() {
        assertThat(metadata.issuer()).isEqualTo(provider.issuerUrl("default").toString());
        assertThat(metadata.jwksUri()).isEqualTo(provider.jwksUrl("default").uri());
        assertThat(metadata.tokenEndpoint()).isEqualTo(provider.tokenEndpointUrl("default").uri());
    }

    @Test
    void aTokenFromTheProviderForUsWithTheSignInsNoncePasses() throws Exception {
        JWTClaimsSet claims = validator.validate(token(CLIENT, Map.of("nonce", "n-123", "email", "alice@example.com")), "n-123", null);
        assertThat(claims.getSubject()).isEqualTo("alice");
        assertThat(claims.getStringClaim("email")).isEqualTo("alice@example.com");
    }

    @Test
    void aTokenForAnotherAudienceIsRefused() {
        assertThatThrownBy(() -> validator.validate(token("some-other-app", Map.of()), null, null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.AUDIENCE))
                .hasMessageContaining("some-other-app").hasMessageContaining(CLIENT);
    }

    @Test
    void aTokenFromAnotherIssuerIsRefusedEvenWhenSignedByATrustedKey() {
        IdTokenValidator expectingOther = new IdTokenValidator("https://login.example.com/realms/acme", Set.of(CLIENT), jwks, clock);
        assertThatThrownBy(() -> expectingOther.validate(token(CLIENT, Map.of()), null, null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.ISSUER))
                .hasMessageContaining(metadata.issuer()).hasMessageContaining("https://login.example.com/realms/acme");
    }

    @Test
    void anExpiredTokenIsRefused() {
        String t = token(CLIENT, Map.of());
        clock.advance(Duration.ofHours(2)); // the provider issues for 1 hour; beyond the 60 s leeway
        assertThatThrownBy(() -> validator.validate(t, null, null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.EXPIRED))
                .hasMessageContaining("expired at");
    }

    @Test
    void aTokenSignedByAnUnknownKeyIsRefusedAfterTheKeySetIsFetchedAgain() throws Exception {
        validator.validate(token(CLIENT, Map.of()), null, null); // the key set is now cached
        int before = jwks.fetches();
        RSAKey attacker = new RSAKeyGenerator(2048).keyID("attacker-key").generate();
        SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("attacker-key").type(JOSEObjectType.JWT).build(),
                SignedJWT.parse(token(CLIENT, Map.of())).getJWTClaimsSet());
        forged.sign(new RSASSASigner(attacker));
        clock.advance(Duration.ofMinutes(1)); // past the refresh limit: an unknown key id may mean the provider rotated
        assertThatThrownBy(() -> validator.validate(forged.serialize(), null, null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.UNKNOWN_KEY))
                .hasMessageContaining("attacker-key");
        assertThat(jwks.fetches()).as("fetched the key set again before refusing").isEqualTo(before + 1);
    }

    @Test
    void aTokenWithAKnownKeyIdButAnotherKeysSignatureIsRefused() throws Exception {
        SignedJWT real = SignedJWT.parse(token(CLIENT, Map.of()));
        RSAKey attacker = new RSAKeyGenerator(2048).keyID(real.getHeader().getKeyID()).generate();
        SignedJWT forged = new SignedJWT(real.getHeader(), real.getJWTClaimsSet());
        forged.sign(new RSASSASigner(attacker));
        assertThatThrownBy(() -> validator.validate(forged.serialize(), null, null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.SIGNATURE));
    }

    @Test
    void aTokenAnsweringAnotherSignInIsRefusedByItsNonce() {
        String t = token(CLIENT, Map.of("nonce", "nonce-of-another-sign-in"));
        assertThatThrownBy(() -> validator.validate(t, "nonce-we-sent", null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.NONCE))
                .hasMessageContaining("another sign-in");
        assertThatThrownBy(() -> validator.validate(token(CLIENT, Map.of()), "nonce-we-sent", null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.NONCE))
                .hasMessageContaining("no nonce");
    }

    @Test
    void anAccessTokenThatDoesNotMatchAtHashIsRefused() throws Exception {
        String access = "the-access-token";
        String good = token(CLIENT, Map.of("at_hash", IdTokenValidator.accessTokenHash(access, JWSAlgorithm.RS256)));
        assertThat(validator.validate(good, null, access).getSubject()).isEqualTo("alice");
        assertThatThrownBy(() -> validator.validate(good, null, "a-swapped-access-token"))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.ACCESS_TOKEN_HASH));
    }

    @Test
    void symmetricAndMalformedTokensAreRefused() throws Exception {
        SignedJWT hs = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), SignedJWT.parse(token(CLIENT, Map.of())).getJWTClaimsSet());
        hs.sign(new MACSigner("a-shared-secret-that-is-at-least-32-bytes-long"));
        assertThatThrownBy(() -> validator.validate(hs.serialize(), null, null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.ALGORITHM));
        assertThatThrownBy(() -> validator.validate("not.a.jwt", null, null))
                .isInstanceOfSatisfying(TokenRejectedException.class, e -> assertThat(e.check()).isEqualTo(Check.MALFORMED));
    }
}
