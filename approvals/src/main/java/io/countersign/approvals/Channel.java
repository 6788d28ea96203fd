package io.countersign.approvals;

/** Where a reviewer took a decision. */
public enum Channel {
    CONSOLE,
    API,
    CLI,
    SLACK,
    TEAMS
}
