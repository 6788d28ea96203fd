package io.countersign.audit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The append-only journal: segment files {@code segment-<first seq>.log}, each opening with a header that
 * carries the chain state it continues from (next seq, previous hash), then frames
 * {@code [int length][int crc32c][canonical record bytes]}.
 *
 * <p>Two ways in. The fast path, {@link #appendInRoom}, writes a frame on the caller's thread into a stretch of
 * the current segment that the journal thread zero-filled ahead of time ({@link #fillAhead}): one positional
 * write into blocks already allocated, and the bytes are in the page cache, so they survive a crash of this
 * process. The slow path, {@link #write} and {@link #flushFrames}, writes at the same position through the
 * file channel; it is used while the trail is frozen (rolling, failing, retrying, or a frame that does not
 * fit the room). Every method that touches {@code position} or the room runs under the
 * trail's write lock or while the trail is frozen (no fast-path writer can run); {@link #trimThrough}
 * comes from the Parquet thread and only ever deletes segments the journal thread has closed.
 *
 * <p>A segment's unused tail may be zeros (space filled ahead but never written). A scan reads a
 * zero-length frame followed only by zeros as the end of the segment, not as damage.
 */
final class Journal implements AutoCloseable {
    static final int HEADER_BYTES = 4 + 8 + Hashes.LENGTH + 4;
    private static final byte[] MAGIC = {'C', 'S', 'J', '1'};
    static final int MAX_FRAME = 64 << 20;

    /** A segment on disk and the first sequence number it holds (or would hold). */
    record Segment(Path path, long firstSeq) {}

    /** What a scan found: the records in order and the chain state to continue from. */
    record Scan(List<ChainedRecord> records, long nextSeq, byte[] lastHash, List<String> notes) {}

    /** A zero-filled stretch {@code [start, end)} of the current segment, room for the fast path. */
    record Chunk(long start, long end) {}

    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 16).asReadOnlyBuffer();

    private final Path dir;
    private final long segmentBytes;
    private final List<Segment> segments = new ArrayList<>(); // guarded by this
    private FileChannel current;
    private long position;
    private final ByteBuffer frame = ByteBuffer.allocateDirect(1 << 16);
    private final CRC32C crc = new CRC32C();
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
    /** End of the last chunk of room; equal to or below {@code position} when there is no room. */
    private long roomEnd;
    private Path currentPath;
    /**
     * The fast path's own handle on the current segment, opened on first use. A RandomAccessFile because
     * its writes cannot be interrupted: an interrupt during a FileChannel write closes the channel, and
     * the fast path runs on callers' threads (event loops) that someone else may interrupt.
     */
    private RandomAccessFile fastFile;
    /** Where {@code fastFile}'s file pointer is; a fast append seeks only when the slow path wrote since. */
    private long fastPointer = -1;
    private byte[] fastFrame = new byte[8192];

    private Journal(Path dir, long segmentBytes) {
        this.dir = dir;
        this.segmentBytes = segmentBytes;
    }

    static List<Segment> listSegments(Path dir) throws IOException {
        List<Segment> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "segment-*.log")) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                out.add(new Segment(p, Long.parseLong(n.substring("segment-".length(), n.length() - ".log".length()))));
            }
        }
        out.sort((a, b) -> Long.compare(a.firstSeq, b.firstSeq));
        return out;
    }

    /**
     * Reads every segment. A bad or incomplete frame at the end of the last segment is a torn write that was
     * never acknowledged (acknowledgement follows the write): with {@code repair} it is cut off. Damage
     * anywhere else is corruption and stops the open with the file and offset named.
     */
    static Scan scan(Path dir, long genesisSeq, byte[] genesisHash, boolean repair) throws IOException {
        List<Segment> segs = listSegments(dir);
        List<ChainedRecord> records = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        long nextSeq = genesisSeq;
        byte[] lastHash = genesisHash;
        for (int i = 0; i < segs.size(); i++) {
            Segment seg = segs.get(i);
            boolean last = i == segs.size() - 1;
            byte[] bytes = Files.readAllBytes(seg.path);
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            if (bytes.length < HEADER_BYTES || !headerValid(buf)) {
                if (last) {
                    notes.add("dropped " + seg.path.getFileName() + ": its header was never completely written");
                    if (repair) {
                        Files.delete(seg.path);
                    }
                    break;
                }
                throw new AuditStorageException("journal segment " + seg.path + " has a damaged header; it is not the last"
                        + " segment, so this is corruption, not a crash. Move it aside to start (its records may be lost).");
            }
            long headerSeq = buf.getLong(4);
            byte[] headerHash = new byte[Hashes.LENGTH];
            buf.get(12, headerHash);
            if (i == 0) {
                // The oldest segment may start after records that are already in Parquet and trimmed.
                nextSeq = headerSeq;
                lastHash = headerHash;
            } else if (headerSeq != nextSeq || !Arrays.equals(headerHash, lastHash)) {
                throw new AuditStorageException("journal segment " + seg.path + " starts at seq " + headerSeq
                        + " but the previous segment ends before seq " + nextSeq + " (or with another hash): segments are missing or altered");
            }
            int pos = HEADER_BYTES;
            while (pos < bytes.length) {
                String problem = null;
                int len = 0;
                if (bytes.length - pos < 8) {
                    problem = "incomplete frame header";
                } else {
                    len = buf.getInt(pos);
                    int crc = buf.getInt(pos + 4);
                    if (len <= 0 || len > MAX_FRAME || bytes.length - pos - 8 < len) {
                        problem = len == 0 ? "zero length frame" : "incomplete frame of " + len + " bytes";
                    } else {
                        CRC32C c = new CRC32C();
                        c.update(bytes, pos + 8, len);
                        if ((int) c.getValue() != crc) {
                            problem = "checksum mismatch";
                        }
                    }
                }
                if (problem != null && len == 0 && allZero(bytes, pos)) {
                    // space filled ahead for the fast path and never written: the segment ends here
                    if (repair && last) {
                        try (FileChannel ch = FileChannel.open(seg.path, StandardOpenOption.WRITE)) {
                            ch.truncate(pos);
                            ch.force(true);
                        }
                    }
                    break;
                }
                if (problem != null) {
                    if (!last) {
                        throw new AuditStorageException("journal segment " + seg.path + " is corrupt at offset " + pos + " ("
                                + problem + "); it is not the last segment, so this is not a torn write. Move it aside to start.");
                    }
                    notes.add("dropped a torn tail of " + (bytes.length - pos) + " bytes at offset " + pos + " of "
                            + seg.path.getFileName() + " (" + problem + "); it was never acknowledged");
                    if (repair) {
                        try (FileChannel ch = FileChannel.open(seg.path, StandardOpenOption.WRITE)) {
                            ch.truncate(pos);
                            ch.force(true);
                        }
                    }
                    break;
                }
                byte[] canonical = Arrays.copyOfRange(bytes, pos + 8, pos + 8 + len);
                ChainedRecord r = RecordCodec.decode(canonical);
                if (r.seq() != nextSeq || !Arrays.equals(r.prevHash(), lastHash)) {
                    throw new AuditStorageException("journal segment " + seg.path + " at offset " + pos + " holds seq " + r.seq()
                            + " where seq " + nextSeq + " (continuing the chain) was expected: the journal was altered");
                }
                records.add(r);
                nextSeq = r.seq() + 1;
                lastHash = r.hash();
                pos += 8 + len;
            }
        }
        return new Scan(records, nextSeq, lastHash, notes);
    }

    private static boolean allZero(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean headerValid(ByteBuffer buf) {
        for (int i = 0; i < 4; i++) {
            if (buf.get(i) != MAGIC[i]) {
                return false;
            }
        }
        CRC32C c = new CRC32C();
        c.update(buf.array(), 0, HEADER_BYTES - 4);
        return (int) c.getValue() == buf.getInt(HEADER_BYTES - 4);
    }

    /** Opens for appending after a {@link #scan} with repair: continues the last segment, or starts one. */
    static Journal openForAppend(Path dir, long segmentBytes, long nextSeq, byte[] lastHash) throws IOException {
        Files.createDirectories(dir);
        Journal j = new Journal(dir, segmentBytes);
        j.segments.addAll(listSegments(dir));
        if (j.segments.isEmpty()) {
            j.startSegment(nextSeq, lastHash);
        } else {
            Segment last = j.segments.get(j.segments.size() - 1);
            j.current = FileChannel.open(last.path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            j.currentPath = last.path;
            j.position = j.current.size();
        }
        j.roomEnd = j.position;
        return j;
    }

    private void startSegment(long nextSeq, byte[] lastHash) throws IOException {
        Path p = dir.resolve(String.format("segment-%020d.log", nextSeq));
        FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        try {
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
            h.put(MAGIC).putLong(nextSeq).put(lastHash);
            CRC32C c = new CRC32C();
            c.update(h.array(), 0, HEADER_BYTES - 4);
            h.putInt((int) c.getValue()).flip();
            while (h.hasRemaining()) {
                ch.write(h);
            }
            ch.force(true);
            Fsync.directory(dir);
        } catch (IOException e) {
            ch.close();
            Files.deleteIfExists(p);
            throw e;
        }
        if (current != null) {
            current.close();
        }
        closeFastFile();
        current = ch;
        currentPath = p;
        position = HEADER_BYTES;
        chunks.clear();
        roomEnd = position;
        synchronized (this) {
            segments.removeIf(s -> s.path.equals(p));
            segments.add(new Segment(p, nextSeq));
        }
    }

    /** Byte offset in the current segment after the last complete write; the rollback point on failure. */
    long position() {
        return position;
    }

    /** Writes one record's frame (not yet forced). */
    void write(byte[] canonical) throws IOException {
        write(canonical, canonical.length);
    }

    /** Writes the frame of the record in {@code canonical[0, length)} (not yet forced); the array may be reused after. */
    void write(byte[] canonical, int length) throws IOException {
        int need = 8 + length;
        crc.reset();
        crc.update(canonical, 0, length);
        int checksum = (int) crc.getValue();
        if (frame.remaining() < need) {
            flushFrames();
        }
        if (frame.capacity() < need) {
            ByteBuffer big = ByteBuffer.allocate(need);
            big.putInt(length).putInt(checksum).put(canonical, 0, length).flip();
            writeFully(big);
            return;
        }
        frame.putInt(length).putInt(checksum).put(canonical, 0, length);
    }

    /** Writes frames already in journal form (a batch from the staging ring) at the current position; not yet forced. */
    void writeFramed(ByteBuffer frames) throws IOException {
        if (frame.position() != 0) {
            flushFrames();
        }
        writeFully(frames);
    }

    /** Pushes buffered frames to the file (the OS page cache). */
    void flushFrames() throws IOException {
        frame.flip();
        try {
            writeFully(frame);
        } finally {
            frame.clear();
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            position += current.write(b, position);
        }
        dropChunksBelow(position);
    }

    private void dropChunksBelow(long pos) {
        while (!chunks.isEmpty() && chunks.peekFirst().end() <= pos) {
            chunks.pollFirst();
        }
        if (chunks.isEmpty()) {
            roomEnd = Math.max(roomEnd, pos);
        }
    }

    // ---------------------------------------------------------------- fast path: room filled ahead

    /**
     * Writes the frame of {@code canonical[0, length)} at the current position, inside room the journal
     * thread zero-filled ahead (so the file neither grows nor allocates blocks here), with one positional
     * write; false (position unchanged) when the room is too small or the write failed, and the slow path
     * then writes the frame at the same position. Trail write lock held.
     *
     * <p>A plain write rather than a copy into a memory-mapped stretch: each fsync write-protects every
     * mapped page it cleans, which costs a TLB shootdown (an inter-processor interrupt to every core
     * running this process) and a page fault on the next copy into the page; on the two-core VMs we
     * measure on, that made the journal thread's fsyncs about a third more expensive than the writes
     * they replaced (bench/RESULTS-audit-cpu.md).
     */
    boolean appendInRoom(byte[] canonical, int length) {
        int need = 8 + length;
        if (chunks.isEmpty() || position + need > roomEnd) {
            return false;
        }
        crc.reset();
        crc.update(canonical, 0, length);
        int checksum = (int) crc.getValue();
        byte[] f = need <= fastFrame.length ? fastFrame : new byte[need];
        f[0] = (byte) (length >>> 24);
        f[1] = (byte) (length >>> 16);
        f[2] = (byte) (length >>> 8);
        f[3] = (byte) length;
        f[4] = (byte) (checksum >>> 24);
        f[5] = (byte) (checksum >>> 16);
        f[6] = (byte) (checksum >>> 8);
        f[7] = (byte) checksum;
        System.arraycopy(canonical, 0, f, 8, length);
        try {
            if (fastFile == null) {
                fastFile = new RandomAccessFile(currentPath.toFile(), "rw");
                fastPointer = -1;
            }
            if (fastPointer != position) {
                fastFile.seek(position);
            }
            fastPointer = -1; // unknown until the write returns
            fastFile.write(f, 0, need);
            fastPointer = position + need;
        } catch (IOException e) {
            return false; // whatever part landed is overwritten by the slow path's write of the same frame
        }
        position += need;
        dropChunksBelow(position);
        return true;
    }

    private void closeFastFile() {
        if (fastFile != null) {
            try {
                fastFile.close();
            } catch (IOException ignored) {
                // a read-only handle's twin; the channel holds the segment
            }
            fastFile = null;
            fastPointer = -1;
        }
    }

    /** True when less than half a chunk of room is left, so the journal thread should fill more. Lock held. */
    boolean roomLow(long chunkBytes) {
        return roomEnd - position < chunkBytes / 2 && position < segmentBytes;
    }

    /** Where the next chunk of room would start, or -1 when no more is wanted. Trail write lock held. */
    long nextChunkStart(long chunkBytes) {
        long start = Math.max(roomEnd, position);
        if (start >= segmentBytes || roomEnd - position >= chunkBytes / 2) {
            return -1;
        }
        return start;
    }

    /**
     * Zero-fills {@code [start, start + chunkBytes)} (capped at the segment size) beyond everything
     * written. Journal thread, without the lock: no writer touches the file past {@code roomEnd}. On
     * failure (typically no space) the file is cut back to {@code start} and the fast path just stays off.
     */
    Chunk fillAhead(long start, long chunkBytes) throws IOException {
        long end = Math.min(start + chunkBytes, segmentBytes);
        try {
            ByteBuffer zeros = ZEROS.duplicate();
            for (long at = start; at < end; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), end - at));
                at += current.write(zeros, at);
            }
            return new Chunk(start, end);
        } catch (IOException | RuntimeException e) {
            try {
                current.truncate(start);
            } catch (IOException ignored) {
                // the zeros past start read as unused space; nothing is lost
            }
            throw e;
        }
    }

    /** Publishes a chunk made by {@link #fillAhead}, unless the segment changed meanwhile. Trail write lock held. */
    boolean addChunk(Chunk c) {
        if (c.start() != Math.max(roomEnd, position)) {
            return false;
        }
        chunks.addLast(c);
        roomEnd = c.end();
        return true;
    }

    /** Drops the room (before a truncation or a roll: nothing may be written past the file's end). */
    void dropRoom() {
        chunks.clear();
        roomEnd = position;
    }

    void force() throws IOException {
        current.force(false);
    }

    /**
     * Rolls to a new segment when the current one is full. Called while frozen, after a force; the old
     * segment loses the zeros filled ahead, so it ends at its last frame.
     */
    void rollIfFull(long nextSeq, byte[] lastHash) throws IOException {
        if (position >= segmentBytes) {
            dropRoom();
            current.truncate(position);
            current.force(true);
            startSegment(nextSeq, lastHash);
        }
    }

    /** Cuts the current segment back to {@code pos} (dropping a failed, unacknowledged batch). Frozen. */
    void truncateTo(long pos) throws IOException {
        frame.clear();
        chunks.clear();
        current.truncate(pos);
        current.force(false);
        position = pos;
        roomEnd = pos;
    }

    /** Deletes closed segments whose every record has seq <= {@code durableInParquet}. */
    synchronized int trimThrough(long durableInParquet) throws IOException {
        int deleted = 0;
        while (segments.size() > 1 && segments.get(1).firstSeq - 1 <= durableInParquet) {
            Files.deleteIfExists(segments.remove(0).path);
            deleted++;
        }
        if (deleted > 0) {
            Fsync.directory(dir);
        }
        return deleted;
    }

    synchronized List<Segment> segments() {
        return List.copyOf(segments);
    }

    @Override
    public void close() throws IOException {
        closeFastFile();
        if (current != null) {
            dropRoom();
            try {
                current.truncate(position); // leave no zeros behind on a clean stop
            } catch (IOException ignored) {
                // a full or read-only disk: the zeros read as unused space on the next open
            }
            current.close();
        }
    }
}
