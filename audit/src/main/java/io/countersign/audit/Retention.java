package io.countersign.audit;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Deletes {@code dt=} partitions older than N days. The deletion is first written to the chain as a
 * RETENTION admin record naming every file (path, seq range, count, SHA-256) and made durable; only then
 * are the files removed, so the verifier can tell retention's gaps from tampering.
 */
public final class Retention {
    private Retention() {}

    public record Result(LocalDate cutoff, List<AdminRecord.DeletedFile> deleted) {}

    /** Applies retention through an open trail (the server's scheduled job). */
    public static Result apply(AuditTrail trail, int days, String actor) throws IOException {
        if (days < 1) {
            throw new IllegalArgumentException("audit retention must keep at least 1 day, got " + days);
        }
        AuditConfig config = trail.config();
        LocalDate cutoff = LocalDate.ofInstant(config.clock().instant(), ZoneOffset.UTC).minusDays(days);
        Path dir = config.directory();
        List<AdminRecord.DeletedFile> victims = new ArrayList<>();
        for (ManifestEntry e : Manifest.read(config.manifestDir()).entries()) {
            if (LocalDate.parse(e.dt()).isBefore(cutoff) && Files.exists(dir.resolve(e.file()))) {
                victims.add(new AdminRecord.DeletedFile(e.file(), e.firstSeq(), e.lastSeq(), e.records(), e.sha256()));
            }
        }
        if (victims.isEmpty()) {
            return new Result(cutoff, List.of());
        }
        AdminRecord record = new AdminRecord(config.clock().instant(), AdminRecord.Event.RETENTION, actor,
                "deleted " + victims.size() + " file(s) of partitions before dt=" + cutoff + " (retention " + days + " days)",
                null, victims);
        try {
            trail.append(record).get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException("retention not applied: its audit record could not be written (" + e.getCause().getMessage() + ")", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("retention interrupted before anything was deleted", e);
        } catch (TimeoutException e) {
            throw new IOException("retention not applied: its audit record was not durable within 60 seconds", e);
        }
        for (AdminRecord.DeletedFile f : victims) {
            Path p = dir.resolve(f.path());
            Files.deleteIfExists(p);
            removeIfEmpty(p.getParent());
        }
        return new Result(cutoff, List.copyOf(victims));
    }

    /** Offline form (the CLI): opens the trail, applies retention, closes it. */
    public static Result apply(AuditConfig config, int days, String actor) throws IOException {
        try (AuditTrail trail = AuditTrail.open(config)) {
            return apply(trail, days, actor);
        }
    }

    private static void removeIfEmpty(Path partition) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(partition)) {
            if (s.iterator().hasNext()) {
                return;
            }
        }
        Files.deleteIfExists(partition);
    }
}
