package io.countersign.approvals.policy;

import io.countersign.analysis.Category;
import io.countersign.analysis.StatementAnalysis;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The conditions of a rule. Every non-empty condition must hold (and); within one condition any
 * listed value suffices (or). An empty match matches every statement.
 */
public record RuleMatch(
        List<Glob> agents,
        List<Glob> agentGroups,
        List<Glob> databases,
        Set<Category> categories,
        List<Glob> tables,
        List<Glob> columns,
        Set<String> kinds) {

    public static final RuleMatch ANY = new RuleMatch(List.of(), List.of(), List.of(), Set.of(), List.of(), List.of(), Set.of());

    public RuleMatch {
        agents = List.copyOf(agents);
        agentGroups = List.copyOf(agentGroups);
        databases = List.copyOf(databases);
        categories = Set.copyOf(categories);
        tables = List.copyOf(tables);
        columns = List.copyOf(columns);
        kinds = Set.copyOf(kinds);
    }

    boolean matches(StatementFacts facts, StatementAnalysis statement) {
        if (!agents.isEmpty() && agents.stream().noneMatch(g -> g.matches(facts.agent()))) {
            return false;
        }
        if (!agentGroups.isEmpty()
                && agentGroups.stream().noneMatch(g -> facts.agentGroups().stream().anyMatch(g::matches))) {
            return false;
        }
        if (!databases.isEmpty() && databases.stream().noneMatch(g -> g.matches(facts.database()))) {
            return false;
        }
        if (!categories.isEmpty() && categories.stream().noneMatch(statement::has)) {
            return false;
        }
        if (!tables.isEmpty() && !anyMatch(tables, statement.tablesRead(), statement.tablesWritten())) {
            return false;
        }
        if (!columns.isEmpty() && !anyMatch(columns, statement.columnsRead(), statement.columnsWritten())) {
            return false;
        }
        return kinds.isEmpty() || kinds.contains(statement.kind() == null ? "" : statement.kind().toUpperCase(Locale.ROOT));
    }

    private static boolean anyMatch(List<Glob> globs, Set<String> a, Set<String> b) {
        for (Glob g : globs) {
            if (a.stream().anyMatch(g::matches) || b.stream().anyMatch(g::matches)) {
                return true;
            }
        }
        return false;
    }
}
