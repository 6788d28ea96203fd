package io.countersign.analysis;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The analysis of one SQL string: one {@link StatementAnalysis} per statement.
 *
 * @param statements   per statement, in order
 * @param pendingExplain for each statement, whether it is UNANALYSABLE only until the EXPLAIN layer has run
 */
public record AnalysisResult(List<StatementAnalysis> statements, List<Boolean> pendingExplain) {

    /** Severity order, most severe first; a string's verdict is its most severe category. */
    public static final List<Category> SEVERITY = List.of(
            Category.UNANALYSABLE, Category.PRIVILEGE, Category.SESSION_AUTH, Category.DESTRUCTIVE,
            Category.DANGEROUS_FUNCTION, Category.EXPORT, Category.SENSITIVE_WRITE, Category.SENSITIVE_READ);

    public AnalysisResult {
        statements = List.copyOf(statements);
        pendingExplain = List.copyOf(pendingExplain);
        if (statements.size() != pendingExplain.size()) {
            throw new IllegalArgumentException("one pendingExplain flag per statement");
        }
    }

    /** True when some statement can still be settled by the EXPLAIN layer: call {@code analyzeWithExplain}. */
    public boolean needsExplain() {
        return pendingExplain.contains(Boolean.TRUE);
    }

    /** Every category of every statement. */
    public Set<Category> categories() {
        Set<Category> s = EnumSet.noneOf(Category.class);
        for (StatementAnalysis a : statements) {
            a.findings().forEach(f -> s.add(f.category()));
        }
        return s;
    }

    /** The most severe category over all statements; empty when every statement is plainly safe. */
    public Optional<Category> verdict() {
        Set<Category> all = categories();
        return SEVERITY.stream().filter(all::contains).findFirst();
    }

    /** The statement carrying the verdict (the first statement when all are safe). */
    public Optional<StatementAnalysis> mostSevere() {
        Optional<Category> v = verdict();
        if (v.isEmpty()) {
            return statements.stream().findFirst();
        }
        return statements.stream().filter(s -> s.has(v.get())).findFirst();
    }

    /** No findings at all: nothing for policy to hold. */
    public boolean isSafe() {
        return verdict().isEmpty();
    }

    /**
     * Whether a statement changes the catalog (DDL, grants, CREATE TABLE AS, SELECT INTO): after it completes,
     * call {@code CatalogCache.markStale()} so the next analyses see the new relations.
     */
    public boolean changesCatalog() {
        for (StatementAnalysis s : statements) {
            String k = s.kind();
            if (k.startsWith("CREATE ") || k.startsWith("ALTER ") || k.startsWith("DROP ") || k.equals("RENAME")
                    || k.equals("GRANT") || k.equals("REVOKE") || k.equals("IMPORT") || k.equals("COMMENT")
                    || k.equals("SELECT") && !s.tablesWritten().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    public List<Finding> findings() {
        return statements.stream().flatMap(s -> s.findings().stream()).toList();
    }
}
