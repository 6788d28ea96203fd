package io.countersign.server.gate;

import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementRequest;

/**
 * The one place every statement passes before it reaches a backend, for every listener.
 *
 * <p>Today it allows everything unobserved. Analysis and policy (allow / hold for approval /
 * deny) and the tracking observer plug in here, and nowhere else: {@link #decide} is the seam.
 * It runs on the session's event loop, so anything slow must come back as a {@link GateDecision.Defer}.
 */
public final class CountersignGate implements StatementGate {

    @Override
    public GateDecision decide(StatementRequest request) {
        return GateDecision.ALLOW_UNOBSERVED;
    }
}
