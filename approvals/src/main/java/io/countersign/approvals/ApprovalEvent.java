package io.countersign.approvals;

/** Everything that happens to requests and grants; the audit, console and Slack subscribe. */
public sealed interface ApprovalEvent {

    record RequestCreated(ApprovalRequest request) implements ApprovalEvent {}

    /** A reviewer's verdict was recorded; {@code request} is the request after it (its state may have changed). */
    record DecisionRecorded(ApprovalRequest request, Decision decision) implements ApprovalEvent {}

    record StateChanged(ApprovalRequest request, RequestState previous) implements ApprovalEvent {}

    /**
     * Another replica changed a request this process is showing or waiting on. Already emitted as
     * a state change on that replica: the audit ignores this one, live views refresh.
     */
    record RemoteChange(ApprovalRequest request) implements ApprovalEvent {}

    record GrantCreated(Grant grant) implements ApprovalEvent {}

    record GrantRevoked(Grant grant) implements ApprovalEvent {}
}
