package io.countersign.audit;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Run as a separate JVM by {@link KillNineTest}: appends statement records under load from several threads
 * and prints {@code ACK <run>-<id>} for each record whose append completed, until killed; the fsync policy is
 * the fourth argument (default per-statement), and the fifth, when given, a pause in microseconds after each
 * append (so that a staging ring never fills and every acknowledged record takes the fast path). Every 50 ms it prints {@code FAST <n>}, the records that took
 * the fast path. The id is in the record's session_id ("crash-<run>-<id>") so the test can find it after recovery.
 */
public final class CrashWriterMain {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        String run = args[2];
        long pauseNanos = args.length > 4 ? Long.parseLong(args[4]) * 1000 : 0;
        AuditConfig config = AuditConfig.defaults(dir, "crash-node")
                .withFsync(FsyncPolicy.parse(args.length > 3 ? args[3] : "per-statement"))
                .withParquetRoll(64 * 1024, Duration.ofMillis(100))
                .withJournalSegmentBytes(256 * 1024);
        AuditTrail trail = AuditTrail.open(config);
        System.out.println("OPEN " + trail.recovery().nextSeq());
        Thread.ofPlatform().daemon().start(() -> {
            while (true) {
                System.out.println("FAST " + trail.stats().fastPath());
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        AtomicLong ids = new AtomicLong();
        for (int t = 0; t < threads; t++) {
            Thread.ofPlatform().start(() -> {
                Semaphore inFlight = new Semaphore(32);
                while (true) {
                    inFlight.acquireUninterruptibly();
                    long id = ids.incrementAndGet();
                    StatementRecord r = StatementRecord.builder(SampleRecords.statement((int) (id % 1000), Instant.now()))
                            .sessionId("crash-" + run + "-" + id).build();
                    trail.append(r).whenComplete((v, err) -> {
                        inFlight.release();
                        if (err == null) {
                            System.out.println("ACK " + run + "-" + id);
                        }
                    });
                    if (pauseNanos > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(pauseNanos);
                    }
                }
            });
        }
        Thread.sleep(Long.MAX_VALUE);
    }
}
