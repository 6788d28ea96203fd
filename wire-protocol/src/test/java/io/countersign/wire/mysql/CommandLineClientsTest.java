package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.MariaDbDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The mariadb command-line client and PyMySQL, run as processes through the proxy. */
class CommandLineClientsTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        proxy = new ProxyFixture(db);
        db.execute("CREATE TABLE cli (a INT PRIMARY KEY, b VARCHAR(20))", "INSERT INTO cli VALUES (1, 'one'), (2, 'two 🦊')");
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    @Test
    void multiStatementStringMatchesDirect() throws Exception {
        String sql = "SELECT a, b FROM cli ORDER BY a; SELECT COUNT(*) AS n FROM cli; DO 1; SELECT 'done' AS status";
        String through = mariadb(true, "-e", sql);
        assertThat(through).isEqualTo(mariadb(false, "-e", sql));
        assertThat(through).contains("1\tone").contains("2\ttwo 🦊").contains("n\n2").contains("done");
    }

    @Test
    void sourceOfAFileMatchesDirect(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("script.sql");
        Files.writeString(file, """
                CREATE TEMPORARY TABLE tmp_src (x INT);
                INSERT INTO tmp_src VALUES (10), (20), (30);
                UPDATE tmp_src SET x = x + 1 WHERE x > 15;
                SELECT SUM(x) AS total FROM tmp_src;
                SELECT b FROM cli WHERE a = 2;
                """);
        String through = mariadb(true, "-e", "source " + file);
        assertThat(through).isEqualTo(mariadb(false, "-e", "source " + file));
        assertThat(through).contains("total\n62").contains("two 🦊");
    }

    @Test
    void verticalOutputMatchesDirect() throws Exception {
        String through = mariadb(true, "-e", "SELECT a, b FROM cli WHERE a = 1\\G");
        assertThat(through).isEqualTo(mariadb(false, "-e", "SELECT a, b FROM cli WHERE a = 1\\G"));
        assertThat(through).contains("*************************** 1. row ***************************").contains("a: 1").contains("b: one");
    }

    @Test
    void errorsReachTheCliAsTheServerWordsThem() throws Exception {
        String through = mariadb(true, "-e", "SELECT * FROM nope");
        assertThat(through).isEqualTo(mariadb(false, "-e", "SELECT * FROM nope").replace(db.name(), db.name()));
        assertThat(through).contains("ERROR 1146 (42S02)");
    }

    @Test
    void pyMySqlRunsQueriesAndPreparedParameters(@TempDir Path dir) throws Exception {
        Path script = dir.resolve("client.py");
        Files.writeString(script, """
                import sys, pymysql
                c = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user=sys.argv[2], password=sys.argv[3],
                                    database=sys.argv[4], charset="utf8mb4")
                with c.cursor() as cur:
                    cur.execute("SELECT %s + 1, %s", (41, "zoë 🦊"))
                    print("row", cur.fetchone())
                    cur.execute("CREATE TABLE py (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))")
                    n = cur.executemany("INSERT INTO py (v) VALUES (%s)", [("a",), ("b",), ("c",)])
                    print("inserted", n, "last id", cur.lastrowid)
                    c.commit()
                    cur.execute("SELECT v FROM py ORDER BY id")
                    print("values", [r[0] for r in cur.fetchall()])
                    try:
                        cur.execute("SELECT * FROM nope")
                    except pymysql.err.ProgrammingError as e:
                        print("error", e.args[0])
                c.close()
                """);
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), String.valueOf(proxy.port()), ProxyFixture.AGENT,
                ProxyFixture.PASSWORD, db.name()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("row (42, 'zoë 🦊')").contains("inserted 3 last id 1").contains("values ['a', 'b', 'c']")
                .contains("error 1146");
    }

    private static String mariadb(boolean throughProxy, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mariadb", "--protocol=TCP", "--batch", "--default-character-set=utf8mb4",
                "-h", "127.0.0.1"));
        if (throughProxy) {
            cmd.addAll(List.of("-P", String.valueOf(proxy.port()), "-u", ProxyFixture.AGENT, "--password=" + ProxyFixture.PASSWORD));
        } else {
            cmd.addAll(List.of("-P", String.valueOf(db.port()), "-u", db.user(), "--password=" + db.password()));
        }
        cmd.add(db.name());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
