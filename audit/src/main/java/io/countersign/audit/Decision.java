package io.countersign.audit;

/**
 * How a statement was settled. Only the fields that apply to the kind are set: {@code rule} for
 * allowed-by-rule (and for the rule that denied or held it), {@code approvedBy} and {@code requestId}
 * for approvals, {@code reason} for denials, timeouts and withdrawals.
 */
public record Decision(Kind kind, String rule, String approvedBy, String requestId, String reason) {

    public enum Kind { ALLOWED_BY_RULE, APPROVED, DENIED, TIMED_OUT, WITHDRAWN }

    public Decision {
        if (kind == null) {
            throw new IllegalArgumentException("decision kind must not be null");
        }
    }

    public static Decision allowedByRule(String rule) {
        return new Decision(Kind.ALLOWED_BY_RULE, rule, null, null, null);
    }

    public static Decision approved(String approvedBy, String requestId) {
        return new Decision(Kind.APPROVED, null, approvedBy, requestId, null);
    }

    public static Decision denied(String rule, String reason) {
        return new Decision(Kind.DENIED, rule, null, null, reason);
    }

    public static Decision timedOut(String requestId) {
        return new Decision(Kind.TIMED_OUT, null, null, requestId, "no reviewer decided in time");
    }

    public static Decision withdrawn(String requestId, String reason) {
        return new Decision(Kind.WITHDRAWN, null, null, requestId, reason);
    }
}
