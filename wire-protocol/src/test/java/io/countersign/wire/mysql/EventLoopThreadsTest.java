package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The listener's event-loop thread count: one loop on small machines, one per processor on larger ones. */
class EventLoopThreadsTest {

    @Test
    void oneLoopOnOneOrTwoProcessorsOnePerProcessorAbove() {
        assertThat(MySqlListener.defaultEventLoopThreads(1)).isEqualTo(1);
        assertThat(MySqlListener.defaultEventLoopThreads(2)).isEqualTo(1);
        assertThat(MySqlListener.defaultEventLoopThreads(4)).isEqualTo(4);
        assertThat(MySqlListener.defaultEventLoopThreads(16)).isEqualTo(16);
    }

    @Test
    void aCountBelowOneIsRefusedWithTheSettingsName() {
        assertThatThrownBy(() -> MySqlListener.builder().eventLoopThreads(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("eventLoopThreads");
    }
}
