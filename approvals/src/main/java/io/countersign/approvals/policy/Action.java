package io.countersign.approvals.policy;

/** What a matching policy rule does with a statement. */
public enum Action {
    ALLOW,
    HOLD,
    DENY
}
