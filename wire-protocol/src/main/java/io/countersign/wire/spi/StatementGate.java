package io.countersign.wire.spi;

/**
 * Decides, for every statement, whether it may reach the backend. Called on the session's event
 * loop before anything is forwarded; must return promptly and never block (a slow decision is a
 * {@link GateDecision.Defer}).
 */
@FunctionalInterface
public interface StatementGate {

    GateDecision decide(StatementRequest request);

    /** A gate that lets everything through unobserved. */
    StatementGate ALLOW_ALL = request -> GateDecision.ALLOW_UNOBSERVED;
}
