package io.countersign.server.gate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.StatementCompletion;
import io.countersign.wire.spi.StatementListener;
import io.countersign.wire.spi.StatementRequest;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one JSON line per completed statement to the logger {@value #LOGGER}. The bundled logback
 * configuration sends that logger through an asynchronous appender, so the event loop only
 * formats the line and never waits on the terminal or disk.
 */
public final class StatementLog implements StatementListener {

    public static final String LOGGER = "countersign.statements";

    private static final Logger log = LoggerFactory.getLogger(LOGGER);
    private static final JsonFactory JSON = new JsonFactory();

    /**
     * Turns the per-statement JSON lines on. They are off by default: writing a line per statement
     * costs a thread hand-off per statement, and the audit trail is the durable record.
     */
    public static void enable() {
        if (LoggerFactory.getLogger(LOGGER) instanceof ch.qos.logback.classic.Logger l) {
            l.setLevel(ch.qos.logback.classic.Level.INFO);
        }
    }

    @Override
    public CompletionStage<Void> onCompleted(StatementCompletion completion) {
        if (log.isInfoEnabled()) {
            log.info(toJson(completion));
        }
        return null;
    }

    private static String client(java.net.SocketAddress address) {
        if (address instanceof java.net.InetSocketAddress a && a.getAddress() != null) {
            String host = a.getAddress().getHostAddress();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
        }
        return String.valueOf(address);
    }

    /** The line as logged; public so tests and other sinks can reuse the format. */
    public static String toJson(StatementCompletion c) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            StatementRequest r = c.request();
            g.writeStartObject();
            g.writeStringField("event", "statement");
            g.writeStringField("agent", r.session().agent());
            g.writeStringField("session", r.session().sessionId());
            g.writeStringField("protocol", r.session().protocol().name().toLowerCase(java.util.Locale.ROOT));
            g.writeStringField("database", r.session().database());
            g.writeStringField("client", client(r.session().client()));
            g.writeStringField("sql", r.sql());
            g.writeBooleanField("extended", r.extended());
            g.writeArrayFieldStart("parameters");
            for (BoundParameter p : r.parameters()) {
                if (p.text() == null) g.writeNull(); else g.writeString(p.text());
            }
            g.writeEndArray();
            g.writeStringField("start", String.valueOf(c.started()));
            g.writeStringField("end", String.valueOf(c.ended()));
            if (c.started() != null && c.ended() != null) {
                g.writeNumberField("durationMicros", java.time.Duration.between(c.started(), c.ended()).toNanos() / 1000);
            }
            g.writeStringField("commandTag", c.commandTag());
            g.writeNumberField("rowsReturned", c.rowsReturned());
            g.writeNumberField("rowsAffected", c.rowsAffected());
            g.writeNumberField("bytesSent", c.bytesSent());
            ProtocolError e = c.error();
            g.writeStringField("sqlstate", e == null ? null : e.sqlState());
            if (e != null) {
                g.writeStringField("error", e.message());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }
}
