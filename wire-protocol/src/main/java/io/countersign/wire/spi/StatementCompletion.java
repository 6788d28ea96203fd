package io.countersign.wire.spi;

import java.time.Instant;

/**
 * One statement, finished: what the client asked, what happened, and what went back.
 *
 * @param request       the statement as the gate saw it
 * @param context       what the gate attached to it ({@code null} when the gate attached nothing)
 * @param started       when the statement arrived from the client
 * @param ended         when its last response message was ready to go to the client
 * @param commandTag    PostgreSQL CommandComplete tag or MySQL OK summary, {@code null} on error
 * @param rowsReturned  rows sent to the client
 * @param rowsAffected  rows the backend reports as inserted, updated or deleted, -1 when none was reported
 * @param bytesSent     bytes of result sent to the client for this statement
 * @param error         the error the client received, or {@code null} on success
 */
public record StatementCompletion(
        StatementRequest request,
        Object context,
        Instant started,
        Instant ended,
        String commandTag,
        long rowsReturned,
        long rowsAffected,
        long bytesSent,
        ProtocolError error) {}
