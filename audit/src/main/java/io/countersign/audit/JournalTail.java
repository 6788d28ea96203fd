package io.countersign.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Follows the journal from a sequence number on, for the Parquet writer: reads the frames of durable
 * records segment after segment, so records wait on disk rather than on the heap however far the writer
 * falls behind. It reads only records at or below the durable seq it is given; those frames are complete
 * and nothing truncates them, so a short or zero frame before them means "look in the next segment".
 */
final class JournalTail implements AutoCloseable {
    private final Path dir;
    private long nextSeq;
    private FileChannel channel;
    private long position;
    private ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
    private final CRC32C crc = new CRC32C();

    /** Positions the tail on the record after {@code afterSeq}. */
    JournalTail(Path dir, long afterSeq) {
        this.dir = dir;
        this.nextSeq = afterSeq + 1;
    }

    /** The seq of the record the next {@link #next} call starts with. */
    long nextSeq() {
        return nextSeq;
    }

    /** Up to {@code max} records, in order, with seq from {@link #nextSeq()} through {@code upToSeq}. */
    List<ChainedRecord> next(long upToSeq, int max) throws IOException {
        List<ChainedRecord> out = new ArrayList<>(Math.min(max, 256));
        while (out.size() < max && nextSeq <= upToSeq) {
            if (channel == null) {
                open();
            }
            ChainedRecord r = readFrame();
            if (r == null) {
                // the segment ends here; the record must open a later one
                closeChannel();
                open();
                r = readFrame();
                if (r == null) {
                    throw new AuditStorageException("the audit journal in " + dir + " has no record " + nextSeq
                            + " although it was made durable: a journal segment is missing or was altered");
                }
            }
            out.add(r);
        }
        return out;
    }

    /** Opens the newest segment that starts at or before {@code nextSeq} and skips to {@code nextSeq}. */
    private void open() throws IOException {
        Journal.Segment chosen = null;
        for (Journal.Segment s : Journal.listSegments(dir)) {
            if (s.firstSeq() <= nextSeq) { // segments come in order: the last such one holds nextSeq
                chosen = s;
            }
        }
        if (chosen == null) {
            throw new AuditStorageException("the audit journal in " + dir + " has no segment holding record " + nextSeq
                    + "; it was deleted before it reached Parquet");
        }
        try {
            channel = FileChannel.open(chosen.path(), StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new AuditStorageException("journal segment " + chosen.path() + " vanished while it was being read into Parquet");
        }
        position = Journal.HEADER_BYTES;
        buf.clear().flip();
        bufStart = position;
        // skip what is already in Parquet
        while (true) {
            int at = frameAt();
            if (at < 0) {
                return; // the record starts this segment's unwritten end: read again later
            }
            long seq = buf.getLong(at + 8 + 1);
            if (seq >= nextSeq) {
                return;
            }
            position += 8 + buf.getInt(at);
        }
    }

    private long bufStart;

    /**
     * Makes the whole frame at {@code position} readable in {@code buf}; its index there, or -1 when the
     * segment holds no complete frame at that position.
     */
    private int frameAt() throws IOException {
        if (!fill(8)) {
            return -1;
        }
        int at = (int) (position - bufStart);
        int len = buf.getInt(at);
        if (len <= 0 || len > Journal.MAX_FRAME) {
            return -1;
        }
        if (!fill(8 + len)) {
            return -1;
        }
        return (int) (position - bufStart);
    }

    /** Ensures {@code n} bytes from {@code position} are in {@code buf}; false at the end of the file. */
    private boolean fill(int n) throws IOException {
        long have = bufStart + buf.limit() - position;
        if (position >= bufStart && have >= n) {
            return true;
        }
        if (buf.capacity() < n) {
            buf = ByteBuffer.allocate(Math.max(n, buf.capacity() * 2));
        }
        buf.clear();
        bufStart = position;
        while (buf.position() < n) {
            int r = channel.read(buf, bufStart + buf.position());
            if (r <= 0) {
                break;
            }
        }
        buf.flip();
        return buf.limit() >= n;
    }

    /**
     * The record at {@code position}, or null at the segment's end. The buffer may hold bytes read ahead
     * while later frames were still being written, so a frame that looks short or fails its checksum is
     * read again from the file before it counts: a durable frame is always complete there.
     */
    private ChainedRecord readFrame() throws IOException {
        ChainedRecord r = tryFrame(false);
        if (r == null) {
            bufStart = Long.MIN_VALUE / 2; // forget what was read ahead
            buf.clear().flip();
            r = tryFrame(true);
        }
        return r == NONE ? null : r;
    }

    private static final ChainedRecord NONE = new ChainedRecord(-1, new byte[0], new byte[0], null);

    /** The frame's record; NONE when there is no complete frame; null (on a first try) when it should be read again. */
    private ChainedRecord tryFrame(boolean fresh) throws IOException {
        int at = frameAt();
        if (at < 0) {
            return fresh ? NONE : null;
        }
        int len = buf.getInt(at);
        crc.reset();
        crc.update(buf.array(), at + 8, len);
        if ((int) crc.getValue() != buf.getInt(at + 4)) {
            if (!fresh) {
                return null;
            }
            throw new AuditStorageException("journal frame of record " + nextSeq + " in " + dir + " fails its checksum although"
                    + " the record was made durable: the journal was altered");
        }
        byte[] canonical = new byte[len];
        System.arraycopy(buf.array(), at + 8, canonical, 0, len);
        ChainedRecord r = RecordCodec.decode(canonical);
        if (r.seq() != nextSeq) {
            throw new AuditStorageException("the audit journal in " + dir + " holds record " + r.seq() + " where " + nextSeq
                    + " was expected: the journal was altered");
        }
        position += 8 + len;
        nextSeq++;
        return r;
    }

    private void closeChannel() throws IOException {
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }

    @Override
    public void close() throws IOException {
        closeChannel();
    }
}
