package io.countersign.wire.mysql;

import io.countersign.wire.spi.ResultObserver;

/** What the session remembers of one backend prepared statement, to show its executions to the gate. */
final class PreparedStatement {

    final long id;
    final String sql;
    final int paramCount;
    /** Parameter types from the last execute that bound them (type byte | unsigned flag << 8). */
    int[] types;
    /** Bytes sent with COM_STMT_SEND_LONG_DATA per parameter since the last execute or reset. */
    final long[] longData;
    /** The observer of the latest execute, for rows that a cursor hands out through COM_STMT_FETCH. */
    ResultObserver cursorObserver;

    PreparedStatement(long id, String sql, int paramCount) {
        this.id = id;
        this.sql = sql;
        this.paramCount = paramCount;
        this.longData = new long[paramCount];
    }
}
