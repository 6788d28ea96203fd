package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The leak watch the other classes rely on can fail: a buffer dropped without release is reported. */
class LeakWatchTest {

    @Test
    void reportsABufferThatWasNeverReleased() throws Exception {
        LeakWatch.install();
        LeakWatch.collect();
        leakOne();
        assertThat(LeakWatch.collect()).isNotEmpty().allSatisfy(report -> assertThat(report).contains("LEAK"));
    }

    private static void leakOne() {
        ByteBuf lost = PooledByteBufAllocator.DEFAULT.directBuffer(32);
        lost.writeInt(42);
    }
}
