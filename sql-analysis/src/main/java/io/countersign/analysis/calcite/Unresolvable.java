package io.countersign.analysis.calcite;

/** Layer 2 cannot resolve something for certain; the statement falls to the next layer. */
public final class Unresolvable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public Unresolvable(String message) {
        super(message, null, false, false);
    }
}
