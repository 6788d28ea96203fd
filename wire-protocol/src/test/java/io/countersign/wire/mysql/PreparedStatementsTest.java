package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.MariaDbDatabase;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.LocalDateTime;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The binary protocol through the proxy: server-side prepared statements, cursors, long data, batches. */
class PreparedStatementsTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        proxy = new ProxyFixture(db);
        db.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), amount DECIMAL(12,3), "
                        + "at DATETIME(6), flag TINYINT, big BIGINT UNSIGNED, data LONGBLOB)",
                "CREATE TABLE seq (n INT PRIMARY KEY)",
                "INSERT INTO seq SELECT seq FROM seq_1_to_1000");
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    @Test
    void serverPreparedStatementsBindAndReturnEveryType() throws Exception {
        try (Connection c = proxy.connectorJ("useServerPrepStmts=true&cachePrepStmts=true")) {
            LocalDateTime at = LocalDateTime.of(2026, 1, 2, 3, 4, 5, 123456000);
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO t (name, amount, at, flag, big) VALUES (?, ?, ?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                ps.setString(1, "héllo 🦊");
                ps.setBigDecimal(2, new BigDecimal("12345.678"));
                ps.setTimestamp(3, Timestamp.valueOf(at));
                ps.setByte(4, (byte) -3);
                ps.setLong(5, Long.MAX_VALUE);
                assertThat(ps.executeUpdate()).isEqualTo(1);
                try (ResultSet keys = ps.getGeneratedKeys()) {
                    assertThat(keys.next()).isTrue();
                    assertThat(keys.getLong(1)).isPositive();
                }
                ps.setString(1, null);
                ps.setNull(2, java.sql.Types.DECIMAL);
                ps.setNull(3, java.sql.Types.TIMESTAMP);
                ps.setByte(4, (byte) 1);
                ps.setLong(5, 7);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT name, amount, at, flag, big FROM t WHERE flag = ?")) {
                ps.setInt(1, -3);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo("héllo 🦊");
                    assertThat(rs.getBigDecimal(2)).isEqualByComparingTo("12345.678");
                    // Connector/J drops fractions it binds for servers announcing 5.5.5 (MariaDB); compare with direct
                    assertThat(rs.getTimestamp(3).toLocalDateTime()).isEqualTo(directRoundTrip(at));
                    assertThat(rs.getByte(4)).isEqualTo((byte) -3);
                    assertThat(rs.getLong(5)).isEqualTo(Long.MAX_VALUE);
                    assertThat(rs.next()).isFalse();
                }
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isNull();
                    assertThat(rs.getBigDecimal(2)).isNull();
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT * FROM missing_table WHERE id = ?")) {
                ps.setInt(1, 1);
                ps.executeQuery();
            } catch (SQLException e) {
                assertThat(e.getErrorCode()).isEqualTo(1146);
            }
        }
    }

    private static LocalDateTime directRoundTrip(LocalDateTime at) throws SQLException {
        try (Connection d = proxy.directConnectorJ("useServerPrepStmts=true")) {
            try (PreparedStatement ps = d.prepareStatement("INSERT INTO t (name, at, flag) VALUES ('direct', ?, -4)")) {
                ps.setTimestamp(1, Timestamp.valueOf(at));
                ps.executeUpdate();
            }
            try (Statement s = d.createStatement(); ResultSet rs = s.executeQuery("SELECT at FROM t WHERE flag = -4")) {
                rs.next();
                return rs.getTimestamp(1).toLocalDateTime();
            }
        }
    }

    @Test
    void cursorFetchHandsOutRowsInChunks() throws Exception {
        try (Connection c = proxy.connectorJ("useServerPrepStmts=true&useCursorFetch=true&defaultFetchSize=0");
             PreparedStatement ps = c.prepareStatement("SELECT n FROM seq WHERE n > ? ORDER BY n")) {
            ps.setFetchSize(37);
            ps.setInt(1, 0);
            long sum = 0;
            int count = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sum += rs.getInt(1);
                    count++;
                }
            }
            assertThat(count).isEqualTo(1000);
            assertThat(sum).isEqualTo(500500);
            // the connection is in a clean state afterwards, and the rows really came through COM_STMT_FETCH
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM seq")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(1000);
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW SESSION STATUS LIKE 'Com_stmt_fetch'")) {
                rs.next();
                assertThat(rs.getLong(2)).isGreaterThanOrEqualTo(1000 / 37);
            }
        }
    }

    @Test
    void longDataAndRewrittenBatches() throws Exception {
        byte[] blob = new byte[300_000];
        Arrays.fill(blob, (byte) 7);
        blob[12345] = 1;
        try (Connection c = proxy.connectorJ("useServerPrepStmts=true&rewriteBatchedStatements=true")) {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO t (name, data) VALUES (?, ?)")) {
                ps.setString(1, "blob");
                ps.setBinaryStream(2, new ByteArrayInputStream(blob), blob.length);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT data FROM t WHERE name = 'blob'");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getBytes(1)).isEqualTo(blob);
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO t (name, flag) VALUES (?, 42)")) {
                for (int i = 0; i < 500; i++) {
                    ps.setString(1, "batch-" + i);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                assertThat(Arrays.stream(counts).map(n -> n == Statement.SUCCESS_NO_INFO ? 1 : n).sum()).isEqualTo(500);
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM t WHERE flag = 42")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(500);
            }
        }
    }

    @Test
    void mariadbConnectorPipelinesPrepareAndExecute() throws Exception {
        try (Connection c = proxy.mariadbJ("useServerPrepStmts=true");
             PreparedStatement ps = c.prepareStatement("SELECT n, n * 2 FROM seq WHERE n BETWEEN ? AND ? ORDER BY n")) {
            for (int round = 0; round < 3; round++) {
                ps.setInt(1, 10 + round);
                ps.setInt(2, 12 + round);
                try (ResultSet rs = ps.executeQuery()) {
                    int rows = 0;
                    while (rs.next()) {
                        assertThat(rs.getInt(2)).isEqualTo(rs.getInt(1) * 2);
                        rows++;
                    }
                    assertThat(rows).isEqualTo(3);
                }
            }
        }
    }

    @Test
    void unknownStatementIdIsAnErrorNotAForward() throws Exception {
        try (Connection c = proxy.connectorJ("useServerPrepStmts=true");
             PreparedStatement ps = c.prepareStatement("SELECT ?")) {
            ps.setInt(1, 5);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(5);
            }
        }
        assertThatThrownBy(() -> {
            try (Connection c = proxy.connectorJ("")) {
                c.createStatement().execute("EXECUTE nothing_prepared");
            }
        }).isInstanceOf(SQLException.class);
    }
}
