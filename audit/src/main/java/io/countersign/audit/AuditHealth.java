package io.countersign.audit;

import java.time.Instant;

/** Whether the trail can write. {@code /readyz} should fail while this is {@link Failing}. */
public sealed interface AuditHealth {

    record Ok() implements AuditHealth {}

    /** {@code reason} names the path and the error, e.g. "journal write failed: No space left on device". */
    record Failing(String reason, Instant since) implements AuditHealth {}

    default boolean ok() {
        return this instanceof Ok;
    }
}
