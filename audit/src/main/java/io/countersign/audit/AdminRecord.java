package io.countersign.audit;

import java.time.Instant;
import java.util.List;

/**
 * An administrative event. {@code policyHash} is set for policy reloads; {@code deletedFiles} for
 * retention, where it names every Parquet file removed and the chain range it held, so the verifier
 * can tell a gap left by retention from a gap left by tampering.
 */
public record AdminRecord(
        Instant at,
        Event event,
        String actor,
        String detail,
        String policyHash,
        List<DeletedFile> deletedFiles) implements AuditRecord {

    public enum Event { START, STOP, CONFIG_RELOAD, POLICY_RELOAD, RETENTION }

    /** A Parquet file retention removed: its path under the trail, the sequence range and count it held, its SHA-256. */
    public record DeletedFile(String path, long firstSeq, long lastSeq, long recordCount, String sha256) {
        public DeletedFile {
            if (path == null || sha256 == null) {
                throw new IllegalArgumentException("a deleted file needs its path and sha256");
            }
        }
    }

    public AdminRecord {
        if (at == null || event == null) {
            throw new IllegalArgumentException("an admin record needs at and event (got at=" + at + ", event=" + event + ")");
        }
        at = Canonical.micros(at);
        deletedFiles = Canonical.listNoNulls(deletedFiles, "deletedFiles");
    }

    public static AdminRecord of(Instant at, Event event, String actor, String detail) {
        return new AdminRecord(at, event, actor, detail, null, List.of());
    }

    public static AdminRecord policyReload(Instant at, String actor, String detail, String policyHash) {
        return new AdminRecord(at, Event.POLICY_RELOAD, actor, detail, policyHash, List.of());
    }
}
