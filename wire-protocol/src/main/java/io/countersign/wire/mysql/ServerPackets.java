package io.countersign.wire.mysql;

import io.countersign.wire.spi.ProtocolError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/** Builders and readers for OK, ERR and EOF packets. */
final class ServerPackets {

    private ServerPackets() {}

    static ByteBuf ok(ByteBufAllocator alloc, long affectedRows, long lastInsertId, int status, int warnings) {
        ByteBuf b = alloc.buffer(16);
        b.writeByte(0x00);
        Wire.writeLenenc(b, affectedRows);
        Wire.writeLenenc(b, lastInsertId);
        b.writeShortLE(status).writeShortLE(warnings);
        return b;
    }

    static ByteBuf err(ByteBufAllocator alloc, int code, String sqlState, String message) {
        byte[] msg = message.getBytes(StandardCharsets.UTF_8);
        ByteBuf b = alloc.buffer(9 + msg.length);
        b.writeByte(0xFF).writeShortLE(code).writeByte('#');
        b.writeCharSequence(sqlState.length() == 5 ? sqlState : "HY000", StandardCharsets.US_ASCII);
        b.writeBytes(msg);
        return b;
    }

    static ByteBuf err(ByteBufAllocator alloc, ProtocolError e) {
        String message = e.detail() == null ? e.message() : e.message() + " (" + e.detail() + ")";
        return err(alloc, e.mysqlCode() > 0 ? e.mysqlCode() : 1105, e.sqlState() == null ? "HY000" : e.sqlState(), message);
    }

    /** Reads an ERR packet (reader index untouched) as a {@link ProtocolError}. */
    static ProtocolError readErr(ByteBuf p) {
        ByteBuf b = p.duplicate();
        if (b.readableBytes() < 3) {
            return new ProtocolError("HY000", 1105, "malformed error packet from the backend", null);
        }
        b.skipBytes(1);
        int code = b.readUnsignedShortLE();
        String state = "HY000";
        if (b.isReadable() && b.getByte(b.readerIndex()) == '#' && b.readableBytes() >= 6) {
            state = b.toString(b.readerIndex() + 1, 5, StandardCharsets.US_ASCII);
            b.skipBytes(6);
        }
        return new ProtocolError(state, code, b.toString(StandardCharsets.UTF_8), null);
    }

    /** Status and counts carried by an OK packet or an EOF packet (reader index untouched). */
    record Status(long affectedRows, long lastInsertId, int flags, int warnings) {}

    static Status readOk(ByteBuf p) {
        ByteBuf b = p.duplicate();
        b.skipBytes(1);
        long affected = Wire.readLenenc(b);
        long id = Wire.readLenenc(b);
        int flags = b.readableBytes() >= 2 ? b.readUnsignedShortLE() : 0;
        int warnings = b.readableBytes() >= 2 ? b.readUnsignedShortLE() : 0;
        return new Status(affected, id, flags, warnings);
    }

    /** The status flags of an EOF packet, 0 when it is too short to carry them (as {@link #readEof} reads them). */
    static int eofFlags(ByteBuf p) {
        return p.readableBytes() < 5 ? 0 : p.getUnsignedShortLE(p.readerIndex() + 3);
    }

    static Status readEof(ByteBuf p) {
        int ri = p.readerIndex();
        if (p.readableBytes() < 5) {
            return new Status(-1, 0, 0, 0);
        }
        return new Status(-1, 0, p.getUnsignedShortLE(ri + 3), p.getUnsignedShortLE(ri + 1));
    }
}
