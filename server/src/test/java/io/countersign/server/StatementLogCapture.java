package io.countersign.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.server.gate.StatementLog;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.slf4j.LoggerFactory;

/** Reads what the statement log wrote, through a logback appender attached to its logger. */
public final class StatementLogCapture implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(StatementLog.LOGGER);

    public StatementLogCapture() {
        appender.start();
        StatementLog.enable();
        logger.addAppender(appender);
    }

    public List<JsonNode> lines() {
        synchronized (appender.list) {
            return appender.list.stream().map(e -> {
                try {
                    return JSON.readTree(e.getFormattedMessage());
                } catch (Exception ex) {
                    throw new AssertionError("statement log line is not JSON: " + e.getFormattedMessage(), ex);
                }
            }).toList();
        }
    }

    /** The first line matching {@code p}, waiting up to 5 s (completions are logged as sessions finish them). */
    public JsonNode await(Predicate<JsonNode> p) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode n : lines()) {
                if (p.test(n)) return n;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no statement log line matched; lines: " + lines());
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
    }
}
