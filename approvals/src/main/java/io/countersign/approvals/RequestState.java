package io.countersign.approvals;

/** Where an approval request stands. Only PENDING and APPROVED are not final. */
public enum RequestState {
    PENDING,
    APPROVED,
    DENIED,
    EXPIRED,
    WITHDRAWN,
    EXECUTED,
    /** Pending when Countersign stopped: the agent's connection is gone, nobody can run it. */
    ABANDONED;

    public boolean isFinal() {
        return this != PENDING && this != APPROVED;
    }
}
