package io.countersign.analysis.layer;

/** What layer 1 decided for a statement. */
public sealed interface LexerOutcome {

    /** Settled: the draft holds everything. */
    record Settled() implements LexerOutcome {}

    /**
     * A query to resolve in layer 2, in tokens {@code [from, to)} of the statement.
     *
     * @param role how the query is used: "query" (the statement itself), "export", "cursor", "explain",
     *             "explain-analyze", "create-as", "prepare"
     */
    record Query(int from, int to, String role) implements LexerOutcome {}

    /** A statement carried in a string (MySQL PREPARE ... FROM '...'): analyse it as its own string. */
    record Nested(String sql) implements LexerOutcome {}

    /** Layer 1 cannot settle it and it holds no query for layer 2. */
    record Unsettled(String reason) implements LexerOutcome {}
}
