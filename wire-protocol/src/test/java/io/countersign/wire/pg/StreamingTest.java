package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.spi.StatementGate;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.EnumSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

class StreamingTest {

    @RegisterExtension static LeakCheck leaks = new LeakCheck();
    @RegisterExtension static PostgresDatabase db = new PostgresDatabase();
    static Proxy proxy;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE copied (id int, name text)");
        proxy = new Proxy(db, StatementGate.ALLOW_ALL, null, PostgresListener.builder()
                .tls(TestTls.serverContext())
                .authMethods(EnumSet.of(PostgresListener.AuthMethod.SCRAM_SHA_256)));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    void copyInAndOut() throws Exception {
        try (Connection c = proxy.connect()) {
            CopyManager copy = c.unwrap(BaseConnection.class).getCopyAPI();
            StringBuilder data = new StringBuilder();
            for (int i = 0; i < 20_000; i++) {
                data.append(i).append('\t').append("name-").append(i).append('\n');
            }
            long in = copy.copyIn("COPY copied FROM STDIN", new ByteArrayInputStream(data.toString().getBytes(StandardCharsets.UTF_8)));
            assertThat(in).isEqualTo(20_000);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            long n = copy.copyOut("COPY (SELECT * FROM copied ORDER BY id) TO STDOUT", out);
            assertThat(n).isEqualTo(20_000);
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(data.toString());
            // The session is usable afterwards.
            try (ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM copied")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(20_000);
            }
        }
        var copyIn = proxy.completions.stream().filter(x -> x.request().sql().startsWith("COPY copied FROM")).findFirst().orElseThrow();
        assertThat(copyIn.rowsAffected()).isEqualTo(20_000);
    }

    @Test
    void statementCancelReachesTheBackend() throws Exception {
        try (Connection c = proxy.connect(); Statement s = c.createStatement()) {
            CompletableFuture<Void> cancel = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(500);
                    s.cancel();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> s.execute("SELECT pg_sleep(30)"))
                    .isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("57014"));
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(10);
            cancel.get(5, TimeUnit.SECONDS);
            try (ResultSet rs = s.executeQuery("SELECT 7")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(7);
            }
        }
    }

    @Test
    void tlsWithSslmodeRequire() throws Exception {
        try (Connection c = proxy.connect("sslmode=require"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 'over tls'")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("over tls");
            assertThat(c.unwrap(org.postgresql.PGConnection.class).getParameterStatus("server_version")).isNotBlank();
        }
    }

    @Test
    void millionRowsStreamWithFetchSizeInFlatMemory() throws Exception {
        long baseline = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory() + PooledByteBufAllocator.DEFAULT.metric().usedHeapMemory();
        long peak = 0;
        try (Connection c = proxy.connect()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.setFetchSize(1000);
                try (ResultSet rs = s.executeQuery("SELECT g, repeat('x', 100) FROM generate_series(1, 1000000) g")) {
                    long n = 0;
                    long sum = 0;
                    while (rs.next()) {
                        n++;
                        sum += rs.getLong(1);
                        if (n % 50_000 == 0) {
                            peak = Math.max(peak, PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory()
                                    + PooledByteBufAllocator.DEFAULT.metric().usedHeapMemory());
                        }
                    }
                    assertThat(n).isEqualTo(1_000_000);
                    assertThat(sum).isEqualTo(500_000_500_000L);
                }
            }
            c.commit();
        }
        // ~110 MB went through; the proxy's pooled memory must not grow with it.
        assertThat(peak - baseline).isLessThan(32L * 1024 * 1024);
        var done = proxy.completions.stream().filter(x -> x.request().sql().contains("generate_series(1, 1000000)")).toList();
        assertThat(done).hasSize(1);
        assertThat(done.getFirst().rowsReturned()).isEqualTo(1_000_000);
    }

    @Test
    void slowReaderStopsTheBackendInsteadOfBuffering() throws Exception {
        var md5 = new Proxy(db, StatementGate.ALLOW_ALL, null,
                PostgresListener.builder().authMethods(EnumSet.of(PostgresListener.AuthMethod.MD5)));
        try (md5; RawClient raw = new RawClient(md5.address)) {
            raw.socket.setReceiveBufferSize(64 * 1024);
            raw.login(Proxy.AGENT, Proxy.PASSWORD, db.name());
            long before = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
            raw.send(RawClient.query("SELECT g, repeat('y', 200) FROM generate_series(1, 1000000) g"));
            Thread.sleep(2000); // not reading: ~220 MB are waiting on the backend side
            long held = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory() - before;
            assertThat(held).isLessThan(32L * 1024 * 1024);
            long rows = 0;
            while (true) {
                RawClient.Msg m = raw.read();
                if (m.type() == 'D') {
                    rows++;
                } else if (m.type() == 'Z') {
                    break;
                }
            }
            assertThat(rows).isEqualTo(1_000_000);
        }
    }
}
