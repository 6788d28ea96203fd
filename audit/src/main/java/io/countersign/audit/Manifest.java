package io.countersign.audit;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The manifest: JSON lines, one per committed Parquet file, appended and fsynced before the file is
 * renamed into place (the manifest line is the commit point). Append-only: retention does not edit it,
 * the retention record in the chain says which listed files were deleted.
 */
final class Manifest {
    static final String FILE = "manifest.jsonl";
    static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final Path path;
    private final List<ManifestEntry> entries;
    private ManifestEntry newest;

    private Manifest(Path path, List<ManifestEntry> entries) {
        this.path = path;
        this.entries = entries;
        for (ManifestEntry e : entries) {
            if (newest == null || e.lastSeq() > newest.lastSeq()) {
                newest = e;
            }
        }
    }

    /** What reading found; {@code tornTail} is a last line cut short by a crash (never a commit: it was not fsynced whole). */
    record Read(List<ManifestEntry> entries, List<String> problems, long validBytes, boolean tornTail) {}

    static Read read(Path manifestDir) throws IOException {
        Path p = manifestDir.resolve(FILE);
        List<ManifestEntry> entries = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        if (!Files.exists(p)) {
            return new Read(entries, problems, 0, false);
        }
        byte[] bytes = Files.readAllBytes(p);
        int start = 0;
        int lineNo = 0;
        long valid = 0;
        boolean torn = false;
        while (start < bytes.length) {
            int nl = start;
            while (nl < bytes.length && bytes[nl] != '\n') {
                nl++;
            }
            lineNo++;
            String line = new String(bytes, start, nl - start, StandardCharsets.UTF_8);
            if (nl == bytes.length) {
                torn = true; // no newline: the append never finished
                break;
            }
            try {
                if (!line.isBlank()) {
                    entries.add(JSON.readValue(line, ManifestEntry.class));
                }
            } catch (IOException e) {
                problems.add("manifest line " + lineNo + " is not a valid entry: " + e.getMessage());
            }
            start = nl + 1;
            valid = start;
        }
        return new Read(entries, problems, valid, torn);
    }

    static Manifest open(Path manifestDir) throws IOException {
        Files.createDirectories(manifestDir);
        Read r = read(manifestDir);
        if (!r.problems().isEmpty()) {
            throw new AuditStorageException("audit manifest " + manifestDir.resolve(FILE) + " is damaged: " + r.problems()
                    + "; run 'countersign audit verify' on the directory and restore the manifest from a copy");
        }
        Path p = manifestDir.resolve(FILE);
        if (r.tornTail()) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.truncate(r.validBytes());
                ch.force(true);
            }
        }
        return new Manifest(p, new ArrayList<>(r.entries()));
    }

    synchronized void append(ManifestEntry e) throws IOException {
        byte[] line = (JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8);
        boolean created = !Files.exists(path);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            long before = ch.size();
            try {
                ByteBuffer b = ByteBuffer.wrap(line);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            } catch (IOException ex) {
                try {
                    ch.truncate(before); // leave no half line behind
                } catch (IOException ignored) {
                    // the next open drops a torn last line anyway
                }
                throw ex;
            }
        }
        if (created) {
            Fsync.directory(path.getParent());
        }
        entries.add(e);
        if (newest == null || e.lastSeq() > newest.lastSeq()) {
            newest = e;
        }
    }

    synchronized List<ManifestEntry> entries() {
        return List.copyOf(entries);
    }

    synchronized ManifestEntry newest() {
        return newest;
    }

    synchronized boolean covers(RecordType type, String dt, long seq) {
        if (newest == null || seq > newest.lastSeq()) {
            return false; // the steady state: new records are past every committed file
        }
        for (int i = entries.size() - 1; i >= 0; i--) {
            if (entries.get(i).covers(type, dt, seq)) {
                return true;
            }
        }
        return false;
    }
}
