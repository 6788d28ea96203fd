package io.countersign.analysis.layer;

import io.countersign.analysis.Category;
import io.countersign.analysis.Dialect;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.FunctionInfo;
import io.countersign.analysis.catalog.Table;
import io.countersign.analysis.lexer.LexedStatement;
import io.countersign.analysis.lexer.LexicalFacts;
import io.countersign.analysis.lexer.QualifiedName;
import io.countersign.analysis.lexer.Token;
import io.countersign.analysis.lexer.TokenType;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Layer 1: flags what the token stream proves (privilege, session identity, destructive DDL, dangerous and
 * exporting functions) and settles statements that touch no data.
 */
public final class LexerLayer {

    private static final Set<String> NO_DATA_KINDS = set(
            "SHOW", "RESET", "BEGIN", "COMMIT", "ROLLBACK", "ROLLBACK TO SAVEPOINT", "SAVEPOINT", "RELEASE",
            "LISTEN", "NOTIFY", "UNLISTEN", "DEALLOCATE", "FETCH", "MOVE", "CLOSE", "DISCARD", "USE",
            "PREPARE TRANSACTION", "COMMIT PREPARED", "ROLLBACK PREPARED", "CHECKPOINT", "ANALYZE", "VACUUM",
            "UNLOCK", "LOCK", "HELP", "DESCRIBE", "COMMENT", "REINDEX", "CLUSTER", "REFRESH", "OPTIMIZE", "CHECKSUM");

    private static final Set<String> PRIVILEGE_OBJECTS = set("ROLE", "USER", "GROUP", "DEFAULT PRIVILEGES", "USER MAPPING");

    private LexerLayer() {}

    public static LexerOutcome run(LexedStatement st, LexicalFacts facts, Dialect dialect, Catalog catalog, Draft d) {
        List<Token> tk = st.tokens();
        String kind = facts.kind();
        flagFunctions(tk, facts, catalog, d);

        if (NO_DATA_KINDS.contains(kind)) {
            if (kind.equals("LOCK") || kind.equals("DESCRIBE")) {
                for (QualifiedName q : facts.relations()) {
                    d.tablesRead.add(qualify(q, catalog));
                }
            }
            return new LexerOutcome.Settled();
        }
        switch (kind) {
            case "SET" -> {
                return set(tk, dialect, d);
            }
            case "GRANT", "REVOKE", "REASSIGN" -> {
                d.flag(Category.PRIVILEGE, kind + " changes privileges" + objects(facts, catalog));
                return new LexerOutcome.Settled();
            }
            case "TRUNCATE" -> {
                for (QualifiedName q : facts.relations()) {
                    String t = qualify(q, catalog);
                    d.tablesWritten.add(t);
                    d.flag(Category.DESTRUCTIVE, "TRUNCATE empties " + t);
                }
                if (facts.relations().isEmpty()) {
                    d.flag(Category.DESTRUCTIVE, "TRUNCATE empties a table");
                }
                return new LexerOutcome.Settled();
            }
            case "DO" -> {
                return new LexerOutcome.Unsettled("DO runs an anonymous code block whose effects cannot be analysed");
            }
            case "KILL" -> {
                boolean own = tk.stream().anyMatch(t -> t.isWord("connection_id"));
                if (own) {
                    return new LexerOutcome.Settled();
                }
                return new LexerOutcome.Unsettled("KILL names a connection that may not be the agent's own");
            }
            case "LOAD" -> {
                boolean local = tk.stream().limit(5).anyMatch(t -> t.isWord("local"));
                for (QualifiedName q : facts.relations()) {
                    d.tablesWritten.add(qualify(q, catalog));
                }
                if (!local) {
                    d.flag(Category.DANGEROUS_FUNCTION, "LOAD DATA INFILE reads a file on the database server");
                }
                return new LexerOutcome.Settled();
            }
            case "RENAME" -> {
                if (tk.size() > 1 && tk.get(1).isWord("user")) {
                    d.flag(Category.PRIVILEGE, "RENAME USER changes accounts");
                } else {
                    for (QualifiedName q : facts.relations()) {
                        d.tablesWritten.add(qualify(q, catalog));
                    }
                }
                return new LexerOutcome.Settled();
            }
            case "HANDLER" -> {
                return new LexerOutcome.Unsettled("HANDLER reads table rows directly");
            }
            case "EXECUTE" -> {
                // runs a statement whose PREPARE was analysed (and gated) when it was prepared
                return new LexerOutcome.Settled();
            }
            case "CALL" -> {
                return call(facts, catalog, d);
            }
            case "COPY" -> {
                return copy(tk, facts, catalog, d);
            }
            case "DECLARE" -> {
                int forAt = indexOfWord(tk, "for", 1);
                if (forAt > 0) {
                    return new LexerOutcome.Query(forAt + 1, tk.size(), "cursor");
                }
                return new LexerOutcome.Unsettled("DECLARE without FOR query");
            }
            case "EXPLAIN" -> {
                return explain(tk, dialect, facts, catalog, d);
            }
            case "PREPARE" -> {
                int as = indexOfWord(tk, "as", 2);
                if (dialect == Dialect.POSTGRESQL && as > 0) {
                    return new LexerOutcome.Query(as + 1, tk.size(), "prepare");
                }
                int from = indexOfWord(tk, "from", 2);
                if (from > 0 && from + 1 < tk.size() && tk.get(from + 1).type() == TokenType.STRING && from + 2 == tk.size()) {
                    return new LexerOutcome.Nested(tk.get(from + 1).value());
                }
                return new LexerOutcome.Unsettled("PREPARE from a variable or expression: the statement text is not visible");
            }
            case "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE" -> {
                return query(tk, facts, catalog, d);
            }
            case "PSQL META" -> {
                return new LexerOutcome.Unsettled("psql meta-command " + tk.get(0).value().split("\\s+")[0]
                        + " is client-side; analyse the SQL it sends instead");
            }
            default -> { }
        }
        if (kind.startsWith("CREATE ") || kind.startsWith("ALTER ") || kind.startsWith("DROP ")) {
            return ddl(tk, kind, facts, catalog, d);
        }
        return new LexerOutcome.Unsettled("statement kind " + kind + " is not understood");
    }

    private static LexerOutcome query(List<Token> tk, LexicalFacts facts, Catalog catalog, Draft d) {
        String kind = facts.kind();
        if ((kind.equals("DELETE") || kind.equals("UPDATE")) && !facts.hasWhere()) {
            QualifiedName target = facts.relations().isEmpty() ? null : facts.relations().get(0);
            d.flag(Category.DESTRUCTIVE, kind + " without WHERE affects every row of "
                    + (target == null ? "the table" : qualify(target, catalog)));
        }
        int into = -1;
        for (int i = 0; i < tk.size() - 1; i++) {
            if (tk.get(i).isWord("into") && (tk.get(i + 1).isWord("outfile") || tk.get(i + 1).isWord("dumpfile"))) {
                into = i;
                d.flag(Category.EXPORT, "SELECT ... INTO " + tk.get(i + 1).value().toUpperCase(Locale.ROOT)
                        + " writes query results to a file on the database server");
            }
        }
        if (kind.equals("SELECT") && isVariableRead(tk)) {
            return new LexerOutcome.Settled();
        }
        return new LexerOutcome.Query(0, tk.size(), into >= 0 ? "export" : "query");
    }

    /** {@code SELECT @@x, @@session.y AS z, 1} : server variables and constants only. */
    private static boolean isVariableRead(List<Token> tk) {
        if (!tk.get(0).isWord("select")) {
            return false;
        }
        boolean anyVar = false;
        for (int i = 1; i < tk.size(); i++) {
            Token t = tk.get(i);
            switch (t.type()) {
                case VARIABLE -> anyVar = true;
                case COMMA, NUMBER, STRING -> { }
                case WORD -> {
                    if (!t.value().equals("as") && !(i > 0 && tk.get(i - 1).isWord("as"))) {
                        return false;
                    }
                }
                case QUOTED_IDENT -> {
                    if (!tk.get(i - 1).isWord("as")) {
                        return false;
                    }
                }
                default -> {
                    return false;
                }
            }
        }
        return anyVar;
    }

    private static final Set<String> PURE_SET_FUNCTIONS = set("concat", "concat_ws", "replace", "lower", "upper",
            "trim", "ifnull", "coalesce");

    /** From the LPAREN at {@code open} to its RPAREN: only variables, literals, commas and further pure calls. */
    private static boolean onlyValuesUntilClose(List<Token> tk, int open) {
        int depth = 0;
        for (int j = open; j < tk.size(); j++) {
            Token t = tk.get(j);
            switch (t.type()) {
                case LPAREN -> depth++;
                case RPAREN -> {
                    if (--depth == 0) {
                        return true;
                    }
                }
                case VARIABLE, STRING, NUMBER, COMMA -> { }
                case WORD -> {
                    if (!PURE_SET_FUNCTIONS.contains(t.value().toLowerCase(Locale.ROOT)) || j + 1 >= tk.size()
                            || tk.get(j + 1).type() != TokenType.LPAREN) {
                        return false;
                    }
                }
                default -> {
                    return false;
                }
            }
        }
        return false;
    }

    private static LexerOutcome set(List<Token> tk, Dialect dialect, Draft d) {
        int i = 1;
        while (i < tk.size() && (tk.get(i).isWord("session") || tk.get(i).isWord("local"))) {
            i++;
        }
        Token what = i < tk.size() ? tk.get(i) : null;
        if (what != null && (what.isWord("role") || what.isWord("session_authorization")
                || what.isWord("session") && i + 1 < tk.size() && tk.get(i + 1).isWord("authorization")
                || what.isWord("authorization"))) {
            d.flag(Category.SESSION_AUTH, "SET " + (what.isWord("role") ? "ROLE" : "SESSION AUTHORIZATION")
                    + " changes the session's identity");
            return new LexerOutcome.Settled();
        }
        if (tk.size() > 2 && tk.get(1).isWord("session") && tk.get(2).isWord("authorization")) {
            d.flag(Category.SESSION_AUTH, "SET SESSION AUTHORIZATION changes the session's identity");
            return new LexerOutcome.Settled();
        }
        if (what != null && (what.isWord("password") || what.isWord("default") && i + 1 < tk.size() && tk.get(i + 1).isWord("role"))) {
            d.flag(Category.PRIVILEGE, "SET " + (what.isWord("password") ? "PASSWORD" : "DEFAULT ROLE") + " changes credentials or roles");
            return new LexerOutcome.Settled();
        }
        for (Token t : tk) {
            if (t.isWord("global") || t.isWord("persist") || t.isWord("persist_only")
                    || t.type() == TokenType.VARIABLE && t.value().startsWith("global.")) {
                d.flag(Category.PRIVILEGE, "SET GLOBAL changes server-wide configuration");
                return new LexerOutcome.Settled();
            }
            if (t.type() == TokenType.VARIABLE && (t.value().endsWith("role") || t.value().endsWith("authorization"))) {
                d.flag(Category.SESSION_AUTH, "SET of " + t.value() + " changes the session's identity");
                return new LexerOutcome.Settled();
            }
        }
        for (int j = 0; j < tk.size(); j++) {
            Token t = tk.get(j);
            if (t.isWord("select")) {
                return new LexerOutcome.Unsettled("SET with an expression or subquery that may read data");
            }
            // Drivers compose settings from other settings, e.g. MariaDB Connector/J's
            // sql_mode=CONCAT(@@sql_mode,',STRICT_TRANS_TABLES'): pure string functions over variables and
            // literals read no data. Anything else in parentheses may.
            if (t.type() == TokenType.LPAREN && (j == 0 || !PURE_SET_FUNCTIONS.contains(tk.get(j - 1).value().toLowerCase(Locale.ROOT))
                    || !onlyValuesUntilClose(tk, j))) {
                return new LexerOutcome.Unsettled("SET with an expression or subquery that may read data");
            }
        }
        // a search_path that puts pg_catalog after another schema lets user relations shadow system catalogs
        if (dialect == Dialect.POSTGRESQL && what != null && what.isWord("search_path")) {
            boolean seenOther = false;
            for (int j = i + 1; j < tk.size(); j++) {
                Token t = tk.get(j);
                String v = t.type() == TokenType.STRING || t.isIdentifier() ? t.value().toLowerCase(Locale.ROOT) : null;
                if (v == null || v.equals("to") || v.equals("default")) {
                    continue;
                }
                if (v.contains("pg_catalog")) {
                    if (seenOther || !v.startsWith("pg_catalog")) {
                        return new LexerOutcome.Unsettled("search_path puts pg_catalog after another schema, so user relations could shadow system catalogs");
                    }
                } else {
                    seenOther = true;
                }
            }
        }
        // settings that change how the server reads quotes and backslashes would make this lexer disagree with it
        for (Token t : tk) {
            String v = t.value().toLowerCase(Locale.ROOT);
            if ((t.type() == TokenType.STRING || t.type() == TokenType.WORD || t.type() == TokenType.VARIABLE)
                    && (v.contains("ansi") || v.contains("no_backslash_escapes") || v.contains("standard_conforming_strings")
                    || v.contains("backslash_quote") || v.contains("escape_string_warning_placeholder"))) {
                return new LexerOutcome.Unsettled("SET of " + v + " changes how SQL text is tokenised");
            }
        }
        return new LexerOutcome.Settled();
    }

    private static LexerOutcome call(LexicalFacts facts, Catalog catalog, Draft d) {
        String name = facts.functions().isEmpty() ? "a procedure" : facts.functions().get(0).toString();
        return new LexerOutcome.Unsettled("CALL runs " + name + ", whose body is not analysed");
    }

    private static LexerOutcome copy(List<Token> tk, LexicalFacts facts, Catalog catalog, Draft d) {
        boolean to = false;
        boolean program = false;
        boolean stdio = false;
        int depth = 0;
        int queryEnd = -1;
        for (int i = 1; i < tk.size(); i++) {
            Token t = tk.get(i);
            if (t.type() == TokenType.LPAREN) {
                depth++;
            } else if (t.type() == TokenType.RPAREN) {
                depth--;
                if (depth == 0 && queryEnd < 0 && tk.get(1).type() == TokenType.LPAREN) {
                    queryEnd = i;
                }
            } else if (depth == 0 && t.isWord("to")) {
                to = true;
            } else if (depth == 0 && t.isWord("program")) {
                program = true;
            } else if (depth == 0 && (t.isWord("stdout") || t.isWord("stdin"))) {
                stdio = true;
            }
        }
        if (program) {
            d.flag(Category.DANGEROUS_FUNCTION, "COPY ... PROGRAM runs a shell command on the database server");
        } else if (!stdio) {
            d.flag(Category.DANGEROUS_FUNCTION, "COPY with a server file reads or writes the database server's file system");
        }
        if (tk.size() > 1 && tk.get(1).type() == TokenType.LPAREN) {
            // To the client (psql's \copy, CopyManager): an export only when the query reads sensitive
            // columns or an unbounded large table, which the query's own analysis finds. To a server
            // file or program it is always one.
            if (!stdio) {
                d.flag(Category.EXPORT, "COPY (query) TO a server file or program exports the query's rows");
            }
            return new LexerOutcome.Query(2, queryEnd < 0 ? tk.size() : queryEnd, "export");
        }
        QualifiedName target = facts.relations().isEmpty() ? null : facts.relations().get(0);
        if (target == null) {
            return new LexerOutcome.Unsettled("COPY without a table name");
        }
        Table table = resolve(target, catalog);
        String name = table == null ? qualify(target, catalog) : table.qualifiedName();
        // column list right after the table name
        List<String> cols = new java.util.ArrayList<>();
        int nameEnd = 1;
        while (nameEnd < tk.size() && (tk.get(nameEnd).isIdentifier() || tk.get(nameEnd).type() == TokenType.DOT)) {
            nameEnd++;
        }
        if (nameEnd < tk.size() && tk.get(nameEnd).type() == TokenType.LPAREN) {
            for (int i = nameEnd + 1; i < tk.size() && tk.get(i).type() != TokenType.RPAREN; i++) {
                if (tk.get(i).isIdentifier()) {
                    cols.add(tk.get(i).value());
                }
            }
        }
        if (table == null) {
            return new LexerOutcome.Unsettled("COPY of " + name + ", which is not in the catalog");
        }
        java.util.Set<String> touched = new java.util.LinkedHashSet<>();
        if (cols.isEmpty()) {
            table.columns().forEach(c -> touched.add(name + "." + c.name()));
        } else {
            for (String c : cols) {
                if (table.column(c) == null) {
                    return new LexerOutcome.Unsettled("COPY names column " + c + " that " + name + " does not have");
                }
                touched.add(name + "." + table.column(c).name());
            }
        }
        if (to) {
            d.tablesRead.add(name);
            d.columnsRead.addAll(touched);
            if (!stdio) {
                d.flag(Category.EXPORT, "COPY " + name + " TO a server file or program exports the whole table");
            } else {
                d.wholeTableCopy = name; // an export when the table is large: decided with the configured threshold
            }
        } else {
            d.tablesWritten.add(name);
            d.columnsWritten.addAll(touched);
        }
        return new LexerOutcome.Settled();
    }

    private static LexerOutcome explain(List<Token> tk, Dialect dialect, LexicalFacts facts, Catalog catalog, Draft d) {
        int i = 1;
        boolean analyze = false;
        if (i < tk.size() && tk.get(i).type() == TokenType.LPAREN) {
            int depth = 0;
            for (; i < tk.size(); i++) {
                Token t = tk.get(i);
                if (t.isWord("analyze") || t.isWord("analyse")) {
                    // ANALYZE false/off does not execute
                    Token next = i + 1 < tk.size() ? tk.get(i + 1) : null;
                    analyze = !(next != null && (next.isWord("false") || next.isWord("off") || next.type() == TokenType.NUMBER && next.value().equals("0")));
                }
                if (t.type() == TokenType.LPAREN) {
                    depth++;
                } else if (t.type() == TokenType.RPAREN && --depth == 0) {
                    i++;
                    break;
                }
            }
        } else {
            while (i < tk.size() && tk.get(i).type() == TokenType.WORD
                    && Set.of("analyze", "analyse", "verbose", "extended", "partitions", "format", "=", "json",
                    "tree", "traditional").contains(tk.get(i).value())) {
                if (tk.get(i).isWord("analyze") || tk.get(i).isWord("analyse")) {
                    analyze = true;
                }
                i++;
                if (i < tk.size() && tk.get(i).isOperator("=")) {
                    i += 2;
                }
            }
        }
        if (i >= tk.size()) {
            return new LexerOutcome.Unsettled("EXPLAIN without a statement");
        }
        // MySQL: EXPLAIN t / EXPLAIN t col are DESCRIBE
        if (dialect == Dialect.MYSQL && tk.get(i).isIdentifier() && !Set.of("select", "insert", "update", "delete",
                "replace", "with", "table", "for").contains(tk.get(i).value())) {
            for (QualifiedName q : facts.relations()) {
                d.tablesRead.add(qualify(q, catalog));
            }
            d.kind = "DESCRIBE";
            return new LexerOutcome.Settled();
        }
        if (dialect == Dialect.MYSQL && tk.get(i).isWord("for")) {
            return new LexerOutcome.Settled(); // EXPLAIN FOR CONNECTION n: plan of another statement, no data
        }
        return new LexerOutcome.Query(i, tk.size(), analyze ? "explain-analyze" : "explain");
    }

    private static LexerOutcome ddl(List<Token> tk, String kind, LexicalFacts facts, Catalog catalog, Draft d) {
        String verb = kind.substring(0, kind.indexOf(' '));
        String object = kind.substring(kind.indexOf(' ') + 1);
        if (PRIVILEGE_OBJECTS.contains(object) || object.equals("SYSTEM")) {
            d.flag(Category.PRIVILEGE, verb + " " + object + " changes roles or privileges");
            return new LexerOutcome.Settled();
        }
        boolean ownerTo = false;
        for (int i = 0; i + 2 < tk.size(); i++) {
            if (tk.get(i).isWord("owner") && tk.get(i + 1).isWord("to")) {
                ownerTo = true;
            }
        }
        if (ownerTo) {
            d.flag(Category.PRIVILEGE, "ALTER ... OWNER TO " + tk.get(tk.size() - 1).value() + " changes ownership" + objects(facts, catalog));
        }
        if (object.equals("FUNCTION") || object.equals("PROCEDURE")) {
            for (int i = 0; i + 1 < tk.size(); i++) {
                if (tk.get(i).isWord("security") && tk.get(i + 1).isWord("definer")
                        || tk.get(i).isWord("sql") && tk.get(i + 1).isWord("security") && i + 2 < tk.size() && tk.get(i + 2).isWord("definer")) {
                    d.flag(Category.PRIVILEGE, verb + " " + object + " with SECURITY DEFINER runs with its owner's rights");
                }
            }
            if (verb.equals("CREATE") || verb.equals("ALTER")) {
                for (Token t : tk) {
                    if (t.type() == TokenType.WORD && (t.value().equals("c") || t.value().matches("pl(python3?|perl|tcl|sh|v8)u"))) {
                        d.flag(Category.DANGEROUS_FUNCTION, verb + " " + object + " in untrusted language " + t.value());
                    }
                }
            }
        }
        if (object.equals("EXTENSION") && !verb.equals("DROP")) {
            String name = facts.relations().isEmpty() ? tokenAfter(tk, "extension") : facts.relations().get(0).toString();
            d.flag(Category.DANGEROUS_FUNCTION, verb + " EXTENSION " + name + " installs code into the database");
        }
        if (object.equals("SERVER") || object.equals("FOREIGN TABLE") || object.equals("FOREIGN DATA")) {
            d.flag(Category.EXPORT, verb + " " + object + " connects the database to foreign data");
        }
        if (verb.equals("DROP")) {
            boolean temp = facts.temporary();
            if (!temp) {
                StringBuilder names = new StringBuilder();
                for (QualifiedName q : facts.relations()) {
                    String t = qualify(q, catalog);
                    d.tablesWritten.add(t);
                    names.append(names.isEmpty() ? " " : ", ").append(t);
                }
                if (names.isEmpty()) {
                    names.append(' ').append(tokenAfterObject(tk));
                }
                d.flag(Category.DESTRUCTIVE, "DROP " + object + names + " destroys it");
            }
            return new LexerOutcome.Settled();
        }
        if (verb.equals("ALTER") && (object.equals("TABLE") || object.equals("VIEW") || object.equals("MATERIALIZED VIEW"))) {
            for (QualifiedName q : facts.relations()) {
                d.tablesWritten.add(qualify(q, catalog));
            }
            for (int i = 0; i < tk.size(); i++) {
                if (tk.get(i).isWord("drop") && i > 0) {
                    String what = i + 1 < tk.size() ? tk.get(i + 1).value() : "";
                    if (what.equals("column") && i + 2 < tk.size()) {
                        what = "column " + tk.get(i + 2).value();
                    }
                    d.flag(Category.DESTRUCTIVE, "ALTER TABLE" + objects(facts, catalog) + " DROP " + what);
                }
                if (tk.get(i).isWord("truncate") && i > 0) {
                    d.flag(Category.DESTRUCTIVE, "ALTER TABLE ... TRUNCATE PARTITION empties data");
                }
                if (tk.get(i).isWord("type") && i > 1 && i + 1 < tk.size()
                        && (tk.get(i - 1).isWord("data") || tk.get(i - 2).isWord("column") || tk.get(i - 2).isWord("alter"))) {
                    d.flag(Category.DESTRUCTIVE, "ALTER TABLE" + objects(facts, catalog)
                            + " changes a column's type, rewriting (and possibly truncating) every value");
                }
            }
            return new LexerOutcome.Settled();
        }
        if (verb.equals("CREATE") && (object.equals("TABLE") || object.equals("MATERIALIZED VIEW"))) {
            int as = -1;
            int depth = 0;
            for (int i = 2; i < tk.size(); i++) {
                Token t = tk.get(i);
                if (t.type() == TokenType.LPAREN) {
                    depth++;
                } else if (t.type() == TokenType.RPAREN) {
                    depth--;
                } else if (depth == 0 && (t.isWord("as") || t.isWord("select") || t.isWord("with"))) {
                    as = t.isWord("as") ? i + 1 : i;
                    break;
                }
            }
            if (!facts.relations().isEmpty()) {
                d.tablesWritten.add(qualify(facts.relations().get(0), catalog));
            }
            if (as > 0 && as < tk.size()) {
                int end = tk.size();
                // WITH [NO] DATA at the end is not part of the query
                if (end - as > 2 && tk.get(end - 1).isWord("data")) {
                    end -= tk.get(end - 2).isWord("no") ? 3 : 2;
                }
                return new LexerOutcome.Query(as, end, "create-as");
            }
            if (tk.stream().anyMatch(t -> t.isWord("like"))) {
                return new LexerOutcome.Settled();
            }
            return new LexerOutcome.Settled();
        }
        if (verb.equals("CREATE") && object.equals("VIEW")) {
            if (!facts.relations().isEmpty()) {
                d.tablesWritten.add(qualify(facts.relations().get(0), catalog));
            }
            return new LexerOutcome.Settled();
        }
        if (object.equals("RULE") || object.equals("TRIGGER") || object.equals("EVENT") || object.equals("EVENT TRIGGER")
                || object.equals("POLICY")) {
            return new LexerOutcome.Unsettled(verb + " " + object + " attaches code that runs on other statements");
        }
        return new LexerOutcome.Settled();
    }

    private static void flagFunctions(List<Token> tk, LexicalFacts facts, Catalog catalog, Draft d) {
        for (QualifiedName f : facts.functions()) {
            String name = f.last().toLowerCase(Locale.ROOT);
            if (FunctionRules.FILE_FUNCTIONS.contains(name)) {
                d.flag(Category.EXPORT, name + "() reads or writes files or large objects on the database server");
                d.flag(Category.DANGEROUS_FUNCTION, name + "() reaches the database server's file system");
            } else if (FunctionRules.EXPORT_FUNCTIONS.contains(name)) {
                d.flag(Category.EXPORT, name + "() exports data " + (name.startsWith("dblink") ? "to or from another database" : "in bulk"));
            } else if (FunctionRules.DANGEROUS_FUNCTIONS.contains(name)) {
                d.flag(Category.DANGEROUS_FUNCTION, name + "() controls the server or other sessions");
            }
            for (FunctionInfo fi : catalog.userFunctions(name)) {
                if (f.schema() != null && !f.schema().equalsIgnoreCase(fi.schema())) {
                    continue;
                }
                if (fi.securityDefiner()) {
                    d.flag(Category.PRIVILEGE, "calls SECURITY DEFINER function " + fi.schema() + "." + fi.name());
                }
                if (fi.untrustedLanguage()) {
                    d.flag(Category.DANGEROUS_FUNCTION, "calls " + fi.schema() + "." + fi.name() + " written in untrusted language " + fi.language());
                }
            }
        }
        // set_config('role', ...) / set_config('session_authorization', ...)
        for (int i = 0; i + 2 < tk.size(); i++) {
            if (tk.get(i).isIdentifier() && tk.get(i).value().equalsIgnoreCase("set_config") && tk.get(i + 1).type() == TokenType.LPAREN) {
                Token arg = tk.get(i + 2);
                // only a lone literal argument is certain: 'ro' || 'le' or any expression counts as the role
                boolean lone = arg.type() == TokenType.STRING && i + 3 < tk.size() && tk.get(i + 3).type() == TokenType.COMMA;
                String setting = lone ? arg.value().toLowerCase(Locale.ROOT).trim() : null;
                if (setting == null || setting.equals("role") || setting.equals("session_authorization")
                        || setting.startsWith("session_authorization") || setting.equals("is_superuser")) {
                    d.flag(Category.SESSION_AUTH, "set_config(" + (setting == null ? "<expression>" : "'" + setting + "'")
                            + ", ...) changes the session's identity");
                }
            }
        }
    }

    private static String objects(LexicalFacts facts, Catalog catalog) {
        if (facts.relations().isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder(" on");
        for (QualifiedName q : facts.relations()) {
            sb.append(' ').append(qualify(q, catalog));
        }
        return sb.toString();
    }

    private static String tokenAfter(List<Token> tk, String word) {
        int i = indexOfWord(tk, word, 0);
        return i >= 0 && i + 1 < tk.size() ? tk.get(i + 1).value() : "";
    }

    private static String tokenAfterObject(List<Token> tk) {
        for (int i = tk.size() - 1; i > 0; i--) {
            if (tk.get(i).isIdentifier() && !tk.get(i).isWord("cascade") && !tk.get(i).isWord("restrict")) {
                return tk.get(i).value();
            }
        }
        return "";
    }

    static int indexOfWord(List<Token> tk, String word, int from) {
        int depth = 0;
        for (int i = from; i < tk.size(); i++) {
            Token t = tk.get(i);
            if (t.type() == TokenType.LPAREN) {
                depth++;
            } else if (t.type() == TokenType.RPAREN) {
                depth--;
            } else if (depth == 0 && t.isWord(word)) {
                return i;
            }
        }
        return -1;
    }

    public static Table resolve(QualifiedName q, Catalog catalog) {
        return catalog.resolve(q.schema(), q.last());
    }

    /** schema.table for a reference: the catalog's spelling when known, else as written (search path's first user schema). */
    public static String qualify(QualifiedName q, Catalog catalog) {
        Table t = resolve(q, catalog);
        if (t != null) {
            return t.qualifiedName();
        }
        if (q.schema() != null) {
            return q.schema() + "." + q.last();
        }
        String schema = catalog.dialect() == Dialect.MYSQL ? catalog.database()
                : catalog.searchPath().stream().filter(s -> !s.equals("pg_catalog")).findFirst().orElse("public");
        return schema + "." + q.last();
    }

    /** Set.of rejects duplicates; these lists are easier to maintain when it does not matter. */
    private static Set<String> set(String... words) {
        return Set.copyOf(java.util.Arrays.asList(words));
    }
}
