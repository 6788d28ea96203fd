package io.countersign.audit;

import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;

/**
 * Writes chained records of one type through parquet-java's record path (RecordConsumer), from their
 * fields. The trail writes with {@link ColumnarParquetFile} and {@link FrameColumnWriter} instead; this
 * is the reference the tests compare that faster path with, file for file.
 */
final class RecordWriteSupport extends WriteSupport<ChainedRecord> {
    private final RecordType type;
    private final List<Column<ChainedRecord>> columns;
    private final MessageType schema;
    private RecordConsumer consumer;

    RecordWriteSupport(RecordType type, String instanceId) {
        this.type = type;
        this.columns = ParquetLayout.columns(type, instanceId);
        this.schema = ParquetLayout.schema(type);
    }

    @Override
    @SuppressWarnings("deprecation") // still abstract in parquet 1.15; we are given a PlainParquetConfiguration
    public WriteContext init(Configuration configuration) {
        return context();
    }

    @Override
    public WriteContext init(ParquetConfiguration configuration) {
        return context();
    }

    private WriteContext context() {
        return new WriteContext(schema, ParquetFiles.metadata(type));
    }

    @Override
    public String getName() {
        return ParquetFiles.MODEL_NAME;
    }

    @Override
    public void prepareForWrite(RecordConsumer recordConsumer) {
        this.consumer = recordConsumer;
    }

    @Override
    public void write(ChainedRecord record) {
        consumer.startMessage();
        for (int i = 0; i < columns.size(); i++) {
            columns.get(i).write(consumer, i, record);
        }
        consumer.endMessage();
    }
}
