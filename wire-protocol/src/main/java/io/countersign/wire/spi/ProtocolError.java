package io.countersign.wire.spi;

/**
 * An error to report to the client in its own protocol's terms.
 *
 * @param sqlState   five-character SQLSTATE (PostgreSQL ErrorResponse 'C', MySQL ERR packet state)
 * @param mysqlCode  MySQL error number, used only on MySQL sessions
 * @param message    the primary message: names the thing, the reason and the fix
 * @param detail     optional detail line, or {@code null}
 */
public record ProtocolError(String sqlState, int mysqlCode, String message, String detail) {

    /** SQLSTATE 42501 / MySQL 1227: the statement was refused by policy or a reviewer. */
    public static ProtocolError denied(String message) {
        return new ProtocolError("42501", 1227, message, null);
    }

    /** SQLSTATE 57014: the statement was cancelled or timed out while held. */
    public static ProtocolError cancelled(String message) {
        return new ProtocolError("57014", 1317, message, null);
    }
}
