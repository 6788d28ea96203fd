package io.countersign.audit;

import java.time.Instant;

/**
 * One entry of the audit trail. The set is closed: the journal codec, the Parquet schemas and the
 * verifier each handle every kind explicitly, so adding a kind is a compile error until all three do.
 */
public sealed interface AuditRecord permits StatementRecord, ApprovalRecord, AdminRecord {

    /** When the event happened; it also picks the {@code dt=} partition (UTC date). */
    Instant at();

    /** The directory (and Parquet file set) the record lands in: statements, approvals or admin. */
    default RecordType type() {
        return switch (this) {
            case StatementRecord s -> RecordType.STATEMENT;
            case ApprovalRecord a -> RecordType.APPROVAL;
            case AdminRecord m -> RecordType.ADMIN;
        };
    }
}
