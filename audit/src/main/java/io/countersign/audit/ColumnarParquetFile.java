package io.countersign.audit;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ColumnWriteStore;
import org.apache.parquet.column.ColumnWriter;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.compression.CompressionCodecFactory.BytesInputCompressor;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.CodecFactory;
import org.apache.parquet.hadoop.ColumnChunkPageWriteStore;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.MessageType;

/**
 * A Parquet file written leaf column by leaf column: the caller gives each column writer its value with
 * the repetition and definition levels it already knows, then ends the row. This skips parquet-java's
 * record assembly (RecordConsumer and MessageColumnIO: field-name checks, visited-field bookkeeping and
 * null back-filling on every field of every row), which was most of the writer's CPU per record.
 * Everything below it is parquet-java's own and set up as {@code ParquetWriter} sets it up (this mirrors
 * its {@code InternalParquetRecordWriter}): the same properties, page store, dictionaries, statistics,
 * checksums, compression, row-group sizing and footer, so the files are the same.
 */
final class ColumnarParquetFile implements Closeable {
    private final ParquetFileWriter file;
    private final MessageType schema;
    private final List<ColumnDescriptor> leaves;
    private final ParquetProperties props;
    private final CodecFactory codecs;
    private final BytesInputCompressor compressor;
    private final Map<String, String> metadata;
    private final long rowGroupBytes;
    /** The current row group's writer per leaf, in schema order; refilled when a row group is flushed. */
    private final ColumnWriter[] columns;
    private ColumnChunkPageWriteStore pages;
    private ColumnWriteStore store;
    private int rowGroupOrdinal;
    private long rows;
    private long rowsAtNextSizeCheck;
    private long nextRowGroupBytes;
    private long lastRowGroupEnd;
    private boolean closed;

    /** {@code metadata}: the footer's key-value metadata, as it should appear in the file. */
    ColumnarParquetFile(Path path, MessageType schema, Map<String, String> metadata, ParquetProperties props,
            CompressionCodecName codec, long rowGroupBytes) throws IOException {
        this.schema = schema;
        this.leaves = schema.getColumns();
        this.props = props;
        this.rowGroupBytes = rowGroupBytes;
        this.nextRowGroupBytes = rowGroupBytes;
        this.metadata = metadata;
        this.columns = new ColumnWriter[leaves.size()];
        // null encryption properties: what ParquetWriter derives from a plain configuration with no crypto factory
        this.file = new ParquetFileWriter(new LocalOutputFile(path), schema, ParquetFileWriter.Mode.OVERWRITE, rowGroupBytes,
                ParquetWriter.MAX_PADDING_SIZE_DEFAULT, null, props);
        this.codecs = new CodecFactory(new PlainParquetConfiguration(), props.getPageSizeThreshold());
        try {
            file.start();
            this.compressor = codecs.getCompressor(codec);
            openRowGroup();
        } catch (IOException | RuntimeException e) {
            codecs.release();
            file.close();
            throw e;
        }
        rowsAtNextSizeCheck = props.getMinRowCountForPageSizeCheck();
    }

    /** The writers of the leaf columns, in schema order (the same array for the file's life; its contents change per row group). */
    ColumnWriter[] columns() {
        return columns;
    }

    /** Ends the row whose values were just written to every leaf; may flush a row group to the file. */
    void endRow() throws IOException {
        store.endRecord();
        rows++;
        if (rows >= rowsAtNextSizeCheck) {
            checkRowGroupSize();
        }
    }

    /** Bytes written to the file plus bytes buffered for the open row group (what {@code ParquetWriter.getDataSize} says). */
    long dataSize() {
        return lastRowGroupEnd + store.getBufferedSize();
    }

    private void openRowGroup() {
        pages = new ColumnChunkPageWriteStore(compressor, schema, props.getAllocator(), props.getColumnIndexTruncateLength(),
                props.getPageWriteChecksumEnabled(), file.getEncryptor(), rowGroupOrdinal);
        store = props.newColumnWriteStore(schema, pages, pages);
        for (int i = 0; i < columns.length; i++) {
            columns[i] = store.getColumnWriter(leaves.get(i));
        }
    }

    /** InternalParquetRecordWriter's rule: flush when within about two rows of the limit; look again halfway there. */
    private void checkRowGroupSize() throws IOException {
        long buffered = store.getBufferedSize();
        long rowBytes = buffered / rows;
        if (buffered > nextRowGroupBytes - 2 * rowBytes) {
            long flushed = rows;
            flushRowGroup();
            openRowGroup();
            rowsAtNextSizeCheck = Math.min(Math.max(props.getMinRowCountForPageSizeCheck(), flushed / 2),
                    props.getMaxRowCountForPageSizeCheck());
            lastRowGroupEnd = file.getPos();
        } else {
            rowsAtNextSizeCheck = Math.min(
                    Math.max(props.getMinRowCountForPageSizeCheck(), (rows + (long) (nextRowGroupBytes / ((float) rowBytes))) / 2),
                    rows + props.getMaxRowCountForPageSizeCheck());
        }
    }

    private void flushRowGroup() throws IOException {
        try {
            if (rows > 0) {
                rowGroupOrdinal++;
                file.startBlock(rows);
                store.flush();
                pages.flushToFileWriter(file);
                rows = 0;
                file.endBlock();
                nextRowGroupBytes = Math.min(file.getNextRowGroupSize(), rowGroupBytes);
            }
        } finally {
            store.close();
            pages.close();
        }
    }

    /** Flushes the last row group and writes the footer. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            flushRowGroup();
            file.end(metadata);
        } finally {
            file.close();
            codecs.release();
        }
    }

    /** Lets go of the file without a footer (it is being discarded after a failure). */
    void abandon() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            store.close();
            pages.close();
            file.close();
        } catch (IOException | RuntimeException ignored) {
            // the file is deleted by the caller either way
        } finally {
            codecs.release();
        }
    }
}
