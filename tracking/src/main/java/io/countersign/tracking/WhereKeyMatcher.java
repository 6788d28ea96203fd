package io.countersign.tracking;

import io.countersign.wire.spi.BoundParameter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the primary keys an INSERT ... VALUES names, or an UPDATE or DELETE can touch when its WHERE pins them: {@code id = 42},
 * {@code id IN (1, 2, 3)}, {@code id = $1}, ANDed with anything else. Anything it does not fully
 * understand (OR at the top, USING/FROM joins, WITH, BETWEEN, CASE, casts on the key, E'' strings,
 * dollar quotes) yields nothing: it never guesses.
 *
 * <p>The answer is a set of candidates. Each matches at most one row (it is a primary key), so when
 * the backend reports as many rows affected as there are candidates, every candidate was touched;
 * {@link TrackedStatement} claims them only then.
 */
final class WhereKeyMatcher {

    /** The target table and the distinct candidate keys, rendered as {@link KeyValues#render}. */
    record Candidates(String table, List<String> keys) {}

    private static final int MAX_CANDIDATES = 10_000;

    private enum Kind { IDENT, QIDENT, STRING, NUMBER, PARAM, OP, LPAREN, RPAREN, COMMA, DOT, SEMI }

    private record Tok(Kind kind, String text) {
        boolean word(String w) {
            return kind == Kind.IDENT && text.equals(w);
        }

        boolean name() {
            return kind == Kind.IDENT || kind == Kind.QIDENT;
        }
    }

    /** Raised inside the tokenizer for constructs it does not handle; caught, and nothing is claimed. */
    private static final class Unsupported extends Exception {
        Unsupported() {
            super(null, null, false, false);
        }
    }

    private WhereKeyMatcher() {}

    /**
     * @param sql           one statement
     * @param parameters    values bound to {@code $n} / {@code ?}
     * @param tablesWritten the analysis' written tables, to resolve an unqualified name
     * @param resolver      primary keys and column types
     */
    static Optional<Candidates> match(String sql, List<BoundParameter> parameters, Set<String> tablesWritten, ColumnResolver resolver) {
        try {
            return parse(tokenize(sql), parameters, tablesWritten, resolver);
        } catch (Unsupported e) {
            return Optional.empty();
        }
    }

    private static Optional<Candidates> parse(List<Tok> t, List<BoundParameter> params, Set<String> written, ColumnResolver resolver)
            throws Unsupported {
        if (at(t, 0).word("insert") && at(t, 1).word("into")) {
            return insertValues(t, params, written, resolver);
        }
        int i = 0;
        List<String> name;
        String alias = null;
        if (at(t, 0).word("update")) {
            i = 1;
            if (at(t, i).word("only")) {
                i++;
            }
            name = new ArrayList<>();
            i = qualifiedName(t, i, name);
            if (at(t, i).word("as")) {
                i++;
            }
            if (at(t, i).name() && !at(t, i).word("set")) {
                alias = at(t, i++).text();
            }
            if (!at(t, i).word("set")) {
                return Optional.empty();
            }
            // Skip the SET list up to the WHERE at depth 0; a FROM there joins other tables: not a simple key match.
            int depth = 0;
            for (; i < t.size(); i++) {
                Tok k = t.get(i);
                if (k.kind() == Kind.LPAREN) {
                    depth++;
                } else if (k.kind() == Kind.RPAREN) {
                    depth--;
                } else if (depth == 0 && (k.word("from") || k.kind() == Kind.SEMI)) {
                    return Optional.empty();
                } else if (depth == 0 && k.word("where")) {
                    break;
                }
            }
        } else if (at(t, 0).word("delete") && at(t, 1).word("from")) {
            i = 2;
            if (at(t, i).word("only")) {
                i++;
            }
            name = new ArrayList<>();
            i = qualifiedName(t, i, name);
            if (at(t, i).word("as")) {
                i++;
            }
            if (at(t, i).name() && !at(t, i).word("where") && !at(t, i).word("using")) {
                alias = at(t, i++).text();
            }
        } else {
            return Optional.empty();
        }
        if (!at(t, i).word("where")) {
            return Optional.empty();
        }
        i++;
        if (at(t, i).word("current")) {
            return Optional.empty();
        }
        String table = resolveTable(name, written);
        if (table == null) {
            return Optional.empty();
        }
        List<String> pk = resolver.primaryKey(table);
        if (pk.isEmpty()) {
            return Optional.empty();
        }
        String bare = name.get(name.size() - 1);

        // The condition runs to RETURNING, ORDER BY, LIMIT or the end; only a trailing ';' may follow.
        int end = i;
        int depth = 0;
        for (; end < t.size(); end++) {
            Tok k = t.get(end);
            if (k.kind() == Kind.LPAREN) {
                depth++;
            } else if (k.kind() == Kind.RPAREN) {
                depth--;
            } else if (depth == 0 && (k.word("returning") || k.word("order") || k.word("limit") || k.kind() == Kind.SEMI)) {
                break;
            } else if (depth == 0 && (k.word("or") || k.word("between") || k.word("case") || k.word("not"))) {
                return Optional.empty();
            }
        }
        if (!trailingOnlyEnd(t, end)) {
            return Optional.empty();
        }

        Map<String, Set<String>> perColumn = new HashMap<>();
        int start = i;
        depth = 0;
        for (int j = i; j <= end; j++) {
            Tok k = j < end ? t.get(j) : null;
            if (k != null && k.kind() == Kind.LPAREN) {
                depth++;
            } else if (k != null && k.kind() == Kind.RPAREN) {
                depth--;
            }
            if (k == null || (depth == 0 && k.word("and"))) {
                conjunct(t.subList(start, j), bare, alias, table, pk, params, resolver, perColumn);
                start = j + 1;
            }
        }
        for (String col : pk) {
            if (!perColumn.containsKey(col)) {
                return Optional.empty();
            }
        }
        List<List<String>> combos = new ArrayList<>();
        combos.add(List.of());
        for (String col : pk) {
            List<List<String>> next = new ArrayList<>();
            for (List<String> prefix : combos) {
                for (String v : perColumn.get(col)) {
                    List<String> c = new ArrayList<>(prefix);
                    c.add(v);
                    next.add(c);
                }
            }
            if (next.size() > MAX_CANDIDATES) {
                return Optional.empty();
            }
            combos = next;
        }
        LinkedHashSet<String> keys = new LinkedHashSet<>();
        for (List<String> c : combos) {
            keys.add(KeyValues.render(c));
        }
        return Optional.of(new Candidates(table, List.copyOf(keys)));
    }

    /**
     * {@code INSERT INTO t (cols) VALUES (...), (...)} with every key column listed and given a literal or
     * parameter in every row; only {@code ON CONFLICT ... DO NOTHING} and {@code RETURNING} may follow. The
     * rows' keys are the candidates (the affected count then proves them, as for a WHERE).
     */
    private static Optional<Candidates> insertValues(List<Tok> t, List<BoundParameter> params, Set<String> written,
                                                     ColumnResolver resolver) throws Unsupported {
        List<String> name = new ArrayList<>();
        int i = qualifiedName(t, 2, name);
        if (at(t, i).word("as")) {
            i += 2;
        }
        String table = resolveTable(name, written);
        if (table == null || at(t, i).kind() != Kind.LPAREN) {
            return Optional.empty();
        }
        List<String> pk = resolver.primaryKey(table);
        if (pk.isEmpty()) {
            return Optional.empty();
        }
        List<String> columns = new ArrayList<>();
        i++;
        while (true) {
            if (!at(t, i).name()) {
                return Optional.empty();
            }
            columns.add(t.get(i++).text());
            if (at(t, i).kind() == Kind.COMMA) {
                i++;
            } else if (at(t, i).kind() == Kind.RPAREN) {
                i++;
                break;
            } else {
                return Optional.empty();
            }
        }
        int[] keyAt = new int[pk.size()];
        for (int k = 0; k < pk.size(); k++) {
            keyAt[k] = columns.indexOf(pk.get(k));
            if (keyAt[k] < 0) {
                return Optional.empty(); // a defaulted key (serial, identity) is unknown until RETURNING shows it
            }
        }
        if (!at(t, i).word("values")) {
            return Optional.empty();
        }
        i++;
        LinkedHashSet<String> keys = new LinkedHashSet<>();
        while (true) {
            if (at(t, i).kind() != Kind.LPAREN) {
                return Optional.empty();
            }
            // Split the row at its top-level commas.
            List<List<Tok>> items = new ArrayList<>();
            List<Tok> current = new ArrayList<>();
            int depth = 0;
            i++;
            while (true) {
                Tok k = at(t, i++);
                if (k == EOF) {
                    return Optional.empty();
                }
                if (k.kind() == Kind.LPAREN) {
                    depth++;
                } else if (k.kind() == Kind.RPAREN) {
                    if (depth == 0) {
                        items.add(current);
                        break;
                    }
                    depth--;
                } else if (k.kind() == Kind.COMMA && depth == 0) {
                    items.add(current);
                    current = new ArrayList<>();
                    continue;
                }
                current.add(k);
            }
            if (items.size() != columns.size()) {
                return Optional.empty();
            }
            List<String> values = new ArrayList<>(pk.size());
            for (int k = 0; k < pk.size(); k++) {
                List<Tok> item = items.get(keyAt[k]);
                List<Tok> value = new ArrayList<>(1);
                if (valueAt(item, 0, value) != item.size()) {
                    return Optional.empty();
                }
                String text = literal(value.get(0), params);
                String normal = text == null ? null : KeyValues.normalise(text, resolver.typeOf(table, pk.get(k)));
                if (normal == null) {
                    return Optional.empty(); // NULL key: the insert fails or the value is not what it seems
                }
                values.add(normal);
            }
            keys.add(KeyValues.render(values));
            if (keys.size() > MAX_CANDIDATES) {
                return Optional.empty();
            }
            if (at(t, i).kind() == Kind.COMMA) {
                i++;
            } else {
                break;
            }
        }
        if (at(t, i).word("on")) {
            // Only ON CONFLICT [target] DO NOTHING: an update on conflict may change the key.
            int j = i + 1;
            if (!at(t, j).word("conflict")) {
                return Optional.empty();
            }
            j++;
            while (j < t.size() && !at(t, j).word("do")) {
                j++;
            }
            if (!at(t, j + 1).word("nothing")) {
                return Optional.empty();
            }
            i = j + 2;
        }
        if (at(t, i).word("returning")) {
            while (i < t.size() && t.get(i).kind() != Kind.SEMI) {
                i++;
            }
        }
        if (!(i == t.size() || (at(t, i).kind() == Kind.SEMI && i == t.size() - 1))) {
            return Optional.empty();
        }
        return Optional.of(new Candidates(table, List.copyOf(keys)));
    }

    /** Records a conjunct that pins a key column; any other conjunct only narrows further and is ignored. */
    private static void conjunct(List<Tok> c, String table, String alias, String qualified, List<String> pk,
                                 List<BoundParameter> params, ColumnResolver resolver, Map<String, Set<String>> perColumn)
            throws Unsupported {
        int n = c.size();
        String col;
        List<Tok> values = new ArrayList<>();
        int colEnd = columnAt(c, 0, table, alias);
        if (colEnd > 0 && n > colEnd && c.get(colEnd).kind() == Kind.OP && c.get(colEnd).text().equals("=")) {
            col = columnName(c, colEnd);
            int vEnd = valueAt(c, colEnd + 1, values);
            if (vEnd != n) {
                return;
            }
        } else if (colEnd > 0 && n > colEnd + 2 && c.get(colEnd).word("in") && c.get(colEnd + 1).kind() == Kind.LPAREN) {
            col = columnName(c, colEnd);
            int j = colEnd + 2;
            while (true) {
                j = valueAt(c, j, values);
                if (j < 0 || j >= n) {
                    return;
                }
                if (c.get(j).kind() == Kind.COMMA) {
                    j++;
                } else if (c.get(j).kind() == Kind.RPAREN && j == n - 1) {
                    break;
                } else {
                    return;
                }
            }
        } else {
            // value = column
            int vEnd = valueAt(c, 0, values);
            if (vEnd < 0 || vEnd >= n || !(c.get(vEnd).kind() == Kind.OP && c.get(vEnd).text().equals("="))) {
                return;
            }
            int cEnd = columnAt(c, vEnd + 1, table, alias);
            if (cEnd != n) {
                return;
            }
            col = columnName(c, cEnd);
        }
        if (col == null || !pk.contains(col)) {
            return;
        }
        int type = resolver.typeOf(qualified, col);
        Set<String> found = new LinkedHashSet<>();
        for (Tok v : values) {
            String text = literal(v, params);
            if (text == null) {
                continue; // NULL never equals a key
            }
            String normal = KeyValues.normalise(text, type);
            if (normal == null) {
                throw new Unsupported();
            }
            found.add(normal);
        }
        Set<String> prior = perColumn.get(col);
        if (prior != null) {
            found.retainAll(prior);
        }
        perColumn.put(col, found);
    }

    private static String literal(Tok v, List<BoundParameter> params) throws Unsupported {
        return switch (v.kind()) {
            case STRING, NUMBER -> v.text();
            case PARAM -> {
                int index = Integer.parseInt(v.text());
                if (index < 1 || index > params.size()) {
                    throw new Unsupported();
                }
                yield params.get(index - 1).text();
            }
            default -> throw new Unsupported();
        };
    }

    /** Index after a column reference at {@code i} ({@code col}, {@code table.col}, {@code alias.col}), or -1. */
    private static int columnAt(List<Tok> c, int i, String table, String alias) {
        if (i >= c.size() || !c.get(i).name()) {
            return -1;
        }
        if (i + 2 < c.size() && c.get(i + 1).kind() == Kind.DOT && c.get(i + 2).name()) {
            String q = c.get(i).text();
            return q.equals(table) || q.equals(alias) ? i + 3 : -1;
        }
        return i + 1;
    }

    private static String columnName(List<Tok> c, int end) {
        return c.get(end - 1).text();
    }

    /** Index after a literal or parameter at {@code i}, appending it to {@code out}; -1 when there is none. */
    private static int valueAt(List<Tok> c, int i, List<Tok> out) {
        if (i >= c.size()) {
            return -1;
        }
        Tok k = c.get(i);
        if (k.kind() == Kind.OP && k.text().equals("-") && i + 1 < c.size() && c.get(i + 1).kind() == Kind.NUMBER) {
            out.add(new Tok(Kind.NUMBER, "-" + c.get(i + 1).text()));
            return i + 2;
        }
        if (k.kind() == Kind.STRING || k.kind() == Kind.NUMBER || k.kind() == Kind.PARAM) {
            out.add(k);
            return i + 1;
        }
        return -1;
    }

    private static String resolveTable(List<String> name, Set<String> written) {
        if (name.size() == 2) {
            String q = name.get(0) + "." + name.get(1);
            return written.contains(q) ? q : null;
        }
        if (name.size() != 1) {
            return null;
        }
        String match = null;
        for (String w : written) {
            if (w.endsWith("." + name.get(0))) {
                if (match != null) {
                    return null;
                }
                match = w;
            }
        }
        return match;
    }

    private static int qualifiedName(List<Tok> t, int i, List<String> out) throws Unsupported {
        if (!at(t, i).name()) {
            throw new Unsupported();
        }
        out.add(t.get(i).text());
        i++;
        while (at(t, i).kind() == Kind.DOT && at(t, i + 1).name()) {
            out.add(t.get(i + 1).text());
            i += 2;
        }
        return i;
    }

    private static boolean trailingOnlyEnd(List<Tok> t, int end) {
        if (end >= t.size()) {
            return true;
        }
        Tok k = t.get(end);
        if (k.kind() == Kind.SEMI) {
            return end == t.size() - 1;
        }
        // RETURNING / ORDER BY / LIMIT: a further statement after them is not ours to judge.
        for (int j = end; j < t.size(); j++) {
            if (t.get(j).kind() == Kind.SEMI && j != t.size() - 1) {
                return false;
            }
        }
        return true;
    }

    private static final Tok EOF = new Tok(Kind.SEMI, "<eof>");

    private static Tok at(List<Tok> t, int i) {
        return i < t.size() ? t.get(i) : EOF;
    }

    private static List<Tok> tokenize(String sql) throws Unsupported {
        List<Tok> out = new ArrayList<>();
        int n = sql.length();
        int questionMarks = 0;
        int i = 0;
        while (i < n) {
            char ch = sql.charAt(i);
            if (Character.isWhitespace(ch)) {
                i++;
            } else if (ch == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                while (i < n && sql.charAt(i) != '\n') {
                    i++;
                }
            } else if (ch == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                int close = sql.indexOf("*/", i + 2);
                if (close < 0 || sql.indexOf("/*", i + 2) >= 0 && sql.indexOf("/*", i + 2) < close) {
                    throw new Unsupported(); // unterminated or nested comments
                }
                i = close + 2;
            } else if (ch == '\'') {
                if (i > 0 && (Character.isLetterOrDigit(sql.charAt(i - 1)) || sql.charAt(i - 1) == '&')) {
                    throw new Unsupported(); // E'..', B'..', X'..', N'..', U&'..' change what the text means
                }
                StringBuilder sb = new StringBuilder();
                i++;
                while (true) {
                    if (i >= n) {
                        throw new Unsupported();
                    }
                    char c = sql.charAt(i);
                    if (c == '\\') {
                        throw new Unsupported(); // MySQL escapes or standard_conforming_strings=off: not certain
                    }
                    if (c == '\'') {
                        if (i + 1 < n && sql.charAt(i + 1) == '\'') {
                            sb.append('\'');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    sb.append(c);
                    i++;
                }
                out.add(new Tok(Kind.STRING, sb.toString()));
            } else if (ch == '"' || ch == '`') {
                StringBuilder sb = new StringBuilder();
                i++;
                while (true) {
                    if (i >= n) {
                        throw new Unsupported();
                    }
                    char c = sql.charAt(i);
                    if (c == ch) {
                        if (i + 1 < n && sql.charAt(i + 1) == ch) {
                            sb.append(ch);
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    sb.append(c);
                    i++;
                }
                out.add(new Tok(Kind.QIDENT, sb.toString()));
            } else if (ch == '$') {
                int j = i + 1;
                while (j < n && Character.isDigit(sql.charAt(j))) {
                    j++;
                }
                if (j == i + 1) {
                    throw new Unsupported(); // dollar quoting
                }
                out.add(new Tok(Kind.PARAM, sql.substring(i + 1, j)));
                i = j;
            } else if (ch == '?') {
                out.add(new Tok(Kind.PARAM, Integer.toString(++questionMarks)));
                i++;
            } else if (Character.isDigit(ch) || (ch == '.' && i + 1 < n && Character.isDigit(sql.charAt(i + 1)))) {
                int j = i;
                while (j < n && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '.' || sql.charAt(j) == '_')) {
                    j++;
                }
                String num = sql.substring(i, j);
                if (!num.chars().allMatch(Character::isDigit)) {
                    throw new Unsupported(); // decimals, exponents, hex: not a key we can name for certain
                }
                out.add(new Tok(Kind.NUMBER, num));
                i = j;
            } else if (Character.isLetter(ch) || ch == '_') {
                int j = i;
                while (j < n && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_' || sql.charAt(j) == '$')) {
                    j++;
                }
                out.add(new Tok(Kind.IDENT, sql.substring(i, j).toLowerCase(Locale.ROOT)));
                i = j;
            } else if (ch == '(') {
                out.add(new Tok(Kind.LPAREN, "("));
                i++;
            } else if (ch == ')') {
                out.add(new Tok(Kind.RPAREN, ")"));
                i++;
            } else if (ch == ',') {
                out.add(new Tok(Kind.COMMA, ","));
                i++;
            } else if (ch == '.') {
                out.add(new Tok(Kind.DOT, "."));
                i++;
            } else if (ch == ';') {
                out.add(new Tok(Kind.SEMI, ";"));
                i++;
            } else if ("+-*/<>=~!@#%^&|:[]{}".indexOf(ch) >= 0) {
                int j = i;
                while (j < n && "+-*/<>=~!@#%^&|:".indexOf(sql.charAt(j)) >= 0
                        && !(sql.startsWith("--", j) || sql.startsWith("/*", j))) {
                    j++;
                }
                if (j == i) {
                    j = i + 1;
                }
                // PostgreSQL's lexer: a multi-character operator may not end in + or - unless it holds one of
                // ~ ! @ # % ^ & |, so "=-7" is "=" then "-7".
                String op = sql.substring(i, j);
                if (op.chars().noneMatch(c -> "~!@#%^&|".indexOf(c) >= 0)) {
                    while (op.length() > 1 && (op.endsWith("+") || op.endsWith("-"))) {
                        op = op.substring(0, op.length() - 1);
                    }
                    j = i + op.length();
                }
                out.add(new Tok(Kind.OP, op));
                i = j;
            } else {
                throw new Unsupported();
            }
        }
        return out;
    }
}
