package io.countersign.wire.mysql;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * Consecutive whole frames as they came from the backend, headers included, none of them part of
 * a split (16 MiB and larger) packet: one retained slice of the receive buffer instead of one
 * {@link Packet} per frame. The session walks the frames in place and passes result rows through
 * to the client without copying or re-framing them. The holder owns {@code frames} and releases it.
 */
record Frames(ByteBuf frames) implements ReferenceCounted {

    @Override public int refCnt() { return frames.refCnt(); }
    @Override public Frames retain() { frames.retain(); return this; }
    @Override public Frames retain(int increment) { frames.retain(increment); return this; }
    @Override public Frames touch() { frames.touch(); return this; }
    @Override public Frames touch(Object hint) { frames.touch(hint); return this; }
    @Override public boolean release() { return frames.release(); }
    @Override public boolean release(int decrement) { return frames.release(decrement); }
}
