package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.MariaDbDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The other commands: COM_INIT_DB, COM_PING, COM_RESET_CONNECTION, COM_CHANGE_USER, LOCAL INFILE, big packets. */
class CommandsTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        proxy = new ProxyFixture(db);
        db.execute("CREATE TABLE big (id INT PRIMARY KEY, data LONGBLOB)", "CREATE TABLE li (a INT)");
        try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@global.max_allowed_packet")) {
            rs.next();
            if (rs.getLong(1) < 64L * 1024 * 1024) {
                // 16 MiB packets need a larger limit on the server; raising it only affects new connections
                s.execute("SET GLOBAL max_allowed_packet = " + 64L * 1024 * 1024);
            }
        }
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    @Test
    void initDbPingAndResetConnection() throws Exception {
        try (Connection c = proxy.connectorJ("")) {
            c.setCatalog("information_schema");
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT DATABASE()")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("information_schema");
            }
            assertThatThrownBy(() -> c.setCatalog("no_such_db_here")).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(1049));
            assertThat(c.isValid(2)).isTrue(); // COM_PING
            try (Statement s = c.createStatement()) {
                s.execute("SET @marker = 5");
            }
            ((com.mysql.cj.jdbc.JdbcConnection) c).resetServerState(); // COM_RESET_CONNECTION
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @marker")) {
                rs.next();
                assertThat(rs.getObject(1)).isNull();
            }
        }
    }

    @Test
    void changeUserReauthenticatesAgainstCountersign() throws Exception {
        try (Connection c = proxy.connectorJ("")) {
            com.mysql.cj.jdbc.JdbcConnection jc = (com.mysql.cj.jdbc.JdbcConnection) c;
            jc.changeUser(ProxyFixture.OTHER, ProxyFixture.OTHER_PASSWORD);
            long id = jc.getId();
            assertThat(proxy.listener.session(id).agent()).isEqualTo(ProxyFixture.OTHER);
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertThat(rs.next()).isTrue();
            }
            assertThatThrownBy(() -> jc.changeUser(ProxyFixture.AGENT, "not-the-password"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("Access denied");
        }
    }

    @Test
    void localInfileIsRefused() throws Exception {
        // the agent never gets CLIENT_LOCAL_FILES; the backend's request gets an empty file and the agent an error
        try (Connection c = proxy.connectorJ("allowLoadLocalInfile=true"); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE li"))
                    .isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(1148))
                    .hasMessageContaining("refused by Countersign");
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM li")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
        }
    }

    @Test
    void packetsOf16MiBAndMoreBothWays() throws Exception {
        byte[] blob = new byte[20 * 1024 * 1024 + 5];
        for (int i = 0; i < blob.length; i++) {
            blob[i] = (byte) (i * 31);
        }
        try (Connection c = proxy.connectorJ("maxAllowedPacket=67108864")) {
            try (var ps = c.prepareStatement("INSERT INTO big VALUES (1, ?)")) {
                ps.setBytes(1, blob);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT data, LENGTH(data) FROM big WHERE id = 1")) {
                rs.next();
                assertThat(rs.getLong(2)).isEqualTo(blob.length);
                assertThat(Arrays.equals(rs.getBytes(1), blob)).isTrue();
            }
        }
    }

    @Test
    void mariadbAdminStatisticsAndPing() throws Exception {
        Process p = new ProcessBuilder("mariadb-admin", "--protocol=TCP", "-h", "127.0.0.1", "-P", String.valueOf(proxy.port()),
                "-u", ProxyFixture.AGENT, "-p" + ProxyFixture.PASSWORD, "status", "ping").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).contains("Uptime:").contains("Threads:").contains("mysqld is alive");
    }

    @Test
    void wrongPasswordFromTheCliIsError1045() throws Exception {
        Process p = new ProcessBuilder("mariadb", "--protocol=TCP", "-h", "127.0.0.1", "-P", String.valueOf(proxy.port()),
                "-u", ProxyFixture.AGENT, "-pnope", "-e", "SELECT 1").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).isNotZero();
        assertThat(out).contains("ERROR 1045 (28000)").contains("Access denied for user 'agent'@'127.0.0.1' (using password: YES)");
    }

    @Test
    void storedProcedureResultsTextAndBinary() throws Exception {
        db.execute("CREATE PROCEDURE two_results(IN k INT) BEGIN SELECT k AS first; SELECT k * 2 AS second, 'x' AS third; END");
        for (String extra : new String[] {"", "useServerPrepStmts=true"}) {
            try (Connection c = proxy.connectorJ(extra); var cs = c.prepareCall("{CALL two_results(?)}")) {
                cs.setInt(1, 21);
                assertThat(cs.execute()).isTrue();
                try (ResultSet rs = cs.getResultSet()) {
                    rs.next();
                    assertThat(rs.getInt("first")).isEqualTo(21);
                }
                assertThat(cs.getMoreResults()).isTrue();
                try (ResultSet rs = cs.getResultSet()) {
                    rs.next();
                    assertThat(rs.getInt("second")).isEqualTo(42);
                    assertThat(rs.getString("third")).isEqualTo("x");
                }
                assertThat(cs.getMoreResults()).isFalse();
                assertThat(c.isValid(2)).as(extra).isTrue();
            }
        }
    }

    @Test
    void fieldListReturnsColumnDefinitions() throws Exception {
        try (RawClient c = new RawClient(proxy.port())) {
            assertThat(c.login(ProxyFixture.AGENT, ProxyFixture.PASSWORD, db.name()).isOk()).isTrue();
            c.send(0, new byte[] {0x04, 'l', 'i', 0, '%'});
            RawClient.Reply def = c.read();
            assertThat(new String(def.payload(), java.nio.charset.StandardCharsets.UTF_8)).contains("li").contains("a");
            RawClient.Reply end = c.read();
            assertThat(end.payload()[0] & 0xFF).isEqualTo(0xFE); // EOF: the raw client did not ask for DEPRECATE_EOF
            c.send(0, new byte[] {0x0e});
            assertThat(c.read().isOk()).isTrue();
        }
    }

    static Connection direct() throws SQLException {
        return DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
    }
}
