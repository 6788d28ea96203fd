package io.countersign.wire.mysql;

import io.countersign.wire.spi.ResultObserver;
import io.countersign.wire.spi.ReusedColumns;
import io.netty.buffer.ByteBuf;

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
    /**
     * The result columns of the last execute and the column definition packets they were read
     * from: an execute whose definitions are byte for byte the same gets the same instance, so
     * neither the session nor the observers parse and judge the same columns again per execute.
     */
    ReusedColumns columns;
    ByteBuf[] columnDefinitions;

    PreparedStatement(long id, String sql, int paramCount) {
        this.id = id;
        this.sql = sql;
        this.paramCount = paramCount;
        this.longData = new long[paramCount];
    }
}
