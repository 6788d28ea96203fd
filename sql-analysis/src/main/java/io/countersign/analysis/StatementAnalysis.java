package io.countersign.analysis;

import java.util.List;
import java.util.Set;

/**
 * What one statement does, as far as Countersign can prove. Immutable.
 * Tables are {@code schema.table}, columns {@code schema.table.column}, all lower-case as resolved.
 *
 * @param sql            the statement's own text (one statement of a multi-statement string)
 * @param fingerprint    the statement with literals and whitespace normalised
 * @param kind           the statement kind, e.g. SELECT, INSERT, COPY, GRANT, SET, BEGIN
 * @param tablesRead     relations read
 * @param tablesWritten  relations written
 * @param columnsRead    columns read (selected, filtered on, joined on, aggregated, ...)
 * @param columnsWritten columns written
 * @param functions      functions called
 * @param findings       categories with reasons; empty for a plain, safe statement
 * @param settledBy      the layer that settled it
 */
public record StatementAnalysis(
        String sql,
        String fingerprint,
        String kind,
        Set<String> tablesRead,
        Set<String> tablesWritten,
        Set<String> columnsRead,
        Set<String> columnsWritten,
        Set<String> functions,
        List<Finding> findings,
        SettledBy settledBy) {

    public StatementAnalysis {
        tablesRead = Set.copyOf(tablesRead);
        tablesWritten = Set.copyOf(tablesWritten);
        columnsRead = Set.copyOf(columnsRead);
        columnsWritten = Set.copyOf(columnsWritten);
        functions = Set.copyOf(functions);
        findings = List.copyOf(findings);
    }

    public boolean has(Category category) {
        for (Finding f : findings) {
            if (f.category() == category) {
                return true;
            }
        }
        return false;
    }
}
