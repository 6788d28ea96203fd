package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The proxy is invisible: a script of statements gives the same results, errors and notices
 * through Countersign as directly from the server, in the simple and the extended protocol.
 */
class PassThroughEqualityTest {

    @RegisterExtension static LeakCheck leaks = new LeakCheck();
    @RegisterExtension static PostgresDatabase db = new PostgresDatabase();
    static Proxy proxy;

    static final List<String> SCRIPT = List.of(
            "CREATE TEMP TABLE t (id int PRIMARY KEY, n numeric(12,4), f float8, b bytea, j jsonb, a int[], ts timestamptz, d date, u uuid, txt text)",
            "INSERT INTO t VALUES (1, 12345.6789, 1.5e300, '\\xdeadbeef', '{\"k\": [1, 2, {\"x\": null}]}', '{1,NULL,3}', '2024-02-29 12:34:56.789+01', '2024-02-29', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'héllo')",
            "INSERT INTO t (id) VALUES (2)",
            "SELECT * FROM t ORDER BY id",
            "SELECT ARRAY[[1,2],[3,4]] AS m, '{\"a\":1}'::json AS js, NULL::text AS nothing, 'NaN'::numeric AS nan, '-infinity'::timestamp AS inf",
            "SELECT interval '1 day 2 hours', 1::money, point(1,2), '10.0.0.1/8'::inet, B'1010'::bit(4), 'a':: \"char\"",
            "SELECT generate_series(1, 3) AS g, repeat('x', 3) AS r",
            "SELECT 1/0",
            "BEGIN",
            "INSERT INTO t (id) VALUES (3)",
            "INSERT INTO t (id) VALUES (1)",
            "SELECT 1",
            "ROLLBACK",
            "SELECT count(*) FROM t",
            "DO $$BEGIN RAISE NOTICE 'notice from DO: %', 42; RAISE WARNING 'careful'; END$$",
            "SELECT no_such_column FROM t",
            "SELECT 'unterminated",
            "UPDATE t SET txt = 'changed' WHERE id = 2",
            "DELETE FROM t WHERE id = 2",
            "SELECT current_setting('DateStyle'), current_setting('client_encoding'), current_setting('TimeZone')",
            "SHOW server_version_num",
            "");

    @BeforeAll
    static void start() throws Exception {
        proxy = new Proxy(db);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    static List<String> transcript(Connection c) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement s = c.createStatement()) {
            for (String sql : SCRIPT) {
                out.add("> " + sql);
                try {
                    boolean rs = s.execute(sql);
                    while (true) {
                        if (rs) {
                            try (ResultSet r = s.getResultSet()) {
                                ResultSetMetaData md = r.getMetaData();
                                StringBuilder h = new StringBuilder("columns:");
                                for (int i = 1; i <= md.getColumnCount(); i++) {
                                    h.append(' ').append(md.getColumnLabel(i)).append(':').append(md.getColumnTypeName(i));
                                }
                                out.add(h.toString());
                                while (r.next()) {
                                    StringBuilder row = new StringBuilder("row:");
                                    for (int i = 1; i <= md.getColumnCount(); i++) {
                                        row.append(" [").append(r.getString(i)).append(']');
                                    }
                                    out.add(row.toString());
                                }
                            }
                        } else if (s.getUpdateCount() != -1) {
                            out.add("count: " + s.getUpdateCount());
                        } else {
                            break;
                        }
                        rs = s.getMoreResults();
                    }
                } catch (SQLException e) {
                    out.add("error: " + e.getSQLState() + " " + e.getMessage());
                }
                for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
                    out.add("notice: " + w.getSQLState() + " " + w.getMessage());
                }
                s.clearWarnings();
            }
        }
        return out;
    }

    @Test
    void sameTranscriptDirectAndThroughTheProxy() throws Exception {
        for (String mode : new String[] {"preferQueryMode=simple", "preferQueryMode=extended", "binaryTransfer=true&prepareThreshold=1"}) {
            List<String> direct;
            try (Connection c = java.sql.DriverManager.getConnection(db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + mode,
                    db.user(), db.password())) {
                direct = transcript(c);
            }
            List<String> proxied;
            try (Connection c = proxy.connect(mode)) {
                proxied = transcript(c);
            }
            assertThat(proxied).as("mode " + mode).containsExactlyElementsOf(direct);
            assertThat(direct).anyMatch(l -> l.startsWith("error: 23505"))
                    .anyMatch(l -> l.startsWith("error: 25P02"))
                    .anyMatch(l -> l.contains("notice from DO: 42"))
                    .anyMatch(l -> l.startsWith("row: [1] [12345.6789]"));
        }
    }
}
