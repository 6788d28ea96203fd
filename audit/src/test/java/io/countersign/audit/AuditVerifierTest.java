package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import io.countersign.audit.VerificationReport.Kind;
import io.countersign.audit.VerificationReport.Problem;
import org.apache.parquet.hadoop.ParquetWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditVerifierTest {
    @TempDir
    Path dir;

    private AuditConfig config() {
        // small roll size: several files per type and date, so tampering one file leaves others intact
        return AuditConfig.defaults(dir, "verify-node").withParquetRoll(16 * 1024, Duration.ofMinutes(5));
    }

    private void writeTrail(AuditConfig config, List<AuditRecord> records) throws Exception {
        try (AuditTrail trail = AuditTrail.open(config)) {
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (AuditRecord r : records) {
                fs.add(trail.append(r));
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        }
    }

    private void writeDefaultTrail() throws Exception {
        writeTrail(config(), SampleRecords.mixed(120, Instant.parse("2026-05-01T08:00:00Z")));
    }

    /** A committed statements file holding at least {@code minRows} rows. */
    private ManifestEntry statementFile(int minRows) throws Exception {
        return Manifest.read(dir.resolve("_manifest")).entries().stream()
                .filter(e -> e.type().equals("statements") && e.records() >= minRows).findFirst().orElseThrow();
    }

    private static List<ChainedRecord> rows(Path file) throws Exception {
        List<ChainedRecord> out = new ArrayList<>();
        for (ParquetLayout.Row r : ParquetFiles.read(file, RecordType.STATEMENT)) {
            out.add(new ChainedRecord(r.seq(), Hashes.unhex(r.prevHash()), Hashes.unhex(r.hash()), r.record()));
        }
        return out;
    }

    /** What an attacker with write access would do: rewrite the file with edited rows (keeping stored hashes). */
    private static void rewrite(Path file, List<ChainedRecord> rows) throws Exception {
        Files.delete(file);
        try (ParquetWriter<ChainedRecord> w = ParquetFiles.writer(file, RecordType.STATEMENT, "verify-node", AuditConfig.Compression.ZSTD, 1 << 20)) {
            for (ChainedRecord r : rows) {
                w.write(r);
            }
        }
    }

    private static Problem only(VerificationReport report, Kind kind) {
        assertThat(report.ok()).as(report.render()).isFalse();
        return report.problems().stream().filter(p -> p.kind() == kind).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " problem in:\n" + report.render()));
    }

    @Test
    void anIntactTrailVerifies() throws Exception {
        writeDefaultTrail();
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.ok()).as(report.render()).isTrue();
        assertThat(report.recordsChecked()).isEqualTo(120);
        assertThat(report.firstSeq()).isEqualTo(1);
        assertThat(report.lastSeq()).isEqualTo(120);
        assertThat(report.filesChecked()).isGreaterThan(3);
    }

    @Test
    void aFlippedByteIsCaughtAndTheFileNamed() throws Exception {
        writeDefaultTrail();
        ManifestEntry e = statementFile(2);
        Path file = dir.resolve(e.file());
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(file, bytes);
        Problem p = only(AuditVerifier.verify(dir), Kind.CHANGED);
        assertThat(p.file()).isEqualTo(e.file());
    }

    @Test
    void anEditedFieldIsCaughtAsAHashMismatchAtItsSeq() throws Exception {
        writeDefaultTrail();
        ManifestEntry e = statementFile(2);
        Path file = dir.resolve(e.file());
        List<ChainedRecord> rows = rows(file);
        ChainedRecord victim = rows.get(1);
        StatementRecord s = (StatementRecord) victim.record();
        StatementRecord edited = new StatementRecord(s.started(), s.ended(), "someone-else", s.owner(), s.sessionId(),
                s.clientAddress(), s.protocol(), s.database(), s.sql(), s.fingerprint(), s.parameters(), s.statementKinds(),
                s.categories(), s.tablesRead(), s.tablesWritten(), s.columnsRead(), s.columnsWritten(), s.decision(),
                s.rowsReturned(), s.rowsAffected(), s.bytesSent(), s.errorCode(), s.errorMessage(), s.duration(),
                s.resultColumns(), s.rowKeys(), s.rowKeysCapped(), s.settledBy());
        rows.set(1, new ChainedRecord(victim.seq(), victim.prevHash(), victim.hash(), edited));
        rewrite(file, rows);
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.problems()).as(report.render()).anySatisfy(p -> {
            assertThat(p.kind()).isEqualTo(Kind.CHANGED);
            assertThat(p.seq()).isEqualTo(victim.seq());
            assertThat(p.file()).isEqualTo(e.file());
            assertThat(p.detail()).contains("hash mismatch");
        });
    }

    @Test
    void aDeletedRecordIsCaughtAsAGapAtItsSeq() throws Exception {
        writeDefaultTrail();
        ManifestEntry e = statementFile(3);
        Path file = dir.resolve(e.file());
        List<ChainedRecord> rows = rows(file);
        ChainedRecord removed = rows.remove(1);
        rewrite(file, rows);
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.problems()).as(report.render()).anySatisfy(p -> {
            assertThat(p.kind()).isEqualTo(Kind.DELETED);
            assertThat(p.seq()).isEqualTo(removed.seq());
            assertThat(p.detail()).contains("seq " + removed.seq() + " missing");
        });
    }

    @Test
    void aRemovedFileIsReportedMissing() throws Exception {
        writeDefaultTrail();
        ManifestEntry e = statementFile(1);
        Files.delete(dir.resolve(e.file()));
        Problem p = only(AuditVerifier.verify(dir), Kind.MISSING);
        assertThat(p.file()).isEqualTo(e.file());
        assertThat(p.detail()).contains("seq " + e.firstSeq() + ".." + e.lastSeq());
    }

    @Test
    void aFileNotInTheManifestIsReported() throws Exception {
        writeDefaultTrail();
        ManifestEntry e = statementFile(1);
        Path copy = dir.resolve(e.file()).resolveSibling("part-extra.parquet");
        Files.copy(dir.resolve(e.file()), copy);
        Problem p = only(AuditVerifier.verify(dir), Kind.UNLISTED);
        assertThat(p.file()).endsWith("part-extra.parquet");
    }

    @Test
    void aReorderedPairIsReported() throws Exception {
        writeDefaultTrail();
        ManifestEntry e = statementFile(3);
        Path file = dir.resolve(e.file());
        List<ChainedRecord> rows = rows(file);
        ChainedRecord a = rows.get(0);
        rows.set(0, rows.get(1));
        rows.set(1, a);
        rewrite(file, rows);
        Problem p = only(AuditVerifier.verify(dir), Kind.REORDERED);
        assertThat(p.file()).isEqualTo(e.file());
        assertThat(p.seq()).isEqualTo(a.seq());
    }

    @Test
    void removingTheNewestRecordsIsCaughtByTheChainHead() throws Exception {
        writeDefaultTrail();
        // drop the newest file and its manifest line, as someone covering their tracks would
        List<ManifestEntry> entries = new ArrayList<>(Manifest.read(dir.resolve("_manifest")).entries());
        ManifestEntry newest = entries.stream().max(java.util.Comparator.comparingLong(ManifestEntry::lastSeq)).orElseThrow();
        entries.remove(newest);
        Files.delete(dir.resolve(newest.file()));
        StringBuilder b = new StringBuilder();
        for (ManifestEntry e : entries) {
            b.append(Manifest.JSON.writeValueAsString(e)).append('\n');
        }
        Files.writeString(dir.resolve("_manifest").resolve(Manifest.FILE), b);
        deleteJournal();
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.problems()).as(report.render()).anySatisfy(p -> {
            assertThat(p.kind()).isEqualTo(Kind.DELETED);
            assertThat(p.seq()).isEqualTo(newest.lastSeq());
            assertThat(p.detail()).contains("chain head").contains("newest records were removed");
        });
    }

    private void deleteJournal() throws Exception {
        for (Journal.Segment s : Journal.listSegments(dir.resolve("journal"))) {
            Files.delete(s.path());
        }
    }

    @Test
    void theSignedChainHeadVerifiesWithTheTrustedKeyOnly() throws Exception {
        KeyPair key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        KeyPair other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        writeTrail(config().withSigningKey(key), SampleRecords.mixed(30, Instant.parse("2026-05-02T08:00:00Z")));
        VerificationReport good = AuditVerifier.verify(dir, key.getPublic());
        assertThat(good.ok()).as(good.render()).isTrue();
        assertThat(good.notes()).anySatisfy(n -> assertThat(n).contains("signed by the trusted Ed25519 key"));
        assertThat(only(AuditVerifier.verify(dir, other.getPublic()), Kind.SIGNATURE).detail()).contains("does not verify");
        // a head rewritten to an earlier seq (to hide later records) no longer matches its signature
        Path head = dir.resolve("_manifest").resolve(ChainHead.FILE);
        ChainHead h = ChainHead.read(dir.resolve("_manifest"));
        Files.write(head, Manifest.JSON.writeValueAsBytes(new ChainHead(h.instanceId(), h.seq() - 1, h.hash(), h.publicKey(), h.signature())));
        assertThat(only(AuditVerifier.verify(dir, key.getPublic()), Kind.SIGNATURE).detail()).contains("does not verify");
    }

    @Test
    void retentionGapsRecordedInTheChainVerifyAndOtherGapsDoNot() throws Exception {
        Clock clock = Clock.fixed(Instant.parse("2026-06-20T12:00:00Z"), ZoneOffset.UTC);
        AuditConfig config = config().withClock(clock);
        List<AuditRecord> records = new ArrayList<>();
        records.addAll(SampleRecords.mixed(40, Instant.parse("2026-06-01T10:00:00Z")));
        records.addAll(SampleRecords.mixed(40, Instant.parse("2026-06-02T10:00:00Z")));
        records.addAll(SampleRecords.mixed(40, Instant.parse("2026-06-19T10:00:00Z")));
        writeTrail(config, records);
        Retention.Result result;
        try (AuditTrail trail = AuditTrail.open(config)) {
            result = Retention.apply(trail, 10, "ops");
        }
        assertThat(result.cutoff()).isEqualTo(LocalDate.parse("2026-06-10"));
        assertThat(result.deleted()).isNotEmpty().allSatisfy(f -> assertThat(f.path()).matches(".*dt=2026-06-0[12].*"));
        try (var s = Files.walk(dir)) {
            assertThat(s.map(Path::toString).filter(p -> p.contains("dt=2026-06-01") || p.contains("dt=2026-06-02"))).isEmpty();
        }
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.ok()).as(report.render()).isTrue();
        assertThat(report.notes()).anySatisfy(n -> assertThat(n).startsWith("retention deleted"));
        // the retention record itself is in the chain (admin, today's partition)
        assertThat(DuckDb.scalar("SELECT count(*) FROM read_parquet('" + DuckDb.glob(dir, RecordType.ADMIN)
                + "') WHERE event = 'retention' AND len(deleted_files) = " + result.deleted().size())).isEqualTo(1);

        // a file retention did not delete is still missing when removed
        ManifestEntry kept = Manifest.read(dir.resolve("_manifest")).entries().stream()
                .filter(e -> e.dt().equals("2026-06-19") && e.type().equals("statements")).findFirst().orElseThrow();
        Files.delete(dir.resolve(kept.file()));
        assertThat(only(AuditVerifier.verify(dir), Kind.MISSING).file()).isEqualTo(kept.file());
    }

    @Test
    void anExportBundleIsSelfContainedAndVerifiesOnItsOwn() throws Exception {
        List<AuditRecord> records = new ArrayList<>();
        records.addAll(SampleRecords.mixed(30, Instant.parse("2026-07-01T10:00:00Z")));
        records.addAll(SampleRecords.mixed(30, Instant.parse("2026-07-02T10:00:00Z")));
        records.addAll(SampleRecords.mixed(30, Instant.parse("2026-07-03T10:00:00Z")));
        writeTrail(config(), records);
        Path out = dir.resolveSibling(dir.getFileName() + "-bundle");
        AuditExporter.Result r = AuditExporter.export(dir, LocalDate.parse("2026-07-02"), LocalDate.parse("2026-07-02"), out);
        assertThat(r.source().ok()).as(r.source().render()).isTrue();
        assertThat(r.bundleReport().ok()).as(r.bundleReport().render()).isTrue();
        assertThat(r.records()).isEqualTo(30);
        assertThat(out.resolve(AuditExporter.SOURCE_REPORT)).content().contains("result: OK");
        assertThat(out.resolve(AuditExporter.BUNDLE_REPORT)).content().contains("result: OK");
        assertThat(DuckDb.scalar("SELECT count(*) FROM read_parquet('" + out.toString() + "/*/**/*.parquet', union_by_name=true)"))
                .isEqualTo(30);
        try (var s = Files.walk(out)) {
            assertThat(s.map(Path::toString).filter(p -> p.contains("dt=2026-07-01") || p.contains("dt=2026-07-03"))).isEmpty();
        }
        // tampering inside the bundle is caught by verifying the bundle alone
        ManifestEntry e = Manifest.read(out.resolve("_manifest")).entries().get(0);
        byte[] bytes = Files.readAllBytes(out.resolve(e.file()));
        bytes[bytes.length / 3] ^= 0x40;
        Files.write(out.resolve(e.file()), bytes);
        assertThat(only(AuditVerifier.verify(out), Kind.CHANGED).file()).isEqualTo(e.file());
    }
}
