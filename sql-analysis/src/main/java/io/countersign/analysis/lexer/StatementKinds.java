package io.countersign.analysis.lexer;

import java.util.List;
import java.util.Set;

/** Statement kind from the leading keywords. Kinds are upper-case words separated by single spaces. */
public final class StatementKinds {

    private static final Set<String> OBJECT_MODIFIERS = set(
            "or", "replace", "temp", "temporary", "unlogged", "global", "local", "unique", "recursive",
            "materialized", "definer", "algorithm", "sql", "security", "trusted", "procedural", "constraint",
            "default", "if", "not", "exists", "concurrently", "foreign", "public", "aggregate_placeholder",
            "online", "offline", "ignore", "undefined", "merge", "temptable", "invoker", "external", "full",
            "text", "search", "event", "spatial", "fulltext", "user_placeholder");

    private static final Set<String> TWO_WORD_OBJECTS = set(
            "materialized view", "foreign table", "event trigger", "text search", "foreign data", "user mapping",
            "default privileges", "access method", "operator class", "operator family");

    private StatementKinds() {}

    public static String classify(List<Token> tokens) {
        int i = 0;
        // a leading parenthesis is a parenthesised query
        while (i < tokens.size() && tokens.get(i).type() == TokenType.LPAREN) {
            i++;
        }
        if (i >= tokens.size()) {
            return "EMPTY";
        }
        Token first = tokens.get(i);
        if (first.type() == TokenType.META) {
            return "PSQL META";
        }
        if (first.type() != TokenType.WORD) {
            return "UNKNOWN";
        }
        String w = first.value();
        return switch (w) {
            case "select", "values", "table" -> "SELECT";
            case "with" -> withMainVerb(tokens, i + 1);
            case "insert" -> "INSERT";
            case "replace" -> "REPLACE";
            case "update" -> "UPDATE";
            case "delete" -> "DELETE";
            case "merge" -> "MERGE";
            case "copy" -> "COPY";
            case "truncate" -> "TRUNCATE";
            case "grant" -> "GRANT";
            case "revoke" -> "REVOKE";
            case "call" -> "CALL";
            case "do" -> "DO";
            case "listen", "notify", "unlisten", "savepoint", "deallocate", "declare", "fetch", "move",
                    "close", "discard", "show", "reset", "use", "kill", "lock", "unlock", "vacuum", "analyze",
                    "checkpoint", "load", "handler", "flush", "optimize", "reindex", "cluster", "comment",
                    "refresh", "reassign", "rename", "checksum", "purge", "install", "uninstall", "import",
                    "security", "help", "binlog", "cache", "shutdown", "repair", "backup", "xa", "abort",
                    "describe", "desc", "execute", "get", "signal", "resignal" -> switch (w) {
                        case "desc" -> "DESCRIBE";
                        case "abort" -> "ROLLBACK";
                        default -> w.toUpperCase(java.util.Locale.ROOT);
                    };
            case "begin" -> "BEGIN";
            case "start" -> next(tokens, i + 1).equals("transaction") ? "BEGIN" : "START " + next(tokens, i + 1).toUpperCase(java.util.Locale.ROOT);
            case "commit", "end" -> next(tokens, i + 1).equals("prepared") ? "COMMIT PREPARED" : "COMMIT";
            case "rollback" -> next(tokens, i + 1).equals("prepared") ? "ROLLBACK PREPARED"
                    : next(tokens, i + 1).equals("to") ? "ROLLBACK TO SAVEPOINT" : "ROLLBACK";
            case "release" -> "RELEASE";
            case "prepare" -> next(tokens, i + 1).equals("transaction") ? "PREPARE TRANSACTION" : "PREPARE";
            case "explain" -> "EXPLAIN";
            case "set" -> "SET";
            case "create", "alter", "drop" -> w.toUpperCase(java.util.Locale.ROOT) + " " + objectKind(tokens, i + 1);
            default -> "UNKNOWN";
        };
    }

    private static String next(List<Token> tokens, int i) {
        return i < tokens.size() && tokens.get(i).type() == TokenType.WORD ? tokens.get(i).value() : "";
    }

    private static String objectKind(List<Token> tokens, int i) {
        // skip modifiers like OR REPLACE, TEMP, UNIQUE, DEFINER = x
        while (i < tokens.size()) {
            Token t = tokens.get(i);
            if (t.type() == TokenType.WORD && OBJECT_MODIFIERS.contains(t.value())) {
                String after = next(tokens, i + 1);
                if (t.value().equals("definer") || t.value().equals("algorithm") || t.value().equals("security") && after.isEmpty()) {
                    // DEFINER = user@host / ALGORITHM = x: skip the assignment
                    i++;
                    while (i < tokens.size() && !(tokens.get(i).type() == TokenType.WORD
                            && Set.of("view", "function", "procedure", "trigger", "event", "sql").contains(tokens.get(i).value()))) {
                        i++;
                    }
                    continue;
                }
                if (t.value().equals("materialized") || t.value().equals("foreign") || t.value().equals("text")
                        || t.value().equals("event")) {
                    String two = t.value() + " " + after;
                    if (TWO_WORD_OBJECTS.contains(two)) {
                        return two.toUpperCase(java.util.Locale.ROOT);
                    }
                }
                if (t.value().equals("default") && after.equals("privileges")) {
                    return "DEFAULT PRIVILEGES";
                }
                if (t.value().equals("unique") && after.equals("index")) {
                    return "INDEX";
                }
                i++;
                continue;
            }
            if (t.type() == TokenType.WORD) {
                String two = t.value() + " " + next(tokens, i + 1);
                if (TWO_WORD_OBJECTS.contains(two)) {
                    return two.toUpperCase(java.util.Locale.ROOT);
                }
                return t.value().toUpperCase(java.util.Locale.ROOT);
            }
            return "UNKNOWN";
        }
        return "UNKNOWN";
    }

    private static String withMainVerb(List<Token> tokens, int from) {
        int depth = 0;
        for (int i = from; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.type() == TokenType.LPAREN) {
                depth++;
            } else if (t.type() == TokenType.RPAREN) {
                depth--;
            } else if (depth == 0 && t.type() == TokenType.WORD) {
                switch (t.value()) {
                    case "select", "values", "table" -> { return "SELECT"; }
                    case "insert" -> { return "INSERT"; }
                    case "update" -> { return "UPDATE"; }
                    case "delete" -> { return "DELETE"; }
                    case "merge" -> { return "MERGE"; }
                    default -> { }
                }
            }
        }
        return "UNKNOWN";
    }

    /** Set.of rejects duplicates; these lists are easier to maintain when it does not matter. */
    private static Set<String> set(String... words) {
        return Set.copyOf(java.util.Arrays.asList(words));
    }
}
