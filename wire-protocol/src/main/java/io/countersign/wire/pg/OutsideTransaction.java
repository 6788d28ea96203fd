package io.countersign.wire.pg;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Recognises, by the leading keywords of a statement's text, the PostgreSQL commands that refuse to
 * run inside a transaction block ({@code PreventInTransactionBlock} in the server). A run-as role
 * cannot be lent to them with {@code SET LOCAL ROLE} (that needs a transaction around the
 * statement), so they run on a separate backend session logged in as the elevated role instead.
 * Policy-free on purpose: the policy decided whether the statement runs and as whom; this only
 * says how it can be run.
 */
final class OutsideTransaction {

    private OutsideTransaction() {}

    /** Words after the first few that still matter (CONCURRENTLY, a DETACH PARTITION); beyond this the text is not read. */
    private static final int MAX_WORDS = 24;

    private static final Set<String> REINDEX_MANY = Set.of("DATABASE", "SYSTEM", "SCHEMA");

    /**
     * The command's name as PostgreSQL's error would put it ({@code "CREATE DATABASE"}, {@code "VACUUM"}),
     * or empty when the statement can run inside a transaction block.
     */
    static Optional<String> command(String sql) {
        List<String> w = words(sql);
        if (w.isEmpty()) {
            return Optional.empty();
        }
        String first = w.get(0);
        String second = w.size() > 1 ? w.get(1) : "";
        return Optional.ofNullable(switch (first) {
            case "VACUUM" -> "VACUUM";
            case "CREATE" -> {
                String obj = second.equals("UNIQUE") && w.size() > 2 ? w.get(2) : second;
                yield switch (obj) {
                    case "DATABASE", "TABLESPACE", "SUBSCRIPTION" -> "CREATE " + obj;
                    case "INDEX" -> w.contains("CONCURRENTLY") ? "CREATE INDEX CONCURRENTLY" : null;
                    default -> null;
                };
            }
            case "DROP" -> switch (second) {
                case "DATABASE", "TABLESPACE", "SUBSCRIPTION" -> "DROP " + second;
                case "INDEX" -> w.size() > 2 && w.get(2).equals("CONCURRENTLY") ? "DROP INDEX CONCURRENTLY" : null;
                default -> null;
            };
            case "ALTER" -> switch (second) {
                case "SYSTEM" -> "ALTER SYSTEM";
                case "DATABASE" -> w.size() > 4 && w.get(3).equals("SET") && w.get(4).equals("TABLESPACE")
                        ? "ALTER DATABASE SET TABLESPACE" : null;
                case "TABLE" -> w.contains("DETACH") && w.contains("CONCURRENTLY") ? "ALTER TABLE DETACH PARTITION CONCURRENTLY" : null;
                default -> null;
            };
            case "REINDEX" -> {
                if (w.contains("CONCURRENTLY")) {
                    yield "REINDEX CONCURRENTLY";
                }
                yield REINDEX_MANY.contains(second) ? "REINDEX " + second : null;
            }
            // CLUSTER with no table re-clusters every table, each in its own transaction
            case "CLUSTER" -> w.size() == 1 || (w.size() == 2 && second.equals("VERBOSE")) ? "CLUSTER" : null;
            default -> null;
        });
    }

    /**
     * The first statement's bare words, upper-cased, outside comments, literals, quoted identifiers and
     * parenthesised option lists (a quoted identifier counts as one word that matches no keyword).
     */
    static List<String> words(String sql) {
        List<String> out = new ArrayList<>();
        int n = sql.length();
        int depth = 0;
        int i = 0;
        while (i < n && out.size() < MAX_WORDS) {
            char c = sql.charAt(i);
            if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                int nl = sql.indexOf('\n', i);
                i = nl < 0 ? n : nl + 1;
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                i = endOfBlockComment(sql, i);
            } else if (c == '\'' || c == '"') {
                int end = i + 1;
                while (end < n) {
                    if (sql.charAt(end) == c) {
                        if (end + 1 < n && sql.charAt(end + 1) == c) {
                            end += 2;
                            continue;
                        }
                        break;
                    }
                    end++;
                }
                if (depth == 0) {
                    out.add(c == '"' ? "\"" : "'");
                }
                i = end + 1;
            } else if (c == '(') {
                depth++;
                i++;
            } else if (c == ')') {
                depth = Math.max(0, depth - 1);
                i++;
            } else if (c == ';' && depth == 0) {
                break;
            } else if (Character.isLetter(c) || c == '_') {
                int end = i + 1;
                while (end < n && (Character.isLetterOrDigit(sql.charAt(end)) || sql.charAt(end) == '_' || sql.charAt(end) == '$')) {
                    end++;
                }
                if (depth == 0) {
                    out.add(sql.substring(i, end).toUpperCase(Locale.ROOT));
                }
                i = end;
            } else {
                i++;
            }
        }
        return out;
    }

    /** PostgreSQL block comments nest. */
    private static int endOfBlockComment(String sql, int start) {
        int depth = 0;
        int i = start;
        while (i < sql.length()) {
            if (sql.startsWith("/*", i)) {
                depth++;
                i += 2;
            } else if (sql.startsWith("*/", i)) {
                depth--;
                i += 2;
                if (depth == 0) {
                    return i;
                }
            } else {
                i++;
            }
        }
        return i;
    }
}
