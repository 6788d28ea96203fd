package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;


import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real disk-full on a 1 MiB tmpfs (tests run as root, so permissions would not stop writes). Skipped, with
 * the reason, only where mounting is not permitted.
 */
class DiskFullTest {
    @TempDir
    Path tmp;
    Path mnt;
    Path filler;

    @BeforeEach
    void mountSmallTmpfs() throws Exception {
        mnt = tmp.resolve("mnt");
        Files.createDirectories(mnt);
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assumeTrue(p.waitFor() == 0, "cannot mount a small tmpfs here (" + out.trim() + "); disk-full behaviour not tested");
        // leaves roughly 300 KiB for the trail; deleting it is how the test "frees space"
        filler = mnt.resolve("filler");
        Files.write(filler, new byte[700 * 1024]);
    }

    @AfterEach
    void unmount() throws Exception {
        if (mnt != null) {
            new ProcessBuilder("umount", "-l", mnt.toString()).inheritIO().start().waitFor();
        }
    }

    private AuditConfig config(FailureMode mode) {
        return AuditConfig.defaults(mnt.resolve("audit"), "disk-node")
                .withFailureMode(mode)
                .withRetryInterval(Duration.ofMillis(50))
                .withJournalSegmentBytes(64 * 1024)
                .withParquetRoll(32 * 1024, Duration.ofMillis(200));
    }

    private static StatementRecord big(int i) {
        return StatementRecord.builder(SampleRecords.statement(i, Instant.now()))
                .sessionId("disk-" + i)
                .sql("INSERT INTO t VALUES ('" + "x".repeat(3000) + i + "')")
                .build();
    }

    private static void awaitHealth(AuditTrail trail, boolean ok) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (trail.health().ok() != ok && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(trail.health().ok()).as("health " + trail.health()).isEqualTo(ok);
    }

    private Set<String> sessionsInTrail() throws Exception {
        VerificationReport report = AuditVerifier.verify(mnt.resolve("audit"));
        assertThat(report.ok()).as(report.render()).isTrue();
        Set<String> out = new HashSet<>();
        try (Connection c = DuckDb.connect(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT session_id FROM read_parquet('" + DuckDb.glob(mnt.resolve("audit"), RecordType.STATEMENT) + "')")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    @Test
    void failClosedRefusesWhileFullRecoversWhenFreedAndLosesNothingAcknowledged() throws Exception {
        List<AuditHealth> changes = new CopyOnWriteArrayList<>();
        Set<String> acked = new HashSet<>();
        try (AuditTrail trail = AuditTrail.open(config(FailureMode.FAIL_CLOSED))) {
            trail.addHealthListener(changes::add);
            AuditUnavailableException refused = null;
            for (int i = 0; i < 5000 && refused == null; i++) {
                try {
                    trail.append(big(i)).get(10, TimeUnit.SECONDS);
                    acked.add("disk-" + i);
                } catch (ExecutionException e) {
                    refused = (AuditUnavailableException) e.getCause();
                }
            }
            assertThat(refused).as("the disk filled up").isNotNull();
            assertThat(acked).isNotEmpty();
            awaitHealth(trail, false);
            assertThat(((AuditHealth.Failing) trail.health()).reason()).containsIgnoringCase("space");
            assertThat(trail.acceptingStatements()).isFalse();
            CompletableFuture<Void> f = trail.append(big(99_999));
            assertThat(f).as("fails fast, without waiting for the disk").isCompletedExceptionally();
            assertThat(f.handle((v, e) -> e.getMessage()).get()).contains("fail-closed").contains("refused");

            Files.delete(filler);
            awaitHealth(trail, true);
            assertThat(trail.acceptingStatements()).isTrue();
            trail.append(big(100_000)).get(10, TimeUnit.SECONDS);
            acked.add("disk-100000");
        }
        assertThat(changes).anySatisfy(h -> assertThat(h).isInstanceOf(AuditHealth.Failing.class));
        assertThat(changes.get(changes.size() - 1)).isInstanceOf(AuditHealth.Ok.class);
        assertThat(sessionsInTrail()).containsAll(acked).doesNotContain("disk-99999");
    }

    @Test
    void failOpenKeepsAcceptingWhileFullAndWritesEverythingOnceFreed() throws Exception {
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        Set<String> sent = new HashSet<>();
        try (AuditTrail trail = AuditTrail.open(config(FailureMode.FAIL_OPEN))) {
            int i = 0;
            while (trail.health().ok() && i < 5000) {
                CompletableFuture<Void> f = trail.append(big(i));
                futures.add(f);
                sent.add("disk-" + i);
                i++;
                try {
                    f.get(2, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException stillWaiting) {
                    // fail-open: the record waits in memory while the disk is full
                }
            }
            assertThat(trail.health().ok()).as("the disk filled up").isFalse();
            assertThat(trail.acceptingStatements()).isTrue();
            for (int k = 0; k < 20; k++, i++) {
                CompletableFuture<Void> f = trail.append(big(i));
                assertThat(f.isCompletedExceptionally()).isFalse();
                futures.add(f);
                sent.add("disk-" + i);
            }
            Thread.sleep(300);
            assertThat(futures.stream().filter(f -> !f.isDone()).count()).as("records wait while the disk is full").isPositive();

            Files.delete(filler);
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            awaitHealth(trail, true);
        }
        assertThat(sessionsInTrail()).containsAll(sent);
    }


    /** A staging ring that does not fit its memory file system: the trail opens without it and still works. */
    @Test
    void aRingThatDoesNotFitItsMemoryFileSystemIsLeftOutNotFatal() throws Exception {
        Path staging = mnt.resolve("shm");
        Files.createDirectories(staging);
        AuditConfig cfg = AuditConfig.defaults(tmp.resolve("audit-on-disk"), "disk-node")
                .withStaging(new AuditConfig.Staging(staging, 4 << 20)); // 4 MiB into the 300 KiB left
        try (AuditTrail trail = AuditTrail.open(cfg)) {
            trail.append(big(1)).get(10, TimeUnit.SECONDS);
            assertThat(trail.stats().acknowledged()).isEqualTo(1);
            assertThat(cfg.stagingFile()).as("no ring: the half-made one is removed, records go straight into the journal").doesNotExist();
        }
        assertThat(AuditVerifier.verify(tmp.resolve("audit-on-disk")).ok()).isTrue();
    }

    @Test
    void closingWhileTheDiskIsStillFullReturnsFailsTheUnwrittenAndKeepsTheAcknowledged() throws Exception {
        Set<String> acked = new HashSet<>();
        List<CompletableFuture<Void>> waiting = new ArrayList<>();
        List<Integer> waitingIds = new ArrayList<>();
        AuditTrail trail = AuditTrail.open(config(FailureMode.FAIL_OPEN));
        int i = 0;
        while (trail.health().ok() && i < 5000) {
            CompletableFuture<Void> f = trail.append(big(i));
            try {
                f.get(2, TimeUnit.SECONDS);
                acked.add("disk-" + i);
            } catch (java.util.concurrent.TimeoutException stillWaiting) {
                waiting.add(f);
                waitingIds.add(i);
            }
            i++;
        }
        assertThat(trail.health().ok()).isFalse();
        waiting.add(trail.append(big(i)));
        waitingIds.add(i);
        long start = System.nanoTime();
        trail.close();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        for (int w = 0; w < waiting.size(); w++) {
            CompletableFuture<Void> f = waiting.get(w);
            assertThat(f).as("nothing is left waiting after close").isDone();
            if (f.isCompletedExceptionally()) {
                assertThat(f.handle((v, e) -> e.getMessage()).get()).contains("closed before this record was written");
            } else {
                // The Parquet writer can free journal space while the trail closes, and close() writes what it
                // can then: acknowledged late, and then it must be in the trail like any other.
                acked.add("disk-" + waitingIds.get(w));
            }
        }
        Files.delete(filler);
        try (AuditTrail reopened = AuditTrail.open(config(FailureMode.FAIL_OPEN))) {
            assertThat(reopened.health().ok()).isTrue();
        }
        assertThat(sessionsInTrail()).containsAll(acked);
    }
}
