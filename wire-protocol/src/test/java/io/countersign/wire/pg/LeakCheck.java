package io.countersign.wire.pg;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails the test class when Netty's leak detector reports a leaked buffer. Leaks are reported when
 * a leaked buffer is garbage-collected and the detector next runs, so afterAll collects garbage and
 * allocates a few tracked buffers to make the detector look.
 */
final class LeakCheck implements BeforeAllCallback, AfterAllCallback {

    static final List<String> LEAKS = new CopyOnWriteArrayList<>();
    private static final AppenderBase<ILoggingEvent> APPENDER = new AppenderBase<>() {
        @Override
        protected void append(ILoggingEvent e) {
            if (e.getFormattedMessage().contains("LEAK")) {
                LEAKS.add(e.getFormattedMessage());
            }
        }
    };

    static {
        // Still PARANOID (every buffer tracked, every leak reported), but record only retain/release
        // rather than every getByte: the relay reads millions of headers and a stack trace per read
        // made the streaming tests ten times slower. Must be set before Netty's buffer classes load.
        System.setProperty("io.netty.leakDetection.acquireAndReleaseOnly", "true");
        APPENDER.setName("netty-leaks");
        APPENDER.start();
        Logger l = (Logger) LoggerFactory.getLogger(ResourceLeakDetector.class);
        l.addAppender(APPENDER);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        for (int round = 0; round < 3; round++) {
            System.gc();
            Thread.sleep(100);
            for (int i = 0; i < 64; i++) {
                ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(64);
                b.release();
            }
        }
        if (!LEAKS.isEmpty()) {
            String first = LEAKS.getFirst();
            LEAKS.clear();
            throw new AssertionError("Netty reported a ByteBuf leak in " + context.getDisplayName() + ":\n" + first);
        }
    }
}
