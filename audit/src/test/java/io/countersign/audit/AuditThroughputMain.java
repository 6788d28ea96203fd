package io.countersign.audit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sustained append throughput: {@code clients} threads each keep {@code inFlight} appends outstanding
 * (like that many proxy sessions waiting on their audit record), for {@code seconds}, with the given fsync
 * policy. Prints records per second. Not a test: run it by hand, e.g.
 * <pre>java -cp "$(cat cp.txt):audit/target/classes:audit/target/test-classes" io.countersign.audit.AuditThroughputMain /tmp/bench per-statement 64 10</pre>
 */
public final class AuditThroughputMain {
    public static void main(String[] args) throws Exception {
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("audit-bench");
        FsyncPolicy fsync = FsyncPolicy.parse(args.length > 1 ? args[1] : "per-statement");
        int sessions = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        AuditConfig config = AuditConfig.defaults(dir, "bench").withFsync(fsync).withParquetRoll(32L << 20, Duration.ofSeconds(30));
        try (AuditTrail trail = AuditTrail.open(config)) {
            // each "session" has one statement outstanding at a time, as a proxy session waits for its record
            Semaphore outstanding = new Semaphore(sessions);
            AtomicLong done = new AtomicLong();
            AtomicLong failed = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            Thread producer = Thread.ofPlatform().start(() -> {
                int i = 0;
                while (!stop.get()) {
                    outstanding.acquireUninterruptibly();
                    trail.append(SampleRecords.statement(i++ % 1000, Instant.now())).whenComplete((v, e) -> {
                        (e == null ? done : failed).incrementAndGet();
                        outstanding.release();
                    });
                }
            });
            Thread.sleep(2000); // warm-up
            long startCount = done.get();
            long start = System.nanoTime();
            Thread.sleep(seconds * 1000L);
            long count = done.get() - startCount;
            double secs = (System.nanoTime() - start) / 1e9;
            stop.set(true);
            producer.join();
            System.out.printf("audit throughput: %s, %d concurrent sessions: %.0f records/s sustained over %.1f s (%d failed)%n",
                    fsync instanceof FsyncPolicy.PerStatement ? "per-statement fsync" : "bounded fsync", sessions, count / secs, secs,
                    failed.get());
        }
    }
}
