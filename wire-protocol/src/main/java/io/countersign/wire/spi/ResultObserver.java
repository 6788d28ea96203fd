package io.countersign.wire.spi;

import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * Watches one statement's result as it streams from backend to client, without copying it.
 * Buffers passed in are only valid during the call: read them, never retain them.
 */
public interface ResultObserver {

    /**
     * The result's columns are known. Returning a non-null error stops the result before any row
     * reaches the client (the wire-level sensitive-column check); the session reports the error
     * and discards the rest of the result.
     */
    default ProtocolError onColumns(List<ResultColumn> columns) {
        return null;
    }

    /** One row, in the protocol's own encoding (PostgreSQL DataRow body, MySQL row packet payload). */
    default void onRow(ByteBuf row) {}
}
