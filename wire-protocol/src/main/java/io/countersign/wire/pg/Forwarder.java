package io.countersign.wire.pg;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

/**
 * Collects consecutive forwarded messages of one read buffer into a single range and writes it as
 * one retained slice: a batch of pipelined messages costs one write, not one per message.
 * Nothing is flushed here; the handlers flush once per read batch.
 */
final class Forwarder {

    private final Channel target;
    private ByteBuf buf;
    private int start;
    private int end;

    Forwarder(Channel target) {
        this.target = target;
    }

    Channel target() {
        return target;
    }

    /** Forwards {@code size} bytes at {@code index} of {@code from} unchanged. */
    void add(ByteBuf from, int index, int size) {
        if (buf == from && end == index) {
            end += size;
            return;
        }
        flushRange();
        buf = from;
        start = index;
        end = index + size;
    }

    /** Writes the collected range; must run before the read buffer is released. */
    void flushRange() {
        if (buf != null) {
            ByteBuf slice = buf.retainedSlice(start, end - start);
            buf = null;
            target.write(slice, target.voidPromise());
        }
    }

    /** Writes a message Countersign made itself, after what was collected so far. Takes ownership of {@code msg}. */
    void write(ByteBuf msg) {
        flushRange();
        target.write(msg, target.voidPromise());
    }
}
