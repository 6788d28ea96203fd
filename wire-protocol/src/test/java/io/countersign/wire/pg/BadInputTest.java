package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.spi.BackendTarget;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Bad input closes only the offending connection, with a clear error; a bystander session keeps working. */
class BadInputTest {

    @RegisterExtension static LeakCheck leaks = new LeakCheck();
    @RegisterExtension static PostgresDatabase db = new PostgresDatabase();
    static Proxy proxy;
    static Connection bystander;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE sink (id int, v text)");
        proxy = new Proxy(db);
        bystander = proxy.connect();
        bystander.createStatement().execute("BEGIN; CREATE TEMP TABLE mine (x int); INSERT INTO mine VALUES (41)");
    }

    @AfterAll
    static void stop() throws SQLException {
        if (bystander != null) {
            bystander.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    @AfterEach
    void bystanderIsUntouched() throws SQLException {
        try (Statement s = bystander.createStatement(); ResultSet rs = s.executeQuery("SELECT x + 1 FROM mine")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(42);
        }
    }

    static RawClient.Msg expectFatal(RawClient raw) throws Exception {
        RawClient.Msg m = raw.read();
        while (m.type() == 'N' || m.type() == 'S') {
            m = raw.read();
        }
        assertThat(m.type()).isEqualTo('E');
        assertThat(raw.closedByServer()).as("the server closes the connection").isTrue();
        return m;
    }

    @Test
    void garbageInsteadOfAStartupPacket() throws Exception {
        try (RawClient raw = new RawClient(proxy.address)) {
            raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            RawClient.Msg e = expectFatal(raw);
            assertThat(e.field('C')).isEqualTo("08P01");
            assertThat(e.field('M')).contains("invalid startup packet length 1195725856").contains("PostgreSQL protocol v3");
        }
    }

    @Test
    void gssEncryptionIsDeclinedAndStartupContinues() throws Exception {
        try (RawClient raw = new RawClient(proxy.address)) {
            raw.send(new byte[] {0, 0, 0, 8, 0x04, (byte) 0xd2, 0x16, 0x30});
            assertThat(raw.in.readByte()).isEqualTo((byte) 'N');
            raw.send(RawClient.startupPacket(Proxy.AGENT, db.name(), 196608));
            assertThat(raw.read().type()).isEqualTo('R');
        }
    }

    @Test
    void unsupportedProtocolVersion() throws Exception {
        try (RawClient raw = new RawClient(proxy.address)) {
            raw.send(RawClient.startupPacket("agent", db.name(), 2 << 16));
            RawClient.Msg e = expectFatal(raw);
            assertThat(e.field('C')).isEqualTo("0A000");
            assertThat(e.field('M')).contains("unsupported frontend protocol 2.0");
        }
    }

    @Test
    void newerMinorVersionIsNegotiatedDown() throws Exception {
        try (RawClient raw = new RawClient(proxy.address)) {
            byte[] startup = RawClient.startupPacket(Proxy.AGENT, db.name(), (3 << 16) | 2);
            raw.send(startup);
            RawClient.Msg v = raw.read();
            assertThat(v.type()).isEqualTo('v');
            assertThat(java.nio.ByteBuffer.wrap(v.body()).getInt()).isZero();
            assertThat(raw.read().type()).isEqualTo('R');
        }
    }

    @Test
    void twoGibLengthInTheRelay() throws Exception {
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            raw.send(new byte[] {'Q', (byte) 0x80, 0, 0, 0, 'S', 'E', 'L'});
            RawClient.Msg e = expectFatal(raw);
            assertThat(e.field('C')).isEqualTo("08P01");
            assertThat(e.field('M')).contains("invalid message length 2147483648 for message type 'Q'");
        }
    }

    @Test
    void truncatedMessage() throws Exception {
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            raw.send(new byte[] {'Q', 0, 0, 0, 100, 'S', 'E', 'L', 'E', 'C', 'T'});
            raw.socket.shutdownOutput();
            RawClient.Msg e = expectFatal(raw);
            assertThat(e.field('C')).isEqualTo("08P01");
            assertThat(e.field('M')).contains("truncated message").contains("11 of 101 bytes of a message 'Q'");
        }
    }

    @Test
    void unknownMessageType() throws Exception {
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            raw.send(RawClient.message('y', new byte[] {1, 2, 3}));
            RawClient.Msg e = expectFatal(raw);
            assertThat(e.field('C')).isEqualTo("08P01");
            assertThat(e.field('M')).contains("unknown frontend message type 'y'");
        }
    }

    @Test
    void malformedBindMessage() throws Exception {
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            // A Bind that claims parameters it does not contain, as the last bytes of the read.
            raw.send(RawClient.message('B', new byte[] {0, 0, 0, 0, 0, 3}));
            RawClient.Msg e = expectFatal(raw);
            assertThat(e.field('C')).isEqualTo("08P01");
            assertThat(e.field('M')).contains("malformed message 'B'");
        }
    }

    @Test
    void clientDisconnectsMidCopy() throws Exception {
        try (RawClient raw = new RawClient(proxy.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
            raw.send(RawClient.query("COPY sink FROM STDIN"));
            assertThat(raw.read().type()).isEqualTo('G');
            raw.send(RawClient.message('d', "1\tone\n2\ttwo\n".getBytes(StandardCharsets.UTF_8)));
        }
        // The backend's COPY is aborted with its connection: nothing half-copied remains.
        for (int i = 0; i < 100; i++) {
            try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY sink%'")) {
                rs.next();
                if (rs.getInt(1) == 0) {
                    break;
                }
            }
            Thread.sleep(50);
        }
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM sink")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
    }

    @Test
    void backendDiesMidResult() throws Exception {
        try (TcpRelay relay = new TcpRelay(db.host(), db.port())) {
            BackendTarget viaRelay = new BackendTarget("flaky", "127.0.0.1", relay.port(), db.name(), db.user(), db.password(),
                    BackendTarget.TlsMode.DISABLE);
            try (Proxy flaky = new Proxy(db)) {
                flaky.auth.target(viaRelay);
                try (RawClient raw = new RawClient(flaky.address).login(Proxy.AGENT, Proxy.PASSWORD, db.name())) {
                    raw.send(RawClient.query("SELECT g, repeat('z', 500) FROM generate_series(1, 3000000) g"));
                    assertThat(raw.read().type()).isEqualTo('T');
                    assertThat(raw.read().type()).isEqualTo('D');
                    relay.cut();
                    RawClient.Msg m = raw.read();
                    while (m.type() == 'D') {
                        m = raw.read();
                    }
                    assertThat(m.type()).isEqualTo('E');
                    assertThat(m.field('C')).isEqualTo("08006");
                    assertThat(m.field('M')).contains("'flaky' at 127.0.0.1:" + relay.port()).contains("closed the connection unexpectedly");
                    assertThat(raw.closedByServer()).isTrue();
                }
                assertThat(flaky.counter("countersign_backend_errors_total")).isEqualTo(1);
            }
        }
    }

    @Test
    void backendDownAtConnect() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        try (Proxy down = new Proxy(db)) {
            down.auth.target(new BackendTarget("gone", "127.0.0.1", deadPort, db.name(), db.user(), db.password(),
                    BackendTarget.TlsMode.DISABLE));
            try {
                down.connect();
                throw new AssertionError("connecting through a proxy whose backend is down must fail");
            } catch (SQLException e) {
                assertThat(e.getSQLState()).isEqualTo("08006");
                assertThat(e.getMessage()).contains("cannot connect to backend 'gone' at 127.0.0.1:" + deadPort);
            }
        }
    }
}
