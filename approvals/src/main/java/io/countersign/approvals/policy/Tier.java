package io.countersign.approvals.policy;

/** How much is at stake if a held statement runs; decides who must look and how many. */
public enum Tier {
    LOW,
    HIGH,
    CRITICAL
}
