package io.countersign.wire.pg;

import io.countersign.wire.spi.BoundParameter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Renders Bind parameters for reviewers and the audit: text as sent, binary decoded for common types, else hex. */
final class ParamText {

    private static final long PG_EPOCH_SECONDS = LocalDate.of(2000, 1, 1).toEpochDay() * 86400L;

    private ParamText() {}

    /** Reads the parameters of a Bind message body starting at {@code index} (just after the statement name). */
    static List<BoundParameter> bindParameters(ByteBuf b, int index, int[] paramTypes) {
        int nFormats = b.getUnsignedShort(index);
        int formatsAt = index + 2;
        int p = formatsAt + 2 * nFormats;
        int nParams = b.getUnsignedShort(p);
        p += 2;
        if (nParams == 0) {
            return List.of();
        }
        List<BoundParameter> out = new ArrayList<>(nParams);
        for (int i = 0; i < nParams; i++) {
            int format = nFormats == 0 ? 0 : b.getShort(formatsAt + 2 * (nFormats == 1 ? 0 : i));
            int oid = paramTypes != null && i < paramTypes.length ? paramTypes[i] : 0;
            int len = b.getInt(p);
            p += 4;
            if (len < 0) {
                out.add(new BoundParameter(oid, format == 1, null, null));
                continue;
            }
            byte[] value = ByteBufUtil.getBytes(b, p, len);
            p += len;
            String text = format == 1 ? binary(oid, value) : new String(value, StandardCharsets.UTF_8);
            out.add(new BoundParameter(oid, format == 1, value, text));
        }
        return out;
    }

    static String binary(int oid, byte[] v) {
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(v);
        try {
            return switch (oid) {
                case 16 -> v.length == 1 ? (v[0] != 0 ? "true" : "false") : hex(oid, v);
                case 21 -> Short.toString(bb.getShort());
                case 23, 26 -> Integer.toString(bb.getInt());
                case 20 -> Long.toString(bb.getLong());
                case 700 -> Float.toString(bb.getFloat());
                case 701 -> Double.toString(bb.getDouble());
                case 25, 1043, 1042, 19, 114, 142 -> new String(v, StandardCharsets.UTF_8);
                case 3802 -> v.length > 0 && v[0] == 1 ? new String(v, 1, v.length - 1, StandardCharsets.UTF_8) : hex(oid, v);
                case 17 -> "\\x" + java.util.HexFormat.of().formatHex(v);
                case 2950 -> new UUID(bb.getLong(), bb.getLong()).toString();
                case 1082 -> LocalDate.of(2000, 1, 1).plusDays(bb.getInt()).toString();
                case 1114 -> LocalDateTime.ofEpochSecond(0, 0, ZoneOffset.UTC)
                        .plusSeconds(PG_EPOCH_SECONDS).plusNanos(bb.getLong() * 1000).toString();
                case 1184 -> Instant.ofEpochSecond(PG_EPOCH_SECONDS).plusNanos(bb.getLong() * 1000).toString();
                default -> hex(oid, v);
            };
        } catch (RuntimeException e) {
            return hex(oid, v);
        }
    }

    private static String hex(int oid, byte[] v) {
        return "\\x" + java.util.HexFormat.of().formatHex(v) + " (binary, type oid " + oid + ")";
    }
}
