package io.countersign.audit;

/**
 * One line of {@code _manifest/manifest.jsonl}: a committed Parquet file, the chain range it holds and
 * the SHA-256 of its bytes. The file holds every record of its type and date with seq in [firstSeq, lastSeq].
 */
public record ManifestEntry(
        String file,
        String type,
        String dt,
        String instanceId,
        long firstSeq,
        long lastSeq,
        String firstPrevHash,
        String firstHash,
        String lastHash,
        long records,
        long bytes,
        String sha256,
        String committedAt) {

    boolean covers(RecordType t, String date, long seq) {
        return type.equals(t.directory()) && dt.equals(date) && firstSeq <= seq && seq <= lastSeq;
    }
}
