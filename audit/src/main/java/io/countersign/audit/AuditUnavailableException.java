package io.countersign.audit;

/**
 * The audit could not make a record durable, so the statement it describes must not proceed (fail-closed),
 * or the trail is closed. The message says what broke and what to do; the proxy can pass it to the agent.
 */
public final class AuditUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AuditUnavailableException(String message) {
        super(message);
    }

    public AuditUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
