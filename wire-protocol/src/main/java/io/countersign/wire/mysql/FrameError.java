package io.countersign.wire.mysql;

/** Problems the framer finds in the byte stream before a packet can be formed. */
sealed interface FrameError {

    /** The header's sequence id is not the one the conversation is at. */
    record OutOfOrder(int expected, int actual) implements FrameError {}

    /** The packet (all its frames together) is longer than the configured limit. */
    record TooLarge(long length, long limit) implements FrameError {}
}
