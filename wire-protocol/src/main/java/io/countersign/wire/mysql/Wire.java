package io.countersign.wire.mysql;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.CorruptedFrameException;
import java.nio.charset.StandardCharsets;

/** Readers and writers for the MySQL protocol's basic types (length-encoded integers and strings). */
final class Wire {

    private Wire() {}

    /** Thrown when a packet ends before its structure does. */
    /**
     * Appends {@code length} bytes of {@code src} from {@code index} to {@code dst}, which has room
     * for them. Copied by the source's getBytes: direct to direct memory, without the NIO view
     * {@code dst.writeBytes(src, ...)} makes of the source on every call.
     */
    static void append(ByteBuf dst, ByteBuf src, int index, int length) {
        int w = dst.writerIndex();
        src.getBytes(index, dst, w, length);
        dst.writerIndex(w + length);
    }

    static final class Truncated extends CorruptedFrameException {
        Truncated(String what) {
            super("packet ends inside " + what);
        }
    }

    static void need(ByteBuf b, int n, String what) {
        if (b.readableBytes() < n) {
            throw new Truncated(what);
        }
    }

    static long readLenenc(ByteBuf b) {
        need(b, 1, "a length-encoded integer");
        int first = b.readUnsignedByte();
        return switch (first) {
            case 0xFC -> { need(b, 2, "a length-encoded integer"); yield b.readUnsignedShortLE(); }
            case 0xFD -> { need(b, 3, "a length-encoded integer"); yield b.readUnsignedMediumLE(); }
            case 0xFE -> { need(b, 8, "a length-encoded integer"); yield b.readLongLE(); }
            case 0xFB -> -1; // NULL in a text row
            default -> first;
        };
    }

    static String readLenencString(ByteBuf b) {
        long len = readLenenc(b);
        if (len < 0) {
            return null;
        }
        need(b, (int) len, "a length-encoded string");
        String s = b.toString(b.readerIndex(), (int) len, StandardCharsets.UTF_8);
        b.skipBytes((int) len);
        return s;
    }

    /** Skips a length-encoded string without decoding it. */
    static void skipLenencString(ByteBuf b) {
        long len = readLenenc(b);
        if (len > 0) {
            need(b, (int) len, "a length-encoded string");
            b.skipBytes((int) len);
        }
    }

    static byte[] readLenencBytes(ByteBuf b) {
        long len = readLenenc(b);
        if (len < 0) {
            return null;
        }
        need(b, (int) len, "a length-encoded string");
        byte[] out = new byte[(int) len];
        b.readBytes(out);
        return out;
    }

    static String readNulString(ByteBuf b) {
        int end = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) 0);
        if (end < 0) {
            throw new Truncated("a NUL-terminated string");
        }
        String s = b.toString(b.readerIndex(), end - b.readerIndex(), StandardCharsets.UTF_8);
        b.readerIndex(end + 1);
        return s;
    }

    /** A NUL-terminated string, or the rest of the packet when no NUL follows (tolerated by MySQL). */
    static String readNulStringOrRest(ByteBuf b) {
        int end = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) 0);
        if (end < 0) {
            String s = b.toString(StandardCharsets.UTF_8);
            b.skipBytes(b.readableBytes());
            return s;
        }
        return readNulString(b);
    }

    static byte[] readBytes(ByteBuf b, int n, String what) {
        need(b, n, what);
        byte[] out = new byte[n];
        b.readBytes(out);
        return out;
    }

    static void writeLenenc(ByteBuf b, long v) {
        if (v < 251) {
            b.writeByte((int) v);
        } else if (v < 0x10000) {
            b.writeByte(0xFC).writeShortLE((int) v);
        } else if (v < 0x1000000) {
            b.writeByte(0xFD).writeMediumLE((int) v);
        } else {
            b.writeByte(0xFE).writeLongLE(v);
        }
    }

    static void writeLenencBytes(ByteBuf b, byte[] v) {
        writeLenenc(b, v.length);
        b.writeBytes(v);
    }

    static void writeLenencString(ByteBuf b, String s) {
        writeLenencBytes(b, s.getBytes(StandardCharsets.UTF_8));
    }

    static void writeNulString(ByteBuf b, String s) {
        b.writeCharSequence(s, StandardCharsets.UTF_8);
        b.writeByte(0);
    }
}
