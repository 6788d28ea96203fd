package io.countersign.wire.mysql;

import io.netty.buffer.ByteBuf;

/**
 * Follows one command's response from the backend packet by packet, telling what each packet is
 * and when the response is complete, without copying anything. Knows the shapes of the text and
 * binary result set protocols (with and without CLIENT_DEPRECATE_EOF, multiple results, cursors),
 * COM_STMT_PREPARE's answer, COM_FIELD_LIST and single-packet answers.
 */
final class ResponseTracker {

    enum Shape { RESULTS, PREPARE, SINGLE, FIELD_LIST, FETCH }

    enum Kind { OK, ERR, TERMINATOR, COLUMN_COUNT, COLUMN_DEF, ROW, LOCAL_INFILE, PREPARE_OK, PARAM_DEF, METADATA_EOF, OTHER }

    private enum State { FIRST, COLUMNS, COLUMNS_EOF, ROWS, PREP_PARAMS, PREP_PARAMS_EOF, PREP_COLUMNS, PREP_COLUMNS_EOF, FIELDS, DONE }

    private final Shape shape;
    private final boolean deprecateEof;
    private State state;
    private long remaining;
    private int prepareColumns;
    private boolean metadataEnd;
    private int status = -1;
    private long affectedRows = -1;
    private long lastInsertId;
    private long preparedId = -1;
    private int preparedParams;

    ResponseTracker(Shape shape, boolean deprecateEof) {
        this.shape = shape;
        this.deprecateEof = deprecateEof;
        this.state = switch (shape) {
            case RESULTS, PREPARE, SINGLE -> State.FIRST;
            case FIELD_LIST -> State.FIELDS;
            case FETCH -> State.ROWS;
        };
    }

    boolean done() { return state == State.DONE; }
    /** Whether the packet just classified completed a result's column definitions. */
    boolean metadataEnd() { return metadataEnd; }
    /** Server status flags from the last OK or EOF packet, -1 when none was seen. */
    int status() { return status; }
    long affectedRows() { return affectedRows; }
    long lastInsertId() { return lastInsertId; }
    long preparedId() { return preparedId; }
    int preparedParams() { return preparedParams; }

    Kind next(ByteBuf p) {
        metadataEnd = false;
        int len = p.readableBytes();
        int h = len == 0 ? -1 : p.getUnsignedByte(p.readerIndex());
        boolean terminator = h == 0xFE && len < Packet.MAX_FRAME && (deprecateEof || len < 9);
        switch (state) {
            case FIRST -> {
                if (h == 0xFF) {
                    state = State.DONE;
                    return Kind.ERR;
                }
                if (shape == Shape.SINGLE) {
                    state = State.DONE;
                    if (h == 0x00 && len >= 7) {
                        okStatus(p);
                        return Kind.OK;
                    }
                    return Kind.OTHER;
                }
                if (shape == Shape.PREPARE) {
                    Wire.need(p, 12, "COM_STMT_PREPARE_OK");
                    int ri = p.readerIndex();
                    preparedId = p.getUnsignedIntLE(ri + 1);
                    prepareColumns = p.getUnsignedShortLE(ri + 5);
                    preparedParams = p.getUnsignedShortLE(ri + 7);
                    if (preparedParams > 0) {
                        state = State.PREP_PARAMS;
                        remaining = preparedParams;
                    } else {
                        afterPrepareBlock();
                    }
                    return Kind.PREPARE_OK;
                }
                if (h == 0x00) {
                    okStatus(p);
                    state = (status & Capabilities.STATUS_MORE_RESULTS) != 0 ? State.FIRST : State.DONE;
                    return Kind.OK;
                }
                if (h == 0xFB) {
                    return Kind.LOCAL_INFILE; // the backend answers the file with OK or ERR: still FIRST
                }
                // a column count below 251 is its own first byte (always, in practice): no duplicate to read it
                remaining = h >= 0 && h < 0xFB ? h : Wire.readLenenc(p.duplicate());
                state = remaining > 0 ? State.COLUMNS : State.ROWS;
                return Kind.COLUMN_COUNT;
            }
            case COLUMNS -> {
                if (--remaining == 0) {
                    state = deprecateEof ? State.ROWS : State.COLUMNS_EOF;
                    metadataEnd = deprecateEof;
                }
                return Kind.COLUMN_DEF;
            }
            case COLUMNS_EOF -> {
                status = ServerPackets.eofFlags(p);
                metadataEnd = true;
                // a cursor was opened: rows come later through COM_STMT_FETCH
                state = (status & Capabilities.STATUS_CURSOR_EXISTS) != 0 ? State.DONE : State.ROWS;
                return Kind.METADATA_EOF;
            }
            case ROWS -> {
                if (h == 0xFF) {
                    state = State.DONE;
                    return Kind.ERR;
                }
                if (terminator) {
                    if (deprecateEof) {
                        okStatus(p);
                    } else {
                        status = ServerPackets.eofFlags(p);
                    }
                    state = shape != Shape.FETCH && (status & Capabilities.STATUS_MORE_RESULTS) != 0 ? State.FIRST : State.DONE;
                    return Kind.TERMINATOR;
                }
                return Kind.ROW;
            }
            case PREP_PARAMS -> {
                if (--remaining == 0) {
                    if (deprecateEof) {
                        afterPrepareBlock();
                    } else {
                        state = State.PREP_PARAMS_EOF;
                    }
                }
                return Kind.PARAM_DEF;
            }
            case PREP_PARAMS_EOF -> {
                afterPrepareBlock();
                return Kind.METADATA_EOF;
            }
            case PREP_COLUMNS -> {
                if (--remaining == 0) {
                    state = deprecateEof ? State.DONE : State.PREP_COLUMNS_EOF;
                }
                return Kind.COLUMN_DEF;
            }
            case PREP_COLUMNS_EOF -> {
                state = State.DONE;
                return Kind.METADATA_EOF;
            }
            case FIELDS -> {
                if (h == 0xFF) {
                    state = State.DONE;
                    return Kind.ERR;
                }
                if (h == 0xFE && len < 9) {
                    state = State.DONE;
                    return Kind.TERMINATOR;
                }
                return Kind.COLUMN_DEF;
            }
            default -> {
                return Kind.OTHER;
            }
        }
    }

    /** After the prepare header or its parameter block: parameters, then columns, then done. */
    private void afterPrepareBlock() {
        if (prepareColumns > 0) {
            state = State.PREP_COLUMNS;
            remaining = prepareColumns;
            prepareColumns = 0;
        } else {
            state = State.DONE;
        }
    }

    private void okStatus(ByteBuf p) {
        ServerPackets.Status s = ServerPackets.readOk(p);
        status = s.flags();
        affectedRows = s.affectedRows();
        lastInsertId = s.lastInsertId();
    }
}
