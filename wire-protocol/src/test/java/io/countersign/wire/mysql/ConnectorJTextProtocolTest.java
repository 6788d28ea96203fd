package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.MariaDbDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** MySQL Connector/J through the real proxy to the real MariaDB, text protocol, and the login paths. */
class ConnectorJTextProtocolTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        proxy = new ProxyFixture(db);
        db.execute("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,2))");
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    @Test
    void runsQueriesAndUpdatesThroughTheProxy() throws Exception {
        try (Connection c = proxy.connectorJ(""); Statement s = c.createStatement()) {
            assertThat(s.executeUpdate("INSERT INTO items (name, price) VALUES ('apple', 1.25), ('pear', 2.50)")).isEqualTo(2);
            try (ResultSet rs = s.executeQuery("SELECT id, name, price FROM items ORDER BY id")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("name")).isEqualTo("apple");
                assertThat(rs.getBigDecimal("price")).isEqualByComparingTo("1.25");
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(2)).isEqualTo("pear");
                assertThat(rs.next()).isFalse();
            }
            try (ResultSet rs = s.executeQuery("SELECT DATABASE(), CONNECTION_ID()")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo(db.name());
            }
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM no_such_table"))
                    .isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(1146));
            // the session goes on after an error
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM items")) {
                rs.next();
                assertThat(rs.getLong(1)).isGreaterThanOrEqualTo(2);
            }
        }
    }

    @Test
    void multiStatementStringsReturnEveryResult() throws Exception {
        try (Connection c = proxy.connectorJ("allowMultiQueries=true"); Statement s = c.createStatement()) {
            boolean isResult = s.execute("SELECT 1 AS a; UPDATE items SET price = price WHERE 1 = 0; SELECT 'x' AS b, 2 AS c");
            assertThat(isResult).isTrue();
            try (ResultSet rs = s.getResultSet()) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(1);
            }
            assertThat(s.getMoreResults()).isFalse();
            assertThat(s.getUpdateCount()).isZero();
            assertThat(s.getMoreResults()).isTrue();
            try (ResultSet rs = s.getResultSet()) {
                rs.next();
                assertThat(rs.getString("b")).isEqualTo("x");
                assertThat(rs.getInt("c")).isEqualTo(2);
            }
            assertThat(s.getMoreResults()).isFalse();
            assertThat(s.getUpdateCount()).isEqualTo(-1);
        }
    }

    @Test
    void agentSeesCountersignsConnectionIdNotTheBackends() throws Exception {
        try (Connection c = proxy.connectorJ("")) {
            long proxied = ((com.mysql.cj.jdbc.JdbcConnection) c).getId();
            ClientSession session = proxy.listener.session(proxied);
            assertThat(session).isNotNull();
            assertThat(session.agent()).isEqualTo(ProxyFixture.AGENT);
        }
    }

    @Test
    void cachingSha2FullAuthenticationWithRsaThenTheFastPath() throws Exception {
        try (ProxyFixture sha2 = new ProxyFixture(db, io.countersign.wire.spi.StatementGate.ALLOW_ALL,
                io.countersign.wire.spi.StatementListener.IGNORE, b -> b.announce(MySqlListener.AuthMethod.CACHING_SHA2_PASSWORD)
                        .authMethods(java.util.Set.of(MySqlListener.AuthMethod.CACHING_SHA2_PASSWORD)))) {
            assertThat(sha2.listener.sha2Cache()).doesNotContainKey(ProxyFixture.AGENT);
            try (Connection c = sha2.mariadbJ(""); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 42")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(42);
            }
            assertThat(sha2.listener.sha2Cache()).containsKey(ProxyFixture.AGENT);
            try (Connection c = sha2.mariadbJ("")) {
                assertThat(c.isValid(2)).isTrue();
            }
            assertThatThrownBy(() -> DriverManager.getConnection(sha2.mariadbUrl(""), ProxyFixture.AGENT, "wrong"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("Access denied");
        }
    }

    @Test
    void authSwitchToTheOnlyOfferedPlugin() throws Exception {
        // the driver proposes caching_sha2_password; the listener offers only mysql_native_password
        try (ProxyFixture nativeOnly = new ProxyFixture(db, io.countersign.wire.spi.StatementGate.ALLOW_ALL,
                io.countersign.wire.spi.StatementListener.IGNORE,
                b -> b.authMethods(java.util.Set.of(MySqlListener.AuthMethod.MYSQL_NATIVE_PASSWORD)));
             Connection c = DriverManager.getConnection(nativeOnly.mysqlUrl("defaultAuthenticationPlugin=caching_sha2_password"),
                     ProxyFixture.AGENT, ProxyFixture.PASSWORD)) {
            assertThat(c.isValid(2)).isTrue();
        }
    }

    @Test
    void wrongPasswordIsAccessDeniedAndCounted() {
        double before = failures();
        assertThatThrownBy(() -> DriverManager.getConnection(proxy.mysqlUrl(""), ProxyFixture.AGENT, "wrong"))
                .isInstanceOf(SQLException.class)
                .satisfies(e -> {
                    SQLException se = (SQLException) e;
                    assertThat(se.getErrorCode()).isEqualTo(1045);
                    assertThat(se.getSQLState()).isEqualTo("28000");
                    assertThat(se.getMessage()).contains("Access denied for user 'agent'@'127.0.0.1' (using password: YES)");
                });
        assertThatThrownBy(() -> DriverManager.getConnection(proxy.mysqlUrl(""), "nobody", "x"))
                .isInstanceOf(SQLException.class)
                .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(1045));
        assertThat(failures() - before).isEqualTo(2.0);
    }

    private static double failures() {
        var c = proxy.metrics.find("countersign_auth_failures_total").tag("protocol", "mysql").counter();
        return c == null ? 0 : c.count();
    }
}
