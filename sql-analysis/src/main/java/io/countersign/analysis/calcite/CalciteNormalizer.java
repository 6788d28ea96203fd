package io.countersign.analysis.calcite;

import io.countersign.analysis.Dialect;
import io.countersign.analysis.lexer.Token;
import io.countersign.analysis.lexer.TokenType;
import java.util.List;
import java.util.Set;

/**
 * Rewrites a token range into SQL that Calcite's Babel parser accepts, without changing which columns and
 * relations it references: {@code ::type[]} casts dropped, {@code OPERATOR(pg_catalog.op)} unwrapped, vendor
 * operators mapped to a standard comparison, {@code $n}/{@code ?}/{@code @var} to {@code ?}, {@code = ANY(x)}
 * to a function, COLLATE dropped, CAST types simplified, {@code (t).col} to a whole-row marker, functions in
 * FROM wrapped in TABLE(...), RETURNING / ON CONFLICT / INTO / FOR UPDATE split off.
 */
public final class CalciteNormalizer {

    private static final Set<String> STANDARD_OPS = Set.of("=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "||", "%");
    private static final Set<String> INTERVAL_UNITS = Set.of("microsecond", "second", "minute", "hour", "day", "week",
            "month", "quarter", "year", "day_hour", "day_minute", "day_second", "hour_minute", "hour_second",
            "minute_second", "year_month");
    private static final Set<String> ON_ENDERS = Set.of("join", "left", "right", "inner", "full", "cross", "natural",
            "where", "group", "order", "limit", "offset", "fetch", "union", "intersect", "except", "having", "window",
            "for", "returning", "straight_join", "lateral");
    private static final Set<String> TYPE_CONTINUATIONS = Set.of("precision", "varying", "with", "without", "time", "zone");

    private final List<Token> tk;
    private final int end;
    private final Dialect dialect;
    private final StringBuilder out = new StringBuilder(128);
    private String returning;
    private String upsertSet;
    private String upsertWhere;
    private String intoTarget;

    private CalciteNormalizer(List<Token> tk, int end, Dialect dialect) {
        this.tk = tk;
        this.end = end;
        this.dialect = dialect;
    }

    public static Normalized normalize(List<Token> tokens, int from, int to, Dialect dialect) {
        CalciteNormalizer n = new CalciteNormalizer(tokens, to, dialect);
        n.render(from, to, 0);
        return new Normalized(n.out.toString(), n.returning, n.upsertSet, n.upsertWhere, n.intoTarget);
    }

    /** Renders tokens [from, to) as a fragment. */
    private static String fragment(List<Token> tokens, int from, int to, Dialect dialect) {
        CalciteNormalizer n = new CalciteNormalizer(tokens, to, dialect);
        n.render(from, to, 0);
        return n.out.toString();
    }

    private void emit(String s) {
        if (!out.isEmpty()) {
            out.append(' ');
        }
        out.append(s);
    }

    private Token at(int i) {
        return i < end ? tk.get(i) : null;
    }

    private void render(int from, int to, int baseDepth) {
        int depth = 0;
        boolean fromClause = false;
        for (int i = from; i < to; i++) {
            Token t = tk.get(i);
            Token next = i + 1 < to ? tk.get(i + 1) : null;
            switch (t.type()) {
                case LPAREN -> {
                    // (t).col, (t).* and (expr).field read the whole value inside the parentheses
                    int close = closing(i, to);
                    if (close + 2 < to + 1 && close + 1 < to && tk.get(close + 1).type() == TokenType.DOT
                            && close + 2 < to && (tk.get(close + 2).isIdentifier() || tk.get(close + 2).isOperator("*"))) {
                        emit("cs_wholerow(");
                        render(i + 1, close, depth + 1);
                        emit(")");
                        i = close + 2;
                        continue;
                    }
                    depth++;
                    emit("(");
                    continue;
                }
                case RPAREN -> {
                    depth--;
                    emit(")");
                    continue;
                }
                case COMMA -> {
                    emit(",");
                    continue;
                }
                case DOT -> {
                    out.append('.');
                    continue;
                }
                case LBRACKET, RBRACKET -> {
                    emit(t.value());
                    continue;
                }
                case STRING, DOLLAR_STRING -> {
                    emit("'" + t.value().replace("'", "''") + "'");
                    continue;
                }
                case NUMBER -> {
                    emit(t.value().replace("_", ""));
                    continue;
                }
                case PARAM, VARIABLE -> {
                    emit("?");
                    continue;
                }
                case QUOTED_IDENT -> {
                    emitIdent(t);
                    continue;
                }
                case SEMICOLON, META -> throw new NormalizeException("unexpected " + t.value());
                case OPERATOR -> {
                    i = operator(i, to);
                    continue;
                }
                default -> { }
            }
            // WORD
            String w = t.value();
            if (depth == 0) {
                if (w.equals("returning")) {
                    returning = fragment(tk, i + 1, to, dialect);
                    return;
                }
                if (w.equals("on") && next != null && (next.isWord("conflict") || next.isWord("duplicate"))) {
                    upsert(i, to);
                    return;
                }
                if (w.equals("for") && next != null && (next.isWord("update") || next.isWord("share")
                        || next.isWord("no") || next.isWord("key"))) {
                    return; // row locking clause: no columns read
                }
                if (w.equals("lock") && next != null && next.isWord("in")) {
                    return;
                }
                if (w.equals("into") && fromClause == false && isSelectInto(from, i)) {
                    i = skipInto(i, to);
                    continue;
                }
                if (w.equals("from")) {
                    fromClause = true;
                }
            }
            if (w.equals("on") && next != null && next.type() == TokenType.LPAREN && i + 2 < to && !isQueryStart(tk.get(i + 2))) {
                // ON ( cond ) -> ON cond when the parentheses hold the whole condition: same columns, and
                // Calcite's parser backtracks badly over parenthesised join conditions
                int close = closing(i + 1, to);
                Token after = close + 1 < to ? tk.get(close + 1) : null;
                if (after == null || after.type() == TokenType.RPAREN || after.type() == TokenType.COMMA
                        || after.type() == TokenType.WORD && ON_ENDERS.contains(after.value())) {
                    emit("on");
                    render(i + 2, close, depth + 1);
                    i = close;
                    continue;
                }
            }
            if (w.equals("operator") && next != null && next.type() == TokenType.LPAREN) {
                // OPERATOR(schema.op) -> op
                int j = i + 2;
                while (j < to && tk.get(j).type() != TokenType.OPERATOR && tk.get(j).type() != TokenType.RPAREN) {
                    j++;
                }
                if (j < to && tk.get(j).type() == TokenType.OPERATOR && j + 1 < to && tk.get(j + 1).type() == TokenType.RPAREN) {
                    emitOperator(tk.get(j).value());
                    i = j + 1;
                    continue;
                }
                throw new NormalizeException("OPERATOR() without an operator");
            }
            if (w.equals("collate")) {
                i = skipQualifiedName(i + 1, to) - 1;
                continue;
            }
            if ((w.equals("any") || w.equals("some") || w.equals("all")) && next != null && next.type() == TokenType.LPAREN
                    && i + 2 < to && !isQueryStart(tk.get(i + 2))) {
                emit("cs_any");
                continue;
            }
            if (w.equals("interval")) {
                if (next != null && next.type() == TokenType.STRING) {
                    emit("'" + next.value().replace("'", "''") + "'");
                    i++;
                    if (i + 1 < to && tk.get(i + 1).type() == TokenType.WORD && INTERVAL_UNITS.contains(tk.get(i + 1).value())) {
                        i++;
                    }
                    continue;
                }
                if (next != null && (next.type() == TokenType.NUMBER || next.type() == TokenType.PARAM)
                        && i + 2 < to && INTERVAL_UNITS.contains(tk.get(i + 2).value())) {
                    emit(next.type() == TokenType.NUMBER ? next.value() : "?");
                    i += 2;
                    continue;
                }
            }
            if (w.equals("cast") && next != null && next.type() == TokenType.LPAREN) {
                i = cast(i, to);
                continue;
            }
            if (w.equals("distinct") && next != null && next.isWord("on") && i + 2 < to && tk.get(i + 2).type() == TokenType.LPAREN) {
                int close = closing(i + 2, to);
                emit("distinct cs_distinct_on");
                render(i + 2, close + 1, depth);
                emit(",");
                i = close;
                continue;
            }
            if (dialect == Dialect.MYSQL) {
                switch (w) {
                    case "regexp", "rlike" -> { emit("like"); continue; }
                    case "xor" -> { emit("or"); continue; }
                    case "div" -> { emit("/"); continue; }
                    case "binary" -> {
                        if (next != null && next.type() != TokenType.LPAREN) {
                            continue; // BINARY x: a collation cast
                        }
                    }
                    case "values" -> {
                        if (i > from && next != null && next.type() == TokenType.LPAREN && isInUpsert()) {
                            emit("cs_values");
                            continue;
                        }
                    }
                    default -> { }
                }
            }
            if (w.equals("only") && i > from && (tk.get(i - 1).isWord("from") || tk.get(i - 1).isWord("join")
                    || tk.get(i - 1).isWord("update") || tk.get(i - 1).isWord("table"))) {
                continue; // FROM ONLY t: inheritance children excluded, same columns
            }
            if (dialect == Dialect.MYSQL && w.equals("replace") && i == from) {
                emit("insert"); // REPLACE writes the same columns as INSERT (after deleting conflicting rows)
                continue;
            }
            if (dialect == Dialect.POSTGRESQL && w.equals("table") && i == from && next != null) {
                emit("select * from");
                continue;
            }
            // function in FROM position: wrap in TABLE(...)
            if (next != null && next.type() == TokenType.LPAREN && !w.equals("lateral") && !w.equals("unnest")
                    && !w.equals("table") && !w.equals("values") && !w.equals("select") && !w.equals("with") && inFromItemPosition(i, from)) {
                int close = closing(i + 1, to);
                emit("table(" + w);
                render(i + 1, close + 1, depth);
                emit(")");
                i = close;
                continue;
            }
            emit(w);
        }
    }

    private boolean inUpsert;

    private boolean isInUpsert() {
        return inUpsert;
    }

    private void emitIdentOrWord(Token t) {
        if (t.type() == TokenType.QUOTED_IDENT) {
            emitIdent(t);
        } else {
            emit(t.value());
        }
    }

    private void emitIdent(Token t) {
        if (dialect == Dialect.MYSQL) {
            emit("`" + t.value().replace("`", "``") + "`");
        } else {
            emit("\"" + t.value().replace("\"", "\"\"") + "\"");
        }
    }

    private int operator(int i, int to) {
        Token t = tk.get(i);
        String op = t.value();
        if (op.equals("::")) {
            return skipType(i + 1, to) - 1;
        }
        // (t).col -> cs_wholerow(t)
        emitOperator(op);
        return i;
    }

    private void emitOperator(String op) {
        if (STANDARD_OPS.contains(op)) {
            if (dialect == Dialect.MYSQL && op.equals("||")) {
                emit("or");
            } else {
                emit(op);
            }
            return;
        }
        switch (op) {
            case "&&" -> emit(dialect == Dialect.MYSQL ? "and" : "=");
            case "!" -> emit("not");
            case "~~", "~~*" -> emit("like");
            case "!~~", "!~~*" -> emit("not like");
            case ":=" -> throw new NormalizeException("assignment operator := in a query");
            default -> emit("=");
        }
    }

    /** Skips a type name after :: (qualified, with modifiers, array brackets and multi-word forms). */
    private int skipType(int i, int to) {
        i = skipQualifiedName(i, to);
        while (i < to && tk.get(i).type() == TokenType.WORD && TYPE_CONTINUATIONS.contains(tk.get(i).value())) {
            i++;
        }
        if (i < to && tk.get(i).type() == TokenType.LPAREN) {
            i = closing(i, to) + 1;
        }
        while (i + 1 < to && tk.get(i).type() == TokenType.LBRACKET) {
            i++;
            while (i < to && tk.get(i).type() != TokenType.RBRACKET) {
                i++;
            }
            i++;
        }
        return i;
    }

    private int skipQualifiedName(int i, int to) {
        if (i < to && tk.get(i).isIdentifier()) {
            i++;
            while (i + 1 < to && tk.get(i).type() == TokenType.DOT && tk.get(i + 1).isIdentifier()) {
                i += 2;
            }
        } else if (i < to && tk.get(i).type() == TokenType.STRING) {
            i++;
        }
        return i;
    }

    private int cast(int i, int to) {
        int close = closing(i + 1, to);
        // find AS at depth 1 inside the parentheses
        int depth = 0;
        int as = -1;
        for (int j = i + 1; j < close; j++) {
            Token t = tk.get(j);
            if (t.type() == TokenType.LPAREN) {
                depth++;
            } else if (t.type() == TokenType.RPAREN) {
                depth--;
            } else if (depth == 1 && t.isWord("as")) {
                as = j;
            }
        }
        if (as < 0) {
            throw new NormalizeException("CAST without AS");
        }
        emit("cast(");
        render(i + 2, as, 1);
        emit("as varchar)");
        return close;
    }

    private boolean isQueryStart(Token t) {
        return t.isWord("select") || t.isWord("with") || t.isWord("values");
    }

    private int closing(int open, int to) {
        int d = 0;
        for (int j = open; j < to; j++) {
            if (tk.get(j).type() == TokenType.LPAREN) {
                d++;
            } else if (tk.get(j).type() == TokenType.RPAREN && --d == 0) {
                return j;
            }
        }
        throw new NormalizeException("unbalanced parentheses");
    }

    /** A word right after FROM, JOIN, LATERAL or a FROM-list comma. */
    private boolean inFromItemPosition(int i, int from) {
        if (i == from) {
            return false;
        }
        Token p = tk.get(i - 1);
        if (p.isWord("from") || p.isWord("join") || p.isWord("lateral")) {
            return !isInsideSyntaxFunction(i);
        }
        if (p.type() == TokenType.COMMA) {
            // walk back at the same depth to see whether this comma list belongs to a FROM clause
            int d = 0;
            for (int j = i - 2; j >= from; j--) {
                Token t = tk.get(j);
                if (t.type() == TokenType.RPAREN) {
                    d++;
                } else if (t.type() == TokenType.LPAREN) {
                    if (d == 0) {
                        return false;
                    }
                    d--;
                } else if (d == 0 && t.type() == TokenType.WORD) {
                    if (t.value().equals("from")) {
                        return true;
                    }
                    if (Set.of("select", "where", "group", "order", "having", "by", "set", "values", "on", "using").contains(t.value())) {
                        return false;
                    }
                }
            }
        }
        return false;
    }

    private boolean isInsideSyntaxFunction(int i) {
        int d = 0;
        for (int j = i - 1; j >= 0; j--) {
            Token t = tk.get(j);
            if (t.type() == TokenType.RPAREN) {
                d++;
            } else if (t.type() == TokenType.LPAREN) {
                if (d == 0) {
                    return j > 0 && tk.get(j - 1).type() == TokenType.WORD
                            && Set.of("extract", "substring", "trim", "overlay", "position").contains(tk.get(j - 1).value());
                }
                d--;
            }
        }
        return false;
    }

    private boolean isSelectInto(int from, int i) {
        // SELECT list INTO target FROM ... (PostgreSQL) or INTO OUTFILE/DUMPFILE/@var (MySQL)
        return tk.get(from).isWord("select") || tk.get(from).isWord("with") || tk.get(from).type() == TokenType.LPAREN;
    }

    private int skipInto(int i, int to) {
        Token next = at(i + 1);
        if (next != null && (next.isWord("outfile") || next.isWord("dumpfile"))) {
            int j = i + 2;
            // skip file name and export options up to FROM or the end
            while (j < to && !tk.get(j).isWord("from") && !tk.get(j).isWord("for") && !tk.get(j).isWord("lock")) {
                j++;
            }
            return j - 1;
        }
        if (next != null && next.type() == TokenType.VARIABLE) {
            int j = i + 1;
            while (j < to && (tk.get(j).type() == TokenType.VARIABLE || tk.get(j).type() == TokenType.COMMA)) {
                j++;
            }
            return j - 1;
        }
        int j = i + 1;
        while (j < to && tk.get(j).type() == TokenType.WORD && Set.of("temp", "temporary", "unlogged", "table").contains(tk.get(j).value())) {
            j++;
        }
        int nameEnd = skipQualifiedName(j, to);
        StringBuilder name = new StringBuilder();
        for (int k = j; k < nameEnd; k++) {
            name.append(tk.get(k).type() == TokenType.DOT ? "." : tk.get(k).value());
        }
        intoTarget = name.toString();
        return nameEnd - 1;
    }

    private void upsert(int i, int to) {
        // ON CONFLICT [target] DO NOTHING | DO UPDATE SET ... [WHERE ...]; ON DUPLICATE KEY UPDATE ...
        int set = -1;
        for (int j = i; j < to; j++) {
            if (tk.get(j).isWord("update")) {
                set = tk.get(j + 1 < to ? j + 1 : j).isWord("set") ? j + 2 : j + 1;
                break;
            }
            if (tk.get(j).isWord("nothing")) {
                break;
            }
        }
        if (set < 0) {
            upsertSet = null;
            // DO NOTHING: keep RETURNING if present
            for (int j = i; j < to; j++) {
                if (tk.get(j).isWord("returning")) {
                    returning = fragment(tk, j + 1, to, dialect);
                }
            }
            return;
        }
        int depth = 0;
        int where = -1;
        int ret = -1;
        for (int j = set; j < to; j++) {
            Token t = tk.get(j);
            if (t.type() == TokenType.LPAREN) {
                depth++;
            } else if (t.type() == TokenType.RPAREN) {
                depth--;
            } else if (depth == 0 && t.isWord("where") && where < 0) {
                where = j;
            } else if (depth == 0 && t.isWord("returning")) {
                ret = j;
                break;
            }
        }
        int setEnd = where >= 0 ? where : ret >= 0 ? ret : to;
        CalciteNormalizer n = new CalciteNormalizer(tk, setEnd, dialect);
        n.inUpsert = true;
        n.render(set, setEnd, 0);
        upsertSet = n.out.toString();
        if (where >= 0) {
            upsertWhere = fragment(tk, where + 1, ret >= 0 ? ret : to, dialect);
        }
        if (ret >= 0) {
            returning = fragment(tk, ret + 1, to, dialect);
        }
    }
}
