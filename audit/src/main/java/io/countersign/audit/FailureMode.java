package io.countersign.audit;

/** What the proxy does while the audit cannot write. */
public enum FailureMode {
    /** Default: refuse new statements (appends fail fast) until the audit can write again. */
    FAIL_CLOSED,
    /** Keep serving; records wait in memory (bounded) and are written when storage recovers. */
    FAIL_OPEN;

    public static FailureMode parse(String text) {
        return switch (text == null ? "" : text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "fail-closed" -> FAIL_CLOSED;
            case "fail-open" -> FAIL_OPEN;
            default -> throw new IllegalArgumentException("audit failure mode '" + text + "' is not known; use fail-closed or fail-open");
        };
    }
}
