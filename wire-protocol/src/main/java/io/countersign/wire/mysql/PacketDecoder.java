package io.countersign.wire.mysql;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Frames the byte stream into {@link Packet}s: 3-byte little-endian length, 1-byte sequence id,
 * payload. Split packets (frames of exactly 16 MiB - 1 bytes) are joined without copying. Checks
 * the length limit and, when the session set one, the expected sequence id as soon as the header
 * arrives, so a peer sending garbage is answered at once rather than waited for. After an error it
 * emits one {@link FrameError} and discards everything that follows.
 */
final class PacketDecoder extends ByteToMessageDecoder {

    private long maxPayload;
    private int expected = -1;
    private CompositeByteBuf partial;
    private int partialFirstSeq;
    private int partialLastSeq;
    private boolean failed;
    private boolean onePerCall = true;
    private boolean frames;

    PacketDecoder(long maxPayload) {
        this.maxPayload = maxPayload;
    }

    void maxPayload(long max) {
        this.maxPayload = max;
    }

    /**
     * Before authentication the session may switch the stream to TLS after any packet (SSLRequest),
     * so each decode call yields one packet and leaves the bytes behind it undecoded until the
     * session has seen it; once in the command phase, every complete packet is decoded at once.
     */
    void decodeAllAtOnce() {
        this.onePerCall = false;
    }

    /**
     * The backend side's command phase: runs of whole frames come out as one {@link Frames} each
     * (split packets still come out as {@link Packet}s), so a large result costs one slice per
     * read instead of one per row. Implies decoding everything at once.
     */
    void emitFrames() {
        this.onePerCall = false;
        this.frames = true;
    }

    /** The bytes received after the last decoded packet (the start of a TLS handshake), handed over once. */
    ByteBuf takeUndecoded() {
        ByteBuf c = internalBuffer();
        return c.readRetainedSlice(c.readableBytes());
    }

    /** The sequence id the next packet must start with, or -1 for no check. */
    void expect(int sequenceId) {
        this.expected = sequenceId;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int run = -1; // start of a run of whole frames not yet emitted (frames mode)
        while (in.readableBytes() >= 4) {
            int ri = in.readerIndex();
            int length = in.getUnsignedMediumLE(ri);
            int seq = in.getUnsignedByte(ri + 3);
            if (frames && partial == null && expected < 0 && length < Packet.MAX_FRAME) {
                if (in.readableBytes() < 4 + length) {
                    break;
                }
                if (run < 0) {
                    run = ri;
                }
                in.skipBytes(4 + length);
                continue;
            }
            if (run >= 0) {
                out.add(new Frames(in.retainedSlice(run, ri - run)));
                run = -1;
            }
            int want = partial == null ? expected : (partialLastSeq + 1) & 0xFF;
            if (want >= 0 && seq != want) {
                fail(in, out, new FrameError.OutOfOrder(want, seq));
                return;
            }
            long total = (partial == null ? 0L : partial.readableBytes()) + length;
            if (total > maxPayload) {
                fail(in, out, new FrameError.TooLarge(total, maxPayload));
                return;
            }
            if (in.readableBytes() < 4 + length) {
                return;
            }
            in.skipBytes(4);
            ByteBuf body = in.readRetainedSlice(length);
            if (length == Packet.MAX_FRAME) {
                if (partial == null) {
                    partial = ctx.alloc().compositeBuffer(1024);
                    partialFirstSeq = seq;
                }
                partial.addComponent(true, body);
                partialLastSeq = seq;
                continue;
            }
            if (partial != null) {
                partial.addComponent(true, body);
                out.add(new Packet(partialFirstSeq, seq, partial));
                partial = null;
            } else {
                out.add(new Packet(seq, seq, body));
            }
            if (onePerCall) {
                return;
            }
        }
        if (run >= 0) {
            out.add(new Frames(in.retainedSlice(run, in.readerIndex() - run)));
        }
    }

    private void fail(ByteBuf in, List<Object> out, FrameError error) {
        failed = true;
        in.skipBytes(in.readableBytes());
        releasePartial();
        out.add(error);
    }

    private void releasePartial() {
        if (partial != null) {
            partial.release();
            partial = null;
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        releasePartial();
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        decode(ctx, in, out);
        // a packet cut off by the peer closing is dropped here; its bytes go with the cumulation
        releasePartial();
    }
}
