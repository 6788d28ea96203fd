package io.countersign.wire.spi;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A database Countersign answers itself instead of relaying to a backend (the read-only audit
 * endpoint, {@code countersign_audit}). One instance serves one client session; the listener calls
 * it from the session's event loop, one call at a time, and the implementation does its work on its
 * own threads (the futures complete elsewhere; the listener hops back to the event loop).
 *
 * <p>The implementation decides what a statement may do. Values are PostgreSQL text format; the
 * listener encodes binary results where the client asks for them.
 */
public interface LocalDatabase extends AutoCloseable {

    /**
     * Runs one statement with its parameters ({@code $1}, ... as text, {@code null} for SQL NULL).
     * Fails with {@link LocalQueryException} for an error the client should see.
     */
    CompletableFuture<LocalResult> execute(String sql, List<String> parameters);

    /** The statement's result columns and parameter count, without running it (Describe of a prepared statement). */
    CompletableFuture<LocalResult> describe(String sql);

    /** The session ended; release what it holds. Never blocks the caller. */
    @Override
    void close();

    /** An error for the client: its SQLSTATE and message. The session stays usable. */
    final class LocalQueryException extends RuntimeException {
        private final ProtocolError error;

        public LocalQueryException(ProtocolError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }

        public ProtocolError error() {
            return error;
        }
    }

    /**
     * A statement's outcome.
     *
     * @param columns        result columns; empty for a statement without a result set
     * @param rows           each row's values in PostgreSQL text format, {@code null} for NULL
     * @param tag            the CommandComplete tag, e.g. {@code SELECT 3}, {@code SET}, {@code BEGIN}
     * @param parameterCount the number of {@code $n} parameters (for Describe)
     */
    record LocalResult(List<Column> columns, List<List<String>> rows, String tag, int parameterCount) {

        public LocalResult {
            columns = List.copyOf(columns);
            rows = List.copyOf(rows);
        }

        /** A statement without rows, such as {@code SET} or {@code BEGIN}. */
        public static LocalResult command(String tag) {
            return new LocalResult(List.of(), List.of(), tag, 0);
        }

        /**
         * @param name    the column's label
         * @param typeOid the PostgreSQL type OID clients see (20 int8, 701 float8, 1700 numeric, 25 text,
         *                16 bool, 1184 timestamptz, 1082 date, 1009 text[], ...)
         */
        public record Column(String name, int typeOid) {}
    }
}
