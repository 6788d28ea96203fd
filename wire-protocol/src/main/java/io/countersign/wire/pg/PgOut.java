package io.countersign.wire.pg;

import io.countersign.wire.spi.ProtocolError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Encoders for the few messages Countersign writes itself (everything else is forwarded as received). */
final class PgOut {

    static final int PROTOCOL_3_0 = 196608;
    static final int SSL_REQUEST = 80877103;
    static final int GSSENC_REQUEST = 80877104;
    static final int CANCEL_REQUEST = 80877102;

    private PgOut() {}

    /** Starts a typed message; finish with {@link #end}. */
    private static ByteBuf begin(ByteBufAllocator alloc, char type, int bodyHint) {
        ByteBuf b = alloc.buffer(5 + bodyHint);
        b.writeByte(type);
        b.writeInt(0);
        return b;
    }

    private static ByteBuf end(ByteBuf b) {
        b.setInt(1, b.writerIndex() - 1);
        return b;
    }

    static void cstring(ByteBuf b, String s) {
        b.writeCharSequence(s, StandardCharsets.UTF_8);
        b.writeByte(0);
    }

    static ByteBuf error(ByteBufAllocator alloc, String severity, ProtocolError e) {
        return fields(alloc, 'E', severity, e.sqlState(), e.message(), e.detail());
    }

    static ByteBuf error(ByteBufAllocator alloc, String severity, String sqlState, String message) {
        return fields(alloc, 'E', severity, sqlState, message, null);
    }

    static ByteBuf notice(ByteBufAllocator alloc, String message) {
        return fields(alloc, 'N', "NOTICE", "00000", message, null);
    }

    private static ByteBuf fields(ByteBufAllocator alloc, char type, String severity, String code, String message, String detail) {
        ByteBuf b = begin(alloc, type, 64 + message.length() * 2);
        b.writeByte('S');
        cstring(b, severity);
        b.writeByte('V');
        cstring(b, severity);
        b.writeByte('C');
        cstring(b, code);
        b.writeByte('M');
        cstring(b, message);
        if (detail != null) {
            b.writeByte('D');
            cstring(b, detail);
        }
        b.writeByte(0);
        return end(b);
    }

    static ByteBuf auth(ByteBufAllocator alloc, int code, byte[] data) {
        ByteBuf b = begin(alloc, 'R', 4 + (data == null ? 0 : data.length));
        b.writeInt(code);
        if (data != null) {
            b.writeBytes(data);
        }
        return end(b);
    }

    static ByteBuf authSasl(ByteBufAllocator alloc) {
        ByteBuf b = begin(alloc, 'R', 20);
        b.writeInt(10);
        cstring(b, "SCRAM-SHA-256");
        b.writeByte(0);
        return end(b);
    }

    static ByteBuf backendKeyData(ByteBufAllocator alloc, int pid, int secret) {
        ByteBuf b = begin(alloc, 'K', 8);
        b.writeInt(pid);
        b.writeInt(secret);
        return end(b);
    }

    static ByteBuf readyForQuery(ByteBufAllocator alloc, char status) {
        ByteBuf b = begin(alloc, 'Z', 1);
        b.writeByte(status);
        return end(b);
    }

    static ByteBuf parameterStatus(ByteBufAllocator alloc, String name, String value) {
        ByteBuf b = begin(alloc, 'S', 32);
        cstring(b, name);
        cstring(b, value);
        return end(b);
    }

    static ByteBuf negotiateProtocolVersion(ByteBufAllocator alloc, int newestMinor, List<String> unknownOptions) {
        ByteBuf b = begin(alloc, 'v', 16);
        b.writeInt(newestMinor);
        b.writeInt(unknownOptions.size());
        for (String o : unknownOptions) {
            cstring(b, o);
        }
        return end(b);
    }

    // ---- frontend messages, for Countersign's own backend connections ----

    static ByteBuf sslRequest(ByteBufAllocator alloc) {
        ByteBuf b = alloc.buffer(8);
        b.writeInt(8);
        b.writeInt(SSL_REQUEST);
        return b;
    }

    static ByteBuf cancelRequest(ByteBufAllocator alloc, int pid, int secret) {
        ByteBuf b = alloc.buffer(16);
        b.writeInt(16);
        b.writeInt(CANCEL_REQUEST);
        b.writeInt(pid);
        b.writeInt(secret);
        return b;
    }

    static ByteBuf startup(ByteBufAllocator alloc, Map<String, String> params) {
        ByteBuf b = alloc.buffer(128);
        b.writeInt(0);
        b.writeInt(PROTOCOL_3_0);
        params.forEach((k, v) -> {
            cstring(b, k);
            cstring(b, v);
        });
        b.writeByte(0);
        b.setInt(0, b.writerIndex());
        return b;
    }

    static ByteBuf password(ByteBufAllocator alloc, String password) {
        ByteBuf b = begin(alloc, 'p', password.length() + 1);
        cstring(b, password);
        return end(b);
    }

    static ByteBuf saslInitial(ByteBufAllocator alloc, String mechanism, byte[] data) {
        ByteBuf b = begin(alloc, 'p', 32 + data.length);
        cstring(b, mechanism);
        b.writeInt(data.length);
        b.writeBytes(data);
        return end(b);
    }

    static ByteBuf saslResponse(ByteBufAllocator alloc, byte[] data) {
        ByteBuf b = begin(alloc, 'p', data.length);
        b.writeBytes(data);
        return end(b);
    }

    static ByteBuf query(ByteBufAllocator alloc, String sql) {
        ByteBuf b = begin(alloc, 'Q', sql.length() + 1);
        cstring(b, sql);
        return end(b);
    }

    /** CommandComplete with {@code tag}. */
    static ByteBuf commandComplete(ByteBufAllocator alloc, String tag) {
        ByteBuf b = begin(alloc, 'C', tag.length() + 1);
        cstring(b, tag);
        return end(b);
    }

    /**
     * Parse (unnamed statement) + Bind + Execute + Close of a parameterless statement on the named
     * portal {@code portal}, so that a portal the client has bound (named or unnamed) survives it.
     */
    static ByteBuf parseBindExecuteClose(ByteBufAllocator alloc, String sql, String portal) {
        ByteBuf b = alloc.buffer(96 + sql.length() * 2);
        int start = b.writerIndex();
        b.writeByte('P').writeInt(0);
        cstring(b, "");
        cstring(b, sql);
        b.writeShort(0);
        b.setInt(start + 1, b.writerIndex() - start - 1);
        start = b.writerIndex();
        b.writeByte('B').writeInt(0);
        cstring(b, portal);
        cstring(b, "");
        b.writeShort(0).writeShort(0).writeShort(0);
        b.setInt(start + 1, b.writerIndex() - start - 1);
        start = b.writerIndex();
        b.writeByte('E').writeInt(0);
        cstring(b, portal);
        b.writeInt(0);
        b.setInt(start + 1, b.writerIndex() - start - 1);
        start = b.writerIndex();
        b.writeByte('C').writeInt(0).writeByte('P');
        cstring(b, portal);
        b.setInt(start + 1, b.writerIndex() - start - 1);
        return b;
    }

    /** Parse + Bind + Execute of a parameterless statement on the unnamed statement and portal. */
    static ByteBuf parseBindExecute(ByteBufAllocator alloc, String sql) {
        ByteBuf b = alloc.buffer(64 + sql.length() * 2);
        int start = b.writerIndex();
        b.writeByte('P').writeInt(0);
        cstring(b, "");
        cstring(b, sql);
        b.writeShort(0);
        b.setInt(start + 1, b.writerIndex() - start - 1);
        start = b.writerIndex();
        b.writeByte('B').writeInt(0);
        cstring(b, "");
        cstring(b, "");
        b.writeShort(0).writeShort(0).writeShort(0);
        b.setInt(start + 1, b.writerIndex() - start - 1);
        start = b.writerIndex();
        b.writeByte('E').writeInt(0);
        cstring(b, "");
        b.writeInt(0);
        b.setInt(start + 1, b.writerIndex() - start - 1);
        return b;
    }

    /** Reads a NUL-terminated UTF-8 string at {@code index}; returns it, the caller finds the end with {@link #cstringEnd}. */
    static String readCString(ByteBuf b, int index) {
        int end = cstringEnd(b, index);
        return b.toString(index, end - index, StandardCharsets.UTF_8);
    }

    /** Index of the NUL ending the string at {@code index}; -1 when missing. */
    static int cstringEnd(ByteBuf b, int index) {
        return b.indexOf(index, b.writerIndex(), (byte) 0);
    }

    /** Text of the statement that raises {@code error} in the backend, so the backend fails a transaction just as the statement would have. */
    static String raising(ProtocolError error) {
        StringBuilder sb = new StringBuilder(96 + error.message().length());
        sb.append("DO $countersign$BEGIN RAISE EXCEPTION USING ERRCODE = ").append(literal(error.sqlState()))
                .append(", MESSAGE = ").append(literal(error.message()));
        if (error.detail() != null) {
            sb.append(", DETAIL = ").append(literal(error.detail()));
        }
        return sb.append("; END$countersign$").toString();
    }

    /** An escape-string literal: valid whatever standard_conforming_strings says, and free of dollar-quote terminators. */
    private static String literal(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 4).append("E'");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\'' -> sb.append("\\'");
                case '$' -> sb.append("\\x24");
                case 0 -> sb.append(' ');
                default -> sb.append(c);
            }
        }
        return sb.append('\'').toString();
    }
}
