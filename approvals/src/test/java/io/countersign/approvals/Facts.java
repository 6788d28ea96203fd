package io.countersign.approvals;

import io.countersign.analysis.Category;
import io.countersign.analysis.Finding;
import io.countersign.analysis.SettledBy;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.approvals.policy.StatementFacts;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Builds analysis results and facts for tests, as sql-analysis would report them. */
final class Facts {

    private Facts() {}

    static StatementAnalysis select(String sql, Set<String> tables, Set<String> columns, Category... categories) {
        List<Finding> findings = new ArrayList<>();
        for (Category c : categories) {
            String reason = switch (c) {
                case SENSITIVE_READ -> "reads sensitive column " + new java.util.TreeSet<>(columns).first();
                default -> c.name().toLowerCase() + " in test statement";
            };
            findings.add(new Finding(c, reason));
        }
        return new StatementAnalysis(sql, sql.replaceAll("\\$\\d+|\\d+", "?").replaceAll("'[^']*'", "?"), "SELECT", tables, Set.of(),
                columns, Set.of(), Set.of(), findings, categories.length > 0 && categories[0] == Category.UNANALYSABLE
                        ? SettledBy.NONE : SettledBy.CALCITE);
    }

    static StatementAnalysis of(String kind, String sql, Category... categories) {
        List<Finding> findings = new ArrayList<>();
        for (Category c : categories) {
            findings.add(new Finding(c, c.name().toLowerCase() + " in test statement"));
        }
        return new StatementAnalysis(sql, sql, kind, Set.of(), Set.of(), Set.of(), Set.of(), Set.of(), findings, SettledBy.LEXER);
    }

    static StatementFacts facts(String agent, StatementAnalysis... statements) {
        return new StatementFacts(agent, Set.of("bots"), "olivia", "shop", List.of(statements));
    }

    static StatementAnalysis emailRead() {
        return select("SELECT email FROM customers WHERE id = $1", Set.of("public.customers"),
                Set.of("public.customers.email", "public.customers.id"), Category.SENSITIVE_READ);
    }
}
