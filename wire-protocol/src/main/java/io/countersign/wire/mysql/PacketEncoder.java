package io.countersign.wire.mysql;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Writes {@link Packet}s as frames, splitting payloads of 16 MiB and more. Small payloads are
 * copied behind their header in one buffer (one write per row); large ones go out as header plus
 * a slice of the payload, without copying.
 */
@ChannelHandler.Sharable
final class PacketEncoder extends MessageToMessageEncoder<Packet> {

    static final PacketEncoder INSTANCE = new PacketEncoder();
    private static final int COPY_BELOW = 2048;

    private PacketEncoder() {
        super(Packet.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Packet packet, List<Object> out) {
        ByteBuf payload = packet.payload();
        int length = payload.readableBytes();
        int seq = packet.sequenceId();
        if (length < COPY_BELOW) {
            ByteBuf frame = ctx.alloc().ioBuffer(4 + length);
            Wire.append(frame.writeMediumLE(length).writeByte(seq), payload, payload.readerIndex(), length);
            out.add(frame);
            return;
        }
        int offset = payload.readerIndex();
        int remaining = length;
        while (true) {
            int chunk = Math.min(remaining, Packet.MAX_FRAME);
            ByteBuf header = ctx.alloc().ioBuffer(4);
            header.writeMediumLE(chunk).writeByte(seq);
            out.add(header);
            if (chunk > 0) {
                out.add(payload.retainedSlice(offset, chunk));
            }
            offset += chunk;
            remaining -= chunk;
            seq = (seq + 1) & 0xFF;
            if (chunk < Packet.MAX_FRAME) {
                break;
            }
        }
    }
}
