package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bounded policy: one fsync per bound under steady appends, and every record durable within the bound. */
class BoundedFsyncTest {
    private static final Duration BOUND = Duration.ofMillis(50);

    @TempDir
    Path dir;

    @Test
    void steadyAppendsFsyncOncePerBoundNotBackToBack() throws Exception {
        AuditConfig config = AuditConfig.defaults(dir, "test-node-1").withFsync(FsyncPolicy.bounded(BOUND));
        try (AuditTrail trail = AuditTrail.open(config)) {
            Instant at = Instant.parse("2026-12-07T10:00:00Z");
            // warm up: the first append opens the journal's room
            trail.append(SampleRecords.statement(0, at)).get(10, TimeUnit.SECONDS);
            awaitDurable(trail, 1);
            long fsyncsBefore = trail.stats().fsyncs();
            long started = System.nanoTime();
            int appended = 1;
            CompletableFuture<Void> last = null;
            // appends arrive without pause, as under load: some are always written while an fsync runs
            while (System.nanoTime() - started < TimeUnit.MILLISECONDS.toNanos(600)) {
                last = trail.append(SampleRecords.statement(appended, at));
                appended++;
                if (appended % 64 == 0) {
                    last.get(10, TimeUnit.SECONDS);
                }
            }
            last.get(10, TimeUnit.SECONDS);
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            long fsyncs = trail.stats().fsyncs() - fsyncsBefore;
            // One per bound, plus the one that ends the run; a stale deadline fsyncs back to back (hundreds).
            assertThat(fsyncs).as("fsyncs in %d ms of steady appends (%d records) with a %d ms bound", elapsedMs, appended,
                    BOUND.toMillis()).isLessThanOrEqualTo(elapsedMs / BOUND.toMillis() + 3);
            assertThat(appended).as("appends were steady enough to matter").isGreaterThan(1_000);

            // and the bound still holds: the last record is durable within it (plus scheduling slack)
            awaitDurable(trail, appended);
        }
    }

    private static void awaitDurable(AuditTrail trail, long seq) throws InterruptedException {
        long deadline = System.nanoTime() + BOUND.toNanos() + TimeUnit.SECONDS.toNanos(2);
        while (trail.stats().durableSeq() < seq) {
            assertThat(System.nanoTime()).as("record %d durable within the bound", seq).isLessThan(deadline);
            Thread.sleep(1);
        }
    }
}
