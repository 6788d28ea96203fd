package io.countersign.analysis.lexer;

/** Lexical classes; deliberately coarse, the classifier works on these plus the folded text. */
public enum TokenType {
    /** Unquoted identifier or keyword; {@code value} is case-folded. */
    WORD,
    /** Quoted identifier ("x", `x`, U&"x"); {@code value} is the decoded name, case preserved. */
    QUOTED_IDENT,
    /** String literal of any flavour; {@code value} is the decoded content. */
    STRING,
    /** Dollar-quoted string (PostgreSQL); kept verbatim in fingerprints because it usually carries code. */
    DOLLAR_STRING,
    NUMBER,
    /** Placeholder: $1, ?, :name. */
    PARAM,
    /** MySQL @user or @@system variable; {@code value} is folded and without the leading @s. */
    VARIABLE,
    /** Operator characters, including :: and the MySQL/PG extras. */
    OPERATOR,
    LPAREN,
    RPAREN,
    LBRACKET,
    RBRACKET,
    COMMA,
    DOT,
    SEMICOLON,
    /** psql backslash meta-command (\copy, \d): never valid SQL on the wire, but reported. */
    META
}
