package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The leak check itself must be able to fail: a deliberately leaked buffer is reported. */
class LeakCheckTest {

    @Test
    void aLeakedBufferIsReported() throws Exception {
        new LeakCheck().beforeAll(null);
        LeakCheck.LEAKS.clear();
        leak();
        for (int i = 0; i < 50 && LeakCheck.LEAKS.isEmpty(); i++) {
            System.gc();
            Thread.sleep(20);
            for (int j = 0; j < 16; j++) {
                PooledByteBufAllocator.DEFAULT.buffer(32).release();
            }
        }
        assertThat(LeakCheck.LEAKS).isNotEmpty();
        assertThat(LeakCheck.LEAKS.getFirst()).contains("LEAK");
        LeakCheck.LEAKS.clear();
    }

    private static void leak() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(128);
        b.writeLong(42);
    }
}
