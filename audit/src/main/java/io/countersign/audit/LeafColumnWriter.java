package io.countersign.audit;

import java.io.IOException;
import java.util.Arrays;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.bytes.BytesUtils;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.page.DictionaryPage;
import org.apache.parquet.column.page.PageWriter;
import org.apache.parquet.column.statistics.SizeStatistics;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.column.values.ValuesWriter;
import org.apache.parquet.column.values.plain.BooleanPlainValuesWriter;
import org.apache.parquet.column.values.rle.RunLengthBitPackingHybridEncoder;
import org.apache.parquet.io.ParquetEncodingException;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;

/**
 * One leaf column of one row group, encoded into Parquet V1 data pages by us and handed, page by page,
 * to parquet-java's page writer (which compresses, checksums, indexes and lays the chunk out). It does
 * what parquet-java's ColumnWriterV1 does with its default value writers (definition and repetition
 * levels RLE/bit-packed, values dictionary-encoded with a fallback to plain, or plain; page statistics),
 * cheaper where audit records allow it:
 *
 * <ul>
 *   <li>consecutive records repeat most values (agent, database, SQL text, decision...), so a value equal
 *       to the column's previous one costs one vectorised comparison: no hashing, no dictionary probe;
 *   <li>min/max of a dictionary-encoded page are taken over the distinct dictionary entries the page used,
 *       once per page, instead of two comparisons per value;
 *   <li>values come as byte ranges of the journal frame, with no Binary object per value.
 * </ul>
 *
 * <p>Levels, page boundaries, dictionary fallback and statistics follow parquet-java 1.15's rules, so the
 * files come out byte for byte as its record writer writes them ({@code ColumnarWriterTest} checks that,
 * including several row groups and a dictionary falling back to PLAIN); a parquet-java upgrade should be
 * checked against that test.
 */
final class LeafColumnWriter {
    private final ColumnDescriptor path;
    private final PageWriter pageWriter;
    private final boolean statisticsEnabled;
    private final ValuesWriter repetitionLevels;
    private final ValuesWriter definitionLevels;
    private final PageValues values;
    private Statistics<?> statistics;
    private int valueCount;
    private int pageRowCount;
    private long rowsWrittenSoFar;

    LeafColumnWriter(ColumnDescriptor path, PageWriter pageWriter, ParquetProperties props) {
        this.path = path;
        this.pageWriter = pageWriter;
        this.statisticsEnabled = props.getStatisticsEnabled(path);
        this.repetitionLevels = props.newRepetitionLevelWriter(path);
        this.definitionLevels = props.newDefinitionLevelWriter(path);
        PrimitiveTypeName type = path.getPrimitiveType().getPrimitiveTypeName();
        boolean dictionary = props.isDictionaryEnabled(path);
        this.values = switch (type) {
            case BINARY -> dictionary ? new DictionaryBinaries(props) : new PlainBinaries(statisticsEnabled);
            case INT64 -> dictionary ? new DictionaryLongs(props) : new PlainLongs();
            case BOOLEAN -> new PlainBooleans();
            default -> throw new IllegalArgumentException("no audit column has type " + type + " (" + path + ")");
        };
        resetStatistics();
    }

    private void resetStatistics() {
        statistics = statisticsEnabled ? Statistics.createStats(path.getPrimitiveType()) : Statistics.noopStats(path.getPrimitiveType());
    }

    private void levels(int r, int d) {
        repetitionLevels.writeInteger(r);
        definitionLevels.writeInteger(d);
        if (r == 0) {
            pageRowCount++;
        }
        valueCount++;
    }

    void writeNull(int r, int d) {
        levels(r, d);
        statistics.incrementNumNulls();
    }

    /** A BINARY value: {@code b[off, off + len)}, which may be overwritten after the call. */
    void write(byte[] b, int off, int len, int r, int d) {
        levels(r, d);
        values.write(b, off, len, statistics);
    }

    void write(long v, int r, int d) {
        levels(r, d);
        values.write(v, statistics);
    }

    void write(boolean v, int r, int d) {
        levels(r, d);
        values.write(v, statistics);
    }

    long rowsWrittenSoFar() {
        return rowsWrittenSoFar;
    }

    int valueCount() {
        return valueCount;
    }

    /** What the open page would take unencoded, for the page size rule (as parquet-java measures it). */
    long currentPageBufferedSize() {
        return repetitionLevels.getBufferedSize() + definitionLevels.getBufferedSize() + values.bufferedSize();
    }

    long totalBufferedSize() {
        return currentPageBufferedSize() + pageWriter.getMemSize();
    }

    void writePage() {
        if (valueCount == 0) {
            throw new ParquetEncodingException("writing empty page");
        }
        try {
            rowsWrittenSoFar += pageRowCount;
            BytesInput encoded = values.pageBytes(statistics);
            pageWriter.writePage(BytesInput.concat(repetitionLevels.getBytes(), definitionLevels.getBytes(), encoded), valueCount,
                    pageRowCount, statistics, SizeStatistics.noopBuilder(path.getPrimitiveType(), path.getMaxRepetitionLevel(),
                            path.getMaxDefinitionLevel()).build(),
                    repetitionLevels.getEncoding(), definitionLevels.getEncoding(), values.pageEncoding());
        } catch (IOException e) {
            throw new ParquetEncodingException("could not write page for " + path, e);
        }
        repetitionLevels.reset();
        definitionLevels.reset();
        values.pageWritten();
        valueCount = 0;
        pageRowCount = 0;
        resetStatistics();
    }

    /** Ends the chunk: its dictionary page, if any page used the dictionary. */
    void finishChunk() {
        try {
            DictionaryPage dictionary = values.dictionaryPage();
            if (dictionary != null) {
                pageWriter.writeDictionaryPage(dictionary);
            }
        } catch (IOException e) {
            throw new ParquetEncodingException("could not write dictionary page for " + path, e);
        }
    }

    void close() {
        repetitionLevels.close();
        definitionLevels.close();
        values.close();
    }

    /** A page's values: written one by one, then encoded when the page is written. */
    private interface PageValues {
        default void write(byte[] b, int off, int len, Statistics<?> stats) {
            throw new UnsupportedOperationException();
        }

        default void write(long v, Statistics<?> stats) {
            throw new UnsupportedOperationException();
        }

        default void write(boolean v, Statistics<?> stats) {
            throw new UnsupportedOperationException();
        }

        long bufferedSize();

        /** The page's encoded values; adds what is left of the page's min/max to {@code stats}. */
        BytesInput pageBytes(Statistics<?> stats) throws IOException;

        /** The encoding of what {@link #pageBytes} just returned. */
        Encoding pageEncoding();

        void pageWritten();

        default DictionaryPage dictionaryPage() throws IOException {
            return null;
        }

        void close();
    }

    /** PLAIN pages held in one {@link PlainBuffer}; subclasses say how a value goes in. */
    private abstract static class PlainBufferValues implements PageValues {
        final PlainBuffer out = new PlainBuffer();

        public long bufferedSize() {
            return out.size();
        }

        public BytesInput pageBytes(Statistics<?> stats) {
            return out.bytes();
        }

        public Encoding pageEncoding() {
            return Encoding.PLAIN;
        }

        public void pageWritten() {
            out.reset();
        }

        public void close() {
            out.close();
        }
    }

    private static final class PlainBinaries extends PlainBufferValues {
        private final boolean statisticsEnabled;

        PlainBinaries(boolean statisticsEnabled) {
            this.statisticsEnabled = statisticsEnabled;
        }

        @Override
        public void write(byte[] b, int off, int len, Statistics<?> stats) {
            out.writeBytes(b, off, len);
            if (statisticsEnabled) {
                stats.updateStats(Binary.fromReusedByteArray(b, off, len));
            }
        }
    }

    private static final class PlainLongs extends PlainBufferValues {
        @Override
        public void write(long v, Statistics<?> stats) {
            out.writeLong(v);
            stats.updateStats(v);
        }
    }

    private static final class PlainBooleans implements PageValues {
        private final BooleanPlainValuesWriter out = new BooleanPlainValuesWriter();

        @Override
        public void write(boolean v, Statistics<?> stats) {
            out.writeBoolean(v);
            stats.updateStats(v);
        }

        public long bufferedSize() {
            return out.getBufferedSize();
        }

        public BytesInput pageBytes(Statistics<?> stats) {
            return out.getBytes();
        }

        public Encoding pageEncoding() {
            return Encoding.PLAIN;
        }

        public void pageWritten() {
            out.reset();
        }

        public void close() {
            out.close();
        }
    }

    /**
     * PLAIN values of a page in one growable array: little-endian longs, byte strings as a little-endian
     * length and the bytes (parquet-java's PlainValuesWriter's bytes, without its per-byte stream calls).
     * The page writer compresses (copies) a page's bytes before they are reused.
     */
    static final class PlainBuffer {
        private byte[] buf = new byte[4096];
        private int size;

        private void ensure(int more) {
            if (buf.length - size < more) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
            }
        }

        void writeBytes(byte[] b, int off, int len) {
            ensure(4 + len);
            buf[size] = (byte) len;
            buf[size + 1] = (byte) (len >>> 8);
            buf[size + 2] = (byte) (len >>> 16);
            buf[size + 3] = (byte) (len >>> 24);
            System.arraycopy(b, off, buf, size + 4, len);
            size += 4 + len;
        }

        void writeLong(long v) {
            ensure(8);
            LONG_LE.set(buf, size, v);
            size += 8;
        }

        int size() {
            return size;
        }

        BytesInput bytes() {
            return BytesInput.from(buf, 0, size);
        }

        void reset() {
            size = 0;
        }

        void close() {
            buf = new byte[0];
            size = 0;
        }

        private static final java.lang.invoke.VarHandle LONG_LE =
                java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Dictionary encoding as parquet-java's fallback dictionary writer does it: each page holds dictionary
     * ids (bit width byte + RLE/bit-packed hybrid); the dictionary page holds the entries PLAIN-encoded.
     * The row group falls back to PLAIN for good when the dictionary outgrows its page size, or when the
     * first page shows the dictionary would not make the column smaller.
     */
    private abstract static class Dictionary implements PageValues {
        private final ParquetProperties props;
        private final int maxDictionaryBytes;
        /** The ids of the open page's values, while it is dictionary-encoded. */
        private int[] ids = new int[1024];
        private int idCount;
        /** The distinct ids the open page used, for its min/max; {@code pageMark[id] == page} marks one. */
        private int[] pageIds = new int[64];
        private int pageIdCount;
        private int[] pageMark = new int[64];
        private int page = 1;
        /** The previous value's id (-1 none): a repeat is recognised without a dictionary probe. */
        int previousId = -1;
        /** Entries so far; bytes of the entries PLAIN-encoded (what the dictionary page will hold). */
        int size;
        long dictionaryBytes;
        private long rawBytes;
        private int usedByWrittenPages;
        private boolean firstPage = true;
        private boolean plain;
        private PlainBuffer plainOut;
        private Encoding lastEncoding;

        Dictionary(ParquetProperties props) {
            this.props = props;
            this.maxDictionaryBytes = props.getDictionaryPageSizeThreshold();
        }

        final boolean fellBack() {
            return plain;
        }

        final PlainBuffer plainOut() {
            if (plainOut == null) {
                plainOut = new PlainBuffer();
            }
            return plainOut;
        }

        /** Records the value with dictionary id {@code id} in the open page; falls back when the dictionary is full. */
        final void add(int id, int rawLength) {
            rawBytes += rawLength;
            if (idCount == ids.length) {
                ids = Arrays.copyOf(ids, ids.length * 2);
            }
            ids[idCount++] = id;
            if (id >= pageMark.length) {
                pageMark = Arrays.copyOf(pageMark, Math.max(id + 1, pageMark.length * 2));
            }
            if (pageMark[id] != page) {
                pageMark[id] = page;
                if (pageIdCount == pageIds.length) {
                    pageIds = Arrays.copyOf(pageIds, pageIds.length * 2);
                }
                pageIds[pageIdCount++] = id;
            }
            if (dictionaryBytes > maxDictionaryBytes) {
                fallBack();
            }
        }

        final void addPlainRaw(int rawLength) {
            rawBytes += rawLength;
        }

        /** From now on (this row group) values go PLAIN; the open page's values are re-encoded so. */
        private void fallBack() {
            plain = true;
            PlainBuffer out = plainOut();
            for (int i = 0; i < idCount; i++) {
                writePlain(ids[i], out);
            }
            idCount = 0;
        }

        abstract void writePlain(int id, PlainBuffer out);

        abstract void updateStats(int id, Statistics<?> stats);

        /** The entries {@code [0, count)} PLAIN-encoded. */
        abstract BytesInput entries(int count);

        public final long bufferedSize() {
            // as parquet-java's fallback writer: the raw size decides when a page is full
            return rawBytes;
        }

        public final BytesInput pageBytes(Statistics<?> stats) throws IOException {
            for (int i = 0; i < pageIdCount; i++) {
                updateStats(pageIds[i], stats);
            }
            if (!plain && firstPage && dictionaryBytes + encodedIdsSize() >= rawBytes) {
                fallBack(); // the dictionary does not pay for this column: PLAIN from the first page on
            }
            firstPage = false;
            if (plain) {
                lastEncoding = Encoding.PLAIN;
                return plainOut.bytes();
            }
            lastEncoding = Encoding.PLAIN_DICTIONARY;
            usedByWrittenPages = size;
            return encodeIds();
        }

        private long encodedIdsSize() throws IOException {
            return encodeIds().size();
        }

        private BytesInput encodeIds() throws IOException {
            int bitWidth = BytesUtils.getWidthFromMaxInt(size - 1);
            RunLengthBitPackingHybridEncoder encoder = new RunLengthBitPackingHybridEncoder(bitWidth, 64 * 1024,
                    props.getPageSizeThreshold(), props.getAllocator());
            for (int i = 0; i < idCount; i++) {
                encoder.writeInt(ids[i]);
            }
            // copied: the encoder's buffers go back to the allocator when it closes
            BytesInput bytes = BytesInput.copy(BytesInput.concat(BytesInput.from(new byte[] {(byte) bitWidth}), encoder.toBytes()));
            encoder.close();
            return bytes;
        }

        public final Encoding pageEncoding() {
            return lastEncoding;
        }

        public final void pageWritten() {
            idCount = 0;
            pageIdCount = 0;
            page++;
            rawBytes = 0;
            if (plainOut != null) {
                plainOut.reset();
            }
        }

        public final DictionaryPage dictionaryPage() throws IOException {
            if (usedByWrittenPages == 0) {
                return null;
            }
            return new DictionaryPage(BytesInput.copy(entries(usedByWrittenPages)), usedByWrittenPages, Encoding.PLAIN_DICTIONARY);
        }

        public void close() {
            if (plainOut != null) {
                plainOut.close();
            }
        }
    }

    /** Byte-string dictionary: entries kept PLAIN-encoded in one array, found by an open-addressing table. */
    private static final class DictionaryBinaries extends Dictionary {
        /** Entry i: 4-byte little-endian length at {@code offsets[i]}, its bytes after. */
        private byte[] entries = new byte[4096];
        private int entriesEnd;
        private int[] offsets = new int[256];
        private int[] hashes = new int[256];
        /** Open addressing: id + 1, 0 = empty. */
        private int[] table = new int[512];

        DictionaryBinaries(ParquetProperties props) {
            super(props);
        }

        @Override
        public void write(byte[] b, int off, int len, Statistics<?> stats) {
            if (fellBack()) {
                plainOut().writeBytes(b, off, len);
                stats.updateStats(Binary.fromReusedByteArray(b, off, len));
                addPlainRaw(len + 4);
                return;
            }
            int id = previousId;
            if (id < 0 || !sameAs(id, b, off, len)) {
                id = find(b, off, len);
                previousId = id;
            }
            add(id, len + 4);
        }

        private boolean sameAs(int id, byte[] b, int off, int len) {
            int at = offsets[id];
            int n = intLE(entries, at);
            return n == len && Arrays.equals(entries, at + 4, at + 4 + n, b, off, off + len);
        }

        private int find(byte[] b, int off, int len) {
            int h = hash(b, off, len);
            int mask = table.length - 1;
            for (int slot = h & mask; ; slot = (slot + 1) & mask) {
                int e = table[slot];
                if (e == 0) {
                    int id = append(b, off, len, h);
                    table[slot] = id + 1;
                    if (size * 2 > table.length) {
                        grow();
                    }
                    return id;
                }
                if (hashes[e - 1] == h && sameAs(e - 1, b, off, len)) {
                    return e - 1;
                }
            }
        }

        private int append(byte[] b, int off, int len, int h) {
            if (entries.length - entriesEnd < 4 + len) {
                entries = Arrays.copyOf(entries, Math.max(entries.length * 2, entriesEnd + 4 + len));
            }
            if (size == offsets.length) {
                offsets = Arrays.copyOf(offsets, size * 2);
                hashes = Arrays.copyOf(hashes, size * 2);
            }
            offsets[size] = entriesEnd;
            hashes[size] = h;
            entries[entriesEnd] = (byte) len;
            entries[entriesEnd + 1] = (byte) (len >>> 8);
            entries[entriesEnd + 2] = (byte) (len >>> 16);
            entries[entriesEnd + 3] = (byte) (len >>> 24);
            System.arraycopy(b, off, entries, entriesEnd + 4, len);
            entriesEnd += 4 + len;
            dictionaryBytes += 4 + len;
            return size++;
        }

        private void grow() {
            int[] bigger = new int[table.length * 2];
            int mask = bigger.length - 1;
            for (int id = 0; id < size; id++) {
                int slot = hashes[id] & mask;
                while (bigger[slot] != 0) {
                    slot = (slot + 1) & mask;
                }
                bigger[slot] = id + 1;
            }
            table = bigger;
        }

        @Override
        void writePlain(int id, PlainBuffer out) {
            int at = offsets[id];
            out.writeBytes(entries, at + 4, intLE(entries, at));
        }

        private Binary entry(int id) {
            int at = offsets[id];
            return Binary.fromReusedByteArray(entries, at + 4, intLE(entries, at));
        }

        @Override
        void updateStats(int id, Statistics<?> stats) {
            stats.updateStats(entry(id));
        }

        @Override
        BytesInput entries(int count) {
            int end = count == size ? entriesEnd : offsets[count];
            return BytesInput.from(entries, 0, end);
        }

        private static int intLE(byte[] b, int at) {
            return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
        }

        private static int hash(byte[] b, int off, int len) {
            int h = len;
            for (int i = 0; i < len; i++) {
                h = 31 * h + b[off + i];
            }
            return h ^ (h >>> 16);
        }
    }

    /** INT64 dictionary (rows returned, rows affected, bytes sent: small sets of values that repeat). */
    private static final class DictionaryLongs extends Dictionary {
        private long[] entries = new long[256];
        private int[] table = new int[512];
        private long previous;

        DictionaryLongs(ParquetProperties props) {
            super(props);
        }

        @Override
        public void write(long v, Statistics<?> stats) {
            if (fellBack()) {
                plainOut().writeLong(v);
                stats.updateStats(v);
                addPlainRaw(8);
                return;
            }
            int id = previousId;
            if (id < 0 || previous != v) {
                id = find(v);
                previousId = id;
                previous = v;
            }
            add(id, 8);
        }

        private int find(long v) {
            int mask = table.length - 1;
            for (int slot = hash(v) & mask; ; slot = (slot + 1) & mask) {
                int e = table[slot];
                if (e == 0) {
                    if (size == entries.length) {
                        entries = Arrays.copyOf(entries, size * 2);
                    }
                    int id = size++;
                    entries[id] = v;
                    dictionaryBytes += 8;
                    table[slot] = id + 1;
                    if (size * 2 > table.length) {
                        grow();
                    }
                    return id;
                }
                if (entries[e - 1] == v) {
                    return e - 1;
                }
            }
        }

        private void grow() {
            int[] bigger = new int[table.length * 2];
            int mask = bigger.length - 1;
            for (int id = 0; id < size; id++) {
                int slot = hash(entries[id]) & mask;
                while (bigger[slot] != 0) {
                    slot = (slot + 1) & mask;
                }
                bigger[slot] = id + 1;
            }
            table = bigger;
        }

        private static int hash(long v) {
            long h = v * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }

        @Override
        void writePlain(int id, PlainBuffer out) {
            out.writeLong(entries[id]);
        }

        @Override
        void updateStats(int id, Statistics<?> stats) {
            stats.updateStats(entries[id]);
        }

        @Override
        BytesInput entries(int count) {
            byte[] out = new byte[count * 8];
            for (int i = 0; i < count; i++) {
                long v = entries[i];
                for (int k = 0; k < 8; k++) {
                    out[i * 8 + k] = (byte) (v >>> (8 * k));
                }
            }
            return BytesInput.from(out);
        }
    }
}
