package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.MariaDbDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The same statements, once straight to MariaDB and once through Countersign, in two databases
 * set up alike: results, column types, warnings, affected rows, generated keys and errors must be equal.
 */
class PassThroughEqualityTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static ProxyFixture proxy;
    static String directDb;

    static final List<String> STATEMENTS = List.of(
            "CREATE TABLE ty (id INT AUTO_INCREMENT PRIMARY KEY, d DECIMAL(20,6), dt DATETIME(6), j JSON, b BLOB, bi BIT(10), "
                    + "e ENUM('a','b','c'), s SET('x','y','z'), n VARCHAR(10) NULL, u VARCHAR(50) CHARACTER SET utf8mb4, f DOUBLE, t TIME(3))",
            "INSERT INTO ty (d, dt, j, b, bi, e, s, n, u, f, t) VALUES (12345.678901, '2026-05-06 07:08:09.123456', "
                    + "'{\"k\": [1, 2, {\"z\": null}]}', X'00FF10', b'1010101010', 'b', 'x,z', NULL, 'emoji 🦊 ünï', 1.5e-7, '-838:59:58.999')",
            "INSERT INTO ty (d, u) VALUES (-0.000001, ''), (NULL, NULL)",
            "SELECT * FROM ty ORDER BY id",
            "SELECT id, HEX(b), bi + 0, JSON_EXTRACT(j, '$.k[2]'), CHAR_LENGTH(u), LENGTH(u) FROM ty ORDER BY id",
            "SELECT CAST('abc' AS SIGNED), 1/0",
            "SHOW WARNINGS",
            "INSERT INTO ty (e) VALUES ('zzz')",
            "SET SESSION sql_mode = ''",
            "INSERT INTO ty (e, d) VALUES ('zzz', 'not a number')",
            "UPDATE ty SET n = 'x' WHERE id > 1",
            "UPDATE ty SET n = 'x' WHERE id > 1",
            "START TRANSACTION",
            "INSERT INTO ty (u) VALUES ('in tx')",
            "INSERT INTO ty (id, u) VALUES (1, 'duplicate')",
            "SELECT COUNT(*), MAX(u) FROM ty",
            "ROLLBACK",
            "SELECT COUNT(*) FROM ty",
            "SELECT * FROM no_such_table",
            "SELEC broken syntax",
            "DELETE FROM ty WHERE id = 2",
            "SELECT LAST_INSERT_ID(), ROW_COUNT(), FOUND_ROWS()",
            "SELECT NULL, '', 0x00, _utf8mb4'😀😀', REPEAT('ä', 300)");

    @BeforeAll
    static void start() throws Exception {
        proxy = new ProxyFixture(db);
        directDb = db.name() + "_d";
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS `" + directDb + "`");
            s.execute("CREATE DATABASE `" + directDb + "` CHARACTER SET utf8mb4");
        }
    }

    @AfterAll
    static void stop() throws SQLException {
        proxy.close();
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS `" + directDb + "`");
        }
    }

    @Test
    void everyOutcomeIsTheSameThroughTheProxy() throws Exception {
        List<String> direct;
        try (Connection c = DriverManager.getConnection("jdbc:mysql://" + db.host() + ":" + db.port() + "/" + directDb
                + "?sslMode=DISABLED&allowPublicKeyRetrieval=true", db.user(), db.password())) {
            direct = run(c, directDb);
        }
        List<String> proxied;
        try (Connection c = proxy.connectorJ("")) {
            proxied = run(c, db.name());
        }
        assertThat(proxied).hasSize(STATEMENTS.size());
        for (int i = 0; i < STATEMENTS.size(); i++) {
            assertThat(proxied.get(i)).as(STATEMENTS.get(i)).isEqualTo(direct.get(i));
        }
        // the list exercises what it claims to
        assertThat(String.join("\n", direct)).contains("warning 1292").contains("warning 1365").contains("error 1062")
                .contains("error 1146").contains("error 1064").contains("🦊").contains("keys [1]").contains("update 2");
    }

    private static List<String> run(Connection c, String database) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement s = c.createStatement()) {
            for (String sql : STATEMENTS) {
                StringBuilder b = new StringBuilder();
                try {
                    boolean isResult = s.execute(sql, Statement.RETURN_GENERATED_KEYS);
                    if (isResult) {
                        try (ResultSet rs = s.getResultSet()) {
                            describe(rs, b);
                        }
                    } else {
                        b.append("update ").append(s.getUpdateCount());
                        try (ResultSet keys = s.getGeneratedKeys()) {
                            List<Long> ids = new ArrayList<>();
                            while (keys.next()) {
                                ids.add(keys.getLong(1));
                            }
                            b.append(" keys ").append(ids);
                        }
                    }
                    for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
                        b.append(" | warning ").append(w.getErrorCode()).append(' ').append(w.getSQLState()).append(' ').append(w.getMessage());
                    }
                    s.clearWarnings();
                } catch (SQLException e) {
                    b.append("error ").append(e.getErrorCode()).append(' ').append(e.getSQLState()).append(' ').append(e.getMessage());
                }
                out.add(b.toString().replace(database, "DB"));
            }
        }
        return out;
    }

    private static void describe(ResultSet rs, StringBuilder b) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            b.append(md.getColumnLabel(i)).append(':').append(md.getColumnTypeName(i)).append('(').append(md.getPrecision(i))
                    .append(',').append(md.getScale(i)).append(") ");
        }
        while (rs.next()) {
            b.append("\n  ");
            for (int i = 1; i <= md.getColumnCount(); i++) {
                byte[] raw = rs.getBytes(i);
                b.append(raw == null ? "NULL" : rs.getString(i) + "/" + HexFormat.of().formatHex(raw)).append(" ; ");
            }
        }
    }
}
