package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

class AuditTrailRoundTripTest {
    @TempDir
    Path dir;
    @TempDir
    Path stagingDir;

    /** A directory for a small test ring of our own (the default ring lives in /dev/shm). */
    private Path shm() {
        return stagingDir;
    }

    private AuditConfig config() {
        return AuditConfig.defaults(dir, "test-node-1");
    }

    private static void appendAll(AuditTrail trail, List<AuditRecord> records) throws Exception {
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (AuditRecord r : records) {
            fs.add(trail.append(r));
        }
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    }

    @Test
    void everyRecordTypeReadsBackThroughDuckDbFieldByField() throws Exception {
        // Starts just before midnight UTC so the records span two dt= partitions.
        List<AuditRecord> written = SampleRecords.mixed(300, Instant.parse("2026-03-01T23:59:59.100Z"));
        try (AuditTrail trail = AuditTrail.open(config())) {
            appendAll(trail, written);
        }

        List<DuckDb.Read> all = new ArrayList<>();
        for (RecordType t : RecordType.values()) {
            List<DuckDb.Read> rows = DuckDb.read(dir, t);
            assertThat(rows).as(t + " rows").isNotEmpty();
            all.addAll(rows);
        }
        all.sort(Comparator.comparingLong(DuckDb.Read::seq));
        assertThat(all).hasSize(written.size());
        byte[] prev = Hashes.genesis("test-node-1");
        for (int i = 0; i < written.size(); i++) {
            DuckDb.Read r = all.get(i);
            assertThat(r.seq()).isEqualTo(i + 1);
            assertThat(r.record()).as("record at seq " + r.seq()).isEqualTo(written.get(i));
            assertThat(r.dt()).isEqualTo(ParquetSink.dt(written.get(i).at()));
            // the chain: each row names the previous row's hash, and its own hash is over its canonical bytes
            assertThat(r.prevHash()).isEqualTo(Hashes.hex(prev));
            byte[] own = Hashes.sha256(RecordCodec.encode(r.seq(), prev, r.record()));
            assertThat(r.hash()).isEqualTo(Hashes.hex(own));
            prev = own;
        }
        assertThat(all.stream().map(DuckDb.Read::dt).distinct()).containsExactlyInAnyOrder("2026-03-01", "2026-03-02");
        // the raw timestamp columns are TIMESTAMP WITH TIME ZONE (UTC-adjusted micros) for query tools
        assertThat(DuckDb.scalar("SELECT count(*) FROM (DESCRIBE SELECT started FROM read_parquet('" + DuckDb.glob(dir, RecordType.STATEMENT)
                + "')) WHERE column_type = 'TIMESTAMP WITH TIME ZONE'")).isEqualTo(1);
        // no temp files left behind, every file is in the manifest
        try (Stream<Path> files = Files.walk(dir)) {
            assertThat(files.filter(p -> p.toString().endsWith(ParquetSink.TEMP_SUFFIX))).isEmpty();
        }
        assertThat(Manifest.read(dir.resolve("_manifest")).entries()).allSatisfy(e -> assertThat(dir.resolve(e.file())).exists());
    }

    @Test
    void reopeningContinuesTheChainAndTrimsTheJournal() throws Exception {
        List<AuditRecord> first = SampleRecords.mixed(20, Instant.parse("2026-04-01T10:00:00Z"));
        List<AuditRecord> second = SampleRecords.mixed(15, Instant.parse("2026-04-01T11:00:00Z"));
        try (AuditTrail trail = AuditTrail.open(config().withJournalSegmentBytes(4096))) {
            appendAll(trail, first);
        }
        try (AuditTrail trail = AuditTrail.open(config().withJournalSegmentBytes(4096))) {
            assertThat(trail.recovery().nextSeq()).isEqualTo(21);
            appendAll(trail, second);
        }
        assertThat(Journal.listSegments(dir.resolve("journal"))).as("closed segments fully in Parquet are deleted").hasSize(1);
        List<DuckDb.Read> all = new ArrayList<>();
        for (RecordType t : RecordType.values()) {
            all.addAll(DuckDb.read(dir, t));
        }
        all.sort(Comparator.comparingLong(DuckDb.Read::seq));
        assertThat(all).extracting(DuckDb.Read::seq).containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, 35).boxed().toList());
        for (int i = 1; i < all.size(); i++) {
            assertThat(all.get(i).prevHash()).isEqualTo(all.get(i - 1).hash());
        }
    }

    @Test
    void aTornTailIsDroppedAndTheChainContinuesFromTheLastWholeRecord() throws Exception {
        try (AuditTrail trail = AuditTrail.open(config())) {
            appendAll(trail, SampleRecords.mixed(5, Instant.parse("2026-04-02T10:00:00Z")));
        }
        List<Journal.Segment> segs = Journal.listSegments(dir.resolve("journal"));
        Path last = segs.get(segs.size() - 1).path();
        long sizeBefore = Files.size(last);
        // a frame header promising 500 bytes followed by only a few: what a crash mid-write leaves
        Files.write(last, new byte[] {0, 0, 1, (byte) 244, 1, 2, 3, 4, 9, 9, 9}, StandardOpenOption.APPEND);
        try (AuditTrail trail = AuditTrail.open(config())) {
            assertThat(trail.recovery().notes()).anySatisfy(n -> assertThat(n).contains("torn tail"));
            // cut off; what follows it now is at most zeros filled ahead for the fast path
            byte[] after = Files.readAllBytes(last);
            // (empty when the journal thread has not filled ahead yet)
            byte[] where = java.util.Arrays.copyOfRange(after, (int) sizeBefore, (int) Math.min(after.length, sizeBefore + 11));
            assertThat(new String(where, java.nio.charset.StandardCharsets.ISO_8859_1)).as("bytes where the torn frame was").matches("\\x00*");
            assertThat(trail.recovery().nextSeq()).isEqualTo(6);
            appendAll(trail, SampleRecords.mixed(3, Instant.parse("2026-04-02T11:00:00Z")));
        }
        Journal.Scan scan = Journal.scan(dir.resolve("journal"), 1, Hashes.genesis("test-node-1"), false);
        assertThat(scan.notes()).isEmpty();
        assertThat(scan.nextSeq()).isEqualTo(9);
    }

    @Test
    void aSecondTrailOnTheSameDirectoryIsRefusedWithAClearError() throws Exception {
        try (AuditTrail trail = AuditTrail.open(config())) {
            assertThat(trail.acceptingStatements()).isTrue();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> AuditTrail.open(config()))
                    .isInstanceOf(AuditStorageException.class)
                    .hasMessageContaining("in use by another");
        }
    }

    @Test
    void boundedFsyncAcknowledgesAndStillLandsEverythingInParquet() throws Exception {
        List<AuditRecord> written = SampleRecords.mixed(100, Instant.parse("2026-04-03T10:00:00Z"));
        try (AuditTrail trail = AuditTrail.open(config().withFsync(FsyncPolicy.bounded(java.time.Duration.ofMillis(5)))
                .withCompression(AuditConfig.Compression.SNAPPY))) {
            appendAll(trail, written);
        }
        long total = 0;
        for (RecordType t : RecordType.values()) {
            total += DuckDb.read(dir, t).size();
        }
        assertThat(total).isEqualTo(100);
    }

    @Test
    void parquetFilesAppearWithinTheRollIntervalWhileTheTrailIsOpenAndTheJournalIsTrimmed() throws Exception {
        AuditConfig config = config().withParquetRoll(1 << 20, java.time.Duration.ofMillis(150)).withJournalSegmentBytes(4096);
        try (AuditTrail trail = AuditTrail.open(config)) {
            appendAll(trail, SampleRecords.mixed(40, Instant.parse("2026-04-04T10:00:00Z")));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long seen = 0;
            while (System.nanoTime() < deadline) {
                seen = Manifest.read(dir.resolve("_manifest")).entries().stream().mapToLong(ManifestEntry::records).sum();
                if (seen == 40) {
                    break;
                }
                Thread.sleep(20);
            }
            assertThat(seen).as("records committed to Parquet while open").isEqualTo(40);
            long statements = DuckDb.read(dir, RecordType.STATEMENT).size();
            assertThat(statements).isEqualTo(SampleRecords.mixed(40, Instant.EPOCH).stream().filter(r -> r instanceof StatementRecord).count());
            // 40 records of ~700 bytes span several 4 KiB segments; only the one being written remains
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (Journal.listSegments(dir.resolve("journal")).size() > 1 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(Journal.listSegments(dir.resolve("journal"))).hasSize(1);
        }
    }

    @Test
    void damageInsideTheJournalIsNotMistakenForATornTail() throws Exception {
        AuditConfig config = config().withJournalSegmentBytes(4096).withParquetRoll(1 << 20, java.time.Duration.ofHours(1));
        // copy the segments aside while the trail is open (closing trims them)
        try (AuditTrail trail = AuditTrail.open(config)) {
            for (AuditRecord r : SampleRecords.mixed(30, Instant.parse("2026-04-05T10:00:00Z"))) {
                trail.append(r).get(10, TimeUnit.SECONDS); // one batch each, so the 4 KiB segments roll
            }
            Files.createDirectories(dir.resolveSibling(dir.getFileName() + "-copy"));
            for (Journal.Segment s : Journal.listSegments(dir.resolve("journal"))) {
                Files.copy(s.path(), dir.resolveSibling(dir.getFileName() + "-copy").resolve(s.path().getFileName()));
            }
        }
        Path copy = dir.resolveSibling(dir.getFileName() + "-copy");
        List<Journal.Segment> segs = Journal.listSegments(copy);
        assertThat(segs).hasSizeGreaterThan(1);
        Path first = segs.get(0).path();
        byte[] bytes = Files.readAllBytes(first);
        bytes[Journal.HEADER_BYTES + 40] ^= 0x10;
        Files.write(first, bytes);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Journal.scan(copy, 1, Hashes.genesis("test-node-1"), true))
                .isInstanceOf(AuditStorageException.class)
                .hasMessageContaining(first.getFileName().toString())
                .hasMessageContaining("not the last segment");
        assertThat(Files.readAllBytes(first)).as("nothing repaired away").isEqualTo(bytes);
    }

    @Test
    void anOversizedRecordIsRejectedAloneAndTheTrailStaysHealthy() throws Exception {
        try (AuditTrail trail = AuditTrail.open(config())) {
            StatementRecord huge = StatementRecord.builder(SampleRecords.statement(1, Instant.parse("2026-04-06T10:00:00Z")))
                    .sql("SELECT '" + "x".repeat(Journal.MAX_FRAME) + "'").build();
            CompletableFuture<Void> before = trail.append(SampleRecords.statement(2, Instant.parse("2026-04-06T10:00:01Z")));
            CompletableFuture<Void> tooBig = trail.append(huge);
            CompletableFuture<Void> after = trail.append(SampleRecords.statement(3, Instant.parse("2026-04-06T10:00:02Z")));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> tooBig.get(30, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("byte limit");
            before.get(10, TimeUnit.SECONDS);
            after.get(10, TimeUnit.SECONDS);
            assertThat(trail.health().ok()).isTrue();
            AuditTrail.Stats stats = trail.stats();
            assertThat(stats.acknowledged()).isEqualTo(2);
            assertThat(stats.rejected()).isEqualTo(1);
            assertThat(stats.refused()).isZero();
            assertThat(stats.fsyncs()).isBetween(1L, 2L);
            assertThat(stats.durableSeq()).isEqualTo(2);
            assertThat(stats.pending()).isZero();
        }
        assertThat(DuckDb.read(dir, RecordType.STATEMENT)).extracting(r -> ((StatementRecord) r.record()).sessionId())
                .containsExactly("s-2", "s-3");
    }

    @Test
    void appendsRacingWithCloseAllCompleteOneWayOrTheOther() throws Exception {
        AuditTrail trail = AuditTrail.open(config().withFsync(FsyncPolicy.bounded(java.time.Duration.ofMillis(2))));
        List<CompletableFuture<Void>> futures = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * 1_000_000;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; !stop.get(); i++) {
                    CompletableFuture<Void> f = trail.append(SampleRecords.statement(base + i, Instant.parse("2026-04-07T10:00:00Z")));
                    futures.add(f);
                    if (i % 50 == 0) {
                        f.exceptionally(e -> null).join(); // keep the backlog realistic
                    }
                }
            }));
        }
        Thread.sleep(300);
        trail.close();
        Thread.sleep(50);
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        long ok = 0;
        for (CompletableFuture<Void> f : futures) {
            try {
                f.get(10, TimeUnit.SECONDS);
                ok++;
            } catch (java.util.concurrent.ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(AuditUnavailableException.class).hasMessageContaining("closed");
            }
        }
        assertThat(ok).isPositive();
        assertThat(DuckDb.read(dir, RecordType.STATEMENT)).hasSize((int) ok);
    }

    /** Something removes the ring's file while the trail uses it: a new one takes its place, nothing is lost. */
    @Test
    void aRingFileRemovedWhileInUseIsMadeAgainAndNothingIsLost() throws Exception {
        AuditConfig cfg = config().withFsync(FsyncPolicy.bounded(java.time.Duration.ofMillis(5)))
                .withStaging(new AuditConfig.Staging(shm(), 64 * 1024));
        int n = 0;
        try (AuditTrail trail = AuditTrail.open(cfg)) {
            for (; n < 200; n++) {
                trail.append(StatementRecord.builder(SampleRecords.statement(n, Instant.now())).sessionId("rm-" + n).build()).join();
            }
            Object before = Files.readAttributes(cfg.stagingFile(), java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            Files.delete(cfg.stagingFile());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(cfg.stagingFile()) && System.nanoTime() < deadline) {
                trail.append(StatementRecord.builder(SampleRecords.statement(n, Instant.now())).sessionId("rm-" + n).build()).join();
                n++;
                Thread.sleep(5);
            }
            assertThat(cfg.stagingFile()).as("a new ring file").exists();
            assertThat(Files.readAttributes(cfg.stagingFile(), java.nio.file.attribute.BasicFileAttributes.class).fileKey()).isNotEqualTo(before);
            for (int i = 0; i < 200; i++, n++) {
                trail.append(StatementRecord.builder(SampleRecords.statement(n, Instant.now())).sessionId("rm-" + n).build()).join();
            }
        }
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.ok()).as(report.render()).isTrue();
        assertThat(report.recordsChecked()).isEqualTo(n);
    }

    /**
     * Four writers at once over small segments, with a small staging ring that wraps many times or with
     * none. With the ring every record takes the fast path and the journal thread rolls segments behind
     * it; without, the records that meet a full segment go through the journal thread. Either way the
     * chain has one order with nothing missing.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"bounded:5ms,ring", "per-statement,ring", "bounded:5ms,file", "per-statement,file"})
    void concurrentWritersOverManySegmentsKeepOneUnbrokenChain(String fsync, String staging) throws Exception {
        int writers = 4;
        int each = fsync.startsWith("bounded") ? 3000 : 400;
        boolean ring = staging.equals("ring");
        AuditConfig cfg = config().withFsync(FsyncPolicy.parse(fsync)).withJournalSegmentBytes(512 * 1024)
                .withParquetRoll(256 * 1024, java.time.Duration.ofMillis(200))
                .withStaging(ring ? new AuditConfig.Staging(shm(), 64 * 1024) : null);
        AuditTrail.Stats stats;
        try (AuditTrail trail = AuditTrail.open(cfg)) {
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                // like agent sessions: each writer waits for its acknowledgement before the next statement
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < each; i++) {
                        trail.append(StatementRecord.builder(SampleRecords.statement(i, Instant.now()))
                                .sessionId("w" + writer + "-" + i).build()).join();
                    }
                }));
            }
            for (Thread t : threads) {
                t.join(60_000);
            }
            stats = trail.stats();
        }
        assertThat(stats.acknowledged()).isEqualTo((long) writers * each);
        if (ring) {
            if (fsync.startsWith("bounded")) {
                // acknowledged once staged, the writers fill the ring faster than the journal takes it, and
                // then records wait in the journal thread's queue; how many go each way is the scheduler's
                // choice (5,804 of 12,000 staged in one CI run), but a thousand frames wrap 64 KiB several times
                assertThat(stats.fastPath()).as("records staged in the ring").isGreaterThan(1000);
            } else {
                // each writer waits for its fsync, so at most four frames are in the ring: it never fills
                assertThat(stats.fastPath()).as("records staged in the ring").isEqualTo((long) writers * each);
            }
            assertThat(Files.exists(cfg.stagingFile())).as("a drained ring is removed at close").isFalse();
        } else {
            assertThat(stats.fastPath()).as("records on the fast path (the rest met a segment roll)").isPositive().isLessThan((long) writers * each);
        }
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.ok()).as(report.render()).isTrue();
        assertThat(report.recordsChecked()).isEqualTo((long) writers * each);
        assertThat(DuckDb.scalar("SELECT count(DISTINCT session_id) FROM read_parquet('" + DuckDb.glob(dir, RecordType.STATEMENT) + "')"))
                .isEqualTo((long) writers * each);
        try (Stream<Path> segs = Files.list(dir.resolve("journal"))) {
            // closed cleanly: the journal is trimmed and no zero-filled space is left behind
            assertThat(segs.filter(p -> p.getFileName().toString().startsWith("segment-")))
                    .allSatisfy(p -> assertThat(Files.size(p)).isLessThan(512 * 1024 + 4096));
        }
    }

    /**
     * A reader following the journal while writers append: it reads ahead into frames still being copied,
     * and must never take such a half-written frame for damage or return it.
     */
    @Test
    void aTailFollowingLiveWritersSeesEveryDurableRecordWhole() throws Exception {
        int total = 60_000;
        AuditConfig cfg = config().withFsync(FsyncPolicy.bounded(java.time.Duration.ofMillis(1))).withJournalSegmentBytes(8 << 20);
        try (AuditTrail trail = AuditTrail.open(cfg); JournalTail tail = new JournalTail(dir.resolve("journal"), 0)) {
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                int writer = w;
                writers.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < total / 3; i++) {
                        trail.append(StatementRecord.builder(SampleRecords.statement(i, Instant.now())).sessionId("t" + writer + "-" + i).build()).join();
                    }
                }));
            }
            byte[] prev = Hashes.genesis("test-node-1");
            long seen = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (seen < total && System.nanoTime() < deadline) {
                for (ChainedRecord r : tail.next(trail.stats().durableSeq(), 7)) {
                    assertThat(r.seq()).isEqualTo(seen + 1);
                    assertThat(r.prevHash()).isEqualTo(prev);
                    prev = r.hash();
                    seen++;
                }
            }
            for (Thread t : writers) {
                t.join();
            }
            assertThat(seen).isEqualTo(total);
        }
    }
}
