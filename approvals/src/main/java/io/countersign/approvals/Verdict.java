package io.countersign.approvals;

public enum Verdict {
    APPROVE,
    DENY
}
