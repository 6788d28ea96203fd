package io.countersign.analysis.lexer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Classifies a statement's kind and extracts every identifier that could name a relation or function. */
public final class LexicalAnalyzer {

    /** Words that may precede a parenthesis without being a function call. */
    private static final Set<String> NOT_FUNCTIONS = set(
            "in", "exists", "any", "all", "some", "values", "as", "on", "using", "over", "filter", "within",
            "cast", "array", "row", "not", "and", "or", "when", "then", "else", "case", "from", "join", "where",
            "select", "into", "table", "partition", "window", "by", "set", "returning", "conflict", "do",
            "primary", "key", "unique", "check", "foreign", "references", "default", "constraint", "index",
            "lateral", "with", "recursive", "materialized", "cube", "rollup", "sets", "is", "like", "ilike",
            "between", "distinct", "only", "verbose", "analyze", "explain", "format", "columns", "include",
            "inherits", "insert", "update", "delete", "group", "order", "having", "limit", "union", "intersect",
            "except", "interval", "tablesample", "cursor", "for", "return", "to", "option", "options",
            "replace", "ignore", "duplicate", "partitions", "generated", "identity", "storage", "nulls",
            "first", "last", "escape", "collate", "at", "zone", "offset", "fetch", "timestamp", "time", "date",
            "char", "character", "varchar", "numeric", "decimal", "float", "double", "bit", "varbit",
            "datetime", "int", "integer", "bigint", "smallint", "tinyint", "mediumint", "binary", "varbinary",
            "enum", "precision", "varying", "nchar", "nvarchar", "real", "dec", "number", "year", "time_bucket",
            "signed", "unsigned", "text", "json", "jsonb", "bytea", "uuid", "inet", "cidr", "mode", "while",
            "if", "elseif", "repeat", "exec", "execute", "call", "unnest_placeholder", "tuple", "matched",
            "struct", "map", "multiset", "convert_placeholder", "grouping", "union_placeholder", "range",
            "rows", "groups", "preceding", "following", "current", "unbounded", "exclude", "ties", "others",
            "view", "function", "procedure", "trigger", "type", "domain", "sequence", "schema", "role", "user",
            "database", "extension", "server", "policy", "rule", "language", "aggregate", "operator", "owned",
            "lock", "share", "nowait", "skip", "locked", "of", "also", "instead", "new", "old", "each",
            "statement", "execute_placeholder", "language_placeholder", "add", "drop", "alter", "column",
            "rename", "modify", "change", "after", "before", "engine", "charset", "comment", "auto_increment",
            "load", "data", "infile", "outfile", "dumpfile", "fields", "lines", "terminated", "enclosed",
            "escaped", "starting", "minvalue", "maxvalue", "cache", "increment", "start", "restart", "owner",
            "tablespace", "unlogged", "temporary", "temp", "global", "local", "session", "exclusive", "access",
            "spatial", "fulltext", "btree", "hash", "gist", "gin", "brin", "spgist", "natural", "left", "right",
            "inner", "outer", "full", "cross", "straight_join", "use", "force", "key_block_size", "match",
            "simple", "cascade", "restrict", "deferrable", "initially", "deferred", "immediate", "without",
            "oids", "strict", "setof", "inout", "out", "variadic", "returns", "language_", "immutable",
            "stable", "volatile", "security", "definer", "invoker", "leakproof", "cost", "support", "window_",
            "deterministic", "sql", "modifies", "reads", "contains", "no", "begin", "end", "declare", "loop",
            "perform", "raise", "notice", "exception", "elsif", "uescape", "materialize", "sample", "quote");

    /** Keywords that end a FROM list at its own depth. */
    private static final Set<String> FROM_ENDERS = set(
            "where", "group", "having", "order", "limit", "offset", "fetch", "union", "intersect", "except",
            "window", "returning", "for", "into", "on", "using", "set", "values", "select", "procedure", "lock",
            "with", "to", "qualify", "natural", "left", "right", "inner", "outer", "full", "cross", "join",
            "straight_join", "tablesample", "when", "then", "as", "partition", "force", "ignore", "use");

    /** Keywords after which the next name is a relation. */
    private static final Set<String> RELATION_INTRODUCERS = set(
            "from", "join", "straight_join", "into", "update", "table", "truncate", "copy", "describe", "desc",
            "references", "inherits", "view");

    /** Functions whose FROM/IN keyword inside the parentheses is syntax, not a relation. */
    private static final Set<String> FROM_FUNCTIONS = set(
            "extract", "substring", "trim", "overlay", "position", "substr", "normalize", "cast");

    private LexicalAnalyzer() {}

    public static LexicalFacts analyze(List<Token> tokens) {
        String kind = StatementKinds.classify(tokens);
        List<QualifiedName> relations = new ArrayList<>();
        List<QualifiedName> functions = new ArrayList<>();
        boolean hasWhere = false;
        boolean temporary = false;
        boolean writesInside = false;
        int depth = 0;
        boolean onNamesObject = kind.startsWith("GRANT") || kind.startsWith("REVOKE") || kind.startsWith("CREATE INDEX")
                || kind.startsWith("CREATE UNIQUE INDEX") || kind.startsWith("CREATE TRIGGER") || kind.startsWith("CREATE POLICY")
                || kind.startsWith("COMMENT") || kind.startsWith("CREATE RULE");
        // per-depth state: whether a FROM list is open at this depth, and whether the paren is a function call
        boolean[] fromOpen = new boolean[Math.max(4, tokens.size() + 2)];
        boolean[] fnParen = new boolean[fromOpen.length];
        boolean expectRelation = false;
        String introducer = "";
        boolean listKind = kind.equals("TRUNCATE") || kind.startsWith("DROP ") || kind.equals("LOCK");
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            Token prev = i > 0 ? tokens.get(i - 1) : null;
            switch (t.type()) {
                case LPAREN -> {
                    depth++;
                    fnParen[depth] = prev != null && prev.type() == TokenType.WORD && FROM_FUNCTIONS.contains(prev.value());
                    fromOpen[depth] = false;
                    Token next = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
                    if (next != null && next.type() == TokenType.WORD
                            && Set.of("insert", "update", "delete", "merge").contains(next.value())) {
                        writesInside = true;
                    }
                    // FROM (a JOIN b ...) / FROM ((a)): a parenthesised join starts with a relation
                    boolean subquery = next != null && next.type() == TokenType.WORD
                            && Set.of("select", "with", "values", "table").contains(next.value());
                    if (expectRelation && !subquery && introducerOpensList(introducer)) {
                        fromOpen[depth] = true;
                        continue;
                    }
                    expectRelation = false;
                    continue;
                }
                case RPAREN -> {
                    fromOpen[Math.max(depth, 0)] = false;
                    depth = Math.max(0, depth - 1);
                    expectRelation = false;
                    continue;
                }
                case COMMA -> {
                    if (fromOpen[depth]) {
                        expectRelation = true;
                        introducer = ",";
                    }
                    continue;
                }
                case STRING -> {
                    // 'customers'::regclass names a relation through a string
                    if (i + 2 < tokens.size() && tokens.get(i + 1).isOperator("::")
                            && tokens.get(i + 2).type() == TokenType.WORD
                            && tokens.get(i + 2).value().startsWith("regclass")) {
                        relations.add(new QualifiedName(List.of(t.value().toLowerCase(java.util.Locale.ROOT).split("\\.")), false));
                    }
                    continue;
                }
                default -> { }
            }
            if (t.type() == TokenType.WORD && depth == 0 && t.value().equals("where")) {
                hasWhere = true;
            }
            if (t.type() == TokenType.WORD && (t.value().equals("temp") || t.value().equals("temporary"))
                    && i <= 3) {
                temporary = true;
            }
            if (!t.isIdentifier()) {
                expectRelation = false;
                continue;
            }
            if (t.type() == TokenType.WORD && (RELATION_INTRODUCERS.contains(t.value())
                    || t.value().equals("on") && onNamesObject)) {
                boolean syntaxFrom = t.value().equals("from") && (fnParen[depth]
                        || prev != null && prev.isWord("distinct"));
                if (!syntaxFrom) {
                    expectRelation = true;
                    introducer = t.value();
                    if (t.value().equals("from") || t.value().equals("join") || t.value().equals("straight_join")
                            || listKind && (t.value().equals("table") || t.value().equals("truncate"))) {
                        fromOpen[depth] = true;
                    }
                }
                continue;
            }
            if (t.type() == TokenType.WORD && FROM_ENDERS.contains(t.value())) {
                if (!t.value().equals("join") && !t.value().equals("on") && !t.value().equals("using")
                        && !t.value().equals("as") && !isJoinWord(t.value())) {
                    fromOpen[depth] = false;
                }
                expectRelation = false;
                continue;
            }
            // a (possibly qualified) name
            int j = i;
            List<String> parts = new ArrayList<>();
            boolean quoted = false;
            while (true) {
                Token p = tokens.get(j);
                parts.add(p.value());
                quoted = p.type() == TokenType.QUOTED_IDENT;
                if (j + 2 < tokens.size() && tokens.get(j + 1).type() == TokenType.DOT && tokens.get(j + 2).isIdentifier()) {
                    j += 2;
                } else {
                    break;
                }
            }
            boolean call = j + 1 < tokens.size() && tokens.get(j + 1).type() == TokenType.LPAREN
                    && !(expectRelation && Set.of("into", "table", "copy", "references", "inherits", "view", "update", "truncate").contains(introducer));
            boolean afterCast = prev != null && prev.isOperator("::");
            if (call && !afterCast && !(t.type() == TokenType.WORD && parts.size() == 1 && NOT_FUNCTIONS.contains(t.value()))) {
                functions.add(new QualifiedName(parts, quoted));
                expectRelation = false; // a function in FROM: its parenthesis holds arguments, not a join
            } else if (expectRelation && !(t.type() == TokenType.WORD && Set.of("only", "lateral", "if", "exists", "not", "ignore").contains(t.value()))) {
                relations.add(new QualifiedName(parts, quoted));
                if (!parts.isEmpty() && parts.get(0).equals("pg_temp")) {
                    temporary = true;
                }
                expectRelation = false;
            } else if (!(t.type() == TokenType.WORD && Set.of("only", "lateral", "if", "exists", "not", "ignore").contains(t.value()))) {
                expectRelation = false;
            }
            i = j;
        }
        return new LexicalFacts(kind, relations, functions, hasWhere, temporary, writesInside);
    }

    private static boolean introducerOpensList(String w) {
        return w.equals("from") || w.equals("join") || w.equals("straight_join") || w.equals(",");
    }

    private static boolean isJoinWord(String w) {
        return switch (w) {
            case "natural", "left", "right", "inner", "outer", "full", "cross", "straight_join" -> true;
            default -> false;
        };
    }

    /** Set.of rejects duplicates; these lists are easier to maintain when it does not matter. */
    private static Set<String> set(String... words) {
        return Set.copyOf(java.util.Arrays.asList(words));
    }
}
