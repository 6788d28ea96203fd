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
import org.apache.parquet.hadoop.ParquetWriter;

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
    /** Every record with seq <= this has been handed to a writer (or was already in a committed file). */
    private long fedThrough;

    private static final class OpenFile {
        final RecordType type;
        final String dt;
        final Path temp;
        final Path target;
        final ParquetWriter<ChainedRecord> writer;
        final long firstSeq;
        final String firstPrevHash;
        final String firstHash;
        final long openedNanos = System.nanoTime();
        long lastSeq;
        byte[] lastHash;
        long count;
        final long epochDay;
        boolean done;

        OpenFile(RecordType type, String dt, Path temp, Path target, ParquetWriter<ChainedRecord> writer, ChainedRecord first) {
            this.type = type;
            this.dt = dt;
            this.temp = temp;
            this.target = target;
            this.writer = writer;
            this.firstSeq = first.seq();
            this.firstPrevHash = first.prevHashHex();
            this.firstHash = first.hashHex();
            this.epochDay = epochDay(first.record().at());
        }
    }

    ParquetSink(AuditConfig config, Manifest manifest, long fedThrough) {
        this.config = config;
        this.manifest = manifest;
        this.fedThrough = fedThrough;
    }

    static String dt(Instant at) {
        return LocalDate.ofInstant(at, ZoneOffset.UTC).toString();
    }

    long fedThrough() {
        return fedThrough;
    }

    private static long epochDay(Instant at) {
        return Math.floorDiv(at.getEpochSecond(), 86_400L);
    }

    /** The file each record type wrote to last: consecutive records nearly always go to the same one. */
    private final OpenFile[] recent = new OpenFile[RecordType.values().length];
    /** Asking the writer for its buffered size walks every column, so it is asked every this many records. */
    private static final int SIZE_CHECK_EVERY = 64;

    /** Adds a record (in seq order); records at or below {@link #fedThrough} or already committed are skipped. */
    void accept(ChainedRecord r) throws IOException {
        if (r.seq() <= fedThrough) {
            return;
        }
        RecordType type = r.record().type();
        OpenFile f = recent[type.ordinal()];
        if (f == null || f.done || f.epochDay != epochDay(r.record().at())) {
            f = null;
            String dt = dt(r.record().at());
            if (!manifest.covers(type, dt, r.seq())) {
                String key = key(type, dt);
                f = open.get(key);
                if (f == null) {
                    f = openFile(type, dt, r);
                    open.put(key, f);
                }
            }
            recent[type.ordinal()] = f;
        } else if (manifest.covers(type, f.dt, r.seq())) {
            f = null; // already in a committed file (fed again after a failure)
        }
        if (f != null) {
            f.writer.write(r);
            f.lastSeq = r.seq();
            f.lastHash = r.hash();
            f.count++;
            if ((f.count < SIZE_CHECK_EVERY || f.count % SIZE_CHECK_EVERY == 0) && f.writer.getDataSize() >= config.parquetRollBytes()) {
                commit(f);
                open.remove(key(type, f.dt));
            }
        }
        fedThrough = r.seq();
    }

    private static String key(RecordType type, String dt) {
        return type.directory() + "/" + dt;
    }

    private OpenFile openFile(RecordType type, String dt, ChainedRecord first) throws IOException {
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
        String name = String.format("part-%s-%020d.parquet", config.instanceId(), first.seq());
        Path target = dir.resolve(name);
        Path temp = dir.resolve(name + TEMP_SUFFIX);
        return new OpenFile(type, dt, temp, target, ParquetFiles.writer(temp, type, config.instanceId(), config.compression(),
                config.parquetRollBytes()), first);
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
            try {
                f.writer.close();
            } catch (IOException | RuntimeException ignored) {
                // the temp file is discarded either way
            }
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
                Files.size(f.temp), Hashes.fileSha256(f.temp), config.clock().instant().toString());
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
