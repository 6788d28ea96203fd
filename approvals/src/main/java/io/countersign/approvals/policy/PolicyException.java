package io.countersign.approvals.policy;

/** A policy file that cannot be used; the message names the file, the key path and what is expected. */
public final class PolicyException extends RuntimeException {

    public PolicyException(String message) {
        super(message);
    }

    public PolicyException(String message, Throwable cause) {
        super(message, cause);
    }
}
