package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.reviewing.Reviewing;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.MariaDbDatabase;
import io.countersign.testing.PostgresDatabase;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Agents log in with JWTs from a real OAuth2 provider (mock-oauth2-server: client-credentials
 * grant at its token endpoint, keys at its JWKS, found by discovery) through the real proxy to
 * real PostgreSQL and MariaDB: pgjdbc, the mariadb command-line client and MySQL Connector/J over
 * TLS. Expired tokens, tokens for another audience, tokens signed by a key the provider never
 * published, and tampered tokens are each refused with the protocol's authentication error
 * naming the failed check. Password agents keep working beside them.
 */
@ExtendWith(NettyLeakWatch.class)
class AgentTokensE2eTest {

    static final String ISSUER_ID = "corp";
    static final String AUDIENCE = "countersign";

    @RegisterExtension
    static PostgresDatabase pg = new PostgresDatabase();

    @RegisterExtension
    static MariaDbDatabase maria = new MariaDbDatabase();

    @TempDir
    static Path dir;

    static MockOAuth2Server idp;
    static CountersignServer server;

    @BeforeAll
    static void start() throws Exception {
        idp = new MockOAuth2Server();
        idp.start();
        // the provider's first answer (class loading, key generation) can take seconds on a busy machine:
        // pay that here, not inside a login's key-set fetch
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> discovery = http.send(HttpRequest.newBuilder(URI.create(idp.wellKnownUrl(ISSUER_ID).toString()))
                    .timeout(java.time.Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(discovery.body()).contains("jwks_uri");
        }
        pg.execute("CREATE TABLE items(id int PRIMARY KEY, label text NOT NULL)", "INSERT INTO items VALUES (1, 'one'), (2, 'two')");
        maria.execute("CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL)", "INSERT INTO items VALUES (1, 'one')");
        String mariaPassword = maria.password() == null || maria.password().isEmpty() ? "" : "    password: \"" + maria.password() + "\"\n";
        Path config = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  postgres: {port: 0}
                  mysql:
                    port: 0
                    tls: {self-signed: true}
                admin: {port: 0}
                data-dir: "%s"
                identity:
                  agent-tokens:
                    issuer: "%s"
                    audience: %s
                    name-claim: sub
                    clock-skew-seconds: 5
                    allow-plaintext-on-loopback: true
                backends:
                  - {name: shop, host: %s, port: %d, database: %s, user: %s, tls: disable}
                  - name: shopmy
                    type: mysql
                    host: %s
                    port: %d
                    database: %s
                    user: %s
                %s    tls: disable
                agents:
                  - {name: etl-bot, owner: dana@example.com, auth: jwt, backends: [shop, shopmy]}
                  - {name: pw-bot, owner: dana@example.com, password: pw-bot-pw, backends: [shop, shopmy]}
                approvals:
                  reviewers:
                    - {name: alice, email: alice@example.com, groups: [dba], token: tok-alice}
                audit:
                  fsync: bounded
                """.formatted(dir.resolve("data"), idp.issuerUrl(ISSUER_ID), AUDIENCE,
                pg.host(), pg.port(), pg.name(), pg.user(),
                maria.host(), maria.port(), maria.name(), maria.user(), mariaPassword));
        server = CountersignServer.of(ConfigLoader.load(config, Map.of())).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (idp != null) idp.shutdown();
    }

    /** A token the way a workload gets one: the client-credentials grant at the provider's token endpoint. */
    static String clientCredentialsToken(String clientId, String audience) throws Exception {
        String form = "grant_type=client_credentials&client_id=" + URLEncoder.encode(clientId, StandardCharsets.UTF_8)
                + "&client_secret=s3cret&scope=" + URLEncoder.encode(audience, StandardCharsets.UTF_8);
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(idp.tokenEndpointUrl(ISSUER_ID).toString()))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            return new ObjectMapper().readTree(r.body()).get("access_token").asText();
        }
    }

    static String token(String subject, String audience, long expirySeconds) {
        return idp.issueToken(ISSUER_ID, subject, audience, Map.of(), expirySeconds).serialize();
    }

    static Connection pgjdbc(String user, String password) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort()
                + "/shop?sslmode=disable&user=" + user + "&password=" + URLEncoder.encode(password, StandardCharsets.UTF_8));
    }

    static void assertPgRefused(String token, String check) {
        assertThatThrownBy(() -> pgjdbc("etl-bot", token).close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("28P01");
                    assertThat(e.getMessage()).contains("token authentication failed for user \"etl-bot\"").contains(check);
                });
    }

    @Test
    void pgjdbcLogsInWithAClientCredentialsToken() throws Exception {
        String token = clientCredentialsToken("etl-bot", AUDIENCE);
        try (Connection c = pgjdbc("etl-bot", token)) {
            assertThat(Reviewing.column(c, "SELECT label FROM items ORDER BY id")).containsExactly("one", "two");
        }
    }

    @Test
    void pgjdbcWithAnExpiredTokenIsRefused() {
        assertPgRefused(token("etl-bot", AUDIENCE, -120), "expired at");
    }

    @Test
    void pgjdbcWithATokenForAnotherAudienceIsRefused() {
        assertPgRefused(token("etl-bot", "some-other-api", 300), "wrong audience");
    }

    @Test
    void aTokenSignedByAKeyTheProviderNeverPublishedIsRefused() throws Exception {
        RSAKey rogue = new RSAKeyGenerator(2048).keyID("rogue-key").generate();
        assertPgRefused(signed(rogue, "rogue-key", AUDIENCE), "unknown signing key");
    }

    @Test
    void aTokenSignedByAnotherKeyUnderTheProvidersKeyIdIsRefused() throws Exception {
        String providersKid = SignedJWT.parse(token("etl-bot", AUDIENCE, 300)).getHeader().getKeyID();
        RSAKey rogue = new RSAKeyGenerator(2048).keyID(providersKid).generate();
        assertPgRefused(signed(rogue, providersKid, AUDIENCE), "bad signature");
    }

    @Test
    void aTokenForAnotherAgentOrFromAnotherIssuerIsRefused() throws Exception {
        assertPgRefused(token("someone-else", AUDIENCE, 300), "claim names agent 'someone-else'");
        String foreign = idp.issueToken("other-issuer", "etl-bot", AUDIENCE, Map.of(), 300).serialize();
        assertPgRefused(foreign, "wrong issuer");
        assertPgRefused("not-a-jwt", "malformed token");
    }

    @Test
    void passwordAgentsKeepWorking() throws Exception {
        try (Connection c = pgjdbc("pw-bot", "pw-bot-pw")) {
            assertThat(Reviewing.column(c, "SELECT count(*) FROM items")).containsExactly("2");
        }
        assertThatThrownBy(() -> pgjdbc("pw-bot", token("pw-bot", AUDIENCE, 300)).close())
                .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("28P01"));
    }

    record Run(int exit, String out, String err) {}

    /**
     * The mariadb command-line client; the token goes in MYSQL_PWD, so it is not on the command line.
     * MariaDB's client allows mysql_clear_password without --enable-cleartext-plugin (obsolete there).
     */
    static Run mariadbCli(String user, String password, String sql) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mariadb", "--no-defaults", "-h", "127.0.0.1", "-P",
                String.valueOf(server.mysqlAddress().getPort()), "-u", user, "--skip-ssl",
                "-D", "shopmy", "-N", "-B", "-e", sql));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("MYSQL_PWD", password);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, err);
    }

    @Test
    void theMariadbClientLogsInWithATokenAndBadTokensGetError1045() throws Exception {
        Run ok = mariadbCli("etl-bot", clientCredentialsToken("etl-bot", AUDIENCE), "SELECT label FROM items");
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(ok.out().trim()).isEqualTo("one");

        Run expired = mariadbCli("etl-bot", token("etl-bot", AUDIENCE, -120), "SELECT 1");
        assertThat(expired.exit()).isNotZero();
        assertThat(expired.err()).contains("ERROR 1045").contains("token authentication failed: expired at");

        Run audience = mariadbCli("etl-bot", token("etl-bot", "some-other-api", 300), "SELECT 1");
        assertThat(audience.err()).contains("ERROR 1045").contains("wrong audience");

        RSAKey rogue = new RSAKeyGenerator(2048).keyID("rogue-key-2").generate();
        Run unknown = mariadbCli("etl-bot", signed(rogue, "rogue-key-2", AUDIENCE), "SELECT 1");
        assertThat(unknown.err()).contains("ERROR 1045").contains("unknown signing key");

        Run password = mariadbCli("pw-bot", "pw-bot-pw", "SELECT COUNT(*) FROM items");
        assertThat(password.exit()).as(password.err()).isZero();
        assertThat(password.out().trim()).isEqualTo("1");
    }

    @Test
    void mysqlConnectorJSendsItsTokenOverTls() throws Exception {
        String url = "jdbc:mysql://127.0.0.1:" + server.mysqlAddress().getPort() + "/shopmy?sslMode=REQUIRED&user=etl-bot&password=";
        try (Connection c = DriverManager.getConnection(url + URLEncoder.encode(clientCredentialsToken("etl-bot", AUDIENCE), StandardCharsets.UTF_8))) {
            assertThat(Reviewing.column(c, "SELECT label FROM items")).containsExactly("one");
        }
        assertThatThrownBy(() -> DriverManager.getConnection(url + token("etl-bot", AUDIENCE, -120)).close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getErrorCode()).isEqualTo(1045);
                    assertThat(e.getMessage()).contains("expired at");
                });
    }

    /** A token with the right issuer, subject and audience, signed with {@code key}: only the provider's keys may sign. */
    static String signed(RSAKey key, String kid, String audience) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(idp.issuerUrl(ISSUER_ID).toString())
                .subject("etl-bot")
                .audience(audience)
                .issueTime(new Date())
                .expirationTime(new Date(System.currentTimeMillis() + 300_000))
                .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }
}
