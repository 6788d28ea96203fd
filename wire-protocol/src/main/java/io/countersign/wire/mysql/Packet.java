package io.countersign.wire.mysql;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * One logical MySQL packet: the payload with the frames of a split (16 MiB and larger) packet
 * already joined. {@code sequenceId} is the first frame's id, {@code lastSequenceId} the last one's.
 * The holder owns {@code payload} and must release it; reference counting delegates to the payload
 * so Netty's pipeline releases packets it drops.
 */
record Packet(int sequenceId, int lastSequenceId, ByteBuf payload) implements ReferenceCounted {

    static final int MAX_FRAME = 0xFFFFFF;

    Packet(int sequenceId, ByteBuf payload) {
        this(sequenceId, (sequenceId + frames(payload.readableBytes()) - 1) & 0xFF, payload);
    }

    /** Frames needed on the wire: a payload of exactly n * 16 MiB - 1 bytes is followed by an empty frame. */
    static int frames(int payloadLength) {
        return payloadLength / MAX_FRAME + 1;
    }

    int firstByte() {
        return payload.isReadable() ? payload.getUnsignedByte(payload.readerIndex()) : -1;
    }

    int length() {
        return payload.readableBytes();
    }

    @Override public int refCnt() { return payload.refCnt(); }
    @Override public Packet retain() { payload.retain(); return this; }
    @Override public Packet retain(int increment) { payload.retain(increment); return this; }
    @Override public Packet touch() { payload.touch(); return this; }
    @Override public Packet touch(Object hint) { payload.touch(hint); return this; }
    @Override public boolean release() { return payload.release(); }
    @Override public boolean release(int decrement) { return payload.release(decrement); }
}
