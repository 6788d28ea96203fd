package io.countersign.wire.mysql;

import io.countersign.wire.spi.BoundParameter;
import io.netty.buffer.ByteBuf;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Decodes the parameter values of a COM_STMT_EXECUTE into {@link BoundParameter}s with readable text. */
final class ExecuteParameters {

    static final int CURSOR_TYPE_READ_ONLY = 1;

    private ExecuteParameters() {}

    /** Statement id of a COM_STMT_EXECUTE, COM_STMT_FETCH, ... (bytes 1-4). */
    static long statementId(ByteBuf payload) {
        Wire.need(payload, 5, "the statement id");
        return payload.getUnsignedIntLE(payload.readerIndex() + 1);
    }

    static int flags(ByteBuf payload) {
        Wire.need(payload, 6, "the execute flags");
        return payload.getUnsignedByte(payload.readerIndex() + 5);
    }

    /** Reads the values of {@code stmt}'s parameters; updates its remembered types when new ones are bound. */
    static List<BoundParameter> decode(ByteBuf payload, PreparedStatement stmt) {
        int n = stmt.paramCount;
        if (n == 0) {
            return List.of();
        }
        ByteBuf b = payload.duplicate();
        Wire.need(b, 10, "COM_STMT_EXECUTE");
        b.skipBytes(10); // command, statement id, flags, iteration count
        int bitmapLength = (n + 7) / 8;
        byte[] nulls = Wire.readBytes(b, bitmapLength, "the NULL bitmap");
        Wire.need(b, 1, "new_params_bound_flag");
        if (b.readUnsignedByte() == 1) {
            int[] types = new int[n];
            for (int i = 0; i < n; i++) {
                Wire.need(b, 2, "the parameter types");
                types[i] = b.readUnsignedShortLE();
            }
            stmt.types = types;
        }
        if (stmt.types == null) {
            throw new Wire.Truncated("COM_STMT_EXECUTE: no parameter types were ever bound");
        }
        List<BoundParameter> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int type = stmt.types[i] & 0xFF;
            boolean unsigned = (stmt.types[i] & 0x8000) != 0;
            if ((nulls[i / 8] & (1 << (i % 8))) != 0 || type == 6) {
                out.add(new BoundParameter(type, true, null, null));
            } else if (stmt.longData[i] > 0) {
                out.add(new BoundParameter(type, true, new byte[0], "<" + stmt.longData[i] + " bytes sent as long data>"));
            } else {
                int start = b.readerIndex();
                String text = value(b, type, unsigned);
                byte[] raw = new byte[b.readerIndex() - start];
                b.getBytes(start, raw);
                out.add(new BoundParameter(type, true, raw, text));
            }
        }
        return out;
    }

    private static String value(ByteBuf b, int type, boolean unsigned) {
        return switch (type) {
            case 1 -> { Wire.need(b, 1, "a TINY"); yield unsigned ? Integer.toString(b.readUnsignedByte()) : Integer.toString(b.readByte()); }
            case 2, 13 -> { Wire.need(b, 2, "a SHORT"); yield unsigned ? Integer.toString(b.readUnsignedShortLE()) : Integer.toString(b.readShortLE()); }
            case 3, 9 -> { Wire.need(b, 4, "a LONG"); yield unsigned ? Long.toString(b.readUnsignedIntLE()) : Integer.toString(b.readIntLE()); }
            case 8 -> {
                Wire.need(b, 8, "a LONGLONG");
                long v = b.readLongLE();
                yield unsigned && v < 0 ? new BigInteger(Long.toUnsignedString(v)).toString() : Long.toString(v);
            }
            case 4 -> { Wire.need(b, 4, "a FLOAT"); yield Float.toString(b.readFloatLE()); }
            case 5 -> { Wire.need(b, 8, "a DOUBLE"); yield Double.toString(b.readDoubleLE()); }
            case 10, 7, 12 -> dateTime(b);
            case 11 -> time(b);
            default -> {
                byte[] v = Wire.readLenencBytes(b);
                yield v == null ? null : new String(v, StandardCharsets.UTF_8);
            }
        };
    }

    private static String dateTime(ByteBuf b) {
        Wire.need(b, 1, "a DATETIME length");
        int len = b.readUnsignedByte();
        Wire.need(b, len, "a DATETIME");
        if (len == 0) {
            return "0000-00-00 00:00:00";
        }
        int y = b.readUnsignedShortLE(), mo = b.readUnsignedByte(), d = b.readUnsignedByte();
        String s = String.format("%04d-%02d-%02d", y, mo, d);
        if (len >= 7) {
            s += String.format(" %02d:%02d:%02d", b.readUnsignedByte(), b.readUnsignedByte(), b.readUnsignedByte());
        }
        if (len >= 11) {
            s += String.format(".%06d", b.readUnsignedIntLE());
        }
        return s;
    }

    private static String time(ByteBuf b) {
        Wire.need(b, 1, "a TIME length");
        int len = b.readUnsignedByte();
        Wire.need(b, len, "a TIME");
        if (len == 0) {
            return "00:00:00";
        }
        boolean negative = b.readUnsignedByte() == 1;
        long days = b.readUnsignedIntLE();
        long hours = days * 24 + b.readUnsignedByte();
        String s = String.format("%s%02d:%02d:%02d", negative ? "-" : "", hours, b.readUnsignedByte(), b.readUnsignedByte());
        if (len >= 12) {
            s += String.format(".%06d", b.readUnsignedIntLE());
        }
        return s;
    }
}
