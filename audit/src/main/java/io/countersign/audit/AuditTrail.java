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
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail of one Countersign instance: a hash-chained, checksummed journal that is made durable
 * before (per-statement) or shortly after (bounded) an append completes, and a background conversion of
 * the journal into Parquet files with a manifest.
 *
 * <p>{@link #append} never waits for the disk. On the fast path it encodes and hashes the record on the
 * caller's thread and copies its frame into the staging ring, shared memory that outlives a crash of the
 * process ({@link StagingRing}; without one, it writes the frame into journal space the journal thread
 * zero-filled ahead), under a short lock that only guards the chain's order: with bounded fsync the
 * returned future is already complete, so the caller needs no thread hop; with per-statement fsync it
 * completes on the journal thread after the group's fsync. The journal thread moves staged frames into the
 * journal in batches. Whenever the fast path cannot run (the ring full, no room, storage failing, records
 * still queued) the record is queued for the journal thread, which drains the ring first and then writes
 * through the file channel; while anything is queued the fast path stays off, so the chain keeps one
 * order. A future that completes normally means the record is
 * acknowledged: it is never lost afterwards.
 */
public final class AuditTrail implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
    private static final int MAX_BATCH = 4096;
    private static final int RETRY_BATCH = 16;

    private record Pending(AuditRecord record, CompletableFuture<Void> future) {}

    private static final Pending STOP = new Pending(null, null);
    /** Wakes the journal thread: a sync window opened, or a per-statement record waits for its fsync. */
    private static final Pending WAKE = new Pending(null, null);
    private static final CompletableFuture<Void> DURABLE = CompletableFuture.completedFuture(null);

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
    /** Guards the Parquet sink and the journal tail: the idle-priority writer and the catch-up writer take turns. */
    private final ReentrantLock sinkLock = new ReentrantLock();
    private JournalTail tail; // guarded by sinkLock
    private volatile boolean parquetDone;
    /** The highest seq fed to the Parquet sink, readable without the sink lock. */
    private volatile long parquetFed;
    private final AtomicInteger pending = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong rejected = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong fsyncs = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong fastPath = new java.util.concurrent.atomic.AtomicLong();
    private final List<Consumer<AuditHealth>> listeners = new CopyOnWriteArrayList<>();
    private final Thread journalThread;
    private final Thread parquetThread;
    private final Thread catchUpThread;

    private volatile boolean closed;
    private volatile boolean journalExited;
    private volatile String journalFailure;
    private volatile String parquetFailure;
    private volatile Instant failingSince;
    private volatile AuditHealth health = new AuditHealth.Ok();
    /** Highest seq whose journal frame is fsynced; the Parquet side never goes past it. */
    private volatile long durableSeq;

    /**
     * Guards the chain (nextSeq, lastHash, encoder, digest), the journal's position and room, the
     * lists below and {@code slowOutstanding}. Held only for work in memory, never across a system call.
     */
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Records queued for (or retried by) the journal thread and not settled; the fast path runs only at zero. */
    private int slowOutstanding;
    private long nextSeq;
    private byte[] lastHash;
    private final RecordCodec.Out encoder = new RecordCodec.Out(4096);
    private final java.security.MessageDigest digest = Hashes.sha256();
    /** The newest seq written to the journal; above {@link #durableSeq}, records wait for the next fsync. */
    private long writtenSeq;
    /** Per-statement fsync: fast-path records whose futures complete after the next fsync. */
    private final List<Pending> awaitingSync = new ArrayList<>();
    private long syncDeadlineNanos;
    private final long chunkBytes;
    /** The fast path asked the journal thread for more room and it has not answered yet. */
    private boolean fillRequested;
    /**
     * Where the fast path puts frames when the trail has shared memory to stage them in (null: it writes
     * them into the journal file itself). Frames in the ring are acknowledged and outlive a crash of this
     * process; the journal thread moves them into the journal before every fsync and before any queued record.
     */
    private StagingRing ring;
    /** The ring is half full and the journal thread was woken to drain it. */
    private boolean drainRequested;

    // journal-thread state
    /** With a ring: the chain after the journal file's last frame, where a segment roll continues from. */
    private long journalNextSeq;
    private byte[] journalHash;
    private long ringCheckAfterNanos;
    private final ArrayDeque<Pending> retry = new ArrayDeque<>();
    private boolean stopping;
    private long repairPosition = -1;
    private long fillRetryAfterNanos;

    private AuditTrail(AuditConfig config) throws IOException {
        this.config = config;
        this.chunkBytes = Math.max(4096, Math.min(4L << 20, config.journalSegmentBytes() / 4));
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
            if (recoverStaged(config, scan, notes)) {
                scan = Journal.scan(config.journalDir(), fallbackNext, fallbackHash, true);
            }
            nextSeq = scan.nextSeq();
            lastHash = scan.lastHash();
            durableSeq = nextSeq - 1;
            writtenSeq = durableSeq;
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
        journalNextSeq = nextSeq;
        journalHash = lastHash;
        if (config.stagingFile() != null) {
            try {
                ring = StagingRing.create(config.stagingFile(), config.staging().bytes(), nextSeq, Files.getOwner(dir));
            } catch (IOException | RuntimeException e) {
                // Not fatal: without the ring each record is written into the journal file by its caller.
                log.warn("audit: no staging ring in {} ({}); records are written straight into the journal", config.staging().directory(),
                        e.toString());
            }
        }
        tail = new JournalTail(config.journalDir(), sink.fedThrough());
        parquetFed = sink.fedThrough();
        journalThread = Thread.ofPlatform().name("countersign-audit-journal").daemon().unstarted(this::journalLoop);
        parquetThread = Thread.ofPlatform().name("countersign-audit-parquet").daemon().unstarted(this::parquetLoop);
        catchUpThread = Thread.ofPlatform().name("countersign-audit-catch-up").daemon().unstarted(this::catchUpLoop);
        journalThread.start();
        parquetThread.start();
        catchUpThread.start();
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

    /**
     * Copies into the journal the acknowledged records a crashed run left in its staging ring and not yet
     * in the journal. True when it wrote any (the caller scans the journal again).
     */
    private static boolean recoverStaged(AuditConfig config, Journal.Scan scan, List<String> notes) throws IOException {
        Path file = config.stagingFile();
        if (file == null) {
            return false;
        }
        StagingRing.Recovered staged = StagingRing.recover(file, scan.nextSeq(), scan.lastHash(), Files.getOwner(config.directory()));
        notes.addAll(staged.notes());
        if (staged.records().isEmpty()) {
            return false;
        }
        try (Journal j = Journal.openForAppend(config.journalDir(), config.journalSegmentBytes(), scan.nextSeq(), scan.lastHash())) {
            for (byte[] canonical : staged.records()) {
                j.write(canonical);
            }
            j.flushFrames();
            j.force();
        }
        return true;
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
        CompletableFuture<Void> f;
        writeLock.lock();
        try {
            if (closed) {
                refused.incrementAndGet();
                return CompletableFuture.failedFuture(new AuditUnavailableException("the audit trail in " + config.directory() + " is closed"));
            }
            if (slowOutstanding == 0 && journalFailure == null) {
                CompletableFuture<Void> fast = appendFast(record);
                if (fast != null) {
                    return fast;
                }
            }
            if (pending.incrementAndGet() > config.maxPendingRecords()) {
                pending.decrementAndGet();
                refused.incrementAndGet();
                return CompletableFuture.failedFuture(new AuditUnavailableException("the audit backlog is full ("
                        + config.maxPendingRecords() + " records waiting for " + config.directory() + "); "
                        + (health.ok() ? "the disk is too slow for the load" : "storage is failing: " + reason())));
            }
            slowOutstanding++;
            f = new CompletableFuture<>();
            queue.offer(new Pending(record, f));
        } finally {
            writeLock.unlock();
        }
        if (journalExited) {
            failQueued("the audit trail in " + config.directory() + " is closed");
        }
        return f;
    }

    /**
     * The fast path, write lock held: encodes, writes the frame into the journal's room, advances the
     * chain. Null when the frame does not fit the room or its write failed (nothing changed; the caller queues it).
     */
    private CompletableFuture<Void> appendFast(AuditRecord record) {
        int length;
        try {
            length = encoder.encode(nextSeq, lastHash, record);
        } catch (RuntimeException e) {
            rejected.incrementAndGet();
            return CompletableFuture.failedFuture(new IllegalArgumentException("audit record could not be encoded: " + e.getMessage()));
        }
        if (length > Journal.MAX_FRAME) {
            rejected.incrementAndGet();
            return CompletableFuture.failedFuture(new IllegalArgumentException(oversized(length)));
        }
        if (ring != null ? !ring.put(encoder.buffer(), length) : !journal.appendInRoom(encoder.buffer(), length)) {
            return null;
        }
        digest.update(encoder.buffer(), 0, length);
        byte[] hash = digest.digest();
        encoder.shrink();
        fastPath.incrementAndGet();
        boolean firstUnsynced = writtenSeq == durableSeq;
        writtenSeq = nextSeq;
        nextSeq++;
        lastHash = hash;
        boolean wake = false;
        if (ring != null) {
            if (!drainRequested && ring.halfFull()) {
                drainRequested = true; // drain before the ring runs out, not only when the fsync is due
                wake = true;
            }
        } else if (!fillRequested && journal.roomLow(chunkBytes)) {
            fillRequested = true; // fill the next stretch before this one runs out
            wake = true;
        }
        CompletableFuture<Void> result;
        if (config.fsync() instanceof FsyncPolicy.Bounded b) {
            written.incrementAndGet();
            if (firstUnsynced) {
                syncDeadlineNanos = System.nanoTime() + b.maxDelay().toNanos();
                wake = true;
            }
            result = DURABLE;
        } else {
            result = new CompletableFuture<>();
            pending.incrementAndGet();
            awaitingSync.add(new Pending(record, result));
            wake |= awaitingSync.size() == 1;
        }
        if (wake) {
            queue.offer(WAKE);
        }
        return result;
    }

    private static String oversized(int length) {
        return "audit record is " + length + " bytes, over the " + Journal.MAX_FRAME
                + " byte limit (a very large SQL text or parameter list); shorten it before auditing";
    }

    /** Queued records the journal thread finished with (written, failed or rejected); at zero the fast path resumes. */
    private void settled(int n) {
        if (n == 0) {
            return;
        }
        writeLock.lock();
        try {
            slowOutstanding -= n;
        } finally {
            writeLock.unlock();
        }
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
     * records rejected as invalid (for example over the size limit), journal fsyncs, records waiting, the
     * newest seq that is durable in the journal, how many records took the fast path (written into the
     * staging ring or the journal's room on the caller's thread) rather than the journal thread's queue, how
     * many durable records wait in the journal for the Parquet writer, and how many bytes of acknowledged
     * records wait in the staging ring for the journal thread.
     */
    public record Stats(long acknowledged, long refused, long rejected, long fsyncs, int pending, long durableSeq, long fastPath,
            long parquetBacklog, long stagedBytes) {}

    public Stats stats() {
        long staged = 0;
        if (ring != null) {
            writeLock.lock();
            try {
                staged = ring.undrainedBytes();
            } finally {
                writeLock.unlock();
            }
        }
        return new Stats(written.get(), refused.get(), rejected.get(), fsyncs.get(), pending.get(), durableSeq, fastPath.get(),
                parquetBacklog(), staged);
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
                        failAwaitingSync(refusal());
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
                if (!stopping && journalFailure == null) {
                    fillAhead(); // before waiting, so the first appends already find room
                    keepRingFile();
                }
                Pending first = queue.poll(pollNanos(stopping), TimeUnit.NANOSECONDS);
                if (first == STOP) {
                    stopping = true;
                } else if (first != null && first != WAKE) {
                    batch.add(first);
                }
                for (Pending p; batch.size() < MAX_BATCH && (p = queue.poll()) != null; ) {
                    if (p == STOP) {
                        stopping = true;
                    } else if (p != WAKE) {
                        batch.add(p);
                    }
                }
                if (!batch.isEmpty()) {
                    writeBatch(batch);
                }
                drainIfRequested();
                syncIfDue(stopping);
                if (stopping && batch.isEmpty() && queue.isEmpty() && retry.isEmpty() && nothingUnsynced()) {
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
        settled(retry.size());
        retry.clear();
        failAwaitingSync(why);
        LockSupport.unpark(parquetThread); // durableSeq is final now: the Parquet writer finishes and stops
    }

    private boolean nothingUnsynced() {
        writeLock.lock();
        try {
            return writtenSeq == durableSeq;
        } finally {
            writeLock.unlock();
        }
    }

    private long pollNanos(boolean stopping) {
        if (stopping) {
            return 0;
        }
        writeLock.lock();
        try {
            if (writtenSeq != durableSeq) {
                return !awaitingSync.isEmpty() ? 0 : Math.max(0, syncDeadlineNanos - System.nanoTime());
            }
        } finally {
            writeLock.unlock();
        }
        return TimeUnit.SECONDS.toNanos(1);
    }

    /** Zero-fills and maps the next stretch of the segment for the fast path, when the room left is low. */
    private void fillAhead() {
        if (System.nanoTime() < fillRetryAfterNanos) {
            return;
        }
        long start;
        writeLock.lock();
        try {
            fillRequested = false;
            start = journal.nextChunkStart(chunkBytes);
        } finally {
            writeLock.unlock();
        }
        if (start < 0) {
            return;
        }
        Journal.Chunk chunk;
        try {
            chunk = journal.fillAhead(start, chunkBytes);
        } catch (IOException | RuntimeException e) {
            // Not a failure of the trail: records still go through the file channel, and a real write
            // failure there is what turns the health red. Try again after the retry interval.
            log.debug("audit journal could not fill {} bytes ahead in {}: {}", chunkBytes, config.journalDir(), e.toString());
            fillRetryAfterNanos = System.nanoTime() + config.retryInterval().toNanos();
            return;
        }
        writeLock.lock();
        try {
            journal.addChunk(chunk);
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Writes queued records through the file channel. The fast path is off meanwhile (they count in
     * {@code slowOutstanding}), so the chain, the encoder and the journal position are this thread's alone
     * until {@link #settled} lets callers back in.
     */
    private void writeBatch(List<Pending> original) {
        writeLock.lock(); // see every fast-path write that happened before these records were queued
        writeLock.unlock();
        List<Pending> batch = original;
        long seq0 = nextSeq;
        byte[] hash0 = lastHash;
        long startPos = -1;
        int settledNow = 0;
        try {
            drainRing(); // the ring's frames come before these records in the chain
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
                    settledNow++;
                    continue;
                }
                if (length > Journal.MAX_FRAME) {
                    // one oversized record is the caller's problem, not a storage failure
                    rejectRecord(p, oversized(length));
                    settledNow++;
                    continue;
                }
                digest.update(encoder.buffer(), 0, length);
                byte[] hash = digest.digest();
                journal.write(encoder.buffer(), length);
                accepted.add(p);
                nextSeq++;
                lastHash = hash;
            }
            encoder.shrink();
            batch = accepted;
            if (batch.isEmpty()) {
                settled(settledNow);
                return;
            }
            journal.flushFrames();
            journalNextSeq = nextSeq;
            journalHash = lastHash;
            writeLock.lock();
            try {
                if (writtenSeq == durableSeq) {
                    long bound = config.fsync() instanceof FsyncPolicy.Bounded b ? b.maxDelay().toNanos() : 0;
                    syncDeadlineNanos = System.nanoTime() + bound;
                }
                writtenSeq = nextSeq - 1;
            } finally {
                writeLock.unlock();
            }
            if (config.fsync() instanceof FsyncPolicy.PerStatement) {
                forceUnsynced();
            }
            // Bounded: in the page cache now (safe from a process crash); fsync within the bound.
            for (Pending p : batch) {
                complete(p);
            }
            settled(settledNow + batch.size());
        } catch (IOException | RuntimeException e) {
            writeLock.lock();
            try {
                writtenSeq = Math.min(writtenSeq, seq0 - 1); // the batch is cut off the journal below
            } finally {
                writeLock.unlock();
            }
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
                    retry.add(p); // still outstanding: the fast path stays off until it is written
                } else {
                    fail(p, refusal());
                    settledNow++;
                }
            }
            settled(settledNow);
        }
    }

    private void syncIfDue(boolean stopping) {
        writeLock.lock();
        try {
            if (writtenSeq == durableSeq || (!stopping && awaitingSync.isEmpty() && System.nanoTime() < syncDeadlineNanos)) {
                return;
            }
        } finally {
            writeLock.unlock();
        }
        try {
            forceUnsynced();
        } catch (IOException e) {
            journalFailure = "journal fsync in " + config.journalDir() + " failed: " + e.getMessage();
            updateHealth();
        }
    }

    /**
     * Fsyncs the journal and moves {@code durableSeq}, up to which the Parquet writer reads. Notes how far
     * the journal was written first: records written after that wait for the next fsync, since this one
     * may or may not cover them.
     */
    private void forceUnsynced() throws IOException {
        long upTo;
        long startedNanos;
        List<Pending> waiters;
        writeLock.lock();
        try {
            if (writtenSeq == durableSeq) {
                return;
            }
            upTo = writtenSeq;
            startedNanos = System.nanoTime(); // under the lock: whatever is written past upTo comes after this
            waiters = awaitingSync.isEmpty() ? List.of() : new ArrayList<>(awaitingSync);
            awaitingSync.clear();
        } finally {
            writeLock.unlock();
        }
        try {
            drainRing(); // everything up to upTo into the journal file first
            journal.force();
        } catch (IOException | RuntimeException e) {
            writeLock.lock();
            try {
                awaitingSync.addAll(0, waiters);
            } finally {
                writeLock.unlock();
            }
            throw e;
        }
        fsyncs.incrementAndGet();
        writeLock.lock();
        try {
            durableSeq = upTo; // the Parquet writer reads up to here from the journal
            if (writtenSeq != durableSeq && config.fsync() instanceof FsyncPolicy.Bounded b) {
                // Records written while the fsync ran were not first-unsynced when written, so none of them
                // set a deadline; the stale one would make the next fsync immediate, and under steady load
                // the journal would fsync back to back. They were all written after the fsync started.
                syncDeadlineNanos = startedNanos + b.maxDelay().toNanos();
            }
        } finally {
            writeLock.unlock();
        }
        for (Pending p : waiters) {
            complete(p);
        }
        if (ring != null && journal.position() >= config.journalSegmentBytes()) {
            // Callers never write the journal file while a ring stages their frames, so the segment can
            // roll here, after the last drained frame, without stopping them.
            journal.rollIfFull(journalNextSeq, journalHash);
        }
    }

    /**
     * Once a second: when something removed the ring's file while it is in use, makes a new one and
     * switches to it once the old one is drained, so staged records are again safe from a crash.
     */
    private void keepRingFile() {
        if (ring == null || System.nanoTime() < ringCheckAfterNanos) {
            return;
        }
        ringCheckAfterNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        if (ring.fileStillThere()) {
            return;
        }
        log.error("audit: the staging ring {} was removed while in use; until a new one is in place, staged records are safe"
                + " from a crash of this process only once they are in the journal. Keep cleaners away from {}", ring.path(),
                config.staging().directory());
        StagingRing fresh;
        try {
            fresh = StagingRing.create(ring.path(), config.staging().bytes(), 0, Files.getOwner(config.directory()));
        } catch (IOException | RuntimeException e) {
            log.error("audit: could not make a new staging ring {} ({}); will try again", ring.path(), e.toString());
            return;
        }
        try {
            StagingRing old = null;
            for (int attempt = 0; attempt < 100 && old == null; attempt++) {
                drainRing();
                writeLock.lock();
                try {
                    if (ring.isEmpty()) {
                        fresh.startAt(nextSeq);
                        old = ring;
                        ring = fresh;
                        fresh = null;
                    }
                } finally {
                    writeLock.unlock();
                }
            }
            if (old != null) {
                old.close(false); // after the lock, which never spans a system call; its file is gone already
                log.info("audit: a new staging ring {} is in place", ring.path());
            }
        } catch (IOException | RuntimeException e) {
            log.error("audit: could not drain the staging ring to switch to a new one: {}", e.toString());
        } finally {
            if (fresh != null) {
                try {
                    fresh.close(true); // not switched to; the next check makes another
                } catch (IOException ignored) {
                    // nothing staged in it
                }
            }
        }
    }

    /** Drains the ring when the fast path found it half full. */
    private void drainIfRequested() {
        if (ring == null || journalFailure != null) {
            return;
        }
        writeLock.lock();
        try {
            if (!drainRequested) {
                return;
            }
        } finally {
            writeLock.unlock();
        }
        try {
            drainRing();
        } catch (IOException | RuntimeException e) {
            journalFailure = "journal write to " + config.journalDir() + " failed: " + e.getMessage();
            log.error("audit journal write failed; the staged records stay in {} until it works again", ring.path(), e);
            updateHealth();
        }
    }

    /**
     * Moves the ring's frames into the journal file with one positional write (two when the ring wrapped),
     * straight from the shared memory. Journal thread. The frames stay in the ring until the write
     * succeeded; a failed write is cut off the journal again and the frames are tried again later.
     */
    private void drainRing() throws IOException {
        if (ring == null) {
            return;
        }
        StagingRing.Span span;
        long next;
        byte[] head;
        writeLock.lock();
        try {
            drainRequested = false;
            span = ring.undrained();
            if (span == null) {
                return;
            }
            // The ring's newest frame is the chain's newest record: nothing else is written while it holds any.
            next = nextSeq;
            head = lastHash;
        } finally {
            writeLock.unlock();
        }
        long start = journal.position();
        try {
            journal.writeFramed(ring.view(span.from(), span.to()));
            if (span.wrappedTo() >= 0) {
                journal.writeFramed(ring.view(StagingRing.HEADER, span.wrappedTo()));
            }
        } catch (IOException | RuntimeException e) {
            try {
                journal.truncateTo(start);
            } catch (IOException | RuntimeException t) {
                repairPosition = start;
            }
            throw e;
        }
        writeLock.lock();
        try {
            ring.drained(span, next);
        } finally {
            writeLock.unlock();
        }
        journalNextSeq = next;
        journalHash = head;
    }

    /** Waits the retry interval, then checks whether the journal can write again. True when still failing. */
    private boolean waitAndProbe() throws InterruptedException {
        Pending p = queue.poll(config.retryInterval().toMillis(), TimeUnit.MILLISECONDS);
        if (p == STOP) {
            stopping = true;
            p = null; // still probe once: a recovered disk lets close() write what is waiting
        }
        if (p != null && p != WAKE) {
            if (config.failureMode() == FailureMode.FAIL_OPEN) {
                retry.add(p);
            } else {
                fail(p, refusal());
                settled(1);
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
            fillRetryAfterNanos = 0;
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
        int n = 0;
        for (Pending p : drained) {
            if (p == STOP) {
                stopping = true;
            } else if (p != WAKE) {
                fail(p, why);
                n++;
            }
        }
        settled(n);
    }

    /**
     * Per-statement records waiting for an fsync are not acknowledged after all: fail-closed while the
     * journal fails, or the trail closing. A record already in the staging ring still reaches the journal
     * when it works again (or at the next start): the statement did run, and the trail says so, while its
     * agent was told the outcome is unknown.
     */
    private void failAwaitingSync(String why) {
        List<Pending> waiting;
        writeLock.lock();
        try {
            if (awaitingSync.isEmpty()) {
                return;
            }
            waiting = new ArrayList<>(awaitingSync);
            awaitingSync.clear();
        } finally {
            writeLock.unlock();
        }
        for (Pending p : waiting) {
            fail(p, why);
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

    /** Records the Parquet writer converts per turn: small, so a preempted idle-priority turn holds the sink briefly. */
    private static final int CONVERT_BATCH = 64;
    /** Durable records not yet in Parquet beyond which the catch-up writer works at normal priority. */
    static final long CATCH_UP_BACKLOG = 200_000;
    private static final long IDLE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /**
     * The Parquet writer: follows the journal on disk and converts durable records into Parquet files. It
     * runs at idle CPU priority where the OS allows it, because the journal already made every record
     * durable and Parquet is the queryable copy: under full load statements get the CPU and the writer
     * uses what is left, with the backlog waiting in the journal, not on the heap. Past
     * {@link #CATCH_UP_BACKLOG} records the catch-up thread converts at normal priority.
     */
    private void parquetLoop() {
        Priorities.lowerCurrentThread(log);
        while (true) {
            try {
                if (parquetFailure != null) {
                    boolean journalDone = journalExited;
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
                int converted;
                long rollDue;
                sinkLock.lock();
                try {
                    if (parquetDone) {
                        break; // the catch-up writer finished the last files at close
                    }
                    converted = convertTurn();
                    if (converted == 0 && finishIfClosed()) {
                        break;
                    }
                    rollDue = sink.nanosUntilRollDue();
                } finally {
                    sinkLock.unlock();
                }
                if (converted == 0) {
                    LockSupport.parkNanos(rollDue < 0 ? IDLE_POLL_NANOS : Math.max(1, Math.min(IDLE_POLL_NANOS, rollDue)));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (IOException | RuntimeException e) {
                parquetFailed(e);
            }
        }
        parquetDone = true;
        LockSupport.unpark(catchUpThread);
    }

    /**
     * Sink lock held: once the journal thread has exited (durableSeq is final) and everything durable is
     * fed, commits the open files, trims the journal and marks the writers done.
     */
    private boolean finishIfClosed() throws IOException {
        if (parquetDone) {
            return true;
        }
        if (!journalExited || sink.fedThrough() < durableSeq) {
            return false;
        }
        long before = sink.watermark();
        sink.commitAll();
        if (sink.watermark() != before) {
            journal.trimThrough(sink.watermark());
        }
        parquetDone = true;
        return true;
    }

    /** One turn of conversion, sink lock held: a batch from the journal, files rolled by age, the journal trimmed. */
    private int convertTurn() throws IOException {
        long before = sink.watermark();
        int converted = tail.feed(durableSeq, CONVERT_BATCH, sink::accept);
        parquetFed = sink.fedThrough();
        sink.rollAged();
        if (sink.watermark() != before) {
            journal.trimThrough(sink.watermark());
        }
        return converted;
    }

    private void parquetFailed(Exception e) {
        log.error("audit Parquet writing in {} failed; records stay in the journal and are written again", config.directory(), e);
        markParquetFailing("Parquet writing in " + config.directory() + " failed: " + e.getMessage());
    }

    /** Drops the open Parquet files (their records are still in the journal) and turns the health red. */
    private void markParquetFailing(String reason) {
        sinkLock.lock();
        try {
            sink.abortAll();
        } finally {
            sinkLock.unlock();
        }
        parquetFailure = reason;
        updateHealth();
    }

    /** Records durable in the journal and not yet fed to Parquet. */
    public long parquetBacklog() {
        return Math.max(0, durableSeq - parquetFed);
    }

    /**
     * Normal priority, asleep unless the idle-priority writer fell {@link #CATCH_UP_BACKLOG} records behind
     * (the machine has been busy for a long while): then it converts until half of that is left, so the
     * journal cannot grow without bound. At close it finishes the conversion, so closing never waits for
     * idle CPU.
     */
    private void catchUpLoop() {
        while (!parquetDone) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            boolean closing = journalExited;
            if (parquetFailure != null || parquetDone || (!closing && parquetBacklog() <= CATCH_UP_BACKLOG)) {
                continue;
            }
            if (!closing) {
                log.warn("audit Parquet writing in {} is {} records behind the journal; converting at normal priority until it catches up",
                        config.directory(), parquetBacklog());
            }
            try {
                while (!parquetDone && parquetFailure == null && (closing || parquetBacklog() > CATCH_UP_BACKLOG / 2)) {
                    sinkLock.lock();
                    try {
                        if (convertTurn() == 0) {
                            if (closing) {
                                finishIfClosed();
                            }
                            break;
                        }
                    } finally {
                        sinkLock.unlock();
                    }
                }
            } catch (IOException | RuntimeException e) {
                parquetFailed(e);
            }
        }
    }

    /** After a Parquet failure: drops the open files and follows the journal again from the committed watermark. */
    private void resync() {
        try {
            probeWrite(config.directory());
            sinkLock.lock();
            try {
                long from = sink.watermark();
                sink.rewindTo(from);
                parquetFed = from;
                tail.close();
                tail = new JournalTail(config.journalDir(), from);
            } finally {
                sinkLock.unlock();
            }
            parquetFailure = null;
            updateHealth();
        } catch (IOException | RuntimeException e) {
            markParquetFailing("Parquet writing in " + config.directory() + " still failing: " + e.getMessage());
        }
    }

    /** After the journal thread: removes a drained ring, keeps one the journal could not take for the next start. */
    private void closeRing() {
        if (ring == null) {
            return;
        }
        int left;
        writeLock.lock();
        try {
            left = ring.undrainedBytes();
        } finally {
            writeLock.unlock();
        }
        if (left > 0) {
            log.error("audit closing with {} bytes of acknowledged records still in {}, because the journal in {} could not take them;"
                    + " the next start on this machine writes them into the journal (a reboot before that loses them)",
                    left, ring.path(), config.journalDir());
        }
        try {
            ring.close(left == 0);
        } catch (IOException e) {
            log.warn("audit: could not close the staging ring {}: {}", ring.path(), e.toString());
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
        writeLock.lock();
        try {
            closed = true; // under the lock: no fast-path write lands after the final fsync
        } finally {
            writeLock.unlock();
        }
        queue.offer(STOP);
        try {
            journalThread.join();
            closeRing();
            LockSupport.unpark(parquetThread);
            LockSupport.unpark(catchUpThread);
            parquetThread.join();
            catchUpThread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            tail.close();
        } catch (IOException ignored) {
            // read-only handle
        }
        try {
            journal.close();
        } finally {
            lock.release();
            lockChannel.close();
        }
    }
}
