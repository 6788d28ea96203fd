package io.countersign.wire.pg;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Finds PostgreSQL message boundaries in the inbound byte stream without copying complete messages:
 * subclasses get (buffer, index, size) of each whole message inside the read buffer and may forward
 * retained slices of it. Only a message that straddles two reads is copied, into a buffer of its own.
 * Startup-phase packets have no type byte ({@link #untyped}).
 */
abstract class PgFramer extends ChannelInboundHandlerAdapter {

    /** PostgreSQL's own limit for one message (PQ_LARGE_MESSAGE_LIMIT is 1 GiB - 1). */
    static final int MAX_MESSAGE = (1 << 30) - 1;

    private ByteBuf partial;
    /** Startup packets: int32 length (self-inclusive) and body, no type byte. */
    protected boolean untyped;
    /** Largest acceptable length field. */
    protected int maxLength = MAX_MESSAGE;
    /** Set once the connection is being torn down: nothing more is parsed. */
    protected boolean stopped;

    /** One whole message: {@code size} bytes at {@code index}, type byte first unless untyped. */
    protected abstract void onMessage(ChannelHandlerContext ctx, ByteBuf buf, int index, int size);

    /** The read buffer holds no further whole message: forward what was collected from it. */
    protected void onBatchEnd(ChannelHandlerContext ctx) {}

    /** A length field outside the acceptable range. */
    protected abstract void onBadLength(ChannelHandlerContext ctx, int type, long length);

    /** Counts inbound bytes (metrics). */
    protected void onBytes(int n) {}

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            onBytes(in.readableBytes());
            if (stopped) {
                return;
            }
            if (partial != null && !completePartial(ctx, in)) {
                return;
            }
            while (!stopped) {
                int readable = in.readableBytes();
                int header = untyped ? 4 : 5;
                if (readable < header) {
                    break;
                }
                int idx = in.readerIndex();
                long len = in.getUnsignedInt(untyped ? idx : idx + 1);
                int type = untyped ? 0 : in.getByte(idx) & 0xFF;
                if (len < 4 || len > maxLength) {
                    onBatchEnd(ctx);
                    onBadLength(ctx, type, len);
                    return;
                }
                int size = (int) len + (untyped ? 0 : 1);
                if (readable < size) {
                    break;
                }
                in.readerIndex(idx + size);
                if (!safeMessage(ctx, in, idx, size)) {
                    onBatchEnd(ctx);
                    return;
                }
            }
            onBatchEnd(ctx);
            if (!stopped && in.isReadable()) {
                partial = ctx.alloc().buffer(Math.max(in.readableBytes(), 256));
                partial.writeBytes(in);
            }
        } finally {
            in.release();
        }
    }

    /** Runs {@link #onMessage}; a message whose fields run past its end stops the connection via {@link #onMalformed}. */
    private boolean safeMessage(ChannelHandlerContext ctx, ByteBuf buf, int idx, int size) {
        try {
            onMessage(ctx, buf, idx, size);
            return true;
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            stopped = true;
            onMalformed(ctx, untyped ? 0 : buf.getByte(idx) & 0xFF, e);
            return false;
        } catch (RuntimeException e) {
            // A bug of ours must cost this connection only, with an error, never a half-forwarded batch.
            stopped = true;
            org.slf4j.LoggerFactory.getLogger(getClass()).error("internal error handling a message; closing the connection", e);
            onMalformed(ctx, untyped ? 0 : buf.getByte(idx) & 0xFF, e);
            return false;
        }
    }

    /** A message could not be read (its fields do not fit its length). */
    protected abstract void onMalformed(ChannelHandlerContext ctx, int type, RuntimeException cause);

    /** Appends from {@code in} to the straddling message; true when it is whole and was handled. */
    private boolean completePartial(ChannelHandlerContext ctx, ByteBuf in) {
        int header = untyped ? 4 : 5;
        if (partial.readableBytes() < header) {
            partial.writeBytes(in, Math.min(header - partial.readableBytes(), in.readableBytes()));
            if (partial.readableBytes() < header) {
                return false;
            }
        }
        int base = partial.readerIndex();
        long len = partial.getUnsignedInt(untyped ? base : base + 1);
        int type = untyped ? 0 : partial.getByte(base) & 0xFF;
        if (len < 4 || len > maxLength) {
            releasePartial();
            onBadLength(ctx, type, len);
            return false;
        }
        int size = (int) len + (untyped ? 0 : 1);
        int need = size - partial.readableBytes();
        partial.writeBytes(in, Math.min(need, in.readableBytes()));
        if (partial.readableBytes() < size) {
            return false;
        }
        ByteBuf whole = partial;
        partial = null;
        try {
            safeMessage(ctx, whole, whole.readerIndex(), size);
            onBatchEnd(ctx);
        } finally {
            whole.release();
        }
        return !stopped;
    }

    /** Describes the incomplete message held back at end of input, or null when there is none. */
    protected final String truncation() {
        if (partial == null) {
            return null;
        }
        int header = untyped ? 4 : 5;
        int have = partial.readableBytes();
        if (have < header) {
            return "the connection ended inside a message header (" + have + " of " + header + " bytes)";
        }
        int base = partial.readerIndex();
        long len = partial.getUnsignedInt(untyped ? base : base + 1);
        String what = untyped ? "startup packet" : "message " + RelaySession.describeType(partial.getByte(base));
        return "the connection ended after " + have + " of " + (len + (untyped ? 0 : 1)) + " bytes of a " + what;
    }

    protected final void releasePartial() {
        if (partial != null) {
            partial.release();
            partial = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releasePartial();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        releasePartial();
        super.channelInactive(ctx);
    }
}
