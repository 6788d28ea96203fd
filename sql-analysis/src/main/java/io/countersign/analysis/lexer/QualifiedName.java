package io.countersign.analysis.lexer;

import java.util.List;

/**
 * A possibly qualified name as written: {@code parts} are decoded (unquoted parts folded).
 *
 * @param parts  name parts, outermost first (schema, table) or (schema, function)
 * @param quoted whether the last part was quoted (case preserved)
 */
public record QualifiedName(List<String> parts, boolean quoted) {

    public QualifiedName {
        parts = List.copyOf(parts);
    }

    public String last() {
        return parts.get(parts.size() - 1);
    }

    /** The schema part when qualified, else null. */
    public String schema() {
        return parts.size() >= 2 ? parts.get(parts.size() - 2) : null;
    }

    @Override
    public String toString() {
        return String.join(".", parts);
    }
}
