package io.countersign.audit;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link AuditVerifier} found. {@link #ok()} is true only when there are no problems; notes are
 * informational (retention-deleted ranges, records still only in the journal, how the head was checked).
 */
public record VerificationReport(
        Path directory,
        boolean partial,
        long filesChecked,
        long recordsChecked,
        long firstSeq,
        long lastSeq,
        List<Problem> problems,
        List<String> notes) {

    public enum Kind {
        /** Bytes or field values differ from what was hashed/committed. */
        CHANGED,
        /** Records are gone: a gap in the sequence, or fewer records than committed. */
        DELETED,
        /** Records are present but not in chain order. */
        REORDERED,
        /** A file the manifest lists is absent (and no retention record says it was deleted). */
        MISSING,
        /** A Parquet file is present that the manifest does not list. */
        UNLISTED,
        /** The chain head's signature does not verify. */
        SIGNATURE
    }

    /** One finding: {@code file} is relative to the trail directory (null when not about a file), {@code seq} null when not about a record. */
    public record Problem(Kind kind, String file, Long seq, String detail) {
        @Override
        public String toString() {
            return kind + (seq != null ? " at seq " + seq : "") + (file != null ? " in " + file : "") + ": " + detail;
        }
    }

    public boolean ok() {
        return problems.isEmpty();
    }

    public String render() {
        StringBuilder b = new StringBuilder();
        b.append("Countersign audit verification of ").append(directory).append(partial ? " (export bundle)" : "").append('\n');
        b.append("result: ").append(ok() ? "OK" : "FAILED, " + problems.size() + " problem(s)").append('\n');
        b.append("files checked: ").append(filesChecked).append(", records checked: ").append(recordsChecked);
        if (recordsChecked > 0) {
            b.append(", seq ").append(firstSeq).append("..").append(lastSeq);
        }
        b.append('\n');
        for (Problem p : problems) {
            b.append("PROBLEM ").append(p).append('\n');
        }
        for (String n : notes) {
            b.append("note: ").append(n).append('\n');
        }
        return b.toString();
    }
}
