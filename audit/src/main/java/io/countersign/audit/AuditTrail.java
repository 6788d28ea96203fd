package io.countersign.audit;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail of one Countersign instance: a hash-chained, checksummed journal that is made durable
 * before (per-statement) or shortly after (bounded) an append completes, and a background conversion of
 * the journal into Parquet files with a manifest.
 *
 * <p>{@link #append} never blocks: it queues the record for the journal thread and returns a future.
 * Futures complete on the audit's own thread; hop back with {@code thenRunAsync(..., eventLoop)}.
 * A future that completes normally means the record is acknowledged: it is never lost afterwards.
 */
public final class AuditTrail implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
    private static final int MAX_BATCH = 4096;
    private static final int RETRY_BATCH = 16;

    private record Pending(AuditRecord record, CompletableFuture<Void> future) {}

    private static final Pending STOP = new Pending(null, null);

    /** What opening found and repaired, for the start-up log. */
    public record Recovery(long journalRecords, long writtenToParquet, long nextSeq, List<String> notes) {}

    private final AuditConfig config;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Manifest manifest;
    private final Journal journal;
    private final ParquetSink sink;
    private final Recovery recovery;

    private final LinkedTransferQueue<Pending> queue = new LinkedTransferQueue<>();
    private final LinkedTransferQueue<ChainedRecord> toParquet = new LinkedTransferQueue<>();
    private final AtomicInteger pending = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong rejected = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong fsyncs = new java.util.concurrent.atomic.AtomicLong();
    private final List<Consumer<AuditHealth>> listeners = new CopyOnWriteArrayList<>();
    private final Thread journalThread;
    private final Thread parquetThread;

    private volatile boolean closed;
    private volatile boolean journalExited;
    private volatile String journalFailure;
    private volatile String parquetFailure;
    private volatile Instant failingSince;
    private volatile AuditHealth health = new AuditHealth.Ok();
    /** Highest seq whose journal frame is fsynced; the Parquet side never goes past it. */
    private volatile long durableSeq;

    // journal-thread state
    private long nextSeq;
    private byte[] lastHash;
    private final ArrayDeque<Pending> retry = new ArrayDeque<>();
    private boolean stopping;
    private final List<ChainedRecord> unsynced = new ArrayList<>();
    private long syncDeadlineNanos;
    private long repairPosition = -1;
    private final RecordCodec.Out encoder = new RecordCodec.Out(4096);
    private final java.security.MessageDigest digest = Hashes.sha256();

    private AuditTrail(AuditConfig config) throws IOException {
        this.config = config;
        Path dir = config.directory();
        Files.createDirectories(dir);
        lockChannel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            lockChannel.close();
            throw new AuditStorageException("audit directory " + dir + " is in use by another Countersign process (or trail) on this"
                    + " machine; give each instance its own audit directory");
        }
        lock = l;
        try {
            List<String> notes = new ArrayList<>();
            manifest = Manifest.open(config.manifestDir());
            notes.addAll(ParquetSink.finishInterruptedCommits(config, manifest));
            ManifestEntry newest = manifest.newest();
            long fallbackNext = newest == null ? 1 : newest.lastSeq() + 1;
            byte[] fallbackHash = newest == null ? Hashes.genesis(config.instanceId()) : Hashes.unhex(newest.lastHash());
            Journal.Scan scan = Journal.scan(config.journalDir(), fallbackNext, fallbackHash, true);
            notes.addAll(scan.notes());
            nextSeq = scan.nextSeq();
            lastHash = scan.lastHash();
            durableSeq = nextSeq - 1;
            // Records the last run journalled but did not get into Parquet: write them now, then trim.
            long firstJournalled = scan.records().isEmpty() ? nextSeq : scan.records().get(0).seq();
            sink = new ParquetSink(config, manifest, firstJournalled - 1);
            long before = manifest.entries().size();
            for (ChainedRecord r : scan.records()) {
                sink.accept(r);
            }
            sink.commitAll();
            long written = manifest.entries().size() - before;
            journal = Journal.openForAppend(config.journalDir(), config.journalSegmentBytes(), nextSeq, lastHash);
            journal.rollIfFull(nextSeq, lastHash);
            journal.trimThrough(sink.watermark());
            sink.rewindTo(durableSeq);
            ManifestEntry committed = manifest.newest();
            if (committed != null) {
                // a crash can fall between a rename and the head update; and a signing key may be new
                ChainHead.create(config.instanceId(), committed.lastSeq(), committed.lastHash(), config.signingKey())
                        .write(config.manifestDir());
            }
            recovery = new Recovery(scan.records().size(), written, nextSeq, List.copyOf(notes));
        } catch (IOException | RuntimeException e) {
            lock.release();
            lockChannel.close();
            throw e;
        }
        for (String n : recovery.notes()) {
            log.warn("audit recovery in {}: {}", dir, n);
        }
        journalThread = Thread.ofPlatform().name("countersign-audit-journal").daemon().unstarted(this::journalLoop);
        parquetThread = Thread.ofPlatform().name("countersign-audit-parquet").daemon().unstarted(this::parquetLoop);
        journalThread.start();
        parquetThread.start();
    }

    /**
     * Opens (creating if needed) the trail in {@code config.directory()}: recovers the journal (dropping only a
     * torn, never-acknowledged tail), writes to Parquet whatever the last run left in the journal, trims the
     * journal, and starts the writer threads.
     *
     * @throws AuditStorageException when the directory is locked by another process or its files are damaged
     */
    public static AuditTrail open(AuditConfig config) throws IOException {
        return new AuditTrail(config);
    }

    public AuditConfig config() {
        return config;
    }

    public Recovery recovery() {
        return recovery;
    }

    /**
     * Queues a record. The future completes when the record is durable under the fsync policy, or fails with
     * {@link AuditUnavailableException} (fail-closed while storage is failing, backlog full, or closed).
     */
    public CompletableFuture<Void> append(AuditRecord record) {
        if (record == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("audit record must not be null"));
        }
        if (closed) {
            refused.incrementAndGet();
            return CompletableFuture.failedFuture(new AuditUnavailableException("the audit trail in " + config.directory() + " is closed"));
        }
        if (config.failureMode() == FailureMode.FAIL_CLOSED && !health.ok()) {
            refused.incrementAndGet();
            return CompletableFuture.failedFuture(new AuditUnavailableException(refusal()));
        }
        if (pending.incrementAndGet() > config.maxPendingRecords()) {
            pending.decrementAndGet();
            refused.incrementAndGet();
            return CompletableFuture.failedFuture(new AuditUnavailableException("the audit backlog is full ("
                    + config.maxPendingRecords() + " records waiting for " + config.directory() + "); "
                    + (health.ok() ? "the disk is too slow for the load" : "storage is failing: " + reason())));
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        queue.offer(new Pending(record, f));
        if (journalExited) {
            failQueued("the audit trail in " + config.directory() + " is closed");
        }
        return f;
    }

    /** False while fail-closed and storage is failing (or after close): the proxy should refuse new statements. */
    public boolean acceptingStatements() {
        return !closed && (config.failureMode() == FailureMode.FAIL_OPEN || health.ok());
    }

    public AuditHealth health() {
        return health;
    }

    /** Called on every change between ok and failing (and when the failing reason changes), from an audit thread. */
    public void addHealthListener(Consumer<AuditHealth> listener) {
        listeners.add(listener);
    }

    /**
     * Counters for metrics: records acknowledged, appends refused (storage failing, backlog full, closed),
     * records rejected as invalid (for example over the size limit), journal fsyncs, records waiting, and the
     * newest seq that is durable in the journal.
     */
    public record Stats(long acknowledged, long refused, long rejected, long fsyncs, int pending, long durableSeq) {}

    public Stats stats() {
        return new Stats(written.get(), refused.get(), rejected.get(), fsyncs.get(), pending.get(), durableSeq);
    }

    /** Records whose future has not completed yet. */
    public int pendingRecords() {
        return pending.get();
    }

    private String reason() {
        String j = journalFailure;
        String p = parquetFailure;
        return j != null ? j : p != null ? p : "none";
    }

    private String refusal() {
        return "audit storage is failing (" + reason() + "); statements are refused until the audit can write again"
                + " (audit failure mode fail-closed). Free space or fix permissions under " + config.directory();
    }

    private synchronized void updateHealth() {
        AuditHealth next;
        if (journalFailure == null && parquetFailure == null) {
            next = new AuditHealth.Ok();
            failingSince = null;
        } else {
            if (failingSince == null) {
                failingSince = config.clock().instant();
            }
            next = new AuditHealth.Failing(reason(), failingSince);
        }
        AuditHealth prev = health;
        if (!prev.equals(next)) {
            health = next;
            if (next.ok()) {
                log.info("audit storage in {} recovered", config.directory());
            } else {
                log.error("audit storage in {} is failing: {}", config.directory(), reason());
            }
            for (Consumer<AuditHealth> l : listeners) {
                try {
                    l.accept(next);
                } catch (RuntimeException e) {
                    log.warn("audit health listener failed", e);
                }
            }
        }
    }

    // ---------------------------------------------------------------- journal thread

    private void journalLoop() {
        List<Pending> batch = new ArrayList<>();
        while (true) {
            try {
                if (journalFailure != null) {
                    if (config.failureMode() == FailureMode.FAIL_CLOSED) {
                        failQueued(refusal());
                    }
                    if (stopping) {
                        break; // closing while storage fails: what is not written is failed below, never acknowledged
                    }
                    if (waitAndProbe()) {
                        continue;
                    }
                }
                batch.clear();
                // After a failure, go in small steps: space may come back a little at a time.
                while (!retry.isEmpty() && batch.size() < RETRY_BATCH) {
                    batch.add(retry.poll());
                }
                if (!batch.isEmpty()) {
                    writeBatch(batch);
                    syncIfDue(stopping);
                    continue;
                }
                Pending first = queue.poll(pollNanos(stopping), TimeUnit.NANOSECONDS);
                if (first == STOP) {
                    stopping = true;
                } else if (first != null) {
                    batch.add(first);
                }
                int room = MAX_BATCH - batch.size();
                if (room > 0) {
                    List<Pending> more = new ArrayList<>();
                    queue.drainTo(more, room);
                    for (Pending p : more) {
                        if (p == STOP) {
                            stopping = true;
                        } else {
                            batch.add(p);
                        }
                    }
                }
                if (!batch.isEmpty()) {
                    writeBatch(batch);
                }
                syncIfDue(stopping);
                if (stopping && batch.isEmpty() && queue.isEmpty() && retry.isEmpty() && unsynced.isEmpty()) {
                    break;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                log.error("audit journal thread hit an unexpected error", e);
                journalFailure = "audit journal error: " + e;
                updateHealth();
            }
        }
        journalExited = true; // before the final drain: an append racing with close() sees one or the other
        String why = "the audit trail in " + config.directory() + " closed before this record was written";
        failQueued(why);
        for (Pending p : retry) {
            fail(p, why);
        }
        retry.clear();
        toParquet.offer(STOP_RECORD);
    }

    private static final ChainedRecord STOP_RECORD = new ChainedRecord(Long.MIN_VALUE, new byte[0], new byte[0], null);

    private long pollNanos(boolean stopping) {
        if (stopping) {
            return 0;
        }
        if (!unsynced.isEmpty()) {
            return Math.max(0, syncDeadlineNanos - System.nanoTime());
        }
        return TimeUnit.SECONDS.toNanos(1);
    }

    private void writeBatch(List<Pending> original) {
        List<Pending> batch = original;
        long seq0 = nextSeq;
        byte[] hash0 = lastHash;
        long startPos = -1;
        List<ChainedRecord> chained = new ArrayList<>(batch.size());
        try {
            if (journal.position() >= config.journalSegmentBytes()) {
                forceUnsynced();
                journal.rollIfFull(nextSeq, lastHash);
            }
            startPos = journal.position();
            List<Pending> accepted = new ArrayList<>(batch.size());
            for (Pending p : batch) {
                int length;
                try {
                    length = encoder.encode(nextSeq, lastHash, p.record());
                } catch (RuntimeException e) {
                    rejectRecord(p, "audit record could not be encoded: " + e.getMessage());
                    continue;
                }
                if (length > Journal.MAX_FRAME) {
                    // one oversized record is the caller's problem, not a storage failure
                    rejectRecord(p, "audit record is " + length + " bytes, over the " + Journal.MAX_FRAME
                            + " byte limit (a very large SQL text or parameter list); shorten it before auditing");
                    continue;
                }
                digest.update(encoder.buffer(), 0, length);
                byte[] hash = digest.digest();
                journal.write(encoder.buffer(), length);
                chained.add(new ChainedRecord(nextSeq, lastHash, hash, p.record()));
                accepted.add(p);
                nextSeq++;
                lastHash = hash;
            }
            encoder.shrink();
            batch = accepted;
            if (batch.isEmpty()) {
                return;
            }
            journal.flushFrames();
            if (config.fsync() instanceof FsyncPolicy.PerStatement) {
                journal.force();
                fsyncs.incrementAndGet();
                published(chained);
                for (Pending p : batch) {
                    complete(p);
                }
            } else {
                // Bounded: in the page cache now (safe from a process crash); fsync within the bound.
                if (unsynced.isEmpty()) {
                    syncDeadlineNanos = System.nanoTime() + ((FsyncPolicy.Bounded) config.fsync()).maxDelay().toNanos();
                }
                unsynced.addAll(chained);
                for (Pending p : batch) {
                    complete(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            nextSeq = seq0;
            lastHash = hash0;
            journalFailure = "journal write to " + config.journalDir() + " failed: " + e.getMessage();
            log.error("audit journal write failed; {} record(s) not acknowledged", batch.size(), e);
            if (startPos >= 0) {
                try {
                    journal.truncateTo(startPos);
                } catch (IOException | RuntimeException t) {
                    repairPosition = startPos;
                }
            }
            updateHealth();
            for (Pending p : original) {
                if (p.future().isDone()) {
                    continue; // rejected as invalid above
                }
                if (config.failureMode() == FailureMode.FAIL_OPEN) {
                    retry.add(p);
                } else {
                    fail(p, refusal());
                }
            }
        }
    }

    private void syncIfDue(boolean stopping) {
        if (unsynced.isEmpty() || (!stopping && System.nanoTime() < syncDeadlineNanos)) {
            return;
        }
        try {
            forceUnsynced();
        } catch (IOException e) {
            journalFailure = "journal fsync in " + config.journalDir() + " failed: " + e.getMessage();
            updateHealth();
        }
    }

    private void forceUnsynced() throws IOException {
        if (unsynced.isEmpty()) {
            return;
        }
        journal.force();
        fsyncs.incrementAndGet();
        published(new ArrayList<>(unsynced));
        unsynced.clear();
    }

    private void published(List<ChainedRecord> durable) {
        durableSeq = durable.get(durable.size() - 1).seq();
        toParquet.addAll(durable);
    }

    /** Waits the retry interval, then checks whether the journal can write again. True when still failing. */
    private boolean waitAndProbe() throws InterruptedException {
        Pending p = queue.poll(config.retryInterval().toMillis(), TimeUnit.MILLISECONDS);
        if (p == STOP) {
            stopping = true;
            p = null; // still probe once: a recovered disk lets close() write what is waiting
        }
        if (p != null) {
            if (config.failureMode() == FailureMode.FAIL_OPEN) {
                retry.add(p);
            } else {
                fail(p, refusal());
            }
        }
        try {
            if (repairPosition >= 0) {
                journal.truncateTo(repairPosition);
                repairPosition = -1;
            }
            probeWrite(config.journalDir());
            forceUnsynced();
            journalFailure = null;
            updateHealth();
            return false;
        } catch (IOException | RuntimeException e) {
            journalFailure = "journal in " + config.journalDir() + " still cannot write: " + e.getMessage();
            updateHealth();
            return true;
        }
    }

    /** Storage is back only when a real write of some size and an fsync succeed there, not merely a truncate. */
    static void probeWrite(Path dir) throws IOException {
        Path probe = dir.resolve(".probe");
        try (FileChannel ch = FileChannel.open(probe, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(64 * 1024);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    private void failQueued(String why) {
        List<Pending> drained = new ArrayList<>();
        queue.drainTo(drained);
        for (Pending p : drained) {
            if (p == STOP) {
                stopping = true;
            } else {
                fail(p, why);
            }
        }
    }

    private void rejectRecord(Pending p, String why) {
        pending.decrementAndGet();
        rejected.incrementAndGet();
        p.future().completeExceptionally(new IllegalArgumentException(why));
    }

    private void complete(Pending p) {
        pending.decrementAndGet();
        written.incrementAndGet();
        p.future().complete(null);
    }

    private void fail(Pending p, String why) {
        pending.decrementAndGet();
        refused.incrementAndGet();
        p.future().completeExceptionally(new AuditUnavailableException(why));
    }

    // ---------------------------------------------------------------- parquet thread

    private void parquetLoop() {
        boolean draining = false;
        while (true) {
            try {
                if (parquetFailure != null) {
                    if (draining) {
                        break;
                    }
                    // The journal holds everything queued here; resync re-reads it, so keeping it would only grow the heap.
                    for (ChainedRecord queued; (queued = toParquet.poll()) != null; ) {
                        if (queued == STOP_RECORD) {
                            draining = true;
                        }
                    }
                    boolean journalDone = closed && !journalThread.isAlive();
                    if (!journalDone) {
                        Thread.sleep(config.retryInterval().toMillis());
                    }
                    resync();
                    if (journalDone && parquetFailure != null) {
                        // Closing with Parquet still failing: the records stay in the journal; the next open writes them.
                        log.error("audit closing with Parquet writing still failing; the journal keeps the records for the next start");
                        break;
                    }
                    continue;
                }
                long due = sink.nanosUntilRollDue();
                ChainedRecord r = draining ? toParquet.poll() : toParquet.poll(due < 0 ? TimeUnit.SECONDS.toNanos(1) : due, TimeUnit.NANOSECONDS);
                while (r != null) {
                    if (r == STOP_RECORD) {
                        draining = true;
                    } else {
                        sink.accept(r);
                    }
                    r = toParquet.poll();
                }
                long before = sink.watermark();
                if (draining) {
                    sink.commitAll();
                } else {
                    sink.rollAged();
                }
                if (sink.watermark() != before || draining) {
                    journal.trimThrough(sink.watermark());
                }
                if (draining) {
                    break;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (IOException | RuntimeException e) {
                log.error("audit Parquet writing in {} failed; records stay in the journal and are written again", config.directory(), e);
                sink.abortAll();
                parquetFailure = "Parquet writing in " + config.directory() + " failed: " + e.getMessage();
                updateHealth();
            }
        }
    }

    /** After a Parquet failure: re-reads durable records from the journal that no committed file holds. */
    private void resync() {
        try {
            probeWrite(config.directory());
            long from = sink.watermark();
            sink.rewindTo(from);
            long upTo = durableSeq;
            Journal.Scan scan = Journal.scan(config.journalDir(), 1, Hashes.genesis(config.instanceId()), false);
            for (ChainedRecord r : scan.records()) {
                if (r.seq() > from && r.seq() <= upTo) {
                    sink.accept(r);
                }
            }
            parquetFailure = null;
            updateHealth();
        } catch (IOException | RuntimeException e) {
            sink.abortAll();
            parquetFailure = "Parquet writing in " + config.directory() + " still failing: " + e.getMessage();
            updateHealth();
        }
    }

    /**
     * Writes everything queued, fsyncs, commits all open Parquet files, trims the journal and releases the
     * directory. Appends after close fail.
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        queue.offer(STOP);
        try {
            journalThread.join();
            parquetThread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            journal.close();
        } finally {
            lock.release();
            lockChannel.close();
        }
    }
}
