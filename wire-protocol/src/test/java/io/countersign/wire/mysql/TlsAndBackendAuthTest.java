package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.MariaDbDatabase;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * TLS upgrade for agents, and Countersign's own login to a backend that speaks caching_sha2_password:
 * here the backend is a second Countersign listener (offering only caching_sha2_password) in front
 * of MariaDB, so the RSA key exchange, the fast path, TLS to the backend and AuthSwitchRequest from
 * the backend all run against a real server implementation.
 */
class TlsAndBackendAuthTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static SslContext serverTls;
    static ProxyFixture tlsProxy;
    static ProxyFixture sha2Backend;

    @BeforeAll
    static void start() throws Exception {
        serverTls = selfSignedServerContext();
        tlsProxy = new ProxyFixture(db, StatementGate.ALLOW_ALL, StatementListener.IGNORE,
                b -> b.tls(serverTls).requireTls(true).announce(MySqlListener.AuthMethod.CACHING_SHA2_PASSWORD)
                        .authMethods(Set.of(MySqlListener.AuthMethod.CACHING_SHA2_PASSWORD)));
        sha2Backend = new ProxyFixture(db, StatementGate.ALLOW_ALL, StatementListener.IGNORE,
                b -> b.tls(serverTls).announce(MySqlListener.AuthMethod.CACHING_SHA2_PASSWORD)
                        .authMethods(Set.of(MySqlListener.AuthMethod.CACHING_SHA2_PASSWORD)));
    }

    @AfterAll
    static void stop() {
        tlsProxy.close();
        sha2Backend.close();
    }

    @Test
    void agentUpgradesToTlsAndAuthenticatesWithTheClearPasswordInside() throws Exception {
        try (Connection c = DriverManager.getConnection(tlsProxy.mariadbUrl("sslMode=trust"), ProxyFixture.AGENT, ProxyFixture.PASSWORD);
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 'over tls'")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("over tls");
        }
        assertThat(tlsProxy.listener.sha2Cache()).containsKey(ProxyFixture.AGENT);
        try (Connection c = DriverManager.getConnection(tlsProxy.mariadbUrl("sslMode=trust"), ProxyFixture.AGENT, ProxyFixture.PASSWORD)) {
            assertThat(c.isValid(2)).isTrue(); // fast path, inside TLS
        }
    }

    @Test
    void clientHelloInTheSameSegmentAsTheSslRequestReachesTls() throws Exception {
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, io.netty.handler.ssl.util.InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        javax.net.ssl.SSLEngine engine = ctx.createSSLEngine("localhost", tlsProxy.port());
        engine.setUseClientMode(true);
        engine.beginHandshake();
        java.nio.ByteBuffer hello = java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(java.nio.ByteBuffer.allocate(0), hello);
        hello.flip();
        try (RawClient c = new RawClient(tlsProxy.port())) {
            c.greeting();
            java.nio.ByteBuffer sslRequest = java.nio.ByteBuffer.allocate(36).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            sslRequest.put((byte) 32).put((byte) 0).put((byte) 0).put((byte) 1);
            sslRequest.putInt(Capabilities.PROTOCOL_41 | Capabilities.SECURE_CONNECTION | Capabilities.SSL | Capabilities.PLUGIN_AUTH)
                    .putInt(1 << 24).put((byte) 45).put(new byte[23]);
            byte[] both = new byte[36 + hello.remaining()];
            System.arraycopy(sslRequest.array(), 0, both, 0, 36);
            hello.get(both, 36, both.length - 36);
            c.out.write(both); // one write: the ClientHello follows the SSLRequest without waiting
            c.out.flush();
            int first = c.in.read();
            assertThat(first).as("a TLS handshake record (0x16), not a MySQL error packet").isEqualTo(0x16);
        }
    }

    @Test
    void plainConnectionIsRefusedWhenTlsIsRequired() {
        assertThatThrownBy(() -> DriverManager.getConnection(tlsProxy.mariadbUrl("sslMode=disable"), ProxyFixture.AGENT, ProxyFixture.PASSWORD))
                .isInstanceOf(SQLException.class).hasMessageContaining("insecure transport");
    }

    @Test
    void backendLoginWithRsaKeyExchangeThenFastPath() throws Exception {
        sha2Backend.listener.sha2Cache().clear();
        try (ProxyFixture front = chained(BackendTarget.TlsMode.DISABLE, null)) {
            assertThat(query(front)).isEqualTo(db.name());
            assertThat(sha2Backend.listener.sha2Cache()).containsKey(ProxyFixture.AGENT);
            assertThat(query(front)).isEqualTo(db.name()); // second login: fast path
        }
    }

    @Test
    void backendLoginOverTls() throws Exception {
        sha2Backend.listener.sha2Cache().clear();
        try (ProxyFixture front = chained(BackendTarget.TlsMode.REQUIRE, null)) {
            assertThat(query(front)).isEqualTo(db.name());
        }
    }

    @Test
    void backendSwitchesCountersignToAnotherPlugin() throws Exception {
        try (ProxyFixture front = chained(BackendTarget.TlsMode.DISABLE, "mysql_native_password")) {
            assertThat(query(front)).isEqualTo(db.name());
        }
    }

    @Test
    void wrongBackendPasswordIsReportedToTheAgent() throws Exception {
        try (ProxyFixture front = new ProxyFixture(db)) {
            front.authenticator.agent("misconfigured", "pw", new BackendTarget("b", "127.0.0.1", sha2Backend.port(), db.name(),
                    ProxyFixture.AGENT, "not-the-password", BackendTarget.TlsMode.DISABLE));
            assertThatThrownBy(() -> DriverManager.getConnection(front.mysqlUrl(""), "misconfigured", "pw"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("Access denied for user 'agent'");
        }
    }

    @Test
    void mariadbCliWithCachingSha2() throws Exception {
        for (boolean tls : new boolean[] {false, true}) {
            sha2Backend.listener.sha2Cache().clear();
            java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("mariadb", "--protocol=TCP", "-h", "127.0.0.1",
                    "-P", String.valueOf(sha2Backend.port()), "-u", ProxyFixture.AGENT, "--password=" + ProxyFixture.PASSWORD,
                    "--batch", "--skip-column-names", db.name(), "-e", "SELECT CONCAT('cli ', DATABASE())"));
            if (tls) {
                cmd.add(1, "--ssl");
            }
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as("tls=" + tls).contains("cli " + db.name());
            assertThat(sha2Backend.listener.sha2Cache()).containsKey(ProxyFixture.AGENT);
        }
    }

    private static ProxyFixture chained(BackendTarget.TlsMode tls, String firstPlugin) throws InterruptedException {
        ProxyFixture front = new ProxyFixture(db, StatementGate.ALLOW_ALL, StatementListener.IGNORE,
                b -> firstPlugin == null ? b : b.backendAuthPlugin(firstPlugin));
        front.authenticator.agent("chained", "chain-pw", new BackendTarget("inner-countersign", "127.0.0.1", sha2Backend.port(),
                db.name(), ProxyFixture.AGENT, ProxyFixture.PASSWORD, tls));
        return front;
    }

    private static String query(ProxyFixture front) throws SQLException {
        try (Connection c = DriverManager.getConnection(front.mysqlUrl(""), "chained", "chain-pw");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT DATABASE()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** A self-signed certificate made with the JDK's keytool, so no test-only crypto library is needed. */
    static SslContext selfSignedServerContext() throws Exception {
        Path dir = Files.createTempDirectory("countersign-tls-");
        Path store = dir.resolve("server.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048",
                "-validity", "2", "-dname", "CN=localhost", "-keystore", store.toString(), "-storetype", "PKCS12",
                "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("keytool failed: " + out);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        return SslContextBuilder.forServer(kmf).build();
    }
}
