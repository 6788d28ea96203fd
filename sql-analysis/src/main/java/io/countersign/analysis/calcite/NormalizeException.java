package io.countersign.analysis.calcite;

/** The query uses a construct the normaliser does not rewrite: layer 2 passes the statement on. */
public final class NormalizeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NormalizeException(String message) {
        super(message);
    }
}
