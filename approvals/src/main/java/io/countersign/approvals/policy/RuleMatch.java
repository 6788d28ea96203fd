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

    // Every statement of every session runs through these: plain loops, no stream pipeline per condition.
    boolean matches(StatementFacts facts, StatementAnalysis statement) {
        if (!agents.isEmpty() && !anyMatches(agents, facts.agent())) {
            return false;
        }
        if (!agentGroups.isEmpty() && !anyGroupMatches(agentGroups, facts.agentGroups())) {
            return false;
        }
        if (!databases.isEmpty() && !anyMatches(databases, facts.database())) {
            return false;
        }
        if (!categories.isEmpty() && !anyCategory(categories, statement)) {
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

    private static boolean anyMatches(List<Glob> globs, String value) {
        for (Glob g : globs) {
            if (g.matches(value)) {
                return true;
            }
        }
        return false;
    }

    private static boolean anyGroupMatches(List<Glob> globs, java.util.Collection<String> groups) {
        for (Glob g : globs) {
            for (String group : groups) {
                if (g.matches(group)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean anyCategory(Set<Category> categories, StatementAnalysis statement) {
        for (Category c : categories) {
            if (statement.has(c)) {
                return true;
            }
        }
        return false;
    }

    private static boolean anyMatch(List<Glob> globs, Set<String> a, Set<String> b) {
        for (Glob g : globs) {
            for (String s : a) {
                if (g.matches(s)) {
                    return true;
                }
            }
            for (String s : b) {
                if (g.matches(s)) {
                    return true;
                }
            }
        }
        return false;
    }
}
