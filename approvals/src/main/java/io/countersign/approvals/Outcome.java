package io.countersign.approvals;

/** How a held statement's wait ended; the gate turns it into running or refusing the statement. */
public sealed interface Outcome {

    ApprovalRequest request();

    /** Run the statement, then call {@link ApprovalService#markExecuted}. */
    record Approved(ApprovalRequest request) implements Outcome {}

    record Denied(ApprovalRequest request, String reviewer, String reason) implements Outcome {}

    record Expired(ApprovalRequest request) implements Outcome {}

    record Withdrawn(ApprovalRequest request, String reason) implements Outcome {}
}
