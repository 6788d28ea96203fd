package io.countersign.analysis.explain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.analysis.AnalyzerConfig;
import io.countersign.analysis.Category;
import io.countersign.analysis.Dialect;
import io.countersign.analysis.SettledBy;
import io.countersign.analysis.SqlAnalyzer;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.Column;
import io.countersign.analysis.catalog.Table;
import io.countersign.analysis.layer.Draft;
import io.countersign.analysis.layer.Findings;
import io.countersign.analysis.layer.LexerLayer;
import io.countersign.analysis.layer.LexerOutcome;
import io.countersign.analysis.lexer.LexedStatement;
import io.countersign.analysis.lexer.LexicalAnalyzer;
import io.countersign.analysis.lexer.LexicalFacts;
import io.countersign.analysis.lexer.QualifiedName;
import io.countersign.analysis.lexer.SqlLexer;
import io.countersign.analysis.lexer.StatementKinds;
import io.countersign.analysis.lexer.Token;
import io.countersign.analysis.lexer.TokenType;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Layer 4: asks the backend's own parser and planner, on the proxy's side connection, inside a read-only
 * transaction with a short statement timeout, and only when the statement calls no user-defined function
 * (checked live), so planning cannot run agent code. Blocking: run it on an executor, never an event loop.
 */
public final class ExplainLayer {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> PG_EXPRESSION_KEYS = Set.of("Output", "Filter", "Index Cond", "Recheck Cond",
            "Hash Cond", "Merge Cond", "Join Filter", "Sort Key", "Group Key", "One-Time Filter", "TID Cond",
            "Function Call", "Table Function Call", "Presorted Key", "Cache Key", "Run Condition", "Hash Key",
            "Order By", "Index Order By", "Conflict Filter", "Conflict Arbiter Indexes");

    private ExplainLayer() {}

    public static StatementAnalysis run(StatementAnalysis pending, Dialect dialect, Catalog catalog,
                                        SqlAnalyzer.ConnectionSupplier side, AnalyzerConfig config) {
        String sql = pending.sql();
        List<Token> tokens;
        LexicalFacts facts;
        Draft d;
        LexerOutcome.Query q;
        try {
            tokens = SqlLexer.tokenize(sql, dialect, catalog.lexOptions());
            LexedStatement st = LexedStatement.split(sql, tokens).get(0);
            tokens = st.tokens();
            facts = LexicalAnalyzer.analyze(tokens);
            d = new Draft(facts.kind());
            LexerOutcome o = LexerLayer.run(st, facts, dialect, catalog, d);
            if (!(o instanceof LexerOutcome.Query query)) {
                return pending;
            }
            q = query;
        } catch (RuntimeException e) {
            return pending;
        }
        String inner = sql.substring(tokens.get(q.from()).start(), tokens.get(q.to() - 1).end());
        List<String> functionNames = new ArrayList<>(facts.functions().stream().map(f -> f.last().toLowerCase(Locale.ROOT)).distinct().toList());
        // planning expands views: functions their definitions call must pass the same check
        String viewFunction = userFunctionInViews(facts, catalog, dialect, functionNames, 0, new java.util.HashSet<>());
        if (viewFunction != null) {
            return unanalysable(pending, "reads a view that calls user-defined function " + viewFunction
                    + ", so the database's EXPLAIN is not run (planning could execute it)");
        }
        try (Connection c = side.get()) {
            Draft e = dialect == Dialect.POSTGRESQL
                    ? postgres(c, inner, tokens.subList(q.from(), q.to()), functionNames, catalog, config)
                    : mysql(c, inner, tokens.subList(q.from(), q.to()), functionNames, catalog, config);
            // relations the plan skipped (constant-folded away) count as fully read: fail closed
            for (QualifiedName r : facts.relations()) {
                Table t = LexerLayer.resolve(r, catalog);
                if (t != null && !t.isView() && !e.tablesRead.contains(t.qualifiedName()) && !e.tablesWritten.contains(t.qualifiedName())) {
                    e.tablesRead.add(t.qualifiedName());
                    t.columns().forEach(col -> e.columnsRead.add(t.qualifiedName() + "." + col.name()));
                }
            }
            Findings.sensitive(e, config.sensitive());
            d.mergeFrom(e);
            if (q.role().equals("explain")) {
                d.drop(Category.SENSITIVE_READ);
                d.drop(Category.SENSITIVE_WRITE);
                d.drop(Category.EXPORT);
                d.drop(Category.DESTRUCTIVE);
            }
            return d.freeze(sql, pending.fingerprint(), SettledBy.EXPLAIN);
        } catch (UserFunctionException ex) {
            return unanalysable(pending, "calls user-defined function " + ex.getMessage()
                    + ", so the database's EXPLAIN is not run (planning could execute it)");
        } catch (SQLException ex) {
            if (FAILS_AT_BACKEND.contains(ex.getSQLState())) {
                return failsAtBackend(pending, ex);
            }
            return unanalysable(pending, "the database's EXPLAIN failed: " + ex.getMessage());
        } catch (RuntimeException ex) {
            return unanalysable(pending, "the database's EXPLAIN failed: " + ex.getMessage());
        }
    }

    /**
     * Name-resolution errors: the statement names a relation, column, function or schema the database
     * does not have. Running it fails with the same error during the same parse analysis, before any
     * row is read, so it is settled as harmless and the agent gets the backend's own error instead of a
     * hold for a statement that cannot run. (Syntax errors are not here: some valid statements cannot be
     * wrapped in EXPLAIN.)
     */
    private static final java.util.Set<String> FAILS_AT_BACKEND = java.util.Set.of(
            "42P01", "42703", "42883", "3F000", // PostgreSQL: undefined table, column, function, schema
            "42S02", "42S22");                  // MySQL/MariaDB: unknown table, unknown column

    private static StatementAnalysis failsAtBackend(StatementAnalysis p, SQLException ex) {
        Draft d = new Draft(p.kind());
        d.tablesRead.addAll(p.tablesRead());
        d.functions.addAll(p.functions());
        for (var f : p.findings()) {
            if (f.category() != Category.UNANALYSABLE) {
                d.flag(f.category(), f.reason());
            }
        }
        return d.freeze(p.sql(), p.fingerprint(), SettledBy.EXPLAIN);
    }

    /** The first user function called by a view the statement reads (recursively), adding view functions to the list. */
    private static String userFunctionInViews(LexicalFacts facts, Catalog catalog, Dialect dialect, List<String> functionNames,
                                              int depth, Set<String> seen) {
        if (depth > 16) {
            return "(views nested too deeply)";
        }
        for (QualifiedName r : facts.relations()) {
            Table t = LexerLayer.resolve(r, catalog);
            if (t == null || !t.isView() || !seen.add(t.qualifiedName())) {
                continue;
            }
            LexicalFacts vf;
            try {
                vf = LexicalAnalyzer.analyze(SqlLexer.tokenize(t.viewDefinition(), dialect));
            } catch (RuntimeException e) {
                return "(unreadable definition of view " + t.qualifiedName() + ")";
            }
            for (QualifiedName f : vf.functions()) {
                String name = f.last().toLowerCase(Locale.ROOT);
                if (catalog.hasUserFunction(name)) {
                    return name;
                }
                if (!functionNames.contains(name)) {
                    functionNames.add(name);
                }
            }
            String nested = userFunctionInViews(vf, catalog, dialect, functionNames, depth + 1, seen);
            if (nested != null) {
                return nested;
            }
        }
        return null;
    }

    private static StatementAnalysis unanalysable(StatementAnalysis p, String reason) {
        Draft d = new Draft(p.kind());
        d.tablesRead.addAll(p.tablesRead());
        d.functions.addAll(p.functions());
        for (var f : p.findings()) {
            if (f.category() == Category.UNANALYSABLE) {
                d.flag(Category.UNANALYSABLE, reason + "; earlier: " + f.reason());
            } else {
                d.flag(f.category(), f.reason());
            }
        }
        return d.freeze(p.sql(), p.fingerprint(), SettledBy.NONE);
    }

    private static final class UserFunctionException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UserFunctionException(String name) {
            super(name, null, false, false);
        }
    }

    // ------------------------------------------------------------------------------------- PostgreSQL

    private static Draft postgres(Connection c, String inner, List<Token> innerTokens, List<String> functions,
                                  Catalog catalog, AnalyzerConfig config) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        String prepared = null;
        try (Statement s = c.createStatement()) {
            s.execute("SET TRANSACTION READ ONLY");
            s.execute("SET LOCAL statement_timeout = " + Math.max(1, config.explainTimeout().toMillis()));
            if (!functions.isEmpty()) {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT n.nspname || '.' || p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
                                + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.proname = ANY (?)")) {
                    Array arr = c.createArrayOf("text", functions.toArray());
                    ps.setArray(1, arr);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            throw new UserFunctionException(rs.getString(1));
                        }
                    }
                }
            }
            int params = 0;
            for (Token t : innerTokens) {
                if (t.type() == TokenType.PARAM) {
                    params = Math.max(params, Integer.parseInt(t.value().substring(1)));
                }
            }
            String explain;
            if (params > 0) {
                prepared = "cs_explain_" + Long.toHexString(System.nanoTime());
                s.execute("SET LOCAL plan_cache_mode = force_generic_plan");
                s.execute("PREPARE " + prepared + " AS " + inner);
                StringBuilder args = new StringBuilder();
                for (int i = 0; i < params; i++) {
                    args.append(i == 0 ? "" : ", ").append("NULL");
                }
                explain = "EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) EXECUTE " + prepared + "(" + args + ")";
            } else {
                explain = "EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) " + inner;
            }
            String json;
            try (ResultSet rs = s.executeQuery(explain)) {
                rs.next();
                json = rs.getString(1);
            }
            return parsePostgresPlan(json, catalog);
        } finally {
            try {
                c.rollback();
                if (prepared != null) {
                    try (Statement s = c.createStatement()) {
                        s.execute("DEALLOCATE " + prepared);
                    } catch (SQLException ignored) {
                        // a failed PREPARE leaves nothing to deallocate
                    }
                }
            } finally {
                c.setAutoCommit(auto);
            }
        }
    }

    static Draft parsePostgresPlan(String json, Catalog catalog) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("EXPLAIN returned unreadable JSON: " + e.getMessage(), e);
        }
        Draft d = new Draft("SELECT");
        Map<String, Table> aliases = new HashMap<>();
        List<Map.Entry<String, Table>> expressions = new ArrayList<>();
        for (JsonNode top : root) {
            walk(top.get("Plan"), catalog, aliases, expressions, d);
        }
        // with a single relation PostgreSQL does not qualify column names
        Table only = aliases.size() == 1 ? aliases.values().iterator().next() : null;
        for (var e : expressions) {
            columnsIn(e.getKey(), aliases, e.getValue() != null ? e.getValue() : only, d);
        }
        return d;
    }

    private static void walk(JsonNode node, Catalog catalog, Map<String, Table> aliases,
                             List<Map.Entry<String, Table>> expressions, Draft d) {
        if (node == null) {
            return;
        }
        JsonNode rel = node.get("Relation Name");
        Table own = null;
        if (rel != null) {
            String schema = node.has("Schema") ? node.get("Schema").asText() : "public";
            Table t = catalog.table(schema, rel.asText());
            String name = schema + "." + rel.asText();
            boolean modify = "ModifyTable".equals(node.path("Node Type").asText());
            if (t == null) {
                if (!catalog.isSystemSchema(schema)) {
                    throw new IllegalStateException("the plan names " + name + ", which is not in the catalog");
                }
            }
            if (modify) {
                d.tablesWritten.add(name);
                String op = node.path("Operation").asText();
                if ((op.equals("Delete") || op.equals("Update")) && !hasFilter(node.get("Plans"))) {
                    d.flag(Category.DESTRUCTIVE, op.toUpperCase(Locale.ROOT) + " of " + name
                            + " has no filter in the plan: it affects every row");
                }
                if (t != null) {
                    // the plan does not say which columns a write sets: count them all
                    t.columns().forEach(c -> d.columnsWritten.add(name + "." + c.name()));
                }
            } else {
                d.tablesRead.add(name);
            }
            if (node.has("Alias") && t != null) {
                aliases.put(node.get("Alias").asText(), t);
            }
            own = modify ? null : t;
        }
        var fields = node.fields();
        while (fields.hasNext()) {
            var f = fields.next();
            if (PG_EXPRESSION_KEYS.contains(f.getKey())) {
                Table owner = own;
                if (f.getValue().isArray()) {
                    f.getValue().forEach(v -> expressions.add(new java.util.AbstractMap.SimpleEntry<>(v.asText(), owner)));
                } else {
                    expressions.add(new java.util.AbstractMap.SimpleEntry<>(f.getValue().asText(), owner));
                }
            }
        }
        JsonNode plans = node.get("Plans");
        if (plans != null) {
            for (JsonNode p : plans) {
                walk(p, catalog, aliases, expressions, d);
            }
        }
    }

    private static final Set<String> FILTER_KEYS = Set.of("Filter", "Index Cond", "Recheck Cond", "TID Cond",
            "Join Filter", "Hash Cond", "Merge Cond", "One-Time Filter");

    private static boolean hasFilter(JsonNode plans) {
        if (plans == null) {
            return false;
        }
        for (JsonNode p : plans) {
            for (String k : FILTER_KEYS) {
                if (p.has(k)) {
                    return true;
                }
            }
            if (hasFilter(p.get("Plans"))) {
                return true;
            }
        }
        return false;
    }

    /** alias.column, alias.* and a bare alias (a whole-row reference) inside a plan expression. */
    private static void columnsIn(String expression, Map<String, Table> aliases, Table unqualified, Draft d) {
        List<Token> tk;
        try {
            tk = SqlLexer.tokenize(expression, Dialect.POSTGRESQL);
        } catch (RuntimeException e) {
            // unreadable expression: every aliased table it could mention is read whole
            for (Table t : aliases.values()) {
                if (expression.contains(t.name())) {
                    t.columns().forEach(c -> d.columnsRead.add(t.qualifiedName() + "." + c.name()));
                }
            }
            return;
        }
        for (int i = 0; i < tk.size(); i++) {
            Token t = tk.get(i);
            if (!t.isIdentifier() || i > 0 && tk.get(i - 1).type() == TokenType.DOT) {
                continue;
            }
            boolean qualifiedNext = i + 1 < tk.size() && tk.get(i + 1).type() == TokenType.DOT;
            if (!aliases.containsKey(t.value())) {
                if (!qualifiedNext && unqualified != null && unqualified.column(t.value()) != null) {
                    d.columnsRead.add(unqualified.qualifiedName() + "." + unqualified.column(t.value()).name());
                }
                continue;
            }
            Table table = aliases.get(t.value());
            boolean qualified = i + 2 < tk.size() && tk.get(i + 1).type() == TokenType.DOT;
            if (qualified && tk.get(i + 2).isIdentifier()) {
                Column col = table.column(tk.get(i + 2).value());
                if (col != null) {
                    d.columnsRead.add(table.qualifiedName() + "." + col.name());
                    i += 2;
                    continue;
                }
            }
            // alias.* or bare alias: the whole row
            table.columns().forEach(c -> d.columnsRead.add(table.qualifiedName() + "." + c.name()));
        }
    }

    // ------------------------------------------------------------------------------------- MySQL

    private static Draft mysql(Connection c, String inner, List<Token> innerTokens, List<String> functions,
                               Catalog catalog, AnalyzerConfig config) throws SQLException {
        try (Statement s = c.createStatement()) {
            if (!functions.isEmpty()) {
                StringBuilder in = new StringBuilder();
                for (int i = 0; i < functions.size(); i++) {
                    in.append(i == 0 ? "?" : ", ?");
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT CONCAT(routine_schema, '.', routine_name) FROM information_schema.routines"
                        + " WHERE routine_type = 'FUNCTION' AND LOWER(routine_name) IN (" + in + ")")) {
                    for (int i = 0; i < functions.size(); i++) {
                        ps.setString(i + 1, functions.get(i));
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            throw new UserFunctionException(rs.getString(1));
                        }
                    }
                }
            }
            s.execute("START TRANSACTION READ ONLY");
            try {
                try {
                    s.execute("SET SESSION max_statement_time = " + Math.max(0.001, config.explainTimeout().toMillis() / 1000.0));
                } catch (SQLException notMariaDb) {
                    s.execute("SET SESSION max_execution_time = " + Math.max(1, config.explainTimeout().toMillis()));
                }
                // placeholders become NULL so the server can plan the statement; tables it then skips
                // are counted as fully read by the caller
                String explainable = replaceParams(inner, innerTokens);
                String json;
                try (ResultSet rs = s.executeQuery("EXPLAIN FORMAT=JSON " + explainable)) {
                    rs.next();
                    json = rs.getString(1);
                }
                return parseMySqlPlan(json, catalog);
            } finally {
                s.execute("ROLLBACK");
            }
        }
    }

    private static String replaceParams(String inner, List<Token> innerTokens) {
        int base = innerTokens.get(0).start();
        StringBuilder sb = new StringBuilder(inner);
        for (int i = innerTokens.size() - 1; i >= 0; i--) {
            Token t = innerTokens.get(i);
            if (t.type() == TokenType.PARAM) {
                sb.replace(t.start() - base, t.end() - base, "NULL");
            }
        }
        return sb.toString();
    }

    static Draft parseMySqlPlan(String json, Catalog catalog) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("EXPLAIN returned unreadable JSON: " + e.getMessage(), e);
        }
        Draft d = new Draft("SELECT");
        collectMySql(root, catalog, d);
        return d;
    }

    private static void collectMySql(JsonNode node, Catalog catalog, Draft d) {
        if (node.isObject()) {
            JsonNode name = node.get("table_name");
            if (name != null && !name.asText().startsWith("<")) {
                Table t = catalog.resolve(null, name.asText());
                if (t != null) {
                    d.tablesRead.add(t.qualifiedName());
                    JsonNode used = node.get("used_columns");
                    if (used != null && used.isArray()) {
                        for (JsonNode u : used) {
                            Column col = t.column(u.asText());
                            if (col != null) {
                                d.columnsRead.add(t.qualifiedName() + "." + col.name());
                            }
                        }
                    } else {
                        // MariaDB does not say which columns it uses: count them all
                        t.columns().forEach(c -> d.columnsRead.add(t.qualifiedName() + "." + c.name()));
                    }
                }
            }
            node.fields().forEachRemaining(f -> collectMySql(f.getValue(), catalog, d));
        } else if (node.isArray()) {
            node.forEach(n -> collectMySql(n, catalog, d));
        }
    }

}
