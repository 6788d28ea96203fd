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
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
            // a test that failed with the disk still full must not leave close() waiting for the trail
            if (filler != null) Files.deleteIfExists(filler);
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

    /**
     * Once the audit cannot write, statements get 58030 naming the audit directory and the failure
     * mode (the first as a FATAL in place of its result, the session closed), {@code /readyz} says
     * why, and statements run again once space is free.
     */
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void failClosedRefusesNewStatementsWithAClearErrorWhileReadyzFailsAndRunsThemAgainOnceFreed() throws Exception {
        server = AuditE2e.start(AuditE2e.config(dir, db, mnt.resolve("audit"), "  failure-mode: fail-closed\n"));
        assertThat(readyz().statusCode()).isEqualTo(200);
        Connection c = AuditE2e.bot(server);
        try {
            Statement s = c.createStatement();
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
            assertThat(refused.getMessage()).contains("audit trail").contains("fail-closed")
                    .contains(mnt.resolve("audit").toString());
            if (c.isClosed()) {
                c = AuditE2e.bot(server);
                s = c.createStatement();
            }
            // still refused, and /readyz says why
            SQLException again = null;
            try {
                label(s, 2);
            } catch (SQLException e) {
                again = e;
            }
            assertThat((Throwable) again).as("the next statement is refused too").isNotNull();
            assertThat(again.getSQLState()).isEqualTo("58030");
            if (c.isClosed()) {
                c = AuditE2e.bot(server);
                s = c.createStatement();
            }
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
                    if (c.isClosed()) {
                        c = AuditE2e.bot(server);
                        s = c.createStatement();
                    }
                    Thread.sleep(100);
                }
            }
            assertThat(label).as("statements run again once space is free").isEqualTo("item 3");
            assertThat(readyz().statusCode()).isEqualTo(200);
        } finally {
            c.close();
        }
    }

    /** The SQL of every statement record the trail wrote to its Parquet files (read by DuckDB). */
    static Set<String> recordedSql(Path audit) throws SQLException {
        Set<String> out = new HashSet<>();
        for (var row : AuditE2e.duckdb("SELECT sql FROM " + AuditE2e.parquet(audit, "statements"))) {
            out.add((String) row.get("sql"));
        }
        return out;
    }

    /**
     * Fail-closed means an acknowledged statement is a recorded one: while one thread fills the
     * disk, another sends unique statements; every statement whose result arrived must have its
     * record in the Parquet files once space is free and the server closed. Statements refused with
     * 58030 (at the gate, or FATAL in place of their final message) may be missing.
     */
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void failClosedAcknowledgesOnlyStatementsWhoseRecordIsDurable() throws Exception {
        Path audit = mnt.resolve("audit");
        server = AuditE2e.start(AuditE2e.config(dir, db, audit, "  failure-mode: fail-closed\n"));
        List<String> acknowledged = Collections.synchronizedList(new ArrayList<>());
        List<String> unexpected = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger fatal = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        Thread sender = Thread.ofPlatform().name("disk-full-sender").start(() -> {
            Connection c = null;
            for (int i = 0; !stop.get(); i++) {
                int id = 1 + i % 20;
                String sql = "SELECT label, 'ack-" + i + "' AS probe FROM items WHERE id = " + id;
                try {
                    if (c == null) c = AuditE2e.bot(server);
                    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
                        if (rs.next() && rs.getString(1).equals("item " + id)) {
                            acknowledged.add(sql);
                        } else {
                            unexpected.add(sql + ": wrong or no row");
                        }
                    }
                } catch (SQLException e) {
                    if ("58030".equals(e.getSQLState())) {
                        refused.incrementAndGet();
                    } else {
                        unexpected.add(sql + ": " + e.getSQLState() + " " + e.getMessage());
                    }
                    try {
                        if (c != null && c.isClosed()) fatal.incrementAndGet();
                        if (c != null) c.close();
                    } catch (SQLException ignored) {
                        // the session is gone already
                    }
                    c = null;
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
            try {
                if (c != null) c.close();
            } catch (SQLException ignored) {
                // closing only
            }
        });
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (acknowledged.size() < 20 && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(acknowledged).as("statements answered before the disk filled").hasSizeGreaterThanOrEqualTo(20);
            fillTheDisk();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (refused.get() < 20 && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(refused.get()).as("statements refused with 58030 once the disk is full").isGreaterThanOrEqualTo(20);
        } finally {
            stop.set(true);
            sender.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertThat(sender.isAlive()).as("the sender ended").isFalse();
        assertThat(unexpected).as("failures other than 58030").isEmpty();
        List<String> answered = List.copyOf(acknowledged);

        Files.delete(filler);
        String label = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (label == null && System.nanoTime() < deadline) {
            try (Connection c = AuditE2e.bot(server); Statement s = c.createStatement()) {
                label = label(s, 4);
            } catch (SQLException stillRefused) {
                assertThat(stillRefused.getSQLState()).as(stillRefused.getMessage()).isEqualTo("58030");
                Thread.sleep(100);
            }
        }
        assertThat(label).as("statements run again once space is free").isEqualTo("item 4");
        server.close();
        server = null;

        Set<String> recorded = recordedSql(audit);
        List<String> missing = answered.stream().filter(sql -> !recorded.contains(sql)).toList();
        assertThat(missing).as("acknowledged statements without a record (%d acknowledged, %d refused, %d sessions ended FATAL)",
                answered.size(), refused.get(), fatal.get()).isEmpty();
    }

    /**
     * Fail-open keeps answering once the disk is full (each SELECT promptly) while {@code /readyz}
     * reports the audit failing; the records held meanwhile are written once space is free.
     */
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void failOpenKeepsAnsweringPromptlyWhileReadyzFailsAndWritesTheHeldRecordsOnceFreed() throws Exception {
        Path audit = mnt.resolve("audit");
        server = AuditE2e.start(AuditE2e.config(dir, db, audit, "  failure-mode: fail-open\n"));
        List<String> answered = new ArrayList<>();
        try (Connection c = AuditE2e.bot(server); Statement s = c.createStatement()) {
            assertThat(label(s, 1)).isEqualTo("item 1");
            fillTheDisk();
            for (int i = 0; i < 30; i++) {
                int id = 1 + i % 20;
                String sql = "SELECT label, 'open-" + i + "' AS probe FROM items WHERE id = " + id;
                long start = System.nanoTime();
                try (ResultSet rs = s.executeQuery(sql)) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo("item " + id);
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertThat(ms).as("statement %d answered within 10 s while the disk is full", i).isLessThan(10_000);
                answered.add(sql);
            }
            HttpResponse<String> notReady = readyz();
            assertThat(notReady.statusCode()).as(notReady.body()).isEqualTo(503);
            assertThat(notReady.body()).contains("\"audit\"").contains("audit storage failing");

            Files.delete(filler);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            int status = 0;
            while (System.nanoTime() < deadline && (status = readyz().statusCode()) != 200) {
                label(s, 2);
                Thread.sleep(100);
            }
            assertThat(status).as("/readyz once space is free").isEqualTo(200);
        }
        server.close();
        server = null;
        Set<String> recorded = recordedSql(audit);
        assertThat(answered.stream().filter(sql -> !recorded.contains(sql)).toList())
                .as("statements answered while the disk was full whose records never reached the trail").isEmpty();
    }
}
