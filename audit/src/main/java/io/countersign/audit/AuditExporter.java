package io.countersign.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a self-contained bundle for an auditor: the Parquet files of the chosen dates (same layout), the
 * manifest lines for them, the chain head, the verification report of the whole source trail and of the
 * bundle itself. The bundle verifies on its own ({@code countersign audit verify BUNDLE}); sequence numbers
 * outside the exported dates are expected gaps there.
 */
public final class AuditExporter {
    static final String SOURCE_REPORT = "verification-source.txt";
    static final String BUNDLE_REPORT = "verification-bundle.txt";

    private AuditExporter() {}

    /** What was exported and the two verification reports (also written into the bundle). */
    public record Result(Path bundle, int files, long records, VerificationReport source, VerificationReport bundleReport) {}

    /**
     * @param from first date (UTC, inclusive) of the {@code dt=} partitions to export
     * @param to   last date (UTC, inclusive)
     * @param out  the bundle directory; must not exist or be empty
     */
    public static Result export(Path dir, LocalDate from, LocalDate to, Path out) throws IOException {
        if (from.isAfter(to)) {
            throw new IllegalArgumentException("export range is empty: --from " + from + " is after --to " + to);
        }
        if (Files.exists(out)) {
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalArgumentException("export target " + out + " is not empty; choose a new directory so the bundle holds only this export");
                }
            }
        }
        VerificationReport source = AuditVerifier.verify(dir);
        Manifest.Read manifest = Manifest.read(dir.resolve("_manifest"));
        Files.createDirectories(out.resolve("_manifest"));
        List<ManifestEntry> chosen = new ArrayList<>();
        long records = 0;
        for (ManifestEntry e : manifest.entries()) {
            LocalDate d = LocalDate.parse(e.dt());
            Path src = dir.resolve(e.file());
            if (d.isBefore(from) || d.isAfter(to) || !Files.exists(src)) {
                continue;
            }
            Path dst = out.resolve(e.file());
            Files.createDirectories(dst.getParent());
            Files.copy(src, dst, StandardCopyOption.COPY_ATTRIBUTES);
            chosen.add(e);
            records += e.records();
        }
        StringBuilder lines = new StringBuilder();
        for (ManifestEntry e : chosen) {
            lines.append(Manifest.JSON.writeValueAsString(e)).append('\n');
        }
        Files.writeString(out.resolve("_manifest").resolve(Manifest.FILE), lines, StandardCharsets.UTF_8);
        Path head = dir.resolve("_manifest").resolve(ChainHead.FILE);
        if (Files.exists(head)) {
            Files.copy(head, out.resolve("_manifest").resolve(ChainHead.FILE));
        }
        Map<String, Object> marker = new LinkedHashMap<>();
        marker.put("source", dir.toAbsolutePath().toString());
        marker.put("from", from.toString());
        marker.put("to", to.toString());
        marker.put("files", chosen.size());
        marker.put("records", records);
        marker.put("exportedAt", Instant.now().toString());
        marker.put("sourceVerified", source.ok());
        Files.write(out.resolve(AuditVerifier.EXPORT_MARKER), Manifest.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(marker));
        Files.writeString(out.resolve(SOURCE_REPORT), source.render(), StandardCharsets.UTF_8);
        VerificationReport bundle = AuditVerifier.verify(out);
        Files.writeString(out.resolve(BUNDLE_REPORT), bundle.render(), StandardCharsets.UTF_8);
        return new Result(out, chosen.size(), records, source, bundle);
    }
}
