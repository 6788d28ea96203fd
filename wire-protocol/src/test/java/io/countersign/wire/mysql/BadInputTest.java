package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.MariaDbDatabase;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bad input closes only the connection it came on, with an ERR packet where the protocol allows
 * one, frees its buffers (LeakWatch) and leaves every other session working.
 */
class BadInputTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static ProxyFixture proxy;
    Connection bystander;

    @BeforeAll
    static void start() throws Exception {
        proxy = new ProxyFixture(db, StatementGate.ALLOW_ALL, StatementListener.IGNORE, b -> b.maxAllowedPacket(1024 * 1024));
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    @BeforeEach
    void openBystander() throws SQLException {
        bystander = proxy.connectorJ("");
    }

    @AfterEach
    void bystanderIsUnaffected() throws SQLException {
        try (Statement s = bystander.createStatement(); ResultSet rs = s.executeQuery("SELECT 'still here'")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("still here");
        }
        bystander.close();
    }

    @Test
    void garbageInsteadOfAHandshakeResponse() throws Exception {
        try (RawClient c = new RawClient(proxy.port())) {
            c.greeting();
            c.out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            c.out.flush();
            RawClient.Reply r = c.read();
            assertThat(r.isErr()).isTrue();
            assertThat(r.errorCode()).isEqualTo(1043);
            assertThat(r.message()).contains("Bad handshake").contains("MySQL protocol");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void truncatedHandshakeResponse() throws Exception {
        try (RawClient c = new RawClient(proxy.port())) {
            c.greeting();
            c.send(1, new byte[] {(byte) 0x8d, (byte) 0xa6, 0x0f, 0x00, 0x00});
            RawClient.Reply r = c.read();
            assertThat(r.errorCode()).isEqualTo(1043);
            assertThat(r.message()).contains("malformed");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void wrongSequenceId() throws Exception {
        try (RawClient c = new RawClient(proxy.port())) {
            assertThat(c.login(ProxyFixture.AGENT, ProxyFixture.PASSWORD, db.name()).isOk()).isTrue();
            c.query(5, "SELECT 1");
            RawClient.Reply r = c.read();
            assertThat(r.errorCode()).isEqualTo(1156);
            assertThat(r.message()).contains("out of order").contains("expected sequence id 0, got 5");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void payloadLongerThanMaxAllowedPacket() throws Exception {
        try (RawClient c = new RawClient(proxy.port())) {
            assertThat(c.login(ProxyFixture.AGENT, ProxyFixture.PASSWORD, db.name()).isOk()).isTrue();
            // only the header: the proxy must answer without waiting for 2 MiB that never come
            c.out.write(new byte[] {0, 0, 0x20, 0, 0x03});
            c.out.flush();
            RawClient.Reply r = c.read();
            assertThat(r.errorCode()).isEqualTo(1153);
            assertThat(r.message()).contains("max_allowed_packet").contains("2097152 > 1048576");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void truncatedCommandPacket() throws Exception {
        try (RawClient c = new RawClient(proxy.port())) {
            assertThat(c.login(ProxyFixture.AGENT, ProxyFixture.PASSWORD, db.name()).isOk()).isTrue();
            c.send(0, new byte[] {0x17, 1, 0}); // COM_STMT_EXECUTE cut inside the statement id
            RawClient.Reply r = c.read();
            assertThat(r.errorCode()).isEqualTo(1835);
            assertThat(r.message()).contains("Malformed communication packet");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void packetCutOffByTheClientClosing() throws Exception {
        int before = proxy.listener.sessionCount();
        try (RawClient c = new RawClient(proxy.port())) {
            assertThat(c.login(ProxyFixture.AGENT, ProxyFixture.PASSWORD, db.name()).isOk()).isTrue();
            c.out.write(new byte[] {100, 0, 0, 0, 0x03, 'S', 'E', 'L'});
            c.out.flush();
        }
        awaitSessions(before);
    }

    @Test
    void unknownCommandIsAnErrorAndTheConnectionGoesOn() throws Exception {
        try (RawClient c = new RawClient(proxy.port())) {
            assertThat(c.login(ProxyFixture.AGENT, ProxyFixture.PASSWORD, db.name()).isOk()).isTrue();
            c.send(0, new byte[] {0x40, 1, 2});
            RawClient.Reply r = c.read();
            assertThat(r.errorCode()).isEqualTo(1047);
            assertThat(r.message()).contains("0x40");
            c.send(0, new byte[] {0x0e}); // COM_PING
            assertThat(c.read().isOk()).isTrue();
        }
    }

    @Test
    void clientDisappearingMidResult() throws Exception {
        int before = proxy.listener.sessionCount();
        try (RawClient c = new RawClient(proxy.port())) {
            assertThat(c.login(ProxyFixture.AGENT, ProxyFixture.PASSWORD, db.name()).isOk()).isTrue();
            c.query(0, "SELECT seq, REPEAT('x', 200) FROM seq_1_to_2000000");
            c.read();
            c.read();
            c.socket.setSoLinger(true, 0); // reset, like a crashed client
        }
        awaitSessions(before);
        // the backend query was abandoned: nothing of ours keeps running there
        try (Connection d = db.connect(); Statement s = d.createStatement()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            int running;
            do {
                Thread.sleep(100);
                try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%seq_1_to_2000000%' AND INFO NOT LIKE '%PROCESSLIST%'")) {
                    rs.next();
                    running = rs.getInt(1);
                }
            } while (running > 0 && System.nanoTime() < deadline);
            assertThat(running).isZero();
        }
    }

    @Test
    void backendDyingMidResult() throws Exception {
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement(java.sql.ResultSet.TYPE_FORWARD_ONLY, java.sql.ResultSet.CONCUR_READ_ONLY)) {
            s.setFetchSize(Integer.MIN_VALUE); // stream
            long id = ((com.mysql.cj.jdbc.JdbcConnection) c).getId();
            long backendId = proxy.listener.session(id).backendThreadId();
            CompletableFuture<SQLException> failure = CompletableFuture.supplyAsync(() -> {
                try (ResultSet rs = s.executeQuery("SELECT seq, REPEAT('y', 100) FROM seq_1_to_5000000")) {
                    while (rs.next()) {
                        Thread.onSpinWait();
                    }
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            Thread.sleep(300);
            try (Connection d = db.connect(); Statement k = d.createStatement()) {
                k.execute("KILL CONNECTION " + backendId);
            }
            SQLException e = failure.get(30, TimeUnit.SECONDS);
            assertThat((Throwable) e).isNotNull();
            // MariaDB's own goodbye (1927) or Countersign's lost-connection error (2013), as an ERR in the row stream
            assertThat(e.getErrorCode()).as(e.getMessage()).isIn(2013, 1927);
        }
    }

    @Test
    void clientThatNeverAnswersTheGreetingIsTimedOut() throws Exception {
        try (ProxyFixture quick = new ProxyFixture(db, StatementGate.ALLOW_ALL, StatementListener.IGNORE,
                b -> b.loginTimeout(java.time.Duration.ofMillis(300)));
             RawClient c = new RawClient(quick.port())) {
            c.greeting();
            RawClient.Reply r = c.read();
            assertThat(r.errorCode()).isEqualTo(1043);
            assertThat(r.message()).contains("did not finish logging in");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void backendDownAtConnect() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        proxy.authenticator.agent("stranded", "pw", new BackendTarget("gone", "127.0.0.1", deadPort, db.name(), "root", "",
                BackendTarget.TlsMode.DISABLE));
        assertThatThrownBy(() -> DriverManager.getConnection(proxy.mysqlUrl(""), "stranded", "pw"))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("Can't connect to backend 'gone'")
                .hasMessageContaining("127.0.0.1:" + deadPort);
    }

    private static void awaitSessions(int expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (proxy.listener.sessionCount() > expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(proxy.listener.sessionCount()).isLessThanOrEqualTo(expected);
    }
}
