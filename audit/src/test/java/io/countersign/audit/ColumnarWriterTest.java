package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.parquet.hadoop.ParquetWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trail's column-by-column writer ({@link ColumnarParquetFile} fed by {@link FrameColumnWriter} from
 * canonical bytes) against parquet-java's record writer over the record objects ({@link RecordWriteSupport}):
 * the files must be the same byte for byte, for the shapes the other tests do not reach (every optional
 * column null, empty and multi-element lists, null list elements, non-ASCII text, several row groups, a
 * dictionary that overflows into plain encoding), and read back the same through DuckDB.
 */
class ColumnarWriterTest {
    private static final String INSTANCE = "test-node-7";
    private static final Instant AT = Instant.parse("2026-12-07T10:00:00.123456Z");

    @TempDir
    Path dir;

    static StatementRecord everyOptionalNull(Instant at) {
        return StatementRecord.builder().started(at).protocol(Protocol.MYSQL).sql("SELECT 1").build();
    }

    static StatementRecord nonAscii(int i, Instant at) {
        return StatementRecord.builder()
                .started(at)
                .ended(at.plusMillis(3))
                .agent("agënt-" + i)
                .owner("オーナー@example.com")
                .sessionId("s-😀-" + i)
                .protocol(Protocol.PG)
                .database("bäse")
                .sql("SELECT 'naïve café ✓ 𝄞' AS \"列\" -- " + i)
                .fingerprint("fp")
                .parameters(Arrays.asList(null, "ß", null, "", "日本語"))
                .statementKinds(List.of("SELECT", "WITH"))
                .categories(List.of(new CategoryReason("pii-read", null), new CategoryReason("bulk", "größer"),
                        new CategoryReason("ddl", "")))
                .tablesRead(List.of("public.t1", "public.t2", "public.t3"))
                .tablesWritten(List.of("public.ünïcode"))
                .columnsRead(List.of())
                .columnsWritten(List.of("public.ünïcode.a"))
                .decision(Decision.denied("no-ß", "nicht erlaubt — ✗"))
                .rowsReturned(0L)
                .rowsAffected(-1L)
                .bytesSent(Long.MAX_VALUE)
                .errorCode("42501")
                .errorMessage("permission denied for table «t»")
                .duration(Duration.ofNanos(1_000))
                .resultColumns(List.of("a", "b"))
                .rowKeys(List.of("public.t1:id=é"))
                .rowKeysCapped(true)
                .settledBy("explain")
                .runAsRole("rôle")
                .build();
    }

    static List<AuditRecord> statements() {
        List<AuditRecord> out = new ArrayList<>();
        out.add(everyOptionalNull(AT));
        for (int i = 0; i < 40; i++) {
            out.add(SampleRecords.statement(i, AT.plusMillis(i)));
            out.add(nonAscii(i, AT.plusMillis(i)));
            out.add(everyOptionalNull(AT.plusMillis(i)));
        }
        return out;
    }

    static List<AuditRecord> approvals() {
        List<AuditRecord> out = new ArrayList<>();
        out.add(new ApprovalRecord(AT, ApprovalRecord.Event.EXPIRED, "req-0", null, null, null, null, null, null, null, null, null));
        for (int i = 0; i < 30; i++) {
            out.add(SampleRecords.approval(i, AT.plusMillis(i)));
            out.add(new ApprovalRecord(AT, ApprovalRecord.Event.DECISION, "req-ü" + i, "rëviewer", ApprovalRecord.Channel.SLACK,
                    "approve", "ok 👍", null, "agent", null, "DELETE FROM «x»", "chat-identity"));
        }
        return out;
    }

    static List<AuditRecord> admins() {
        List<AuditRecord> out = new ArrayList<>();
        out.add(AdminRecord.of(AT, AdminRecord.Event.START, null, null));
        for (int i = 0; i < 20; i++) {
            out.add(SampleRecords.admin(i, AT.plusMillis(i)));
            out.add(new AdminRecord(AT, AdminRecord.Event.RETENTION, "ops", "détail", null, List.of(
                    new AdminRecord.DeletedFile("statements/dt=2020-01-01/a.parquet", 1, 9, 5, "ab"),
                    new AdminRecord.DeletedFile("statements/dt=2020-01-02/ü.parquet", 10, Long.MAX_VALUE, 0, "cd"),
                    new AdminRecord.DeletedFile("x", -1, 0, 1, "ef"))));
        }
        return out;
    }

    @Test
    void everyRecordShapeGivesTheSameFileAsParquetJavasRecordWriter() throws Exception {
        assertSameFile(RecordType.STATEMENT, statements(), 128L << 20);
        assertSameFile(RecordType.APPROVAL, approvals(), 128L << 20);
        assertSameFile(RecordType.ADMIN, admins(), 128L << 20);
    }

    @Test
    void aFileOfFewerRowsThanAnRleRunIsTheSameToo() throws Exception {
        assertSameFile(RecordType.STATEMENT, statements().subList(0, 5), 128L << 20);
        assertSameFile(RecordType.APPROVAL, approvals().subList(0, 1), 128L << 20);
    }

    @Test
    void severalRowGroupsAndAnOverflowingDictionaryGiveTheSameFile() throws Exception {
        List<AuditRecord> many = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) { // unique SQL text past the 1 MiB dictionary page; row groups of 256 KiB
            many.add(i % 10 == 0 ? nonAscii(i, AT.plusMillis(i)) : SampleRecords.statement(i, AT.plusMillis(i)));
        }
        assertSameFile(RecordType.STATEMENT, many, 256L << 10);
    }

    @Test
    void aDictionaryThatFillsUpAfterItsFirstPageFallsBackToPlainTheSameWay() throws Exception {
        List<AuditRecord> records = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) { // 5,000 repeating SQL texts, then 2.5 MB of unique ones in the same row group
            StatementRecord s = SampleRecords.statement(i, AT.plusMillis(i));
            String sql = i < 5_000 ? "SELECT " + (i % 10) : "SELECT " + i + " -- " + "x".repeat(80) + " ✓";
            records.add(StatementRecord.builder(s).sql(sql).build());
        }
        Path file = assertSameFile(RecordType.STATEMENT, records, 128L << 20);
        assertThat(sqlEncodings(file)).as("the case this test is for: dictionary pages, then plain ones")
                .contains(org.apache.parquet.column.Encoding.PLAIN_DICTIONARY, org.apache.parquet.column.Encoding.PLAIN);
    }

    private static java.util.Set<org.apache.parquet.column.Encoding> sqlEncodings(Path file) throws Exception {
        var options = org.apache.parquet.ParquetReadOptions.builder(new org.apache.parquet.conf.PlainParquetConfiguration()).build();
        try (var reader = org.apache.parquet.hadoop.ParquetFileReader.open(new org.apache.parquet.io.LocalInputFile(file), options)) {
            java.util.Set<org.apache.parquet.column.Encoding> out = new java.util.HashSet<>();
            for (var block : reader.getFooter().getBlocks()) {
                for (var chunk : block.getColumns()) {
                    if (chunk.getPath().toDotString().equals("sql")) {
                        out.addAll(chunk.getEncodingStats().getDataEncodings());
                    }
                }
            }
            return out;
        }
    }

    @Test
    void edgeRecordsReadBackThroughDuckDbAsWritten() throws Exception {
        List<AuditRecord> records = new ArrayList<>();
        records.addAll(statements().subList(0, 7));
        records.addAll(approvals().subList(0, 5));
        records.addAll(admins().subList(0, 5));
        AuditConfig config = AuditConfig.defaults(dir, INSTANCE);
        List<ChainedRecord> chained = chain(records);
        ParquetSink sink = new ParquetSink(config, Manifest.open(config.manifestDir()), 0);
        for (ChainedRecord c : chained) {
            byte[] canonical = RecordCodec.encode(c.seq(), c.prevHash(), c.record());
            byte[] framed = new byte[canonical.length + 20]; // at an offset, with bytes around it, as in the journal's buffer
            Arrays.fill(framed, (byte) 0x5a);
            System.arraycopy(canonical, 0, framed, 13, canonical.length);
            sink.accept(framed, 13, canonical.length);
        }
        sink.commitAll();
        List<DuckDb.Read> read = new ArrayList<>();
        for (RecordType t : RecordType.values()) {
            read.addAll(DuckDb.read(dir, t));
        }
        read.sort(java.util.Comparator.comparingLong(DuckDb.Read::seq));
        assertThat(read).hasSize(chained.size());
        for (int i = 0; i < read.size(); i++) {
            ChainedRecord want = chained.get(i);
            assertThat(read.get(i).seq()).isEqualTo(want.seq());
            assertThat(read.get(i).prevHash()).isEqualTo(want.prevHashHex());
            assertThat(read.get(i).hash()).isEqualTo(want.hashHex());
            assertThat(read.get(i).record()).isEqualTo(want.record());
        }
    }

    @Test
    void aFrameThatIsNotARecordFailsLikeDecodingIt() throws Exception {
        ChainedRecord c = chain(List.of(nonAscii(1, AT))).get(0);
        byte[] canonical = RecordCodec.encode(c.seq(), c.prevHash(), c.record());
        Path file = dir.resolve("x.parquet");
        try (ColumnarParquetFile out = ParquetFiles.columnarWriter(file, RecordType.STATEMENT, AuditConfig.Compression.ZSTD, 1 << 20)) {
            FrameColumnWriter w = new FrameColumnWriter(INSTANCE);
            assertThatThrownBy(() -> w.write(canonical, 0, canonical.length - 3, new byte[32], out.columns()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("truncated");
            byte[] trailing = Arrays.copyOf(canonical, canonical.length + 1);
            assertThatThrownBy(() -> w.write(trailing, 0, trailing.length, new byte[32], out.columns()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trailing");
            byte[] badVersion = canonical.clone();
            badVersion[0] = 2;
            assertThatThrownBy(() -> w.write(badVersion, 0, badVersion.length, new byte[32], out.columns()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("version");
        }
    }

    private static List<ChainedRecord> chain(List<AuditRecord> records) {
        List<ChainedRecord> out = new ArrayList<>();
        byte[] prev = Hashes.genesis(INSTANCE);
        long seq = 1;
        for (AuditRecord r : records) {
            ChainedRecord c = ChainedRecord.chain(seq++, prev, r);
            out.add(c);
            prev = c.hash();
        }
        return out;
    }

    /** Writes the records both ways and compares the files; returns the columnar one. */
    private Path assertSameFile(RecordType type, List<AuditRecord> records, long rollBytes) throws Exception {
        List<ChainedRecord> chained = chain(records);
        Path reference = dir.resolve(type.directory() + "-reference.parquet");
        Path columnar = dir.resolve(type.directory() + "-columnar.parquet");
        try (ParquetWriter<ChainedRecord> w = ParquetFiles.writer(reference, type, INSTANCE, AuditConfig.Compression.ZSTD, rollBytes)) {
            for (ChainedRecord c : chained) {
                w.write(c);
            }
        }
        FrameColumnWriter frames = new FrameColumnWriter(INSTANCE);
        try (ColumnarParquetFile w = ParquetFiles.columnarWriter(columnar, type, AuditConfig.Compression.ZSTD, rollBytes)) {
            for (ChainedRecord c : chained) {
                byte[] canonical = RecordCodec.encode(c.seq(), c.prevHash(), c.record());
                byte[] hash = frames.hash(canonical, 0, canonical.length);
                assertThat(hash).isEqualTo(c.hash());
                frames.write(canonical, 0, canonical.length, hash, w.columns());
                Arrays.fill(canonical, (byte) 0); // the writer must have copied what it keeps
                w.endRow();
            }
        }
        List<ParquetLayout.Row> rows = ParquetFiles.read(columnar, type);
        assertThat(rows).extracting(ParquetLayout.Row::record).containsExactlyElementsOf(records);
        assertThat(Files.mismatch(reference, columnar)).as("first differing byte of the %s files", type).isEqualTo(-1L);
        return columnar;
    }
}
