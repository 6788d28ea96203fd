package io.countersign.approvals.client;

/** The approvals API refused a call or could not be reached; {@code status} is 0 when unreachable. */
public final class ApprovalsClientException extends RuntimeException {
    private final int status;

    public ApprovalsClientException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
