package io.countersign.approvals;

/** A reviewer's action that the rules forbid; the message says why and what would be allowed. */
public final class DecisionRefusedException extends RuntimeException {

    public enum Reason {
        NOT_FOUND(404), NOT_PENDING(409), NOT_IN_GROUP(403), SELF_APPROVAL(403), AGENT_REVIEWER(403),
        ALREADY_DECIDED(409), COMMENT_REQUIRED(400), INVALID(400);

        private final int httpStatus;

        Reason(int httpStatus) {
            this.httpStatus = httpStatus;
        }

        public int httpStatus() {
            return httpStatus;
        }
    }

    private final Reason reason;

    public DecisionRefusedException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
