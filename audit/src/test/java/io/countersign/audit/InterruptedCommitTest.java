package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The crash windows of a Parquet commit, recreated on disk, each repaired by the next open. */
class InterruptedCommitTest {
    @TempDir
    Path dir;

    private AuditConfig config() {
        return AuditConfig.defaults(dir, "commit-node");
    }

    private List<AuditRecord> writeTrail() throws Exception {
        List<AuditRecord> records = SampleRecords.mixed(50, Instant.parse("2026-08-01T10:00:00Z"));
        try (AuditTrail trail = AuditTrail.open(config())) {
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (AuditRecord r : records) {
                fs.add(trail.append(r));
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        }
        return records;
    }

    private ManifestEntry statementsEntry() throws Exception {
        return Manifest.read(dir.resolve("_manifest")).entries().stream().filter(e -> e.type().equals("statements")).findFirst().orElseThrow();
    }

    private List<AuditRecord> allRecords() throws Exception {
        List<DuckDb.Read> rows = new ArrayList<>();
        for (RecordType t : RecordType.values()) {
            rows.addAll(DuckDb.read(dir, t));
        }
        rows.sort(java.util.Comparator.comparingLong(DuckDb.Read::seq));
        return rows.stream().map(DuckDb.Read::record).toList();
    }

    @Test
    void aCrashAfterTheManifestLineButBeforeTheRenameIsFinishedOnOpen() throws Exception {
        List<AuditRecord> written = writeTrail();
        ManifestEntry e = statementsEntry();
        Path file = dir.resolve(e.file());
        Files.move(file, file.resolveSibling(file.getFileName() + ParquetSink.TEMP_SUFFIX));
        try (AuditTrail trail = AuditTrail.open(config())) {
            assertThat(trail.recovery().notes()).anySatisfy(n -> assertThat(n).contains("finished the interrupted commit"));
        }
        assertThat(file).exists();
        assertThat(allRecords()).isEqualTo(written);
        assertThat(AuditVerifier.verify(dir).ok()).isTrue();
    }

    @Test
    void aCrashBeforeTheManifestLineDiscardsTheTempAndRewritesFromTheJournal() throws Exception {
        List<AuditRecord> written = writeTrail();
        ManifestEntry e = statementsEntry();
        Path file = dir.resolve(e.file());
        Files.move(file, file.resolveSibling(file.getFileName() + ParquetSink.TEMP_SUFFIX));
        // the manifest line was never written
        List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve("_manifest").resolve(Manifest.FILE)));
        lines.removeIf(l -> l.contains(e.file()));
        Files.write(dir.resolve("_manifest").resolve(Manifest.FILE), lines);
        try (AuditTrail trail = AuditTrail.open(config())) {
            assertThat(trail.recovery().notes()).anySatisfy(n -> assertThat(n).contains("removed unfinished"));
            assertThat(trail.recovery().writtenToParquet()).isEqualTo(1);
        }
        assertThat(allRecords()).isEqualTo(written);
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.ok()).as(report.render()).isTrue();
    }

    @Test
    void aHalfWrittenManifestLineIsDroppedOnOpen() throws Exception {
        List<AuditRecord> written = writeTrail();
        Files.writeString(dir.resolve("_manifest").resolve(Manifest.FILE), "{\"file\":\"statements/dt=2026-08-01/part-",
                java.nio.file.StandardOpenOption.APPEND);
        assertThat(AuditVerifier.verify(dir).notes()).anySatisfy(n -> assertThat(n).contains("last line is incomplete"));
        try (AuditTrail trail = AuditTrail.open(config())) {
            trail.append(SampleRecords.admin(1, Instant.parse("2026-08-01T11:00:00Z"))).get(10, TimeUnit.SECONDS);
        }
        assertThat(allRecords()).hasSize(written.size() + 1).startsWith(written.toArray(AuditRecord[]::new));
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.ok()).as(report.render()).isTrue();
        assertThat(report.notes()).noneSatisfy(n -> assertThat(n).contains("incomplete"));
    }
}
