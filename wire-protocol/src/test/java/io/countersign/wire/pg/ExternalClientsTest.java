package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Non-JVM clients through the proxy: psql (libpq) as a process, and psycopg2 from Debian's python3. */
class ExternalClientsTest {

    @RegisterExtension static LeakCheck leaks = new LeakCheck();
    @RegisterExtension static PostgresDatabase db = new PostgresDatabase();
    static Proxy proxy;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE sink (id int PRIMARY KEY, v text)");
        proxy = new Proxy(db, io.countersign.wire.spi.StatementGate.ALLOW_ALL, null,
                PostgresListener.builder().tls(TestTls.serverContext()));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    record Result(int exit, String out) {}

    static Result run(List<String> command, String stdin, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("process finished").isTrue();
        return new Result(p.exitValue(), out);
    }

    static String psql() {
        for (String c : new String[] {"/usr/bin/psql", "/usr/local/bin/psql"}) {
            if (new File(c).canExecute()) {
                return c;
            }
        }
        return "psql";
    }

    @Test
    void psqlMultiStatementCopyAndDescribe(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("in.csv");
        Files.writeString(in, "1,one\n2,two\n3,three\n");
        Path out = dir.resolve("out.csv");
        String script = String.join("\n",
                "SELECT 1 AS a; SELECT 'two' AS b;",
                "\\copy sink FROM '" + in + "' CSV",
                "\\copy (SELECT v FROM sink WHERE id < 100 ORDER BY id) TO '" + out + "' CSV",
                "\\d sink",
                "SELECT count(*) AS n FROM sink WHERE id < 100;",
                "");
        Result r = run(List.of(psql(), "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", Integer.toString(proxy.port()),
                        "-U", Proxy.AGENT, "-d", db.name(), "-f", "-"), script,
                Map.of("PGPASSWORD", Proxy.PASSWORD, "PGSSLMODE", "require", "PGCONNECT_TIMEOUT", "10"));
        assertThat(r.exit()).as(r.out()).isZero();
        assertThat(r.out()).contains(" a \n---\n 1\n").contains(" two\n").contains("COPY 3")
                .contains("Table \"public.sink\"").contains("sink_pkey").contains("\n 3\n");
        assertThat(Files.readString(out)).isEqualTo("one\ntwo\nthree\n");
    }

    @Test
    void psqlWrongPasswordIsRefused() throws Exception {
        Result r = run(List.of(psql(), "-X", "-h", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-U", Proxy.AGENT,
                "-d", db.name(), "-c", "SELECT 1"), null, Map.of("PGPASSWORD", "nope", "PGSSLMODE", "disable"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.out()).contains("password authentication failed for user \"agent\"");
    }

    @Test
    void psycopg2() throws Exception {
        String python = new File("/usr/bin/python3").canExecute() ? "/usr/bin/python3" : "python3";
        String script = """
                import sys, io, json, psycopg2
                conn = psycopg2.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2], password=sys.argv[3], dbname=sys.argv[4], sslmode='prefer')
                cur = conn.cursor()
                cur.execute("SELECT %s::int + 1, %s::text, %s::numeric * 2, NULL", (41, 'hé', '1.25'))
                row = cur.fetchone()
                try:
                    cur.execute("SELECT * FROM missing_table")
                except psycopg2.Error as e:
                    err = e.pgcode
                conn.rollback()
                cur.execute("INSERT INTO sink VALUES (%s, %s)", (100, 'from python'))
                conn.commit()
                buf = io.StringIO()
                cur.copy_expert("COPY (SELECT id, v FROM sink WHERE id = 100) TO STDOUT", buf)
                print(json.dumps({"row": [row[0], row[1], str(row[2]), row[3]], "err": err, "copy": buf.getvalue(), "ssl": conn.info.ssl_in_use}))
                """;
        Result r = run(List.of(python, "-c", script, Integer.toString(proxy.port()), Proxy.AGENT, Proxy.PASSWORD, db.name()),
                null, Map.of());
        assertThat(r.exit()).as(r.out()).isZero();
        assertThat(r.out().trim()).isEqualTo(
                "{\"row\": [42, \"h\\u00e9\", \"2.50\", null], \"err\": \"42P01\", \"copy\": \"100\\tfrom python\\n\", \"ssl\": true}");
    }
}
