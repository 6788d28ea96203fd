package io.countersign.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails a test class whose traffic made Netty's leak detector (PARANOID in tests) report a leaked
 * buffer. Reports appear when a leaked buffer is collected and the detector next samples, so
 * afterAll collects garbage and allocates a few tracked buffers first.
 */
public final class NettyLeakWatch implements AfterAllCallback {

    private static final List<String> reports = new CopyOnWriteArrayList<>();

    static {
        AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent e) {
                if (e.getFormattedMessage().contains("LEAK:")) {
                    reports.add(e.getFormattedMessage());
                }
            }
        };
        appender.setName("server-leak-watch");
        appender.start();
        ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).addAppender(appender);
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            for (int j = 0; j < 64; j++) {
                ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(32);
                b.release();
            }
        }
        if (!reports.isEmpty()) {
            String first = reports.getFirst();
            reports.clear();
            throw new AssertionError("Netty reported a leaked buffer during " + context.getDisplayName() + ":\n" + first);
        }
    }
}
