package io.countersign.wire.spi;

/** The client cancelled or went away while its statement was held. */
public final class StatementWithdrawnException extends RuntimeException {

    public enum Reason { CANCELLED, DISCONNECTED }

    private final Reason reason;

    public StatementWithdrawnException(Reason reason) {
        super(reason == Reason.CANCELLED
                ? "the client cancelled the statement while it was held"
                : "the client disconnected while its statement was held", null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
