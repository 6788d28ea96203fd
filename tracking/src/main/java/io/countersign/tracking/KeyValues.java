package io.countersign.tracking;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Key values as text: decoding them from wire formats, normalising literals from SQL, and
 * rendering a (possibly composite) key as one string. One text form per key value, whichever way
 * it arrived, so a key seen in a result and the same key in a WHERE compare equal.
 */
final class KeyValues {

    static final int INT2 = 21;
    static final int INT4 = 23;
    static final int INT8 = 20;
    static final int OID = 26;
    static final int TEXT = 25;
    static final int VARCHAR = 1043;
    static final int BPCHAR = 1042;
    static final int NAME = 19;
    static final int UUID_OID = 2950;

    private KeyValues() {}

    /** Whether a binary-format value of this type can be decoded into its key text. */
    static boolean binaryDecodable(int typeOid) {
        return switch (typeOid) {
            case INT2, INT4, INT8, OID, TEXT, VARCHAR, BPCHAR, NAME, UUID_OID -> true;
            default -> false;
        };
    }

    /** Decodes {@code length} bytes at {@code index} of {@code buf} without moving its indices. */
    static String decode(ByteBuf buf, int index, int length, boolean binary, int typeOid) {
        if (!binary) {
            return normalise(buf.toString(index, length, StandardCharsets.UTF_8), typeOid);
        }
        return switch (typeOid) {
            case INT2 -> expectLength(length, 2) ? Short.toString(buf.getShort(index)) : null;
            case INT4 -> expectLength(length, 4) ? Integer.toString(buf.getInt(index)) : null;
            case OID -> expectLength(length, 4) ? Long.toString(buf.getUnsignedInt(index)) : null;
            case INT8 -> expectLength(length, 8) ? Long.toString(buf.getLong(index)) : null;
            case UUID_OID -> expectLength(length, 16)
                    ? new UUID(buf.getLong(index), buf.getLong(index + 8)).toString() : null;
            case TEXT, VARCHAR, BPCHAR, NAME -> buf.toString(index, length, StandardCharsets.UTF_8);
            default -> null;
        };
    }

    private static boolean expectLength(int actual, int expected) {
        return actual == expected;
    }

    /**
     * Decodes a value whose format (text or binary) the session did not report, when its bytes allow
     * only one reading; {@code null} when both readings are possible or neither is.
     */
    static String decodeEither(ByteBuf buf, int index, int length, int typeOid) {
        int width = switch (typeOid) {
            case INT2 -> 2;
            case INT4, OID -> 4;
            case INT8 -> 8;
            case UUID_OID -> 16;
            case TEXT, VARCHAR, BPCHAR, NAME -> -1; // same bytes in both formats
            default -> 0;
        };
        if (width < 0) {
            return buf.toString(index, length, StandardCharsets.UTF_8);
        }
        if (width == 0) {
            return null;
        }
        if (length != width) {
            return decode(buf, index, length, false, typeOid);
        }
        if (typeOid != UUID_OID && looksLikeIntegerText(buf, index, length)) {
            return null; // "1234" as text or 0x31323334 as binary: not certain
        }
        return decode(buf, index, length, true, typeOid);
    }

    private static boolean looksLikeIntegerText(ByteBuf buf, int index, int length) {
        for (int i = 0; i < length; i++) {
            byte b = buf.getByte(index + i);
            if (!((b >= '0' && b <= '9') || (i == 0 && (b == '-' || b == '+')) || b == ' ')) {
                return false;
            }
        }
        return true;
    }

    /**
     * The canonical text of a key value of the given type: integers without sign noise or leading
     * zeros, uuids in lower case. Returns {@code null} when the text is not a valid value of the
     * type (the caller then claims nothing).
     */
    static String normalise(String text, int typeOid) {
        try {
            return switch (typeOid) {
                case INT2, INT4, INT8, OID -> Long.toString(Long.parseLong(text.trim()));
                case UUID_OID -> UUID.fromString(text.trim()).toString().toLowerCase(Locale.ROOT);
                default -> text;
            };
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * One key as one string: a single-column key is its value; a composite key is a PostgreSQL
     * row literal, {@code (1,abc)}, with values quoted when they hold a delimiter, quote or space.
     */
    static String render(List<String> values) {
        if (values.size() == 1) {
            return values.get(0);
        }
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            appendRowField(sb, values.get(i));
        }
        return sb.append(')').toString();
    }

    private static void appendRowField(StringBuilder sb, String v) {
        boolean quote = v.isEmpty();
        for (int i = 0; i < v.length() && !quote; i++) {
            char c = v.charAt(i);
            quote = c == ',' || c == '(' || c == ')' || c == '"' || c == '\\' || Character.isWhitespace(c);
        }
        if (!quote) {
            sb.append(v);
            return;
        }
        sb.append('"');
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append(c);
            }
            sb.append(c);
        }
        sb.append('"');
    }
}
