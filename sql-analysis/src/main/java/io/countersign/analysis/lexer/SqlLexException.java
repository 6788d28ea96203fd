package io.countersign.analysis.lexer;

/** The string cannot be tokenised (unterminated quote or comment, bad escape): the statement is unanalysable. */
public final class SqlLexException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SqlLexException(String message, int offset) {
        super(message + " at offset " + offset);
    }
}
