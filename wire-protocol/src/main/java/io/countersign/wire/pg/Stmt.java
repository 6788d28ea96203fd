package io.countersign.wire.pg;

import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.ResultObserver;
import io.countersign.wire.spi.StatementRequest;
import java.time.Instant;

/** One statement in flight: a simple Query message, or one Execute of a portal. */
final class Stmt {
    final StatementRequest request;
    final String portal;
    final Instant started = Instant.now();
    final long startedNanos = System.nanoTime();
    Object context;
    ResultObserver observer;
    /** Raw RowDescription body of the current result, kept only when an observer wants columns. */
    byte[] columns;
    boolean columnsChecked;
    /** The observer refused the result: its rows never reach the client. */
    boolean blocked;
    /** Denied or withdrawn: the error the client gets, raised on the backend so transactions fail as they would. */
    ProtocolError forcedError;
    ProtocolError error;
    String tag;
    /** Countersign's own statement (the run-as role switch around an extended-protocol Execute): never reported, only its errors reach the client. */
    boolean hidden;
    /** A simple query wrapped in the run-as role switch: its first CommandComplete (the switch) is not the client's. */
    boolean elevationPrefix;
    /** A RESET tag held back: the client's own, unless ReadyForQuery follows (then it was the closing switch). */
    boolean setTagHeld;
    /** A simple query running under a run-as role switch. */
    boolean elevated;
    long rows;
    long affected = -1;
    long bytes;

    Stmt(StatementRequest request, String portal) {
        this.request = request;
        this.portal = portal;
    }

    boolean extended() {
        return request.extended();
    }

    void addTag(String t) {
        tag = t;
        long n = affectedBy(t);
        if (n >= 0) {
            affected = affected < 0 ? n : affected + n;
        }
    }

    /** Rows inserted, updated, deleted, merged or copied per a CommandComplete tag; -1 for other commands. */
    static long affectedBy(String tag) {
        if (!(tag.startsWith("INSERT ") || tag.startsWith("UPDATE ") || tag.startsWith("DELETE ")
                || tag.startsWith("MERGE ") || tag.startsWith("COPY "))) {
            return -1;
        }
        int sp = tag.lastIndexOf(' ');
        try {
            return Long.parseLong(tag.substring(sp + 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
