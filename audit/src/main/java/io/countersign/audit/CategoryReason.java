package io.countersign.audit;

/** One analysis category the statement fell into and why (for example {@code destructive}, "DELETE without WHERE"). */
public record CategoryReason(String category, String reason) {
    public CategoryReason {
        if (category == null) {
            throw new IllegalArgumentException("category must not be null");
        }
    }
}
