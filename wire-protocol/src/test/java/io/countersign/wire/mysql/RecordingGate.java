package io.countersign.wire.mysql;

import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.ResultColumn;
import io.countersign.wire.spi.ResultObserver;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementRequest;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small test gate: denies statements containing "DENY_ME", holds those containing "HOLD_ME"
 * until the test decides, stops results naming the column {@code secret}, and watches every result.
 */
final class RecordingGate implements StatementGate {

    record Hold(StatementRequest request, CompletableFuture<GateDecision> outcome) {}

    final ConcurrentLinkedQueue<StatementRequest> seen = new ConcurrentLinkedQueue<>();
    final BlockingQueue<Hold> holds = new LinkedBlockingQueue<>();
    final List<List<ResultColumn>> columns = new CopyOnWriteArrayList<>();
    final AtomicLong rows = new AtomicLong();

    final ResultObserver observer = new ResultObserver() {
        @Override
        public ProtocolError onColumns(List<ResultColumn> cols) {
            columns.add(cols);
            if (cols.stream().anyMatch(c -> "secret".equals(c.column()))) {
                return new ProtocolError("42000", 1142, "SELECT command denied: column 'secret' of table '"
                        + cols.get(0).table() + "' is sensitive and the analysis did not expect it", null);
            }
            return null;
        }

        @Override
        public void onRow(ByteBuf row) {
            if (row.isReadable()) {
                rows.incrementAndGet();
            }
        }
    };

    @Override
    public GateDecision decide(StatementRequest request) {
        seen.add(request);
        String sql = request.sql();
        if (sql.contains("DENY_ME")) {
            return new GateDecision.Deny("ctx-deny", new ProtocolError("42000", 1227,
                    "Access denied; you need (at least one of) the reviewer's approval: denied by alice, reason: too broad", null));
        }
        if (sql.contains("HOLD_ME")) {
            CompletableFuture<GateDecision> outcome = new CompletableFuture<>();
            holds.add(new Hold(request, outcome));
            return new GateDecision.Defer(outcome, "held as request r-1");
        }
        return new GateDecision.Allow("ctx", observer);
    }

    GateDecision.Allow approve() {
        return new GateDecision.Allow("ctx-approved", observer);
    }
}
