package io.countersign.wire.mysql;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails a test class when Netty's leak detector (PARANOID in tests) reports a leaked buffer: the
 * report is a log line from ResourceLeakDetector, captured here.
 */
final class LeakWatch implements BeforeAllCallback, AfterAllCallback {

    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();
    private static volatile boolean installed;

    @Override
    public void beforeAll(ExtensionContext context) {
        install();
        LEAKS.clear();
    }

    static void install() {
        synchronized (LeakWatch.class) {
            if (!installed) {
                Logger logger = (Logger) LoggerFactory.getLogger("io.netty.util.ResourceLeakDetector");
                AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
                    @Override
                    protected void append(ILoggingEvent e) {
                        if (e.getFormattedMessage().contains("LEAK")) {
                            LEAKS.add(e.getFormattedMessage());
                        }
                    }
                };
                appender.start();
                logger.addAppender(appender);
                installed = true;
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        List<String> leaks = collect();
        if (!leaks.isEmpty()) {
            throw new AssertionError("Netty reported " + leaks.size() + " leaked buffer(s) in " + context.getDisplayName()
                    + ":\n" + leaks.get(0));
        }
    }

    /** Gives the detector its chance to report collected, unreleased buffers; returns the reports so far and forgets them. */
    static List<String> collect() throws InterruptedException {
        // leaks are reported when the detector next tracks a buffer after the leaked one was collected
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            for (int j = 0; j < 200; j++) {
                ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
                b.release();
            }
        }
        List<String> found = List.copyOf(LEAKS);
        LEAKS.clear();
        return found;
    }
}
