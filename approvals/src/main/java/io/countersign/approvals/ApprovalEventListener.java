package io.countersign.approvals;

/** Receives every {@link ApprovalEvent}, on the thread that caused it; must not block for long. */
@FunctionalInterface
public interface ApprovalEventListener {
    void onEvent(ApprovalEvent event);
}
