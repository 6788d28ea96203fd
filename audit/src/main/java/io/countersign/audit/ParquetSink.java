package io.countersign.audit;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns durable journal records into Parquet files: one open file per (record type, date), rolled by
 * size and age, written under a temp name, listed in the manifest, then renamed into place. Used by one
 * thread at a time (the trail's Parquet thread, or the opener during recovery).
 */
final class ParquetSink {
    static final String TEMP_SUFFIX = ".inprogress";

    private final AuditConfig config;
    private final Manifest manifest;
    private final Map<String, OpenFile> open = new LinkedHashMap<>();
    private final FrameColumnWriter frames;
    /** Every record with seq <= this has been handed to a writer (or was already in a committed file). */
    private long fedThrough;

    private static final class OpenFile {
        final RecordType type;
        final String dt;
        final Path temp;
        final Path target;
        final ColumnarParquetFile writer;
        final long firstSeq;
        String firstPrevHash;
        String firstHash;
        final long openedNanos = System.nanoTime();
        long lastSeq;
        final byte[] lastHash = new byte[Hashes.LENGTH];
        long count;
        /** The count at which the file's size is looked at next (see {@link #checkSize}). */
        long sizeCheckAt = 1;
        final long epochDay;
        boolean done;

        OpenFile(RecordType type, String dt, Path temp, Path target, ColumnarParquetFile writer, long firstSeq, long epochDay) {
            this.type = type;
            this.dt = dt;
            this.temp = temp;
            this.target = target;
            this.writer = writer;
            this.firstSeq = firstSeq;
            this.epochDay = epochDay;
        }
    }

    ParquetSink(AuditConfig config, Manifest manifest, long fedThrough) {
        this.config = config;
        this.manifest = manifest;
        this.fedThrough = fedThrough;
        this.frames = new FrameColumnWriter(config.instanceId());
    }

    static String dt(Instant at) {
        return LocalDate.ofInstant(at, ZoneOffset.UTC).toString();
    }

    long fedThrough() {
        return fedThrough;
    }

    /** The file each record type wrote to last: consecutive records nearly always go to the same one. */
    private final OpenFile[] recent = new OpenFile[RecordType.values().length];
    /**
     * Asking the writer for its size walks every column, so it is asked halfway to the roll size by the
     * records' average size so far, at least every this many records.
     */
    private static final int MAX_RECORDS_BETWEEN_SIZE_CHECKS = 1024;

    /** Adds a record (in seq order), for recovery; the same as {@link #accept(byte[], int, int)} with its canonical bytes. */
    void accept(ChainedRecord r) throws IOException {
        if (r.seq() <= fedThrough) {
            return;
        }
        byte[] canonical = RecordCodec.encode(r.seq(), r.prevHash(), r.record());
        accept(canonical, 0, canonical.length);
    }

    /**
     * Adds the record whose canonical bytes are {@code frame[off, off + len)} (in seq order), straight from
     * the journal's buffer, which may be overwritten after the call; records at or below {@link #fedThrough}
     * or already committed are skipped.
     */
    void accept(byte[] frame, int off, int len) throws IOException {
        long seq = FrameColumnWriter.seq(frame, off);
        if (seq <= fedThrough) {
            return;
        }
        RecordType type = FrameColumnWriter.type(frame, off);
        long day = Math.floorDiv(FrameColumnWriter.atMicros(frame, off, len), FrameColumnWriter.MICROS_PER_DAY);
        OpenFile f = recent[type.ordinal()];
        if (f == null || f.done || f.epochDay != day) {
            f = null;
            String dt = LocalDate.ofEpochDay(day).toString();
            if (!manifest.covers(type, dt, seq)) {
                String key = key(type, dt);
                f = open.get(key);
                if (f == null) {
                    f = openFile(type, dt, seq, day);
                    open.put(key, f);
                }
            }
            recent[type.ordinal()] = f;
        } else if (manifest.covers(type, f.dt, seq)) {
            f = null; // already in a committed file (fed again after a failure)
        }
        if (f != null) {
            byte[] hash = frames.hash(frame, off, len);
            frames.write(frame, off, len, hash, f.writer.columns());
            f.writer.endRow();
            if (f.count == 0) {
                f.firstPrevHash = Hashes.hex(java.util.Arrays.copyOfRange(frame, off + FrameColumnWriter.PREV_HASH_AT,
                        off + FrameColumnWriter.PREV_HASH_AT + Hashes.LENGTH));
                f.firstHash = Hashes.hex(hash);
            }
            f.lastSeq = seq;
            System.arraycopy(hash, 0, f.lastHash, 0, Hashes.LENGTH);
            f.count++;
            if (f.count >= f.sizeCheckAt && checkSize(f)) {
                commit(f);
                open.remove(key(type, f.dt));
            }
        }
        fedThrough = seq;
    }

    /** True when the file has reached the roll size; otherwise sets when to look again. */
    private boolean checkSize(OpenFile f) {
        long size = f.writer.dataSize();
        long limit = config.parquetRollBytes();
        if (size >= limit) {
            return true;
        }
        long perRecord = Math.max(1, size / f.count);
        f.sizeCheckAt = f.count + Math.max(1, Math.min(MAX_RECORDS_BETWEEN_SIZE_CHECKS, (limit - size) / perRecord / 2));
        return false;
    }

    private static String key(RecordType type, String dt) {
        return type.directory() + "/" + dt;
    }

    private OpenFile openFile(RecordType type, String dt, long firstSeq, long epochDay) throws IOException {
        Path typeDir = config.directory().resolve(type.directory());
        Path dir = typeDir.resolve("dt=" + dt);
        if (!Files.isDirectory(dir)) {
            boolean newType = !Files.isDirectory(typeDir);
            Files.createDirectories(dir);
            // a new partition must survive a power loss as well as the file renamed into it
            Fsync.directory(typeDir);
            if (newType) {
                Fsync.directory(config.directory());
            }
        }
        String name = String.format("part-%s-%020d.parquet", config.instanceId(), firstSeq);
        Path target = dir.resolve(name);
        Path temp = dir.resolve(name + TEMP_SUFFIX);
        return new OpenFile(type, dt, temp, target, ParquetFiles.columnarWriter(temp, type, config.compression(),
                config.parquetRollBytes()), firstSeq, epochDay);
    }

    /** Commits files older than the roll interval. */
    void rollAged() throws IOException {
        long limit = config.parquetRollInterval().toNanos();
        long now = System.nanoTime();
        var it = open.values().iterator();
        while (it.hasNext()) {
            OpenFile f = it.next();
            if (now - f.openedNanos >= limit) {
                commit(f);
                it.remove();
            }
        }
    }

    /** Nanoseconds until the oldest open file is due, or -1 when nothing is open. */
    long nanosUntilRollDue() {
        long limit = config.parquetRollInterval().toNanos();
        long now = System.nanoTime();
        long best = -1;
        for (OpenFile f : open.values()) {
            long left = Math.max(0, f.openedNanos + limit - now);
            best = best < 0 ? left : Math.min(best, left);
        }
        return best;
    }

    void commitAll() throws IOException {
        var it = open.values().iterator();
        while (it.hasNext()) {
            commit(it.next());
            it.remove();
        }
    }

    /** Drops open files after a failure; their records are still in the journal and are written again on resync. */
    void abortAll() {
        fedThrough = watermark(); // the aborted files' records must be fed again
        for (OpenFile f : open.values()) {
            f.done = true;
            f.writer.abandon(); // the temp file is discarded
            try {
                Files.deleteIfExists(f.temp);
            } catch (IOException ignored) {
                // a stale temp is removed on the next open
            }
        }
        open.clear();
    }

    /** Resets where feeding resumes, after {@link #abortAll}: everything above the committed watermark comes again. */
    void rewindTo(long seq) {
        fedThrough = seq;
    }

    /** The highest seq such that every record at or below it is in a committed Parquet file. */
    long watermark() {
        long w = fedThrough;
        for (OpenFile f : open.values()) {
            w = Math.min(w, f.firstSeq - 1);
        }
        return w;
    }

    private void commit(OpenFile f) throws IOException {
        f.done = true;
        f.writer.close();
        Fsync.file(f.temp);
        ManifestEntry e = new ManifestEntry(
                config.directory().relativize(f.target).toString().replace('\\', '/'), f.type.directory(), f.dt,
                config.instanceId(), f.firstSeq, f.lastSeq, f.firstPrevHash, f.firstHash, Hashes.hex(f.lastHash), f.count,
                Files.size(f.temp), f.writer.sha256Hex(), config.clock().instant().toString());
        manifest.append(e); // the commit point: from here the file exists for readers and the verifier
        Files.move(f.temp, f.target, StandardCopyOption.ATOMIC_MOVE);
        Fsync.directory(f.target.getParent());
        ManifestEntry newest = manifest.newest();
        ChainHead.create(config.instanceId(), newest.lastSeq(), newest.lastHash(), config.signingKey()).write(config.manifestDir());
    }

    /**
     * After a crash: finishes renames whose manifest line was written, and deletes temp files that never
     * reached the manifest (their records are still in the journal).
     */
    static List<String> finishInterruptedCommits(AuditConfig config, Manifest manifest) throws IOException {
        List<String> notes = new ArrayList<>();
        Map<String, ManifestEntry> byFile = new LinkedHashMap<>();
        for (ManifestEntry e : manifest.entries()) {
            byFile.put(e.file(), e);
        }
        for (RecordType t : RecordType.values()) {
            Path root = config.directory().resolve(t.directory());
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (DirectoryStream<Path> days = Files.newDirectoryStream(root, "dt=*")) {
                for (Path day : days) {
                    try (DirectoryStream<Path> temps = Files.newDirectoryStream(day, "*" + TEMP_SUFFIX)) {
                        for (Path temp : temps) {
                            String name = temp.getFileName().toString();
                            Path target = day.resolve(name.substring(0, name.length() - TEMP_SUFFIX.length()));
                            ManifestEntry e = byFile.get(config.directory().relativize(target).toString().replace('\\', '/'));
                            if (e != null && !Files.exists(target) && e.sha256().equals(Hashes.fileSha256(temp))) {
                                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                                notes.add("finished the interrupted commit of " + e.file());
                            } else {
                                Files.delete(temp);
                                notes.add("removed unfinished " + config.directory().relativize(temp));
                            }
                        }
                    }
                    Fsync.directory(day);
                }
            }
        }
        return notes;
    }
}
