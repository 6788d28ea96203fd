package io.countersign.audit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.parquet.column.ParquetProperties;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;

/** Opening writers and reading files back, on local paths with a plain (Hadoop-free) configuration. */
final class ParquetFiles {
    private ParquetFiles() {}

    private static final class Builder extends ParquetWriter.Builder<ChainedRecord, Builder> {
        private final RecordType type;
        private final String instanceId;

        Builder(OutputFile file, RecordType type, String instanceId) {
            super(file);
            this.type = type;
            this.instanceId = instanceId;
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        @SuppressWarnings("deprecation") // still abstract in parquet 1.15; the ParquetConfiguration overload below is the one used
        protected WriteSupport<ChainedRecord> getWriteSupport(Configuration conf) {
            return new RecordWriteSupport(type, instanceId);
        }

        @Override
        protected WriteSupport<ChainedRecord> getWriteSupport(ParquetConfiguration conf) {
            return new RecordWriteSupport(type, instanceId);
        }
    }

    /**
     * ZSTD at level 1 rather than parquet-java's default 3: the bulk of what is compressed is the two
     * 64-hex-digit hash columns (random text), which level 1 compresses about five times faster and no
     * worse (about 52 % either way); the dictionary-encoded columns are small after encoding anyway.
     */
    static final int ZSTD_LEVEL = 1;

    /** The configuration both writers use: plain (no Hadoop files), with the ZSTD level above. */
    static PlainParquetConfiguration configuration() {
        PlainParquetConfiguration conf = new PlainParquetConfiguration();
        conf.setInt("parquet.compression.codec.zstd.level", ZSTD_LEVEL);
        return conf;
    }

    /** The footer's object-model name ({@code writer.model.name}), as parquet-java's record writer would set it. */
    static final String MODEL_NAME = "countersign-audit";

    /** The footer's key-value metadata of a file of {@code type}, without the model name. */
    static Map<String, String> metadata(RecordType type) {
        return Map.of("countersign.audit.type", type.directory(), "countersign.audit.format", "1");
    }

    /** Opens the file the trail writes a record type's rows into, column by column (see {@link FrameColumnWriter}). */
    static ColumnarParquetFile columnarWriter(Path file, RecordType type, AuditConfig.Compression compression, long rollBytes)
            throws IOException {
        Map<String, String> footer = new HashMap<>(metadata(type));
        footer.put(ParquetWriter.OBJECT_MODEL_NAME_PROP, MODEL_NAME);
        return new ColumnarParquetFile(file, ParquetLayout.schema(type), footer, properties(), codec(compression),
                rowGroupBytes(rollBytes));
    }

    /** The same settings as {@link #writer}'s builder (which keeps them in its own ParquetProperties builder). */
    private static ParquetProperties properties() {
        ParquetProperties.Builder b = ParquetProperties.builder()
                .withPageWriteChecksumEnabled(true)
                .withSizeStatisticsEnabled(false);
        for (String column : UNIQUE_PER_RECORD) {
            b.withDictionaryEncoding(column, false);
        }
        for (String column : NO_MIN_MAX) {
            b.withStatisticsEnabled(column, false);
        }
        return b.build();
    }

    // Columns unique per record: a dictionary for them is built, overflows and is thrown away.
    private static final List<String> UNIQUE_PER_RECORD = List.of("seq", "prev_hash", "hash", "started", "ended", "occurred_at",
            "duration_us");
    // Min/max of 64-hex-digit hashes tell a reader nothing, nor do those of free text (statements, messages,
    // session ids): no query prunes on them, and comparing them costs on every record.
    private static final List<String> NO_MIN_MAX = List.of("prev_hash", "hash", "sql", "fingerprint", "session_id",
            "client_address", "error_message", "decision_reason", "comment", "detail");

    private static CompressionCodecName codec(AuditConfig.Compression compression) {
        return compression == AuditConfig.Compression.ZSTD ? CompressionCodecName.ZSTD : CompressionCodecName.SNAPPY;
    }

    /** Row groups go to the temp file as they fill, so a large roll size does not mean a large heap. */
    private static long rowGroupBytes(long rollBytes) {
        return Math.min(rollBytes, 16L << 20);
    }

    /**
     * Parquet-java's record-at-a-time writer over {@link RecordWriteSupport}: the reference the tests hold
     * {@link #columnarWriter}'s files against.
     */
    static ParquetWriter<ChainedRecord> writer(Path file, RecordType type, String instanceId, AuditConfig.Compression compression,
            long rollBytes) throws IOException {
        return new Builder(new LocalOutputFile(file), type, instanceId)
                .withConf(configuration())
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                .withCompressionCodec(compression == AuditConfig.Compression.ZSTD ? CompressionCodecName.ZSTD : CompressionCodecName.SNAPPY)
                // row groups go to the temp file as they fill, so a large roll size does not mean a large heap
                .withRowGroupSize(Math.min(rollBytes, 16L << 20))
                .withPageWriteChecksumEnabled(true)
                // Columns unique per record: a dictionary for them is built, overflows and is thrown away.
                .withDictionaryEncoding("seq", false)
                .withDictionaryEncoding("prev_hash", false)
                .withDictionaryEncoding("hash", false)
                .withDictionaryEncoding("started", false)
                .withDictionaryEncoding("ended", false)
                .withDictionaryEncoding("occurred_at", false)
                .withDictionaryEncoding("duration_us", false)
                // Per-value size histograms (Parquet 1.15) serve no reader of the trail and cost on every value.
                .withSizeStatisticsEnabled(false)
                // Min/max of 64-hex-digit hashes tell a reader nothing; comparing them costs on every record.
                .withStatisticsEnabled("prev_hash", false)
                .withStatisticsEnabled("hash", false)
                // Nor do min/max of free text (statements, messages, session ids): no query prunes on them.
                .withStatisticsEnabled("sql", false)
                .withStatisticsEnabled("fingerprint", false)
                .withStatisticsEnabled("session_id", false)
                .withStatisticsEnabled("client_address", false)
                .withStatisticsEnabled("error_message", false)
                .withStatisticsEnabled("decision_reason", false)
                .withStatisticsEnabled("comment", false)
                .withStatisticsEnabled("detail", false)
                .build();
    }

    /** Reads every row of an audit Parquet file (this module's reader; tests use DuckDB as the independent one). */
    static List<ParquetLayout.Row> read(Path file, RecordType type) throws IOException {
        List<ParquetLayout.Row> rows = new ArrayList<>();
        ParquetReadOptions options = ParquetReadOptions.builder(new PlainParquetConfiguration()).build();
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file), options)) {
            MessageType schema = reader.getFooter().getFileMetaData().getSchema();
            MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
            PageReadStore pages;
            while ((pages = reader.readNextRowGroup()) != null) {
                RecordReader<Group> rr = io.getRecordReader(pages, new GroupRecordConverter(schema));
                for (long i = 0; i < pages.getRowCount(); i++) {
                    rows.add(ParquetLayout.fromGroup(type, rr.read()));
                }
            }
        }
        return rows;
    }
}
