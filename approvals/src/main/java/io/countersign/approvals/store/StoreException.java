package io.countersign.approvals.store;

/** The approval store could not be read or written; the message names the operation and the database. */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
