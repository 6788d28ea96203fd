package io.countersign.analysis.layer;

import io.countersign.analysis.Category;
import io.countersign.analysis.Finding;
import io.countersign.analysis.SettledBy;
import io.countersign.analysis.StatementAnalysis;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Mutable facts gathered by the layers for one statement; frozen into a {@link StatementAnalysis}. */
public final class Draft {
    public String kind;
    public final Set<String> tablesRead = new LinkedHashSet<>();
    public final Set<String> tablesWritten = new LinkedHashSet<>();
    public final Set<String> columnsRead = new LinkedHashSet<>();
    public final Set<String> columnsWritten = new LinkedHashSet<>();
    public final Set<String> functions = new LinkedHashSet<>();
    /** A whole table copied to the client (COPY t TO STDOUT): an export when the table is large. */
    public String wholeTableCopy;
    private final List<Finding> findings = new ArrayList<>();

    public Draft(String kind) {
        this.kind = kind;
    }

    public void flag(Category category, String reason) {
        Finding f = new Finding(category, reason);
        if (!findings.contains(f)) {
            findings.add(f);
        }
    }

    public boolean has(Category c) {
        return findings.stream().anyMatch(f -> f.category() == c);
    }

    public List<Finding> findings() {
        return findings;
    }

    /** Drops findings of a category (e.g. plain EXPLAIN does not execute, so it neither exports nor destroys). */
    public void drop(Category c) {
        findings.removeIf(f -> f.category() == c);
    }

    public void mergeFrom(Draft other) {
        tablesRead.addAll(other.tablesRead);
        tablesWritten.addAll(other.tablesWritten);
        columnsRead.addAll(other.columnsRead);
        columnsWritten.addAll(other.columnsWritten);
        functions.addAll(other.functions);
        for (Finding f : other.findings) {
            if (!findings.contains(f)) {
                findings.add(f);
            }
        }
    }

    public StatementAnalysis freeze(String sql, String fingerprint, SettledBy settledBy) {
        return new StatementAnalysis(sql, fingerprint, kind, tablesRead, tablesWritten, columnsRead, columnsWritten,
                functions, findings, settledBy);
    }
}
