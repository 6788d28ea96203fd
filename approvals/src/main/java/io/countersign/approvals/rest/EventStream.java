package io.countersign.approvals.rest;

import com.sun.net.httpserver.HttpExchange;
import io.countersign.approvals.ApprovalEvent;
import io.countersign.approvals.ApprovalEventListener;
import io.countersign.approvals.ApprovalService;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One server-sent-events subscriber. The HTTP handler returns at once; a virtual thread owns the
 * exchange from then on and writes each event, with a comment line as heartbeat so proxies keep the
 * connection open and a dead client is noticed. A subscriber that falls 1000 events behind is
 * dropped (its console reconnects and reloads) rather than buffering without bound.
 */
final class EventStream implements ApprovalEventListener {

    private static final String POISON = "";
    private final HttpExchange exchange;
    private final ApprovalService service;
    private final BlockingQueue<String> queue = new LinkedBlockingQueue<>(1000);
    private final long heartbeatMillis;

    EventStream(HttpExchange exchange, ApprovalService service, long heartbeatMillis) {
        this.exchange = exchange;
        this.service = service;
        this.heartbeatMillis = heartbeatMillis;
    }

    void start() throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.getResponseHeaders().set("X-Accel-Buffering", "no");
        exchange.sendResponseHeaders(200, 0);
        service.addListener(this);
        Thread.ofVirtual().name("sse " + exchange.getRemoteAddress()).start(this::pump);
    }

    @Override
    public void onEvent(ApprovalEvent event) {
        String line = "event: " + event.getClass().getSimpleName() + "\ndata: " + ApprovalJson.event(event) + "\n\n";
        if (!queue.offer(line)) {
            queue.clear();
            queue.offer(POISON);
        }
    }

    private void pump() {
        OutputStream out = exchange.getResponseBody();
        try {
            write(out, ": connected\n\n");
            while (true) {
                String next = queue.poll(heartbeatMillis, TimeUnit.MILLISECONDS);
                if (next == POISON) {
                    return;
                }
                write(out, next == null ? ": heartbeat\n\n" : next);
            }
        } catch (IOException | InterruptedException e) {
            // the client went away; fall through to clean up
        } finally {
            service.removeListener(this);
            exchange.close();
        }
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
