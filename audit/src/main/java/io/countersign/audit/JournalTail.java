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

    /** What gets each frame's record: its canonical bytes, valid only during the call. */
    @FunctionalInterface
    interface FrameConsumer {
        void accept(byte[] canonical, int offset, int length) throws IOException;
    }

    /** Up to {@code max} records, in order, with seq from {@link #nextSeq()} through {@code upToSeq}. */
    List<ChainedRecord> next(long upToSeq, int max) throws IOException {
        List<ChainedRecord> out = new ArrayList<>(Math.min(max, 256));
        feed(upToSeq, max, (b, off, len) -> out.add(RecordCodec.decode(java.util.Arrays.copyOfRange(b, off, off + len))));
        return out;
    }

    /**
     * Hands up to {@code max} records, in order, with seq from {@link #nextSeq()} through {@code upToSeq}, to
     * {@code to} as canonical bytes inside the read buffer (no copy, no decoding); returns how many.
     */
    int feed(long upToSeq, int max, FrameConsumer to) throws IOException {
        int n = 0;
        while (n < max && nextSeq <= upToSeq) {
            if (channel == null) {
                open();
            }
            int at = readFrame();
            if (at < 0) {
                // the segment ends here; the record must open a later one
                closeChannel();
                open();
                at = readFrame();
                if (at < 0) {
                    throw new AuditStorageException("the audit journal in " + dir + " has no record " + nextSeq
                            + " although it was made durable: a journal segment is missing or was altered");
                }
            }
            int len = buf.getInt(at);
            to.accept(buf.array(), at + 8, len);
            // stepped past only once taken: a consumer that fails leaves the tail on this record
            position += 8 + len;
            nextSeq++;
            n++;
        }
        return n;
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
     * The index in {@code buf} of the checked frame at {@code position}, or -1 at the segment's end. The
     * buffer may hold bytes read ahead while later frames were still being written, so a frame that looks
     * short or fails its checksum is read again from the file before it counts: a durable frame is always
     * complete there.
     */
    private int readFrame() throws IOException {
        int at = tryFrame(false);
        if (at == RETRY) {
            bufStart = Long.MIN_VALUE / 2; // forget what was read ahead
            buf.clear().flip();
            at = tryFrame(true);
        }
        return at;
    }

    private static final int NONE = -1;
    private static final int RETRY = -2;

    /** The checked frame's index in {@code buf}; NONE when there is no complete frame; RETRY (on a first try) when it should be read again. */
    private int tryFrame(boolean fresh) throws IOException {
        int at = frameAt();
        if (at < 0) {
            return fresh ? NONE : RETRY;
        }
        int len = buf.getInt(at);
        crc.reset();
        crc.update(buf.array(), at + 8, len);
        if ((int) crc.getValue() != buf.getInt(at + 4)) {
            if (!fresh) {
                return RETRY;
            }
            throw new AuditStorageException("journal frame of record " + nextSeq + " in " + dir + " fails its checksum although"
                    + " the record was made durable: the journal was altered");
        }
        long seq = len >= FrameColumnWriter.PREV_HASH_AT ? buf.getLong(at + 8 + FrameColumnWriter.SEQ_AT) : -1;
        if (seq != nextSeq) {
            throw new AuditStorageException("the audit journal in " + dir + " holds record " + seq + " where " + nextSeq
                    + " was expected: the journal was altered");
        }
        return at;
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
