package io.countersign.analysis.calcite;

import io.countersign.analysis.Dialect;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.Column;
import io.countersign.analysis.catalog.Table;
import io.countersign.analysis.layer.Draft;
import io.countersign.analysis.layer.FunctionRules;
import io.countersign.analysis.lexer.LexedStatement;
import io.countersign.analysis.lexer.SqlLexer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.calcite.sql.SqlBasicCall;
import org.apache.calcite.sql.SqlCall;
import org.apache.calcite.sql.SqlDataTypeSpec;
import org.apache.calcite.sql.SqlDynamicParam;
import org.apache.calcite.sql.SqlIdentifier;
import org.apache.calcite.sql.SqlIntervalQualifier;
import org.apache.calcite.sql.SqlJoin;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.SqlLiteral;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.SqlNodeList;
import org.apache.calcite.sql.SqlOrderBy;
import org.apache.calcite.sql.SqlSelect;
import org.apache.calcite.sql.SqlWindow;
import org.apache.calcite.sql.SqlWith;
import org.apache.calcite.sql.SqlWithItem;
import org.apache.calcite.sql.JoinConditionType;
import org.apache.calcite.sql.parser.SqlParseException;

/**
 * Resolves every column a parsed query reads to {@code schema.table.column}, over the catalog, through
 * aliases, {@code *} and {@code t.*}, CTEs, derived tables, set operations, views (expanded from their
 * definitions) and whole-row references. Anything it cannot resolve for certain throws {@link Unresolvable}.
 *
 * <p>Columns referenced outside a select list (filters, joins, grouping, ordering) are read as soon as they
 * are seen; a select list's columns are read when the query's output is consumed, so a view or subquery
 * that hides a column does not count it as read unless the outer query uses it.
 */
public final class QueryResolver {

    private static final Set<String> NILADIC = Set.of("current_user", "current_date", "current_time",
            "current_timestamp", "localtime", "localtimestamp", "user", "session_user", "current_role",
            "current_schema", "current_catalog", "true", "false", "null", "default", "unknown", "system_user");
    /** Aggregates that reduce rows to a summary; collecting ones (array_agg, string_agg, ...) are not here. */
    private static final Set<String> REDUCING_AGGREGATES = Set.of("count", "sum", "min", "max", "avg", "bool_and",
            "bool_or", "every", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "bit_and",
            "bit_or", "bit_xor", "$sum0", "percentile_cont", "percentile_disc", "mode", "corr", "covar_pop",
            "covar_samp", "regr_count", "approx_count_distinct");
    private static final int MAX_VIEW_DEPTH = 16;

    /** An output or relation column and the base columns its value comes from. */
    public record Col(String name, Set<String> sources) {}

    /** A relation in a FROM scope. */
    static final class Rel {
        final String alias;
        final List<Col> cols;
        final boolean open;
        final String openName;
        final Table base;

        Rel(String alias, List<Col> cols, boolean open, String openName, Table base) {
            this.alias = alias;
            this.cols = cols;
            this.open = open;
            this.openName = openName;
            this.base = base;
        }

        Set<String> wholeRow() {
            if (open) {
                return Set.of(openName + ".*");
            }
            Set<String> s = new LinkedHashSet<>();
            cols.forEach(c -> s.addAll(c.sources()));
            return s;
        }

        Col col(String name) {
            for (Col c : cols) {
                if (c.name().equals(name)) {
                    return c;
                }
            }
            for (Col c : cols) {
                if (c.name().equalsIgnoreCase(name)) {
                    return c;
                }
            }
            return null;
        }
    }

    static final class Scope {
        final Scope parent;
        final List<Rel> rels = new ArrayList<>();
        /** Base relations this scope added to the unbounded set. */
        final List<Rel> addedUnbounded = new ArrayList<>();
        List<Col> outputs = List.of();

        Scope(Scope parent) {
            this.parent = parent;
        }
    }

    private final Catalog catalog;
    private final Dialect dialect;
    private final Draft d;
    private final Set<String> expanding;
    private final int viewDepth;
    private final long boundRows;
    /** Base tables whose rows can flow out without a bound (LIMIT, summary aggregate, key filter). */
    private final Set<String> unbounded;
    /** Greater than zero while resolving a part whose rows are bounded or only filter. */
    private int bounded;
    private final Set<String> userFunctions;

    public QueryResolver(Catalog catalog, Dialect dialect, Draft d, long boundRows) {
        this(catalog, dialect, d, new HashSet<>(), 0, boundRows, new LinkedHashSet<>(), 0);
    }

    private QueryResolver(Catalog catalog, Dialect dialect, Draft d, Set<String> expanding, int viewDepth,
                          long boundRows, Set<String> unbounded, int bounded) {
        this.catalog = catalog;
        this.dialect = dialect;
        this.d = d;
        this.expanding = expanding;
        this.viewDepth = viewDepth;
        this.boundRows = boundRows;
        this.unbounded = unbounded;
        this.bounded = bounded;
        this.userFunctions = Set.of();
    }

    /** Large-table candidates read without a bound; the caller checks row estimates. */
    public Set<String> unboundedTables() {
        return unbounded;
    }

    // ---------------------------------------------------------------- queries

    /** Resolves a query and reads everything its output carries. */
    public List<Col> readQuery(SqlNode query) {
        List<Col> out = query(query, null, Map.of());
        for (Col c : out) {
            d.columnsRead.addAll(c.sources());
        }
        return out;
    }

    List<Col> query(SqlNode node, Scope parent, Map<String, List<Col>> ctes) {
        if (node instanceof SqlSelect s) {
            return select(s, parent, ctes, null);
        }
        if (node instanceof SqlOrderBy ob) {
            boolean limited = isSmallLimit(ob.fetch);
            if (limited) {
                bounded++;
            }
            try {
                if (ob.query instanceof SqlSelect s) {
                    return select(s, parent, ctes, ob.orderList);
                }
                if (ob.query instanceof SqlWith w) {
                    return with(w, parent, ctes, ob.orderList);
                }
                List<Col> out = query(ob.query, parent, ctes);
                for (SqlNode o : ob.orderList) {
                    read(filter(() -> orderExpr(o, out, null, ctes)));
                }
                return out;
            } finally {
                if (limited) {
                    bounded--;
                }
            }
        }
        if (node instanceof SqlWith w) {
            return with(w, parent, ctes, null);
        }
        return setOrValues(node, parent, ctes);
    }

    private List<Col> with(SqlWith w, Scope parent, Map<String, List<Col>> ctes, SqlNodeList order) {
        {
            Map<String, List<Col>> env = new HashMap<>(ctes);
            for (SqlNode item : w.withList) {
                SqlWithItem wi = (SqlWithItem) item;
                String name = wi.name.getSimple();
                List<Col> placeholder = new ArrayList<>();
                if (wi.columnList != null) {
                    for (SqlNode c : wi.columnList) {
                        placeholder.add(new Col(((SqlIdentifier) c).getSimple(), Set.of()));
                    }
                    env.put(name, placeholder);
                }
                List<Col> cols = query(wi.query, parent, env);
                env.put(name, rename(cols, wi.columnList));
            }
            if (order != null && w.body instanceof SqlSelect s) {
                return select(s, parent, env, order);
            }
            List<Col> out = query(w.body, parent, env);
            if (order != null) {
                for (SqlNode o : order) {
                    read(filter(() -> orderExpr(o, out, null, env)));
                }
            }
            return out;
        }
    }

    private List<Col> setOrValues(SqlNode node, Scope parent, Map<String, List<Col>> ctes) {
        if (node instanceof SqlCall call) {
            SqlKind k = call.getKind();
            if (k == SqlKind.UNION || k == SqlKind.INTERSECT || k == SqlKind.EXCEPT) {
                List<Col> left = query(call.operand(0), parent, ctes);
                List<Col> right = query(call.operand(1), parent, ctes);
                List<Col> out = new ArrayList<>();
                for (int i = 0; i < Math.max(left.size(), right.size()); i++) {
                    Set<String> src = new LinkedHashSet<>();
                    String name = i < left.size() ? left.get(i).name() : right.get(i).name();
                    if (i < left.size()) {
                        src.addAll(left.get(i).sources());
                    }
                    if (i < right.size()) {
                        src.addAll(right.get(i).sources());
                    }
                    out.add(new Col(name, src));
                }
                return out;
            }
            if (k == SqlKind.VALUES) {
                List<Col> out = new ArrayList<>();
                Scope sc = new Scope(parent);
                for (SqlNode row : call.getOperandList()) {
                    List<SqlNode> items = row instanceof SqlCall rc && rc.getKind() == SqlKind.ROW ? rc.getOperandList() : List.of(row);
                    for (int i = 0; i < items.size(); i++) {
                        Set<String> src = expr(items.get(i), sc, ctes);
                        if (out.size() <= i) {
                            out.add(new Col("column" + (i + 1), new LinkedHashSet<>()));
                        }
                        out.get(i).sources().addAll(src);
                    }
                }
                return out;
            }
            if (k == SqlKind.EXPLICIT_TABLE) {
                Scope sc = new Scope(parent);
                fromItem(call.operand(0), sc, ctes);
                return sc.rels.get(0).cols;
            }
        }
        throw new Unresolvable("query construct " + node.getKind() + " is not resolved");
    }

    private List<Col> select(SqlSelect s, Scope parent, Map<String, List<Col>> ctes, SqlNodeList order) {
        boolean summary = isSummary(s) || isSmallLimit(s.getFetch());
        if (summary) {
            bounded++;
        }
        try {
            return selectInner(s, parent, ctes, order);
        } finally {
            if (summary) {
                bounded--;
            }
        }
    }

    private boolean isSmallLimit(SqlNode fetch) {
        if (fetch instanceof SqlLiteral lit) {
            try {
                return lit.longValue(true) <= boundRows;
            } catch (RuntimeException e) {
                return false;
            }
        }
        return false;
    }

    /** Runs an expression resolution in a filtering context: relations reached there do not export rows. */
    private Set<String> filter(java.util.function.Supplier<Set<String>> r) {
        bounded++;
        try {
            return r.get();
        } finally {
            bounded--;
        }
    }

    private List<Col> selectInner(SqlSelect s, Scope parent, Map<String, List<Col>> ctes, SqlNodeList order) {
        Scope sc = new Scope(parent);
        if (s.getFrom() != null) {
            fromItem(s.getFrom(), sc, ctes);
        }
        if (s.getWhere() != null) {
            read(filter(() -> expr(s.getWhere(), sc, ctes)));
            keyFiltered(s.getWhere(), sc);
        }
        List<Col> out = new ArrayList<>();
        int i = 0;
        for (SqlNode item : s.getSelectList()) {
            i++;
            if (item instanceof SqlIdentifier id && id.isStar()) {
                if (id.names.size() == 1) {
                    if (sc.rels.isEmpty()) {
                        throw new Unresolvable("* without a FROM clause");
                    }
                    for (Rel r : sc.rels) {
                        starOf(r, out);
                    }
                } else {
                    Rel r = relByAlias(sc, id.names.get(id.names.size() - 2));
                    if (r == null) {
                        throw new Unresolvable("no relation " + id.names.get(id.names.size() - 2) + " for " + id);
                    }
                    starOf(r, out);
                }
                continue;
            }
            String name;
            SqlNode e = item;
            if (item instanceof SqlCall c && c.getKind() == SqlKind.AS) {
                e = c.operand(0);
                name = ((SqlIdentifier) c.operand(1)).getSimple();
            } else if (item instanceof SqlIdentifier id) {
                name = id.names.get(id.names.size() - 1);
            } else {
                name = "expr$" + i;
            }
            out.add(new Col(name, expr(e, sc, ctes)));
        }
        sc.outputs = out;
        if (s.getGroup() != null) {
            for (SqlNode g : s.getGroup()) {
                read(filter(() -> orderExpr(g, out, sc, ctes)));
            }
        }
        if (s.getHaving() != null) {
            read(filter(() -> orderExpr(s.getHaving(), out, sc, ctes)));
        }
        if (s.getQualify() != null) {
            read(filter(() -> expr(s.getQualify(), sc, ctes)));
        }
        if (s.getWindowList() != null) {
            for (SqlNode w : s.getWindowList()) {
                read(filter(() -> expr(w, sc, ctes)));
            }
        }
        if (s.getOrderList() != null) {
            for (SqlNode o : s.getOrderList()) {
                read(filter(() -> orderExpr(o, out, sc, ctes)));
            }
        }
        if (order != null) {
            for (SqlNode o : order) {
                read(filter(() -> orderExpr(o, out, sc, ctes)));
            }
        }
        return out;
    }

    /** A conjunct {@code pk = constant or outer column} bounds that relation's rows to one per outer row. */
    private void keyFiltered(SqlNode where, Scope sc) {
        List<SqlNode> conjuncts = new ArrayList<>();
        flattenAnd(where, conjuncts);
        for (SqlNode c : conjuncts) {
            if (!(c instanceof SqlBasicCall call) || !(call.getKind() == SqlKind.EQUALS || call.getKind() == SqlKind.IN)
                    || call.operandCount() != 2) {
                continue;
            }
            for (int side = 0; side < 2; side++) {
                if (!(call.operand(side) instanceof SqlIdentifier id)) {
                    continue;
                }
                Set<String> src;
                try {
                    src = identifier(id, sc);
                } catch (Unresolvable u) {
                    continue;
                }
                for (Rel r : sc.addedUnbounded) {
                    if (r.base != null && r.base.primaryKey().size() == 1
                            && src.equals(Set.of(r.base.qualifiedName() + "." + r.base.primaryKey().get(0)))
                            && !referencesRel(call.operand(1 - side), r, sc)) {
                        unbounded.remove(r.base.qualifiedName());
                    }
                }
            }
        }
    }

    private boolean referencesRel(SqlNode other, Rel r, Scope sc) {
        if (other instanceof SqlLiteral || other instanceof SqlDynamicParam || other instanceof SqlNodeList) {
            return false;
        }
        if (other instanceof SqlIdentifier id) {
            try {
                Set<String> src = identifier(id, sc);
                for (String s : src) {
                    if (s.startsWith(r.base.qualifiedName() + ".")) {
                        return true;
                    }
                }
                return false;
            } catch (Unresolvable u) {
                return true;
            }
        }
        return true;
    }

    static void flattenAnd(SqlNode n, List<SqlNode> out) {
        if (n instanceof SqlBasicCall c && c.getKind() == SqlKind.AND) {
            for (SqlNode o : c.getOperandList()) {
                flattenAnd(o, out);
            }
        } else {
            out.add(n);
        }
    }

    private static void starOf(Rel r, List<Col> out) {
        if (r.open) {
            out.add(new Col("*", r.wholeRow()));
        } else {
            out.addAll(r.cols);
        }
    }

    /** ORDER BY / GROUP BY may name an output column or its ordinal. */
    private Set<String> orderExpr(SqlNode o, List<Col> outputs, Scope sc, Map<String, List<Col>> ctes) {
        SqlNode e = o;
        while (e instanceof SqlCall c && (c.getKind() == SqlKind.DESCENDING || c.getKind() == SqlKind.NULLS_FIRST
                || c.getKind() == SqlKind.NULLS_LAST)) {
            e = c.operand(0);
        }
        if (e instanceof SqlLiteral lit && lit.getTypeName().getFamily() == org.apache.calcite.sql.type.SqlTypeFamily.NUMERIC) {
            int idx = lit.intValue(true) - 1;
            if (idx >= 0 && idx < outputs.size()) {
                return outputs.get(idx).sources();
            }
            return Set.of();
        }
        if (e instanceof SqlIdentifier id && id.names.size() == 1 && !id.isStar()) {
            try {
                return expr(e, sc, ctes);
            } catch (Unresolvable u) {
                for (Col c : outputs) {
                    if (c.name().equalsIgnoreCase(id.getSimple())) {
                        return c.sources();
                    }
                }
                throw u;
            }
        }
        if (sc == null) {
            // ORDER BY over a set operation: expressions of output names only
            Scope tmp = new Scope(null);
            tmp.rels.add(new Rel("", outputs, false, null, null));
            return expr(e, tmp, ctes);
        }
        return expr(e, sc, ctes);
    }

    private void read(Set<String> sources) {
        d.columnsRead.addAll(sources);
    }

    // ---------------------------------------------------------------- FROM

    void fromItem(SqlNode node, Scope sc, Map<String, List<Col>> ctes) {
        if (node instanceof SqlJoin j) {
            fromItem(j.getLeft(), sc, ctes);
            fromItem(j.getRight(), sc, ctes);
            if (j.getConditionType() == JoinConditionType.ON) {
                read(filter(() -> expr(j.getCondition(), sc, ctes)));
            } else if (j.getConditionType() == JoinConditionType.USING) {
                for (SqlNode u : (SqlNodeList) j.getCondition()) {
                    String name = ((SqlIdentifier) u).getSimple();
                    boolean found = false;
                    for (Rel r : sc.rels) {
                        Col c = r.col(name);
                        if (c != null) {
                            read(c.sources());
                            found = true;
                        } else if (r.open) {
                            read(Set.of(r.openName + "." + name));
                            found = true;
                        }
                    }
                    if (!found) {
                        throw new Unresolvable("USING column " + name + " not found");
                    }
                }
            } else if (j.isNatural()) {
                // NATURAL JOIN compares every same-named column
                Map<String, Integer> seen = new HashMap<>();
                for (Rel r : sc.rels) {
                    for (Col c : r.cols) {
                        seen.merge(c.name().toLowerCase(Locale.ROOT), 1, Integer::sum);
                    }
                }
                for (Rel r : sc.rels) {
                    for (Col c : r.cols) {
                        if (seen.get(c.name().toLowerCase(Locale.ROOT)) > 1) {
                            read(c.sources());
                        }
                    }
                }
            }
            return;
        }
        if (node instanceof SqlIdentifier id) {
            addRel(sc, relation(id, id.names.get(id.names.size() - 1), ctes));
            return;
        }
        if (node instanceof SqlCall call) {
            switch (call.getKind()) {
                case AS -> {
                    SqlNode src = call.operand(0);
                    String alias = ((SqlIdentifier) call.operand(1)).getSimple();
                    SqlNodeList colAliases = null;
                    if (call.operandCount() > 2) {
                        colAliases = new SqlNodeList(call.getOperandList().subList(2, call.operandCount()), call.getParserPosition());
                    }
                    Rel r = relationOf(src, alias, sc, ctes);
                    if (colAliases != null) {
                        if (r.open) {
                            List<Col> named = new ArrayList<>();
                            for (SqlNode c : colAliases) {
                                named.add(new Col(((SqlIdentifier) c).getSimple(), r.wholeRow()));
                            }
                            r = new Rel(alias, named, false, null, null);
                        } else {
                            r = new Rel(alias, rename(r.cols, colAliases), false, null, r.base);
                        }
                    }
                    addRel(sc, r);
                    return;
                }
                default -> {
                    addRel(sc, relationOf(node, null, sc, ctes));
                    return;
                }
            }
        }
        throw new Unresolvable("FROM item " + node.getKind() + " is not resolved");
    }

    private void addRel(Scope sc, Rel r) {
        sc.rels.add(r);
        if (r.base != null && bounded == 0 && unbounded.add(r.base.qualifiedName())) {
            sc.addedUnbounded.add(r);
        }
    }

    private Rel relationOf(SqlNode src, String alias, Scope sc, Map<String, List<Col>> ctes) {
        if (src instanceof SqlIdentifier id) {
            return relation(id, alias, ctes);
        }
        if (src instanceof SqlCall c) {
            switch (c.getKind()) {
                case LATERAL -> {
                    return relationOf(c.operand(0), alias, sc, ctes);
                }
                case COLLECTION_TABLE -> {
                    SqlNode fn = c.operand(0);
                    Set<String> args = expr(fn, sc, ctes);
                    read(args);
                    String fname = fn instanceof SqlCall fc ? fc.getOperator().getName().toLowerCase(Locale.ROOT) : "function";
                    return new Rel(alias, List.of(), true, fname, null);
                }
                case UNNEST -> {
                    Set<String> args = new LinkedHashSet<>();
                    for (SqlNode o : c.getOperandList()) {
                        args.addAll(expr(o, sc, ctes));
                    }
                    // an unnested array's elements come from the array's columns
                    d.functions.add("unnest");
                    List<Col> cols = List.of(new Col(alias == null ? "unnest" : alias, args));
                    return new Rel(alias, cols, false, null, null);
                }
                default -> {
                    List<Col> cols = query(src, sc, ctes);
                    return new Rel(alias, cols, false, null, null);
                }
            }
        }
        throw new Unresolvable("FROM item " + src.getKind() + " is not resolved");
    }

    private Rel relation(SqlIdentifier id, String alias, Map<String, List<Col>> ctes) {
        List<String> names = id.names;
        if (names.size() == 1 && ctes.containsKey(names.get(0))) {
            return new Rel(alias, ctes.get(names.get(0)), false, null, null);
        }
        if (names.size() > 2) {
            throw new Unresolvable("relation name " + id + " has too many parts");
        }
        String schema = names.size() == 2 ? names.get(0) : null;
        String name = names.get(names.size() - 1);
        Table t = catalog.resolve(schema, name);
        if (t == null) {
            if (schema != null && catalog.isSystemSchema(schema) || schema == null && isUnqualifiedSystem(name)) {
                String q = (schema == null ? defaultSystemSchema() : schema).toLowerCase(Locale.ROOT) + "." + name.toLowerCase(Locale.ROOT);
                d.tablesRead.add(q);
                if (FunctionRules.SENSITIVE_SYSTEM_RELATIONS.contains(name.toLowerCase(Locale.ROOT))) {
                    throw new Unresolvable("system relation " + q + " exposes credentials or sampled column values");
                }
                return new Rel(alias, List.of(), true, q, null);
            }
            throw new Unresolvable("relation " + id + " is not in the catalog");
        }
        d.tablesRead.add(t.qualifiedName());
        if (t.isView()) {
            return new Rel(alias, expandView(t), false, null, null);
        }
        List<Col> cols = new ArrayList<>(t.columns().size());
        for (Column c : t.columns()) {
            cols.add(new Col(c.name(), Set.of(t.qualifiedName() + "." + c.name())));
        }
        return new Rel(alias, cols, false, null, t);
    }

    private boolean isUnqualifiedSystem(String name) {
        return dialect == Dialect.POSTGRESQL && name.toLowerCase(Locale.ROOT).startsWith("pg_") && !catalog.hasRelationNamed(name)
                || dialect == Dialect.MYSQL && catalog.isSystemSchema(catalog.database() == null ? "" : catalog.database());
    }

    private String defaultSystemSchema() {
        return dialect == Dialect.POSTGRESQL ? "pg_catalog" : catalog.database();
    }

    private List<Col> expandView(Table view) {
        String key = view.qualifiedName();
        if (viewDepth >= MAX_VIEW_DEPTH || !expanding.add(key)) {
            throw new Unresolvable("view " + key + " is nested too deeply or recursively");
        }
        try {
            var tokens = SqlLexer.tokenize(view.viewDefinition(), dialect);
            var stmts = LexedStatement.split(view.viewDefinition(), tokens);
            if (stmts.size() != 1) {
                throw new Unresolvable("view " + key + " definition is not one query");
            }
            Normalized n = CalciteNormalizer.normalize(stmts.get(0).tokens(), 0, stmts.get(0).tokens().size(), dialect);
            SqlNode q = BabelParser.parse(n.sql(), dialect);
            QueryResolver inner = new QueryResolver(catalog, dialect, d, expanding, viewDepth + 1, boundRows, unbounded, bounded);
            List<Col> out = inner.query(q, null, Map.of());
            List<Col> named = new ArrayList<>();
            for (int i = 0; i < out.size(); i++) {
                String name = i < view.columns().size() ? view.columns().get(i).name() : out.get(i).name();
                named.add(new Col(name, out.get(i).sources()));
            }
            return named;
        } catch (SqlParseException | RuntimeException e) {
            if (e instanceof Unresolvable u) {
                throw u;
            }
            throw new Unresolvable("view " + key + " definition could not be analysed: " + firstLine(e.getMessage()));
        } finally {
            expanding.remove(key);
        }
    }

    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static List<Col> rename(List<Col> cols, SqlNodeList names) {
        if (names == null) {
            return cols;
        }
        List<Col> out = new ArrayList<>(cols);
        for (int i = 0; i < names.size() && i < out.size(); i++) {
            out.set(i, new Col(((SqlIdentifier) names.get(i)).getSimple(), out.get(i).sources()));
        }
        return out;
    }

    // ---------------------------------------------------------------- expressions

    /** The base columns whose values an expression carries; subquery filters are read as a side effect. */
    Set<String> expr(SqlNode node, Scope sc, Map<String, List<Col>> ctes) {
        if (node == null || node instanceof SqlLiteral || node instanceof SqlDynamicParam
                || node instanceof SqlDataTypeSpec || node instanceof SqlIntervalQualifier) {
            return Set.of();
        }
        if (node instanceof SqlIdentifier id) {
            return identifier(id, sc);
        }
        if (node instanceof SqlNodeList list) {
            Set<String> s = new LinkedHashSet<>();
            for (SqlNode n : list) {
                s.addAll(expr(n, sc, ctes));
            }
            return s;
        }
        if (node instanceof SqlSelect || node instanceof SqlOrderBy || node instanceof SqlWith) {
            return union(query(node, sc, ctes));
        }
        if (node instanceof SqlWindow w) {
            Set<String> s = new LinkedHashSet<>();
            s.addAll(expr(w.getPartitionList(), sc, ctes));
            s.addAll(expr(w.getOrderList(), sc, ctes));
            return s;
        }
        if (node instanceof SqlCall call) {
            SqlKind k = call.getKind();
            if (k == SqlKind.UNION || k == SqlKind.INTERSECT || k == SqlKind.EXCEPT || k == SqlKind.VALUES && sc == null) {
                return union(query(node, sc, ctes));
            }
            if (k == SqlKind.AS) {
                return expr(call.operand(0), sc, ctes);
            }
            String fname = call.getOperator().getName().toLowerCase(Locale.ROOT);
            if (call.getOperator() instanceof org.apache.calcite.sql.SqlFunction) {
                if (fname.equals("cs_wholerow")) {
                    SqlNode arg = call.operand(0);
                    if (arg instanceof SqlIdentifier id && id.names.size() == 1) {
                        Rel r = relByAliasUp(sc, id.getSimple());
                        if (r != null) {
                            return r.wholeRow();
                        }
                        return identifier(id, sc); // (composite_column).field
                    }
                    return expr(arg, sc, ctes); // (expression).field reads the whole expression
                }
                if (!fname.startsWith("cs_")) {
                    d.functions.add(fname);
                    if (catalog.hasUserFunction(fname)) {
                        throw new Unresolvable("calls user-defined function " + fname + ", whose body is not analysed");
                    }
                }
            }
            Set<String> s = new LinkedHashSet<>();
            for (SqlNode o : call.getOperandList()) {
                if (o instanceof SqlIdentifier id && id.isStar()) {
                    if (id.names.size() > 1) {
                        Rel r = relByAliasUp(sc, id.names.get(id.names.size() - 2));
                        if (r == null) {
                            throw new Unresolvable("no relation for " + id);
                        }
                        s.addAll(r.wholeRow());
                    }
                    continue; // count(*)
                }
                s.addAll(expr(o, sc, ctes));
            }
            return s;
        }
        throw new Unresolvable("expression " + node.getKind() + " is not resolved");
    }

    private static Set<String> union(List<Col> cols) {
        Set<String> s = new LinkedHashSet<>();
        cols.forEach(c -> s.addAll(c.sources()));
        return s;
    }

    private Rel relByAlias(Scope sc, String alias) {
        for (Rel r : sc.rels) {
            if (r.alias != null && r.alias.equalsIgnoreCase(alias)) {
                return r;
            }
        }
        return null;
    }

    private Rel relByAliasUp(Scope sc, String alias) {
        for (Scope s = sc; s != null; s = s.parent) {
            Rel r = relByAlias(s, alias);
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    private Set<String> identifier(SqlIdentifier id, Scope sc) {
        List<String> names = id.names;
        if (names.size() == 1) {
            String name = names.get(0);
            for (Scope s = sc; s != null; s = s.parent) {
                Set<String> found = new LinkedHashSet<>();
                boolean any = false;
                for (Rel r : s.rels) {
                    Col c = r.col(name);
                    if (c != null) {
                        found.addAll(c.sources());
                        any = true;
                    }
                }
                if (any) {
                    return found;
                }
                for (Rel r : s.rels) {
                    if (r.open) {
                        found.add(r.openName + "." + name.toLowerCase(Locale.ROOT));
                        any = true;
                    }
                }
                if (any) {
                    return found;
                }
                Rel whole = relByAlias(s, name);
                if (whole != null) {
                    return whole.wholeRow();
                }
            }
            if (NILADIC.contains(name.toLowerCase(Locale.ROOT))) {
                return Set.of();
            }
            throw new Unresolvable("column " + name + " is not in any relation in scope");
        }
        if (names.size() == 2) {
            String alias = names.get(0);
            String col = names.get(1);
            for (Scope s = sc; s != null; s = s.parent) {
                Rel r = relByAlias(s, alias);
                if (r == null) {
                    continue;
                }
                if (r.open) {
                    return Set.of(r.openName + "." + col.toLowerCase(Locale.ROOT));
                }
                Col c = r.col(col);
                if (c == null) {
                    throw new Unresolvable("column " + alias + "." + col + " does not exist");
                }
                return c.sources();
            }
            throw new Unresolvable("no relation " + alias + " in scope for " + id);
        }
        if (names.size() == 3) {
            String schema = names.get(0);
            String table = names.get(1);
            for (Scope s = sc; s != null; s = s.parent) {
                for (Rel r : s.rels) {
                    if (r.base != null && r.base.schema().equalsIgnoreCase(schema) && r.base.name().equalsIgnoreCase(table)
                            && (r.alias == null || r.alias.equalsIgnoreCase(table))) {
                        Col c = r.col(names.get(2));
                        if (c == null) {
                            throw new Unresolvable("column " + id + " does not exist");
                        }
                        return c.sources();
                    }
                    if (r.open && r.openName.equalsIgnoreCase(schema + "." + table)) {
                        return Set.of(r.openName + "." + names.get(2).toLowerCase(Locale.ROOT));
                    }
                }
            }
        }
        throw new Unresolvable("reference " + id + " is not resolved");
    }

    // ---------------------------------------------------------------- helpers for statements

    /** A scope holding one relation, for UPDATE/DELETE/MERGE targets and RETURNING. */
    Scope scopeFor(SqlIdentifier table, String alias, Map<String, List<Col>> ctes) {
        Scope sc = new Scope(null);
        sc.rels.add(relation(table, alias == null ? table.names.get(table.names.size() - 1) : alias, ctes));
        return sc;
    }

    Rel relationFor(SqlIdentifier table, String alias) {
        return relation(table, alias, Map.of());
    }

    /**
     * A summary: every select item is a reducing aggregate, a literal or (with GROUP BY) a grouping key, and
     * there is at least one reducing aggregate. Collecting aggregates (array_agg, string_agg) are not summaries.
     */
    static boolean isSummary(SqlSelect s) {
        boolean grouped = s.getGroup() != null && !s.getGroup().isEmpty();
        boolean anyAgg = false;
        for (SqlNode item : s.getSelectList()) {
            SqlNode e = item instanceof SqlCall c && c.getKind() == SqlKind.AS ? c.operand(0) : item;
            if (e instanceof SqlBasicCall c && REDUCING_AGGREGATES.contains(c.getOperator().getName().toLowerCase(Locale.ROOT))) {
                anyAgg = true;
            } else if (e instanceof SqlLiteral) {
                continue;
            } else if (grouped && s.getGroup().getList().stream().anyMatch(g -> g.equalsDeep(e, org.apache.calcite.util.Litmus.IGNORE)
                    || item instanceof SqlCall as && as.getKind() == SqlKind.AS && g instanceof SqlIdentifier gi
                    && gi.names.size() == 1 && gi.getSimple().equalsIgnoreCase(((SqlIdentifier) as.operand(1)).getSimple()))) {
                continue;
            } else {
                return false;
            }
        }
        return anyAgg;
    }
}
