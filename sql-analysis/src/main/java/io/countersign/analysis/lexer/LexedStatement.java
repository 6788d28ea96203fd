package io.countersign.analysis.lexer;

import java.util.List;

/**
 * One statement of a possibly multi-statement string.
 *
 * @param sql    the statement's own text, cut from the original string
 * @param tokens its tokens, without the terminating semicolon
 */
public record LexedStatement(String sql, List<Token> tokens) {

    public LexedStatement {
        tokens = List.copyOf(tokens);
    }

    /** Splits a tokenised string at top-level semicolons; empty statements are dropped. */
    public static List<LexedStatement> split(String original, List<Token> tokens) {
        java.util.ArrayList<LexedStatement> out = new java.util.ArrayList<>();
        int from = 0;
        for (int i = 0; i <= tokens.size(); i++) {
            if (i == tokens.size() || tokens.get(i).type() == TokenType.SEMICOLON) {
                if (i > from) {
                    List<Token> part = tokens.subList(from, i);
                    String text = original.substring(part.get(0).start(), part.get(part.size() - 1).end());
                    out.add(new LexedStatement(text, part));
                }
                from = i + 1;
            }
        }
        return out;
    }
}
