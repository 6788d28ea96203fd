package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.PostgresDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.util.PSQLException;

class JdbcRelayTest {

    @RegisterExtension static LeakCheck leaks = new LeakCheck();
    @RegisterExtension static PostgresDatabase db = new PostgresDatabase();
    static Proxy proxy;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), data bytea)");
        proxy = new Proxy(db);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    void simpleQueryAndMultiStatement() throws Exception {
        try (Connection c = proxy.connect("preferQueryMode=simple"); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT 1 AS one, 'x' AS ex")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(1);
                assertThat(rs.getString(2)).isEqualTo("x");
            }
            boolean result = s.execute("SELECT 1; SELECT 2, 3; SELECT generate_series(1, 5)");
            List<Integer> counts = new ArrayList<>();
            while (result || s.getUpdateCount() != -1) {
                if (result) {
                    int n = 0;
                    try (ResultSet rs = s.getResultSet()) {
                        while (rs.next()) {
                            n++;
                        }
                    }
                    counts.add(n);
                }
                result = s.getMoreResults();
            }
            assertThat(counts).containsExactly(1, 1, 5);
        }
    }

    @Test
    void extendedWithParametersAndServerPrepared() throws Exception {
        try (Connection c = proxy.connect("prepareThreshold=2")) {
            c.createStatement().execute("DELETE FROM items WHERE id BETWEEN 100 AND 199");
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO items (id, name, price) VALUES (?, ?, ?)")) {
                for (int i = 100; i < 110; i++) {
                    ins.setInt(1, i);
                    ins.setString(2, "item-" + i);
                    ins.setBigDecimal(3, new java.math.BigDecimal(i + ".25"));
                    assertThat(ins.executeUpdate()).isEqualTo(1);
                }
                assertThat(ins.unwrap(org.postgresql.PGStatement.class).isUseServerPrepare()).isTrue();
            }
            try (PreparedStatement q = c.prepareStatement("SELECT name, price FROM items WHERE id = ?")) {
                for (int i = 100; i < 110; i++) {
                    q.setInt(1, i);
                    try (ResultSet rs = q.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getString(1)).isEqualTo("item-" + i);
                        assertThat(rs.getBigDecimal(2)).isEqualByComparingTo(i + ".25");
                        assertThat(rs.next()).isFalse();
                    }
                }
            }
        }
    }

    @Test
    void batchesAndBinaryTransfer() throws Exception {
        try (Connection c = proxy.connect("binaryTransfer=true&prepareThreshold=-1")) {
            c.createStatement().execute("DELETE FROM items WHERE id BETWEEN 200 AND 299");
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO items (id, name, data) VALUES (?, ?, ?)")) {
                for (int i = 200; i < 250; i++) {
                    ins.setInt(1, i);
                    ins.setString(2, "b" + i);
                    ins.setBytes(3, new byte[] {(byte) i, 0, (byte) 0xFF});
                    ins.addBatch();
                }
                int[] counts = ins.executeBatch();
                assertThat(counts).hasSize(50).containsOnly(1);
            }
            try (PreparedStatement q = c.prepareStatement("SELECT id, data, now() FROM items WHERE id >= ? AND id < ? ORDER BY id")) {
                q.setInt(1, 200);
                q.setInt(2, 250);
                try (ResultSet rs = q.executeQuery()) {
                    int n = 0;
                    while (rs.next()) {
                        assertThat(rs.getInt(1)).isEqualTo(200 + n);
                        assertThat(rs.getBytes(2)).containsExactly((byte) (200 + n), 0, (byte) 0xFF);
                        assertThat(rs.getTimestamp(3)).isNotNull();
                        n++;
                    }
                    assertThat(n).isEqualTo(50);
                }
            }
        }
    }

    @Test
    void errorsAreRelayedAndTheSessionContinues() throws Exception {
        try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM no_such_table"))
                    .isInstanceOf(PSQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("42P01"));
            try (ResultSet rs = s.executeQuery("SELECT 42")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(42);
            }
        }
    }

    @Test
    void wrongPasswordAndUnknownAgentGet28P01AndAreCounted() {
        double before = proxy.counter("countersign_auth_failures_total");
        Properties p = new Properties();
        p.setProperty("user", Proxy.AGENT);
        p.setProperty("password", "wrong");
        assertThatThrownBy(() -> DriverManager.getConnection(proxy.url(""), p))
                .isInstanceOf(PSQLException.class)
                .hasMessageContaining("password authentication failed for user \"agent\"")
                .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("28P01"));
        p.setProperty("user", "nobody");
        assertThatThrownBy(() -> DriverManager.getConnection(proxy.url(""), p))
                .hasMessageContaining("password authentication failed for user \"nobody\"")
                .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("28P01"));
        assertThat(proxy.counter("countersign_auth_failures_total")).isEqualTo(before + 2);
    }

    @Test
    void backendKeyIsCountersignsOwn() throws Exception {
        try (Connection c = proxy.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            int realPid = rs.getInt(1);
            int clientSeen = c.unwrap(PGConnection.class).getBackendPID();
            assertThat(clientSeen).isNotEqualTo(realPid);
        }
    }

    @Test
    void completionsCarryRowsAndTags() throws Exception {
        proxy.completions.clear();
        try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
            s.execute("DELETE FROM items WHERE id BETWEEN 300 AND 399");
            s.executeUpdate("INSERT INTO items (id, name) SELECT g, 'c' || g FROM generate_series(300, 306) g");
            try (ResultSet rs = s.executeQuery("SELECT * FROM items WHERE id BETWEEN 300 AND 399")) {
                while (rs.next()) { }
            }
        }
        var insert = proxy.completions.stream().filter(c -> c.request().sql().startsWith("INSERT")).findFirst().orElseThrow();
        assertThat(insert.rowsAffected()).isEqualTo(7);
        assertThat(insert.commandTag()).isEqualTo("INSERT 0 7");
        var select = proxy.completions.stream().filter(c -> c.request().sql().startsWith("SELECT * FROM items")).findFirst().orElseThrow();
        assertThat(select.rowsReturned()).isEqualTo(7);
        assertThat(select.error()).isNull();
        assertThat(select.bytesSent()).isPositive();
        assertThat(select.request().session().agent()).isEqualTo(Proxy.AGENT);
        assertThat(proxy.counter("countersign_statements_total")).isGreaterThanOrEqualTo(3);
    }

    @Test
    void listenNotifyIsRelayed() throws Exception {
        try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
            s.execute("LISTEN cs_channel");
            try (Connection direct = db.connect()) {
                direct.createStatement().execute("NOTIFY cs_channel, 'payload-1'");
            }
            org.postgresql.PGNotification[] got = c.unwrap(PGConnection.class).getNotifications(5000);
            assertThat(got).hasSize(1);
            assertThat(got[0].getName()).isEqualTo("cs_channel");
            assertThat(got[0].getParameter()).isEqualTo("payload-1");
        }
    }

    @Test
    void metricsCountConnectionsBytesAndLatency() throws Exception {
        double connections = proxy.counter("countersign_connections_total");
        double in = proxy.counter("countersign_bytes_in_total");
        double out = proxy.counter("countersign_bytes_out_total");
        try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
            assertThat(proxy.metrics.find("countersign_connections_active").gauge().value()).isGreaterThanOrEqualTo(1);
            try (ResultSet rs = s.executeQuery("SELECT repeat('m', 10000)")) {
                rs.next();
            }
        }
        assertThat(proxy.counter("countersign_connections_total")).isEqualTo(connections + 1);
        assertThat(proxy.counter("countersign_bytes_in_total")).isGreaterThan(in + 20);
        assertThat(proxy.counter("countersign_bytes_out_total")).isGreaterThan(out + 10000);
        var timer = proxy.metrics.find("countersign_statement_latency").timer();
        assertThat(timer).isNotNull();
        assertThat(timer.count()).isPositive();
    }

    @Test
    void scramVerifierMadeByPostgresItself() throws Exception {
        String role = "cs_verifier_" + ProcessHandle.current().pid();
        String verifier;
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("SET password_encryption = 'scram-sha-256'");
            s.execute("DROP ROLE IF EXISTS " + role);
            s.execute("CREATE ROLE " + role + " PASSWORD 'verifier-pw'");
            try (ResultSet rs = s.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'")) {
                rs.next();
                verifier = rs.getString(1);
            } finally {
                s.execute("DROP ROLE " + role);
            }
        }
        proxy.auth.agent("verifier-agent", io.countersign.wire.spi.AgentCredential.ScramSha256.parse(verifier));
        Properties p = new Properties();
        p.setProperty("user", "verifier-agent");
        p.setProperty("password", "verifier-pw");
        try (Connection c = DriverManager.getConnection(proxy.url(""), p); ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
            assertThat(rs.next()).isTrue();
        }
        p.setProperty("password", "verifier-pw-wrong");
        assertThatThrownBy(() -> DriverManager.getConnection(proxy.url(""), p))
                .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("28P01"));
        assertThatThrownBy(() -> io.countersign.wire.spi.AgentCredential.ScramSha256.parse("md5abc"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("SCRAM-SHA-256$<iterations>");
    }
}
