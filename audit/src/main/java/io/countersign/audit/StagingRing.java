package io.countersign.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Where the fast path puts a record's journal frame: a ring in a file on a memory file system (tmpfs,
 * normally {@code /dev/shm}) mapped into the process. A copy into it is a few memory stores, with no
 * system call and nothing that can wait for a disk, and it outlives a crash of this process: the pages
 * belong to the file, not to the process. The journal thread moves the frames into the journal with
 * one write per batch ({@link #undrained}, {@link #drained}); a start after a crash copies whatever the
 * journal did not get yet from here into the journal ({@link #recover}). A reboot empties a memory file
 * system, which is what the bounded fsync policy allows for: a power loss may take the last bound's worth.
 *
 * <p>The file is never written back to a disk, so unlike a mapping of the journal itself, an fsync
 * does not write-protect its pages and the next copy into a page does not fault.
 *
 * <p>Layout: a {@value #HEADER}-byte header, then frames exactly as in the journal,
 * {@code [int length][int crc32c][canonical record]}, written one after another and wrapping to the
 * start of the frame area; a length of {@value #WRAP} (or fewer than 8 bytes left) means "continue at
 * the start". The header holds the offset of the first frame the journal has not taken and that
 * frame's seq, written by the journal thread after each batch reached the journal file. Callers of
 * {@link #put}, {@link #undrained} and {@link #drained} hold the trail's write lock.
 */
final class StagingRing implements AutoCloseable {
    static final int HEADER = 64;
    private static final long MAGIC = 0x4353_5247_0001_0000L; // "CSRG", version 1
    private static final int WRAP = -1;
    private static final int AT_CAPACITY = 8;
    private static final int AT_DRAINED_OFFSET = 16;
    private static final int AT_DRAINED_SEQ = 24;

    /** Undrained bytes: {@code [from, to)} and, when the writer wrapped meanwhile, {@code [HEADER, wrappedTo)} after it. */
    record Span(int from, int to, int wrappedTo) {
        int bytes() {
            return to - from + (wrappedTo < 0 ? 0 : wrappedTo - HEADER);
        }
    }

    private final Path path;
    /** The file's identity (device and inode), to notice that something removed or replaced it. */
    private final Object fileKey;
    private final FileChannel channel;
    private final MappedByteBuffer map;
    private final int capacity;
    private final CRC32C crc = new CRC32C();
    private final byte[] frameHead = new byte[8];
    /** Next byte a frame goes to. */
    private int writeAt;
    /** First byte the journal has not taken; equal to writeAt when the ring is empty. */
    private int readAt;
    /** While the writer is a lap ahead (writeAt < readAt): where the older lap's frames end. */
    private int lapEnd = -1;

    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> OWNER_ONLY =
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");

    private static boolean posix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    private static void checkOwner(Path path, java.nio.file.attribute.UserPrincipal owner) throws IOException {
        if (owner == null) {
            return;
        }
        java.nio.file.attribute.UserPrincipal actual = Files.getOwner(path, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (!actual.equals(owner)) {
            throw new IOException("the audit staging file " + path + " belongs to " + actual.getName() + ", not to " + owner.getName()
                    + " who owns the audit directory; remove it, or set audit.staging-dir to a directory only Countersign can write");
        }
    }

    private StagingRing(Path path, FileChannel channel, MappedByteBuffer map, int capacity) throws IOException {
        this.path = path;
        this.fileKey = fileKey(path);
        this.channel = channel;
        this.map = map;
        this.capacity = capacity;
    }

    /**
     * Creates (or resets) the ring file with {@code capacity} bytes, all touched now so that no later copy
     * into it has to allocate a page, and records that the first frame to come is {@code nextSeq}.
     *
     * <p>The ring holds SQL text and parameters and usually lives in a directory every local user can write
     * to, so it is opened without following a symbolic link, readable by its owner only, and refused
     * unless that owner is {@code owner} (whoever owns the audit directory).
     */
    static StagingRing create(Path path, int capacity, long nextSeq, java.nio.file.attribute.UserPrincipal owner) throws IOException {
        if (capacity < HEADER + 4096) {
            throw new IllegalArgumentException("audit staging ring of " + capacity + " bytes is too small; use at least "
                    + (HEADER + 4096));
        }
        Files.createDirectories(path.getParent());
        java.util.Set<java.nio.file.OpenOption> options = java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        FileChannel ch = posix(path)
                ? FileChannel.open(path, options, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                : FileChannel.open(path, options);
        try {
            if (posix(path)) {
                checkOwner(path, owner);
                Files.setPosixFilePermissions(path, OWNER_ONLY); // a file left from before may have had others
            }
            ch.truncate(0);
            // Allocate every page with writes first: on a full memory file system a write fails with an
            // error, while a store into a mapped page that cannot be allocated kills the thread (SIGBUS).
            ByteBuffer zeros = ByteBuffer.allocateDirect(64 * 1024);
            for (long at = 0; at < capacity; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), capacity - at));
                at += ch.write(zeros, at);
            }
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_WRITE, 0, capacity);
            for (int i = 0; i < capacity; i += 4096) {
                m.put(i, (byte) 0); // map every page now, so no copy on an event loop takes a page fault
            }
            m.putLong(0, MAGIC);
            m.putLong(AT_CAPACITY, capacity);
            StagingRing r = new StagingRing(path, ch, m, capacity);
            r.writeAt = HEADER;
            r.readAt = HEADER;
            r.writeHeader(HEADER, nextSeq);
            return r;
        } catch (IOException | RuntimeException e) {
            ch.close();
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // someone else's file in a shared directory: not ours to remove; the error above says so
            }
            throw e;
        }
    }

    Path path() {
        return path;
    }

    private static Object fileKey(Path path) throws IOException {
        return Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    /**
     * False once the file was removed or replaced (a cleaner, a script): the mapping still works, but what
     * is staged would no longer be found after a crash.
     */
    boolean fileStillThere() {
        try {
            Object key = fileKey(path);
            return key == null || key.equals(fileKey);
        } catch (IOException e) {
            return false;
        }
    }

    /** A fresh ring taking over from an empty one: the first frame to come is {@code nextSeq}. */
    void startAt(long nextSeq) {
        writeAt = HEADER;
        readAt = HEADER;
        lapEnd = -1;
        writeHeader(HEADER, nextSeq);
    }

    boolean isEmpty() {
        return writeAt == readAt;
    }

    /** Bytes waiting for the journal. */
    int undrainedBytes() {
        return writeAt >= readAt ? writeAt - readAt : (lapEnd - readAt) + (writeAt - HEADER);
    }

    /** True once half the ring waits for the journal: time to wake the journal thread rather than wait for the fsync deadline. */
    boolean halfFull() {
        return undrainedBytes() > (capacity - HEADER) / 2;
    }

    /**
     * Copies the frame of {@code canonical[0, length)} into the ring; false (nothing written) when it does
     * not fit the space the journal has freed, and the caller takes the slow path.
     */
    boolean put(byte[] canonical, int length) {
        int need = 8 + length;
        int at;
        if (writeAt >= readAt) {
            if (capacity - writeAt >= need) {
                at = writeAt;
            } else if (readAt - HEADER > need) { // wrap; strictly more, so a full ring never looks empty
                if (capacity - writeAt >= 4) {
                    map.putInt(writeAt, WRAP);
                }
                lapEnd = writeAt;
                at = HEADER;
            } else {
                return false;
            }
        } else if (readAt - writeAt > need) {
            at = writeAt;
        } else {
            return false;
        }
        crc.reset();
        crc.update(canonical, 0, length);
        int checksum = (int) crc.getValue();
        // Length last: a reader after a crash that finds a length also finds the bytes it covers (the
        // pages outlive the process, so only a torn copy can be short, and then the CRC fails).
        map.putInt(at + 4, checksum);
        map.put(at + 8, canonical, 0, length);
        map.putInt(at, length);
        writeAt = at + need;
        return true;
    }

    /** What the journal has not taken yet, or null when nothing. */
    Span undrained() {
        if (writeAt == readAt) {
            return null;
        }
        if (writeAt > readAt) {
            return new Span(readAt, writeAt, -1);
        }
        return new Span(readAt, lapEnd, writeAt);
    }

    /** A read-only view of {@code [from, to)} for a positional write into the journal. */
    ByteBuffer view(int from, int to) {
        return map.slice(from, to - from).asReadOnlyBuffer();
    }

    /** The journal file holds {@code span} now; the frame after it will be {@code nextSeq}. */
    void drained(Span span, long nextSeq) {
        readAt = span.wrappedTo() < 0 ? span.to() : span.wrappedTo();
        if (span.wrappedTo() >= 0) {
            lapEnd = -1;
        }
        if (readAt == writeAt && writeAt != HEADER && lapEnd < 0) {
            // empty: start over at the front so the next batch is one contiguous write
            writeAt = HEADER;
            readAt = HEADER;
        }
        writeHeader(readAt, nextSeq);
    }

    private void writeHeader(int drainedOffset, long nextSeq) {
        map.putLong(AT_DRAINED_SEQ, nextSeq);
        map.putLong(AT_DRAINED_OFFSET, drainedOffset);
    }

    /** Frames a start found in a ring that continue the journal, and what it noticed. */
    record Recovered(List<byte[]> records, List<String> notes) {}

    /**
     * Reads a ring left by a process that did not close its trail: the frames from the first one the
     * journal had not taken, as long as each is whole (its CRC holds) and continues the chain from
     * {@code nextSeq}/{@code lastHash}, the journal's own end. Frames the journal already has are skipped;
     * anything else (a torn last copy, an older lap's leftovers) ends the walk.
     */
    static Recovered recover(Path path, long nextSeq, byte[] lastHash, java.nio.file.attribute.UserPrincipal owner) throws IOException {
        List<byte[]> out = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (!Files.isRegularFile(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return new Recovered(out, notes);
        }
        try {
            checkOwner(path, owner);
        } catch (IOException e) {
            notes.add("ignored: " + e.getMessage());
            return new Recovered(out, notes);
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path));
        int capacity = b.capacity();
        if (capacity < HEADER || b.getLong(0) != MAGIC || b.getLong(AT_CAPACITY) != capacity) {
            notes.add("ignored the audit staging file " + path + ": it is not a staging ring this version wrote");
            return new Recovered(out, notes);
        }
        long off = b.getLong(AT_DRAINED_OFFSET);
        long expect = b.getLong(AT_DRAINED_SEQ);
        if (off < HEADER || off > capacity) {
            notes.add("ignored the audit staging file " + path + ": its header is damaged");
            return new Recovered(out, notes);
        }
        int at = (int) off;
        long walked = 0;
        byte[] prev = lastHash;
        CRC32C crc = new CRC32C();
        java.security.MessageDigest sha = Hashes.sha256();
        while (walked < capacity) {
            if (capacity - at < 8 || b.getInt(at) == WRAP) {
                walked += capacity - at;
                at = HEADER;
                continue;
            }
            int length = b.getInt(at);
            if (length < 1 + 8 + Hashes.LENGTH || length > capacity - at - 8) {
                break;
            }
            crc.reset();
            crc.update(b.array(), at + 8, length);
            if ((int) crc.getValue() != b.getInt(at + 4)) {
                break;
            }
            long seq = b.getLong(at + 8 + 1); // the canonical form: version byte, seq, previous hash, ...
            if (seq != expect) {
                break; // an older lap's frame: the newest ones end here
            }
            if (seq >= nextSeq) {
                if (seq != nextSeq || !Arrays.equals(prev, 0, Hashes.LENGTH, b.array(), at + 8 + 9, at + 8 + 9 + Hashes.LENGTH)) {
                    notes.add("the audit staging file " + path + " holds record " + seq + " that does not continue the journal (which ends before "
                            + nextSeq + "); it and what follows were not recovered");
                    break;
                }
                byte[] canonical = Arrays.copyOfRange(b.array(), at + 8, at + 8 + length);
                out.add(canonical);
                prev = sha.digest(canonical);
                nextSeq++;
            }
            expect++;
            at += 8 + length;
            walked += 8 + length;
        }
        if (!out.isEmpty()) {
            notes.add("recovered " + out.size() + " acknowledged record(s) from the audit staging file " + path
                    + " that had not reached the journal when the last run ended");
        }
        return new Recovered(out, notes);
    }

    /** Unmaps and closes; with {@code delete} removes the file (everything in it is in the journal). */
    void close(boolean delete) throws IOException {
        channel.close();
        if (delete) {
            Files.deleteIfExists(path);
        }
    }

    @Override
    public void close() throws IOException {
        close(false);
    }
}
