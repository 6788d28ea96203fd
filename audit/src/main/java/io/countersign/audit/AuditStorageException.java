package io.countersign.audit;

/** The trail's files are damaged or unreadable in a way that needs an operator; the message says where and what to do. */
public final class AuditStorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AuditStorageException(String message) {
        super(message);
    }

    public AuditStorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
