package io.countersign.audit;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.compression.CompressionCodecFactory.BytesInputCompressor;
import org.apache.parquet.hadoop.CodecFactory;
import org.apache.parquet.hadoop.ColumnChunkPageWriteStore;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.schema.MessageType;

/**
 * A Parquet file written leaf column by leaf column: the caller gives each column's {@link LeafColumnWriter}
 * its value with the repetition and definition levels it already knows, then ends the row. This skips
 * parquet-java's record assembly (RecordConsumer and MessageColumnIO: field-name checks, visited-field
 * bookkeeping and null back-filling on every field of every row) and its per-value column writer work,
 * which were most of the writer's CPU per record. Pages go to parquet-java's own page store (compression,
 * page checksums, column and offset indexes) and file writer (row groups, footer), set up as
 * {@code ParquetWriter} sets them up; the row-group and page rules mirror its {@code InternalParquetRecordWriter}
 * and {@code ColumnWriteStoreBase}, so the files are the same.
 */
final class ColumnarParquetFile implements Closeable {
    private final HashingOutputFile output;
    private final ParquetFileWriter file;
    private final MessageType schema;
    private final List<ColumnDescriptor> leaves;
    private final ParquetProperties props;
    private final CodecFactory codecs;
    private final BytesInputCompressor compressor;
    private final Map<String, String> metadata;
    private final long rowGroupBytes;
    /** The current row group's writer per leaf, in schema order; refilled when a row group is flushed. */
    private final LeafColumnWriter[] columns;
    private ColumnChunkPageWriteStore pages;
    /** Rows in the open row group, and when the page size rule looks at the columns next. */
    private long rowGroupRows;
    private long rowsAtNextPageCheck;
    private final long pageSizeTolerance;
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
        this.columns = new LeafColumnWriter[leaves.size()];
        this.pageSizeTolerance = (long) (props.getPageSizeThreshold() * 0.1); // parquet-java's THRESHOLD_TOLERANCE_RATIO
        // null encryption properties: what ParquetWriter derives from a plain configuration with no crypto factory
        this.output = new HashingOutputFile(path);
        this.file = new ParquetFileWriter(output, schema, ParquetFileWriter.Mode.OVERWRITE, rowGroupBytes,
                ParquetWriter.MAX_PADDING_SIZE_DEFAULT, null, props);
        this.codecs = new CodecFactory(ParquetFiles.configuration(), props.getPageSizeThreshold());
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
    LeafColumnWriter[] columns() {
        return columns;
    }

    /** Ends the row whose values were just written to every leaf; may flush a row group to the file. */
    void endRow() throws IOException {
        rowGroupRows++;
        if (rowGroupRows >= rowsAtNextPageCheck) {
            checkPageSizes();
        }
        rows++;
        if (rows >= rowsAtNextSizeCheck) {
            checkRowGroupSize();
        }
    }

    /** Bytes written to the file plus bytes buffered for the open row group (what {@code ParquetWriter.getDataSize} says). */
    long dataSize() {
        return lastRowGroupEnd + bufferedSize();
    }

    private long bufferedSize() {
        long total = 0;
        for (LeafColumnWriter c : columns) {
            total += c.totalBufferedSize();
        }
        return total;
    }

    /** parquet-java's page rule (ColumnWriteStoreBase.sizeCheck): a page ends near its size threshold or at the row limit. */
    private void checkPageSizes() {
        long minRowsToWait = Long.MAX_VALUE;
        int rowLimit = props.getPageRowCountLimit();
        long rowsAtNextRowLimitCheck = rowGroupRows + rowLimit;
        for (LeafColumnWriter c : columns) {
            long used = c.currentPageBufferedSize();
            long rowsInPage = rowGroupRows - c.rowsWrittenSoFar();
            long remaining = props.getPageSizeThreshold() - used;
            if (remaining <= pageSizeTolerance || rowsInPage >= rowLimit || c.valueCount() >= props.getPageValueCountThreshold()) {
                c.writePage();
                remaining = props.getPageSizeThreshold();
            } else {
                rowsAtNextRowLimitCheck = Math.min(rowsAtNextRowLimitCheck, c.rowsWrittenSoFar() + rowLimit);
            }
            long rowsToFillPage = used == 0 ? props.getMaxRowCountForPageSizeCheck() : rowsInPage * remaining / used;
            minRowsToWait = Math.min(minRowsToWait, rowsToFillPage);
        }
        if (minRowsToWait == Long.MAX_VALUE) {
            minRowsToWait = props.getMinRowCountForPageSizeCheck();
        }
        rowsAtNextPageCheck = rowGroupRows + (props.estimateNextSizeCheck()
                ? Math.min(Math.max(minRowsToWait / 2, props.getMinRowCountForPageSizeCheck()), props.getMaxRowCountForPageSizeCheck())
                : props.getMinRowCountForPageSizeCheck());
        rowsAtNextPageCheck = Math.min(rowsAtNextPageCheck, rowsAtNextRowLimitCheck);
    }

    private void openRowGroup() {
        pages = new ColumnChunkPageWriteStore(compressor, schema, props.getAllocator(), props.getColumnIndexTruncateLength(),
                props.getPageWriteChecksumEnabled(), file.getEncryptor(), rowGroupOrdinal);
        for (int i = 0; i < columns.length; i++) {
            columns[i] = new LeafColumnWriter(leaves.get(i), pages.getPageWriter(leaves.get(i)), props);
        }
        rowGroupRows = 0;
        rowsAtNextPageCheck = props.getMinRowCountForPageSizeCheck();
    }

    /** InternalParquetRecordWriter's rule: flush when within about two rows of the limit; look again halfway there. */
    private void checkRowGroupSize() throws IOException {
        long buffered = bufferedSize();
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
                for (LeafColumnWriter c : columns) {
                    if (rowGroupRows - c.rowsWrittenSoFar() > 0) {
                        c.writePage();
                    }
                    c.finishChunk();
                }
                pages.flushToFileWriter(file);
                rows = 0;
                file.endBlock();
                nextRowGroupBytes = Math.min(file.getNextRowGroupSize(), rowGroupBytes);
            }
        } finally {
            for (LeafColumnWriter c : columns) {
                c.close();
            }
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

    /** Lower-case hex SHA-256 of the file as written; after {@link #close}. */
    String sha256Hex() {
        return output.sha256Hex();
    }

    /** Lets go of the file without a footer (it is being discarded after a failure). */
    void abandon() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            for (LeafColumnWriter c : columns) {
                c.close();
            }
            pages.close();
            file.close();
        } catch (IOException | RuntimeException ignored) {
            // the file is deleted by the caller either way
        } finally {
            codecs.release();
        }
    }
}
