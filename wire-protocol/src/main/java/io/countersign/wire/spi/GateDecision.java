package io.countersign.wire.spi;

import java.util.concurrent.CompletableFuture;

/**
 * The gate's answer for one statement. Allowing is the hot path and allocates nothing beyond the record.
 */
public sealed interface GateDecision {

    /**
     * Forward the statement. {@code context} travels with the statement and comes back in its
     * {@link StatementCompletion}; {@code observer} (nullable) watches the result as it streams back.
     * {@code runAs} (nullable) is a backend role this one statement runs as: the session elevates
     * for the statement alone (PostgreSQL: {@code SET LOCAL ROLE} around it; MySQL: a separate backend
     * login with the credentials {@link BackendTarget#elevated()} holds for that role) and the next
     * statement runs as the session's own backend user again.
     */
    record Allow(Object context, ResultObserver observer, String runAs) implements GateDecision {
        public Allow(Object context, ResultObserver observer) {
            this(context, observer, null);
        }
    }

    /** Refuse the statement: the client receives an error and the backend never sees the statement. */
    record Deny(Object context, ProtocolError error) implements GateDecision {}

    /**
     * Hold the statement until {@code outcome} completes with an {@link Allow} or a {@link Deny}.
     * The session sends {@code notice} to the client at once where the protocol allows it (PostgreSQL
     * NoticeResponse), and keeps reading nothing further from this client into the backend until the
     * outcome is known. If the client cancels or disconnects first, the session completes
     * {@code outcome} exceptionally with a {@link StatementWithdrawnException}.
     */
    record Defer(CompletableFuture<GateDecision> outcome, String notice) implements GateDecision {}

    Allow ALLOW_UNOBSERVED = new Allow(null, null);
}
