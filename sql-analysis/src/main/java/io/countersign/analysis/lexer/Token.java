package io.countersign.analysis.lexer;

/**
 * One token. {@code start}/{@code end} are offsets into the original string, so a statement's own
 * text can be cut out without copying during lexing.
 *
 * @param type  lexical class
 * @param value normalised content: folded word, decoded identifier or string, operator text
 * @param start offset of the first character
 * @param end   offset after the last character
 */
public record Token(TokenType type, String value, int start, int end) {

    public boolean isWord(String lowerCaseWord) {
        return type == TokenType.WORD && value.equals(lowerCaseWord);
    }

    public boolean isIdentifier() {
        return type == TokenType.WORD || type == TokenType.QUOTED_IDENT;
    }

    public boolean isOperator(String op) {
        return type == TokenType.OPERATOR && value.equals(op);
    }

    public boolean isLiteral() {
        return type == TokenType.STRING || type == TokenType.NUMBER;
    }
}
