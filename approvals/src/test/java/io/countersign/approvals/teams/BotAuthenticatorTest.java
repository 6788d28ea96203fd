package io.countersign.approvals.teams;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Bot Framework token checks, against a local OpenID metadata document and JWKS. */
class BotAuthenticatorTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String APP = "bot-app-id";
    static final String ISSUER = "https://api.botframework.com";
    static final String SERVICE = "https://smba.trafficmanager.net/amer/";

    /** Generated once: RSA key generation is slow on a busy machine. */
    static RSAKey key;
    static RSAKey impostor;
    static RSAKey rotated;
    static RSAKey unknown;

    HttpServer server;
    /** The keys the JWKS serves; a test may rotate them. */
    final List<RSAKey> served = new CopyOnWriteArrayList<>();
    final AtomicInteger jwksReads = new AtomicInteger();
    BotAuthenticator auth;
    /** The authenticator's clock, so the key refresh's rate limit can be passed without waiting. */
    Instant now = Instant.now();

    @BeforeAll
    static void keys() throws Exception {
        key = new RSAKeyGenerator(2048).keyID("k1").generate();
        impostor = new RSAKeyGenerator(2048).keyID("k1").generate();   // same key id, another key
        rotated = new RSAKeyGenerator(2048).keyID("k2").generate();
        unknown = new RSAKeyGenerator(2048).keyID("k9").generate();
    }

    @BeforeEach
    void start() throws Exception {
        served.add(key);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/openid", ex -> {
            ObjectNode meta = JSON.createObjectNode().put("issuer", ISSUER).put("jwks_uri", base() + "/keys");
            meta.putArray("id_token_signing_alg_values_supported").add("RS256");
            send(ex, meta.toString());
        });
        server.createContext("/keys", ex -> {
            jwksReads.incrementAndGet();
            ObjectNode set = JSON.createObjectNode();
            var keys = set.putArray("keys");
            for (RSAKey k : served) {
                ObjectNode jwk = JSON.valueToTree(k.toPublicJWK().toJSONObject());
                jwk.putArray("endorsements").add("msteams");
                keys.add(jwk);
            }
            send(ex, set.toString());
        });
        server.start();
        TeamsSettings settings = TeamsSettings.bot(APP, "pw", "19:c@thread.tacv2", "").withEndpoints(null, base() + "/openid", null);
        auth = new BotAuthenticator(settings, new Clock() {
            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now;
            }
        });
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    static void send(com.sun.net.httpserver.HttpExchange ex, String body) throws java.io.IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(200, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }

    static JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().issuer(ISSUER).audience(APP).expirationTime(Date.from(Instant.now().plusSeconds(300)))
                .notBeforeTime(Date.from(Instant.now().minusSeconds(10))).claim("serviceUrl", SERVICE);
    }

    static String sign(RSAKey k, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(k.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(k));
        return "Bearer " + jwt.serialize();
    }

    String reason(String authorization) {
        return reason(authorization, SERVICE, "msteams");
    }

    String reason(String authorization, String serviceUrl, String channel) {
        return switch (auth.verify(authorization, serviceUrl, channel)) {
            case BotAuthenticator.Valid v -> "valid";
            case BotAuthenticator.Invalid i -> i.reason();
        };
    }

    @Test
    void aTokenSignedByTheServedKeyForThisBotIsValid() throws Exception {
        assertThat(auth.verify(sign(key, claims().build()), SERVICE, "msteams")).isInstanceOfSatisfying(BotAuthenticator.Valid.class,
                v -> assertThat(v.claims().getIssuer()).isEqualTo(ISSUER));
        assertThat(reason(sign(key, claims().build()), "https://smba.trafficmanager.net/amer", "msteams"))
                .as("a trailing slash is the same serviceUrl").isEqualTo("valid");
    }

    @Test
    void eachBrokenCheckIsNamed() throws Exception {
        assertThat(reason(null)).contains("no 'Authorization: Bearer' header");
        assertThat(reason("Basic YTpi")).contains("no 'Authorization: Bearer' header");
        assertThat(reason("Bearer nonsense")).contains("not a signed JWT");
        assertThat(reason(sign(impostor, claims().build()))).contains("signature does not verify");
        assertThat(reason(sign(key, claims().audience("someone-else").build()))).contains("audience");
        assertThat(reason(sign(key, claims().issuer("https://sts.windows.net/evil/").build()))).contains("issuer");
        assertThat(reason(sign(key, claims().expirationTime(Date.from(Instant.now().minusSeconds(600))).build()))).contains("expired");
        assertThat(reason(sign(key, claims().expirationTime(null).build()))).contains("no expiry");
        assertThat(reason(sign(key, claims().notBeforeTime(Date.from(Instant.now().plusSeconds(3600))).build()))).contains("not valid before");
        assertThat(reason(sign(key, claims().build()), "https://attacker.example/", "msteams")).contains("serviceUrl");
        assertThat(reason(sign(key, claims().claim("serviceUrl", null).build()))).contains("serviceUrl claim is missing");
        assertThat(reason(sign(key, claims().build()), SERVICE, "slack")).contains("not endorsed for channel 'slack'");
    }

    @Test
    void anHmacTokenUsingThePublicKeyAsSecretIsRefused() throws Exception {
        // the classic algorithm confusion: HS256 "signed" with bytes anyone can fetch from the JWKS
        byte[] secret = key.toPublicJWK().toJSONString().repeat(2).getBytes(StandardCharsets.UTF_8);
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(), claims().build());
        jwt.sign(new MACSigner(secret));
        assertThat(reason("Bearer " + jwt.serialize())).contains("HS256");
    }

    @Test
    void anUnknownKeyIdRereadsTheJwksSoRotatedKeysWork() throws Exception {
        assertThat(reason(sign(key, claims().build()))).isEqualTo("valid");
        int reads = jwksReads.get();
        served.add(rotated);
        now = now.plus(BotAuthenticator.MIN_REFRESH).plusSeconds(1);
        assertThat(reason(sign(rotated, claims().build()))).isEqualTo("valid");
        assertThat(jwksReads.get()).isEqualTo(reads + 1);
        // a key nobody serves is refused, and does not make every request re-read the JWKS
        assertThat(reason(sign(unknown, claims().build()))).contains("not in the Bot Framework's JWKS");
        assertThat(reason(sign(unknown, claims().build()))).contains("not in the Bot Framework's JWKS");
        assertThat(jwksReads.get()).isEqualTo(reads + 1);
    }
}
