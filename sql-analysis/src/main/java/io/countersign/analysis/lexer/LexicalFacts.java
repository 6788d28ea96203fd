package io.countersign.analysis.lexer;

import java.util.List;

/**
 * What the lexer alone can say about a statement.
 *
 * @param kind        statement kind, e.g. SELECT, INSERT, CREATE TABLE, SET, BEGIN
 * @param relations   every identifier in a position that could name a relation (FROM, JOIN, INTO, UPDATE,
 *                    TABLE, COPY, ...), plus string literals cast to regclass
 * @param functions   every identifier followed by a parenthesis that is not a keyword or type
 * @param hasWhere    a WHERE at the top level (for DELETE/UPDATE)
 * @param temporary   CREATE TEMP/TEMPORARY or DROP TEMPORARY, or a pg_temp-qualified target
 * @param writesInside a nested INSERT/UPDATE/DELETE/MERGE (data-modifying CTE or subquery)
 */
public record LexicalFacts(
        String kind,
        List<QualifiedName> relations,
        List<QualifiedName> functions,
        boolean hasWhere,
        boolean temporary,
        boolean writesInside) {

    public LexicalFacts {
        relations = List.copyOf(relations);
        functions = List.copyOf(functions);
    }

    /** All identifiers for a reviewer: relations first, then functions. */
    public String identifiersForReview() {
        StringBuilder sb = new StringBuilder();
        if (!relations.isEmpty()) {
            sb.append("relations ").append(join(relations));
        }
        if (!functions.isEmpty()) {
            sb.append(sb.isEmpty() ? "" : "; ").append("functions ").append(join(functions));
        }
        return sb.isEmpty() ? "no identifiers" : sb.toString();
    }

    private static String join(List<QualifiedName> names) {
        return String.join(", ", names.stream().map(QualifiedName::toString).distinct().toList());
    }
}
