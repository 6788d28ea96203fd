package io.countersign.server.auditing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit directory on a 512 KiB tmpfs that the test fills up (tests run as root, so only a full
 * disk stops writes): with {@code audit.failure-mode: fail-closed} new statements are refused with
 * SQLSTATE 58030 naming the audit while {@code /readyz} fails, and run again once space is free.
 * Skipped, with the reason, only where mounting is refused.
 */
@ExtendWith(NettyLeakWatch.class)
class DiskFullE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    Path dir;

    Path mnt;
    Path filler;
    CountersignServer server;

    @BeforeAll
    static void schema() throws Exception {
        AuditE2e.schema(db);
    }

    @BeforeEach
    void mountSmallTmpfs() throws Exception {
        mnt = dir.resolve("mnt");
        Files.createDirectories(mnt);
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assumeTrue(p.waitFor() == 0, "cannot mount a small tmpfs here (" + out.strip() + "); the proxy's disk-full behaviour is not tested");
        filler = mnt.resolve("filler");
    }

    @AfterEach
    void stopAndUnmount() throws Exception {
        try {
            if (server != null) server.close();
        } finally {
            if (mnt != null) {
                new ProcessBuilder("umount", "-l", mnt.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** Writes until the file system refuses: from now on the audit cannot write a byte. */
    void fillTheDisk() throws IOException {
        byte[] page = new byte[4096];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(page);
            }
        } catch (IOException full) {
            assertThat(full.getMessage()).containsIgnoringCase("space");
        }
    }

    HttpResponse<String> readyz() throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.adminAddress().getPort() + "/readyz")).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    static String label(Statement s, int id) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT label FROM items WHERE id = " + id)) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }

    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void failClosedRefusesNewStatementsWithAClearErrorWhileReadyzFailsAndRunsThemAgainOnceFreed() throws Exception {
        server = AuditE2e.start(AuditE2e.config(dir, db, mnt.resolve("audit"), "  failure-mode: fail-closed\n"));
        assertThat(readyz().statusCode()).isEqualTo(200);
        try (Connection c = AuditE2e.bot(server); Statement s = c.createStatement()) {
            assertThat(label(s, 1)).isEqualTo("item 1");
            fillTheDisk();
            SQLException refused = null;
            for (int i = 0; i < 200 && refused == null; i++) {
                try {
                    label(s, 1 + i % 20);
                } catch (SQLException e) {
                    refused = e;
                }
                Thread.sleep(10);
            }
            assertThat((Throwable) refused).as("a statement refused once the audit cannot write").isNotNull();
            assertThat(refused.getSQLState()).as(refused.getMessage()).isEqualTo("58030");
            assertThat(refused.getMessage()).contains("cannot write its audit trail").contains("fail-closed")
                    .contains(mnt.resolve("audit").toString());
            // still refused, and /readyz says why
            SQLException again = null;
            try {
                label(s, 2);
            } catch (SQLException e) {
                again = e;
            }
            assertThat((Throwable) again).as("the next statement is refused too").isNotNull();
            assertThat(again.getSQLState()).isEqualTo("58030");
            HttpResponse<String> notReady = readyz();
            assertThat(notReady.statusCode()).isEqualTo(503);
            assertThat(notReady.body()).contains("\"audit\"").contains("audit storage failing");

            Files.delete(filler);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            String label = null;
            while (label == null && System.nanoTime() < deadline) {
                try {
                    label = label(s, 3);
                } catch (SQLException stillRefused) {
                    assertThat(stillRefused.getSQLState()).isEqualTo("58030");
                    Thread.sleep(100);
                }
            }
            assertThat(label).as("statements run again once space is free").isEqualTo("item 3");
            assertThat(readyz().statusCode()).isEqualTo(200);
        }
    }
}
