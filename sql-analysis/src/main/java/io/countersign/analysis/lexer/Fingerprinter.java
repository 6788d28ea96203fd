package io.countersign.analysis.lexer;

import java.util.List;
import java.util.Set;

/**
 * Normalises a statement's tokens into its fingerprint: literals become {@code ?}, whitespace and comments
 * vanish, unquoted words are folded, IN-lists of literals collapse to {@code (?+)}.
 *
 * <p>Some literals decide the analysis and therefore stay in the fingerprint, so two statements that share
 * a fingerprint always share an analysis: LIMIT/OFFSET/FETCH counts (the unbounded-read rule), the
 * arguments of {@code set_config} (SESSION_AUTH), dollar-quoted bodies (code), and every literal of a
 * statement that carries code or names in strings (PREPARE ... FROM, DO, CREATE, ALTER, CALL, SET, COPY).
 */
public final class Fingerprinter {

    private static final Set<String> KEEP_ALL_LITERALS = Set.of(
            "prepare", "do", "create", "alter", "call", "set", "copy", "grant", "revoke", "load", "execute",
            "handler", "kill", "select_into_outfile");
    private static final Set<String> COUNT_KEYWORDS = Set.of("limit", "offset", "first", "next", "top");

    private Fingerprinter() {}

    public static String fingerprint(List<Token> tokens) {
        StringBuilder sb = new StringBuilder(64);
        boolean keepAll = !tokens.isEmpty() && tokens.get(0).type() == TokenType.WORD
                && KEEP_ALL_LITERALS.contains(tokens.get(0).value());
        int setConfigDepth = -1;
        int depth = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.type() == TokenType.LPAREN) {
                depth++;
                if (!keepAll && isLiteralList(tokens, i) && i > 0 && tokens.get(i - 1).isWord("in")) {
                    sb.append(" (?+)");
                    i = closing(tokens, i);
                    depth--;
                    continue;
                }
            } else if (t.type() == TokenType.RPAREN) {
                if (depth == setConfigDepth) {
                    setConfigDepth = -1;
                }
                depth--;
            }
            if (t.isWord("set_config") && i + 1 < tokens.size() && tokens.get(i + 1).type() == TokenType.LPAREN) {
                setConfigDepth = depth + 1;
            }
            if (sb.length() > 0) {
                sb.append(' ');
            }
            switch (t.type()) {
                case STRING, NUMBER -> {
                    boolean keep = keepAll || setConfigDepth >= 0 && depth >= setConfigDepth
                            || t.type() == TokenType.NUMBER && countPosition(tokens, i);
                    if (keep) {
                        appendLiteral(sb, t);
                    } else {
                        sb.append('?');
                    }
                }
                case PARAM -> sb.append('?');
                case DOLLAR_STRING -> sb.append("$$").append(t.value()).append("$$");
                case QUOTED_IDENT -> sb.append('"').append(t.value().replace("\"", "\"\"")).append('"');
                case VARIABLE -> sb.append('@').append(t.value());
                default -> sb.append(t.value());
            }
        }
        return sb.toString();
    }

    private static void appendLiteral(StringBuilder sb, Token t) {
        if (t.type() == TokenType.NUMBER) {
            sb.append(t.value());
        } else {
            sb.append('\'').append(t.value().replace("'", "''")).append('\'');
        }
    }

    private static boolean countPosition(List<Token> tokens, int i) {
        for (int j = i - 1; j >= 0 && j >= i - 3; j--) {
            Token p = tokens.get(j);
            if (p.type() == TokenType.WORD && COUNT_KEYWORDS.contains(p.value())) {
                return true;
            }
            if (p.type() != TokenType.COMMA && p.type() != TokenType.NUMBER && p.type() != TokenType.PARAM) {
                return false;
            }
        }
        return false;
    }

    private static boolean isLiteralList(List<Token> tokens, int open) {
        int i = open + 1;
        boolean any = false;
        while (i < tokens.size()) {
            Token t = tokens.get(i);
            if (t.type() == TokenType.STRING || t.type() == TokenType.NUMBER || t.type() == TokenType.PARAM
                    || t.isOperator("-")) {
                any = true;
                i++;
                continue;
            }
            if (t.type() == TokenType.COMMA) {
                i++;
                continue;
            }
            return any && t.type() == TokenType.RPAREN;
        }
        return false;
    }

    private static int closing(List<Token> tokens, int open) {
        int d = 0;
        for (int i = open; i < tokens.size(); i++) {
            if (tokens.get(i).type() == TokenType.LPAREN) {
                d++;
            } else if (tokens.get(i).type() == TokenType.RPAREN && --d == 0) {
                return i;
            }
        }
        return tokens.size() - 1;
    }

    /** A stable 64-bit FNV-1a hash of the fingerprint, for logs and metrics labels. */
    public static long hash(String fingerprint) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < fingerprint.length(); i++) {
            h ^= fingerprint.charAt(i);
            h *= 0x100000001b3L;
        }
        return h;
    }
}
