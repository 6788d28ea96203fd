package io.countersign.audit;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * CPU per record of the journal-to-Parquet conversion, the way the trail's Parquet thread does it: a
 * journal of N statement records is written first, then {@link JournalTail} and {@link ParquetSink} turn
 * it into committed Parquet on this thread, whose CPU time (not wall time: the machine is shared) is
 * divided by N. Every round's files are read back and compared with the records, so a fast wrong writer
 * fails here too.
 *
 * <p>{@code java -cp <test classpath> io.countersign.audit.ParquetConversionCpuMain [records] [rounds] [pgbench|mixed] [ZSTD|SNAPPY]}
 */
public final class ParquetConversionCpuMain {
    private ParquetConversionCpuMain() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 150_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        String profile = args.length > 2 ? args[2] : "pgbench";
        AuditConfig.Compression compression = AuditConfig.Compression.valueOf(args.length > 3 ? args[3] : "ZSTD");
        List<AuditRecord> records = records(profile, n);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        List<Double> perRecord = new ArrayList<>();
        for (int round = 0; round <= rounds; round++) { // round 0 warms the JIT and is not reported
            Path dir = Files.createTempDirectory("parquet-cpu");
            try {
                AuditConfig config = AuditConfig.defaults(dir, "cs-bench").withCompression(compression);
                List<ChainedRecord> chained = writeJournal(config, records);
                Manifest manifest = Manifest.open(config.manifestDir());
                ParquetSink sink = new ParquetSink(config, manifest, 0);
                long cpu0 = mx.getCurrentThreadCpuTime();
                long wall0 = System.nanoTime();
                try (JournalTail tail = new JournalTail(config.journalDir(), 0)) {
                    while (tail.nextSeq() <= n) {
                        tail.feed(n, 1024, sink::accept); // what the trail's convertTurn does
                    }
                }
                sink.commitAll();
                long cpu = mx.getCurrentThreadCpuTime() - cpu0;
                long wall = System.nanoTime() - wall0;
                long bytes = check(config, chained);
                if (round > 0 && Boolean.getBoolean("breakdown")) {
                    breakdown(config, n);
                }
                if (round > 0) {
                    perRecord.add(cpu / 1000.0 / n);
                    System.out.printf("round %d (%s): %d records, %.2f us CPU/record, %.2f us wall/record, %.1f bytes/record in Parquet%n",
                            round, profile, n, cpu / 1000.0 / n, wall / 1000.0 / n, (double) bytes / n);
                }
            } finally {
                deleteTree(dir);
            }
        }
        List<Double> sorted = perRecord.stream().sorted().toList();
        System.out.printf("%s: CPU us/record over %d rounds: min %.2f, median %.2f%n", profile, sorted.size(), sorted.get(0),
                sorted.get(sorted.size() / 2));
    }

    /** CPU per record of the conversion's parts, each run alone over the same journal (a rough split, for tuning). */
    private static void breakdown(AuditConfig config, int n) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        FrameColumnWriter frames = new FrameColumnWriter(config.instanceId());
        String[] names = {"read+crc", "+sha256", "+values into column writers (no pages)"};
        Path scratch = Files.createTempFile(config.directory(), "breakdown", ".parquet");
        ColumnarParquetFile file = ParquetFiles.columnarWriter(scratch, RecordType.STATEMENT, config.compression(), 1L << 40);
        for (int part = 0; part < names.length; part++) {
            int p = part;
            long cpu0 = mx.getCurrentThreadCpuTime();
            try (JournalTail tail = new JournalTail(config.journalDir(), 0)) {
                while (tail.nextSeq() <= n) {
                    tail.feed(n, 1024, (b, off, len) -> {
                        if (p >= 1) {
                            byte[] h = frames.hash(b, off, len);
                            if (p >= 2) {
                                frames.write(b, off, len, h, file.columns());
                            }
                        }
                    });
                }
            }
            System.out.printf("  %s: %.2f us/record%n", names[part], (mx.getCurrentThreadCpuTime() - cpu0) / 1000.0 / n);
        }
        file.abandon();
    }

    static List<AuditRecord> records(String profile, int n) {
        Instant start = Instant.parse("2026-12-07T10:00:00Z");
        if (profile.equals("mixed")) {
            List<AuditRecord> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(SampleRecords.statement(i, start.plusMillis(i)));
            }
            return out;
        }
        List<AuditRecord> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(pgbenchSelect(i, start.plusNanos(i * 37_000L)));
        }
        return out;
    }

    /** What the proxy records for one {@code pgbench -S -M prepared} transaction, as close as it matters here. */
    static StatementRecord pgbenchSelect(int i, Instant at) {
        int aid = 1 + (int) ((i * 2_654_435_761L) % 1_000_000);
        return StatementRecord.builder()
                .started(at)
                .ended(at.plusNanos(180_000 + (i % 97) * 1_000L))
                .agent("bench-agent")
                .owner("ops@example.com")
                .sessionId("pg-" + (i % 8) + "-7f3a9c")
                .clientAddress("/127.0.0.1:" + (40_000 + i % 8))
                .protocol(Protocol.PG)
                .database("cs_ap")
                .sql("SELECT abalance FROM pgbench_accounts WHERE aid = $1;")
                .fingerprint("9c1b7e0f3d2a4b65")
                .parameters(List.of(Integer.toString(aid)))
                .statementKinds(List.of("SELECT"))
                .categories(List.of())
                .tablesRead(List.of("public.pgbench_accounts"))
                .tablesWritten(List.of())
                .columnsRead(List.of("public.pgbench_accounts.abalance", "public.pgbench_accounts.aid"))
                .columnsWritten(List.of())
                .decision(Decision.allowedByRule("read-only-default"))
                .rowsReturned(1L)
                .bytesSent(77L)
                .duration(Duration.ofNanos(180_000 + (i % 97) * 1_000L))
                .resultColumns(List.of("public.pgbench_accounts.abalance"))
                .rowKeys(List.of("public.pgbench_accounts:aid=" + aid))
                .rowKeysCapped(false)
                .settledBy("RULES")
                .build();
    }

    private static List<ChainedRecord> writeJournal(AuditConfig config, List<AuditRecord> records) throws Exception {
        List<ChainedRecord> chained = new ArrayList<>(records.size());
        byte[] prev = Hashes.genesis(config.instanceId());
        try (Journal journal = Journal.openForAppend(config.journalDir(), config.journalSegmentBytes(), 1, prev)) {
            long seq = 1;
            for (AuditRecord r : records) {
                ChainedRecord c = ChainedRecord.chain(seq, prev, r);
                journal.write(RecordCodec.encode(seq, prev, r));
                chained.add(c);
                prev = c.hash();
                seq++;
                if (seq % 4096 == 0) {
                    journal.flushFrames();
                    journal.rollIfFull(seq, prev);
                }
            }
            journal.flushFrames();
            journal.force();
        }
        return chained;
    }

    /** Reads every committed file back and compares it with the records; returns the files' total size. */
    private static long check(AuditConfig config, List<ChainedRecord> chained) throws Exception {
        Manifest manifest = Manifest.open(config.manifestDir());
        long bytes = 0;
        int i = 0;
        for (ManifestEntry e : manifest.entries()) {
            Path file = config.directory().resolve(e.file());
            bytes += Files.size(file);
            if (!Hashes.fileSha256(file).equals(e.sha256())) {
                throw new AssertionError(e.file() + " does not have the SHA-256 its manifest line says");
            }
            for (ParquetLayout.Row row : ParquetFiles.read(file, RecordType.STATEMENT)) {
                ChainedRecord want = chained.get(i++);
                // what the verifier does: the row's columns must encode to the record's canonical bytes
                byte[] rehashed = Hashes.sha256(RecordCodec.encode(row.seq(), Hashes.unhex(row.prevHash()), row.record()));
                if (row.seq() != want.seq() || !row.hash().equals(want.hashHex()) || !row.prevHash().equals(want.prevHashHex())
                        || !Arrays.equals(rehashed, want.hash()) || !row.instanceId().equals(config.instanceId())) {
                    throw new AssertionError("row " + row.seq() + " differs from the record written: " + row + " vs " + want.record());
                }
            }
        }
        if (i != chained.size()) {
            throw new AssertionError("Parquet holds " + i + " rows, " + chained.size() + " were written");
        }
        return bytes;
    }

    private static void deleteTree(Path dir) throws Exception {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
