package io.countersign.analysis.calcite;

import io.countersign.analysis.Category;
import io.countersign.analysis.Dialect;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.Column;
import io.countersign.analysis.catalog.Table;
import io.countersign.analysis.layer.Draft;
import io.countersign.analysis.lexer.SqlLexer;
import io.countersign.analysis.lexer.LexedStatement;
import io.countersign.analysis.lexer.Token;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.calcite.sql.SqlBasicCall;
import org.apache.calcite.sql.SqlCall;
import org.apache.calcite.sql.SqlDelete;
import org.apache.calcite.sql.SqlDynamicParam;
import org.apache.calcite.sql.SqlIdentifier;
import org.apache.calcite.sql.SqlInsert;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.SqlLiteral;
import org.apache.calcite.sql.SqlMerge;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.SqlNodeList;
import org.apache.calcite.sql.SqlOrderBy;
import org.apache.calcite.sql.SqlSelect;
import org.apache.calcite.sql.SqlUpdate;
import org.apache.calcite.sql.SqlWith;
import org.apache.calcite.sql.parser.SqlParseException;

/**
 * Layer 2: parse with Calcite's Babel parser and resolve every column read and written over the catalog.
 * Throws {@link Unresolvable} (with the reason) when anything is uncertain, so the statement falls through.
 */
public final class CalciteLayer {

    /**
     * Facts layer 2 adds about the query's shape, for the export rule.
     *
     * @param unboundedTables base tables whose rows can flow out without a LIMIT, summary or key filter
     * @param unbounded       whether there is any
     */
    public record Shape(Set<String> unboundedTables, boolean unbounded) {}

    private CalciteLayer() {}

    /**
     * Resolves tokens [from, to) as a query or DML statement into the draft.
     *
     * @return the query's shape for the unbounded-read rule
     */
    public static Shape resolve(List<Token> tokens, int from, int to, Dialect dialect, Catalog catalog, Draft d,
                                long largeTableRows) {
        Normalized n;
        SqlNode node;
        try {
            n = CalciteNormalizer.normalize(tokens, from, to, dialect);
            node = BabelParser.parse(n.sql(), dialect);
        } catch (NormalizeException e) {
            throw new Unresolvable("normalising for Calcite: " + e.getMessage());
        } catch (SqlParseException e) {
            throw new Unresolvable("Calcite cannot parse it: " + QueryResolver.firstLine(e.getMessage()));
        } catch (RuntimeException e) {
            throw new Unresolvable("Calcite cannot parse it: " + QueryResolver.firstLine(String.valueOf(e.getMessage())));
        }
        QueryResolver r = new QueryResolver(catalog, dialect, d, largeTableRows);
        SqlNode stmt = node;
        // WITH ... INSERT/UPDATE/DELETE parses as SqlWith over DML in some versions: unsupported here
        if (stmt instanceof SqlInsert ins) {
            insert(ins, r, catalog, dialect, d, n);
            return new Shape(Set.of(), false);
        }
        if (stmt instanceof SqlUpdate up) {
            update(up, r, d, n, dialect, catalog);
            return new Shape(Set.of(), false);
        }
        if (stmt instanceof SqlDelete del) {
            delete(del, r, d, n, dialect, catalog);
            return new Shape(Set.of(), false);
        }
        if (stmt instanceof SqlMerge m) {
            merge(m, r, d);
            return new Shape(Set.of(), false);
        }
        if (!(stmt instanceof SqlSelect || stmt instanceof SqlOrderBy || stmt instanceof SqlWith
                || stmt instanceof SqlCall c && (c.getKind() == SqlKind.UNION || c.getKind() == SqlKind.INTERSECT
                || c.getKind() == SqlKind.EXCEPT || c.getKind() == SqlKind.VALUES || c.getKind() == SqlKind.EXPLICIT_TABLE))) {
            throw new Unresolvable("statement " + stmt.getKind() + " is not a query Countersign resolves");
        }
        r.readQuery(stmt);
        if (n.intoTarget() != null) {
            d.tablesWritten.add(qualifyNew(n.intoTarget(), catalog, dialect));
        }
        return new Shape(Set.copyOf(r.unboundedTables()), !r.unboundedTables().isEmpty());
    }

    private static String qualifyNew(String name, Catalog catalog, Dialect dialect) {
        if (name.contains(".")) {
            return name;
        }
        String schema = dialect == Dialect.MYSQL ? catalog.database()
                : catalog.searchPath().stream().filter(s -> !s.equals("pg_catalog")).findFirst().orElse("public");
        return schema + "." + name;
    }

    // ---------------------------------------------------------------- DML

    private static void insert(SqlInsert ins, QueryResolver r, Catalog catalog, Dialect dialect, Draft d, Normalized n) {
        if (!(ins.getTargetTable() instanceof SqlIdentifier target)) {
            throw new Unresolvable("INSERT target is not a table name");
        }
        Table t = table(target, catalog);
        d.tablesWritten.add(t.qualifiedName());
        SqlNodeList cols = ins.getTargetColumnList();
        if (cols == null || cols.isEmpty()) {
            t.columns().forEach(c -> d.columnsWritten.add(t.qualifiedName() + "." + c.name()));
        } else {
            for (SqlNode c : cols) {
                d.columnsWritten.add(column(t, (SqlIdentifier) c));
            }
        }
        SqlNode src = ins.getSource();
        if (src.getKind() == SqlKind.VALUES) {
            d.columnsRead.addAll(r.expr(src, new QueryResolver.Scope(null), Map.of()));
        } else {
            r.readQuery(src);
        }
        tail(n, target, null, r, d, dialect, catalog);
    }

    private static void update(SqlUpdate up, QueryResolver r, Draft d, Normalized n, Dialect dialect, Catalog catalog) {
        SqlIdentifier target = (SqlIdentifier) up.getTargetTable();
        Table t = table(target, catalog);
        String alias = up.getAlias() == null ? null : up.getAlias().getSimple();
        QueryResolver.Scope sc = r.scopeFor(target, alias, Map.of());
        d.tablesRead.remove(t.qualifiedName());
        d.tablesWritten.add(t.qualifiedName());
        for (SqlNode c : up.getTargetColumnList()) {
            d.columnsWritten.add(column(t, (SqlIdentifier) c));
        }
        for (SqlNode e : up.getSourceExpressionList()) {
            d.columnsRead.addAll(r.expr(e, sc, Map.of()));
        }
        if (up.getCondition() == null) {
            d.flag(Category.DESTRUCTIVE, "UPDATE without WHERE affects every row of " + t.qualifiedName());
        } else {
            d.columnsRead.addAll(r.expr(up.getCondition(), sc, Map.of()));
            d.tablesRead.add(t.qualifiedName());
            if (Tautology.alwaysTrue(up.getCondition(), pkNames(t))) {
                d.flag(Category.DESTRUCTIVE, "UPDATE of " + t.qualifiedName() + " with an always-true WHERE affects every row");
            }
        }
        tail(n, target, alias, r, d, dialect, catalog);
    }

    private static void delete(SqlDelete del, QueryResolver r, Draft d, Normalized n, Dialect dialect, Catalog catalog) {
        SqlIdentifier target = (SqlIdentifier) del.getTargetTable();
        Table t = table(target, catalog);
        String alias = del.getAlias() == null ? null : del.getAlias().getSimple();
        QueryResolver.Scope sc = r.scopeFor(target, alias, Map.of());
        d.tablesRead.remove(t.qualifiedName());
        d.tablesWritten.add(t.qualifiedName());
        t.columns().forEach(c -> d.columnsWritten.add(t.qualifiedName() + "." + c.name()));
        if (del.getCondition() == null) {
            d.flag(Category.DESTRUCTIVE, "DELETE without WHERE affects every row of " + t.qualifiedName());
        } else {
            d.tablesRead.add(t.qualifiedName());
            d.columnsRead.addAll(r.expr(del.getCondition(), sc, Map.of()));
            if (Tautology.alwaysTrue(del.getCondition(), pkNames(t))) {
                d.flag(Category.DESTRUCTIVE, "DELETE from " + t.qualifiedName() + " with an always-true WHERE removes every row");
            }
        }
        tail(n, target, alias, r, d, dialect, catalog);
    }

    private static void merge(SqlMerge m, QueryResolver r, Draft d) {
        throw new Unresolvable("MERGE is resolved by the database's EXPLAIN");
    }

    /** RETURNING and ON CONFLICT / ON DUPLICATE KEY UPDATE parts, resolved against the target. */
    private static void tail(Normalized n, SqlIdentifier target, String alias, QueryResolver r, Draft d, Dialect dialect,
                             Catalog catalog) {
        Table t = table(target, catalog);
        String name = quoteName(t, dialect);
        if (n.returning() != null) {
            String q = "select " + n.returning() + " from " + name + (alias == null ? "" : " as " + alias);
            d.columnsRead.addAll(columnsOf(q, r, dialect));
        }
        if (n.upsertSet() != null) {
            // the SET list may read EXCLUDED.x / VALUES(x): both are the target's columns
            String q = "update " + name + " set " + n.upsertSet().replace("cs_values (", "(")
                    + (n.upsertWhere() == null ? "" : " where " + n.upsertWhere());
            SqlNode parsed;
            try {
                parsed = BabelParser.parse(q.replaceAll("(?i)\\bexcluded\\.", ""), dialect);
            } catch (SqlParseException e) {
                throw new Unresolvable("upsert clause cannot be parsed: " + QueryResolver.firstLine(e.getMessage()));
            }
            SqlUpdate up = (SqlUpdate) parsed;
            QueryResolver.Scope sc = r.scopeFor(target, t.name(), Map.of());
            for (SqlNode c : up.getTargetColumnList()) {
                d.columnsWritten.add(column(t, (SqlIdentifier) c));
            }
            for (SqlNode e : up.getSourceExpressionList()) {
                d.columnsRead.addAll(r.expr(e, sc, Map.of()));
            }
            if (up.getCondition() != null) {
                d.columnsRead.addAll(r.expr(up.getCondition(), sc, Map.of()));
            }
        }
    }

    private static Set<String> pkNames(Table t) {
        Set<String> s = new LinkedHashSet<>();
        t.primaryKey().forEach(c -> s.add(c.toLowerCase(Locale.ROOT)));
        return s;
    }

    private static String quoteName(Table t, Dialect dialect) {
        String q = dialect == Dialect.MYSQL ? "`" : "\"";
        return q + t.schema() + q + "." + q + t.name() + q;
    }

    private static Set<String> columnsOf(String select, QueryResolver r, Dialect dialect) {
        try {
            SqlNode q = BabelParser.parse(select, dialect);
            Set<String> s = new LinkedHashSet<>();
            r.query(q, null, Map.of()).forEach(c -> s.addAll(c.sources()));
            return s;
        } catch (SqlParseException e) {
            throw new Unresolvable("RETURNING cannot be parsed: " + QueryResolver.firstLine(e.getMessage()));
        }
    }

    private static Table table(SqlIdentifier id, Catalog catalog) {
        List<String> names = id.names;
        if (names.size() > 2) {
            throw new Unresolvable("target " + id + " has too many name parts");
        }
        Table t = catalog.resolve(names.size() == 2 ? names.get(0) : null, names.get(names.size() - 1));
        if (t == null) {
            throw new Unresolvable("target relation " + id + " is not in the catalog");
        }
        if (t.isView()) {
            throw new Unresolvable("writes through view " + t.qualifiedName() + " are resolved by the database");
        }
        return t;
    }

    private static String column(Table t, SqlIdentifier c) {
        String name = c.names.get(c.names.size() - 1);
        Column col = t.column(name);
        if (col == null) {
            throw new Unresolvable("column " + name + " is not in " + t.qualifiedName());
        }
        return t.qualifiedName() + "." + col.name();
    }

    /** Re-lexes a view or nested statement; exposed for the analyzer's nested PREPARE handling. */
    public static List<LexedStatement> lex(String sql, Dialect dialect) {
        return LexedStatement.split(sql, SqlLexer.tokenize(sql, dialect));
    }
}
