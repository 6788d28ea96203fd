package io.countersign.analysis.lexer;

import io.countersign.analysis.Dialect;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Dialect-aware tokenizer. It must agree with the server about where strings, identifiers and comments
 * start and end, because an evasive statement hides keywords exactly in those boundaries.
 *
 * <p>PostgreSQL: standard strings, E'' (backslash escapes), U&amp;'' and U&amp;"" with UESCAPE, B''/X''/N'',
 * dollar quoting, nested block comments, {@code --} comments, {@code $n} placeholders, {@code ::}.
 * MySQL/MariaDB: backticks, '' and "" strings with backslash escapes, {@code #} and {@code -- } comments,
 * {@code /*! ... *}{@code /} versioned comments whose content is lexed as code, {@code @var}/{@code @@var},
 * {@code ?} placeholders.
 */
public final class SqlLexer {

    private final String s;
    private final Dialect dialect;
    private final int n;
    private int pos;
    private final List<Token> out = new ArrayList<>();
    /** Inside a MySQL executable comment: its closing star-slash is skipped, its content is code. */
    private boolean inVersionedComment;

    /**
     * Server settings that change tokenising.
     *
     * @param ansiQuotes         MySQL sql_mode ANSI_QUOTES: "x" is an identifier, not a string
     * @param backslashEscapes   backslash escapes in ordinary strings: MySQL unless NO_BACKSLASH_ESCAPES;
     *                           PostgreSQL when standard_conforming_strings is off
     */
    public record Options(boolean ansiQuotes, boolean backslashEscapes) {
        public static Options defaults(Dialect dialect) {
            return new Options(false, dialect == Dialect.MYSQL);
        }
    }

    private final Options options;

    private SqlLexer(String s, Dialect dialect, Options options) {
        this.s = s;
        this.dialect = dialect;
        this.n = s.length();
        this.options = options;
    }

    public static List<Token> tokenize(String sql, Dialect dialect) {
        return tokenize(sql, dialect, Options.defaults(dialect));
    }

    public static List<Token> tokenize(String sql, Dialect dialect, Options options) {
        SqlLexer lx = new SqlLexer(sql, dialect, options);
        lx.run();
        return lx.out;
    }

    private void run() {
        while (true) {
            skipSpaceAndComments();
            if (pos >= n) {
                break;
            }
            lexOne();
        }
        if (inVersionedComment) {
            throw new SqlLexException("unterminated /*! versioned comment", n);
        }
    }

    private boolean mysql() {
        return dialect == Dialect.MYSQL;
    }

    private char at(int i) {
        return i < n ? s.charAt(i) : '\0';
    }

    private void skipSpaceAndComments() {
        while (pos < n) {
            char c = s.charAt(pos);
            if (Character.isWhitespace(c)) {
                pos++;
            } else if (c == '-' && at(pos + 1) == '-' && (!mysql() || isMySqlDashCommentEnd(at(pos + 2)) )) {
                skipToEol();
            } else if (c == '#' && mysql()) {
                skipToEol();
            } else if (c == '/' && at(pos + 1) == '*') {
                if (mysql() && at(pos + 2) == '!') {
                    openVersioned(pos + 3);
                } else if (mysql() && at(pos + 2) == 'M' && at(pos + 3) == '!') {
                    openVersioned(pos + 4);
                } else {
                    skipBlockComment();
                }
            } else if (c == '*' && at(pos + 1) == '/' && inVersionedComment) {
                inVersionedComment = false;
                pos += 2;
            } else {
                return;
            }
        }
    }

    private static boolean isMySqlDashCommentEnd(char c) {
        // MySQL needs whitespace or a control character after "--"; "1--1" is arithmetic there.
        return c == '\0' || c <= ' ';
    }

    private void openVersioned(int after) {
        if (inVersionedComment) {
            throw new SqlLexException("nested /*! versioned comment", pos);
        }
        int p = after;
        while (p < n && Character.isDigit(s.charAt(p))) {
            p++;
        }
        inVersionedComment = true;
        pos = p;
    }

    private void skipToEol() {
        while (pos < n && s.charAt(pos) != '\n' && s.charAt(pos) != '\r') {
            pos++;
        }
    }

    private void skipBlockComment() {
        int start = pos;
        int depth = 0;
        while (pos < n) {
            if (s.charAt(pos) == '/' && at(pos + 1) == '*') {
                depth++;
                pos += 2;
                if (mysql() && depth > 1) {
                    depth = 1; // MySQL comments do not nest
                }
            } else if (s.charAt(pos) == '*' && at(pos + 1) == '/') {
                depth--;
                pos += 2;
                if (depth == 0) {
                    return;
                }
            } else {
                pos++;
            }
        }
        throw new SqlLexException("unterminated block comment", start);
    }

    private void add(TokenType t, String v, int start) {
        out.add(new Token(t, v, start, pos));
    }

    private void lexOne() {
        int start = pos;
        char c = s.charAt(pos);
        char c1 = at(pos + 1);
        // prefixed literals and identifiers
        if ((c == 'U' || c == 'u') && c1 == '&' && (at(pos + 2) == '\'' || at(pos + 2) == '"') && !mysql()) {
            pos += 2;
            boolean ident = s.charAt(pos) == '"';
            String raw = ident ? quoted('"', false) : quoted('\'', false);
            char esc = uescape();
            String decoded = decodeUnicode(raw, esc, start);
            add(ident ? TokenType.QUOTED_IDENT : TokenType.STRING, decoded, start);
            return;
        }
        if ((c == 'E' || c == 'e') && c1 == '\'' && !mysql()) {
            pos++;
            add(TokenType.STRING, decodeEscapes(quotedRaw('\''), start), start);
            return;
        }
        if ((c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n') && c1 == '\'') {
            pos++;
            add(TokenType.STRING, quoted('\'', options.backslashEscapes()), start);
            return;
        }
        if (c == '\'') {
            add(TokenType.STRING, quoted('\'', options.backslashEscapes()), start);
            return;
        }
        if (c == '"') {
            if (mysql() && options.ansiQuotes()) {
                add(TokenType.QUOTED_IDENT, quoted('"', false), start);
            } else if (mysql()) {
                add(TokenType.STRING, quoted('"', options.backslashEscapes()), start);
            } else {
                String v = quoted('"', false);
                if (v.isEmpty()) {
                    throw new SqlLexException("zero-length delimited identifier", start);
                }
                add(TokenType.QUOTED_IDENT, v, start);
            }
            return;
        }
        if (c == '`' && mysql()) {
            add(TokenType.QUOTED_IDENT, quoted('`', false), start);
            return;
        }
        if (c == '$' && !mysql()) {
            if (Character.isDigit(c1)) {
                pos++;
                while (pos < n && Character.isDigit(s.charAt(pos))) {
                    pos++;
                }
                add(TokenType.PARAM, s.substring(start, pos), start);
                return;
            }
            int p = pos + 1;
            while (p < n && isIdentPart(s.charAt(p)) && s.charAt(p) != '$') {
                p++;
            }
            if (p < n && s.charAt(p) == '$' && (p == pos + 1 || !Character.isDigit(s.charAt(pos + 1)))) {
                String tag = s.substring(pos, p + 1);
                int bodyStart = p + 1;
                int close = s.indexOf(tag, bodyStart);
                if (close < 0) {
                    throw new SqlLexException("unterminated dollar-quoted string " + tag, start);
                }
                pos = close + tag.length();
                add(TokenType.DOLLAR_STRING, s.substring(bodyStart, close), start);
                return;
            }
        }
        if (c == '@' && mysql()) {
            pos++;
            if (at(pos) == '@') {
                pos++;
            }
            if (at(pos) == '\'' || at(pos) == '"' || at(pos) == '`') {
                String v = quoted(at(pos), at(pos) != '`');
                add(TokenType.VARIABLE, v.toLowerCase(Locale.ROOT), start);
                return;
            }
            while (pos < n && (isIdentPart(s.charAt(pos)) || s.charAt(pos) == '.')) {
                pos++;
            }
            String v = s.substring(start, pos).replace("@", "").toLowerCase(Locale.ROOT);
            add(TokenType.VARIABLE, v, start);
            return;
        }
        if (c == '?' && mysql()) {
            pos++;
            add(TokenType.PARAM, "?", start);
            return;
        }
        if (Character.isDigit(c) || (c == '.' && Character.isDigit(c1))) {
            number();
            return;
        }
        if (isIdentStart(c)) {
            while (pos < n && isIdentPart(s.charAt(pos))) {
                pos++;
            }
            add(TokenType.WORD, s.substring(start, pos).toLowerCase(Locale.ROOT), start);
            return;
        }
        switch (c) {
            case '(' -> single(TokenType.LPAREN, start);
            case ')' -> single(TokenType.RPAREN, start);
            case '[' -> single(TokenType.LBRACKET, start);
            case ']' -> single(TokenType.RBRACKET, start);
            case ',' -> single(TokenType.COMMA, start);
            case ';' -> single(TokenType.SEMICOLON, start);
            case '.' -> single(TokenType.DOT, start);
            case '\\' -> meta(start);
            default -> operator(start);
        }
    }

    private void single(TokenType t, int start) {
        pos++;
        add(t, String.valueOf(s.charAt(start)), start);
    }

    private void meta(int start) {
        // psql meta-commands never reach the server, but a pasted one must not be mistaken for SQL.
        skipToEol();
        add(TokenType.META, s.substring(start, pos).trim(), start);
    }

    private void operator(int start) {
        if (s.charAt(pos) == ':' && at(pos + 1) == ':') {
            pos += 2;
            add(TokenType.OPERATOR, "::", start);
            return;
        }
        while (pos < n && isOpChar(s.charAt(pos))) {
            // a comment start ends the operator
            if (s.charAt(pos) == '-' && at(pos + 1) == '-' && pos > start) {
                break;
            }
            if (s.charAt(pos) == '/' && at(pos + 1) == '*' && pos > start) {
                break;
            }
            if (inVersionedComment && s.charAt(pos) == '*' && at(pos + 1) == '/' && pos > start) {
                break;
            }
            if (s.charAt(pos) == ':' && at(pos + 1) == ':' && pos > start) {
                break; // a cast after an operator: "c.*::text"
            }
            pos++;
            if (mysql() && pos - start >= 3) {
                break;
            }
        }
        if (pos == start) {
            throw new SqlLexException("unexpected character '" + s.charAt(pos) + "'", pos);
        }
        if (!mysql()) {
            // PostgreSQL: a multi-character operator cannot end in + or - unless it contains ~ ! @ # % ^ & | ` ?
            while (pos - start > 1 && (s.charAt(pos - 1) == '+' || s.charAt(pos - 1) == '-')
                    && !containsAny(s, start, pos, "~!@#%^&|`?")) {
                pos--;
            }
        }
        add(TokenType.OPERATOR, s.substring(start, pos), start);
    }

    private static boolean containsAny(String s, int from, int to, String chars) {
        for (int i = from; i < to; i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return true;
            }
        }
        return false;
    }

    private boolean isOpChar(char c) {
        return "+-*/<>=~!@#%^&|`?:".indexOf(c) >= 0 && !(mysql() && (c == '#' || c == '`' || c == '?' || c == '@'));
    }

    private void number() {
        int start = pos;
        if (s.charAt(pos) == '0' && (at(pos + 1) == 'x' || at(pos + 1) == 'X') && isHex(at(pos + 2))) {
            pos += 2;
            while (pos < n && isHex(s.charAt(pos))) {
                pos++;
            }
        } else {
            while (pos < n && (Character.isDigit(s.charAt(pos)) || s.charAt(pos) == '_')) {
                pos++;
            }
            if (at(pos) == '.' && at(pos + 1) != '.') {
                pos++;
                while (pos < n && Character.isDigit(s.charAt(pos))) {
                    pos++;
                }
            }
            if ((at(pos) == 'e' || at(pos) == 'E')
                    && (Character.isDigit(at(pos + 1)) || ((at(pos + 1) == '+' || at(pos + 1) == '-') && Character.isDigit(at(pos + 2))))) {
                pos += 2;
                while (pos < n && Character.isDigit(s.charAt(pos))) {
                    pos++;
                }
            }
        }
        add(TokenType.NUMBER, s.substring(start, pos), start);
    }

    private static boolean isHex(char c) {
        return Character.digit(c, 16) >= 0;
    }

    private static boolean isIdentStart(char c) {
        return Character.isLetter(c) || c == '_' || c >= 0x80;
    }

    private static boolean isIdentPart(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$' || c >= 0x80;
    }

    /**
     * Reads a quoted run starting at {@code pos} (which holds the quote), doubling escapes the quote;
     * with {@code backslash} a backslash escapes the next character. Returns the decoded content.
     */
    private String quoted(char q, boolean backslash) {
        int start = pos;
        pos++;
        StringBuilder sb = new StringBuilder();
        while (pos < n) {
            char c = s.charAt(pos);
            if (backslash && c == '\\' && pos + 1 < n) {
                sb.append(unescape(s.charAt(pos + 1)));
                pos += 2;
            } else if (c == q) {
                if (at(pos + 1) == q) {
                    sb.append(q);
                    pos += 2;
                } else {
                    pos++;
                    return sb.toString();
                }
            } else {
                sb.append(c);
                pos++;
            }
        }
        throw new SqlLexException("unterminated quoted " + (q == '\'' ? "string" : "identifier"), start);
    }

    /** Reads an E'' string keeping backslash sequences (\' and \\ included) for {@link #decodeEscapes}. */
    private String quotedRaw(char q) {
        int start = pos;
        pos++;
        StringBuilder sb = new StringBuilder();
        while (pos < n) {
            char c = s.charAt(pos);
            if (c == '\\' && pos + 1 < n) {
                sb.append(c).append(s.charAt(pos + 1));
                pos += 2;
            } else if (c == q) {
                if (at(pos + 1) == q) {
                    sb.append(q);
                    pos += 2;
                } else {
                    pos++;
                    return sb.toString();
                }
            } else {
                sb.append(c);
                pos++;
            }
        }
        throw new SqlLexException("unterminated quoted string", start);
    }

    /** PostgreSQL E'' escapes: b f n r t, octal o/oo/ooo, hex x h/hh, u XXXX, U XXXXXXXX (each after a backslash). */
    private static String decodeEscapes(String raw, int offset) {
        StringBuilder sb = new StringBuilder(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c != '\\' || i + 1 >= raw.length()) {
                sb.append(c);
                continue;
            }
            char e = raw.charAt(++i);
            switch (e) {
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'x' -> {
                    int j = i + 1;
                    while (j < raw.length() && j < i + 3 && isHex(raw.charAt(j))) {
                        j++;
                    }
                    if (j == i + 1) {
                        sb.append('x');
                    } else {
                        sb.append((char) Integer.parseInt(raw.substring(i + 1, j), 16));
                        i = j - 1;
                    }
                }
                case 'u', 'U' -> {
                    int len = e == 'u' ? 4 : 8;
                    if (!hexRun(raw, i + 1, len)) {
                        throw new SqlLexException("invalid Unicode escape in E'' string", offset);
                    }
                    sb.appendCodePoint(Integer.parseInt(raw.substring(i + 1, i + 1 + len), 16));
                    i += len;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int j = i;
                        while (j < raw.length() && j < i + 3 && raw.charAt(j) >= '0' && raw.charAt(j) <= '7') {
                            j++;
                        }
                        sb.append((char) Integer.parseInt(raw.substring(i, j), 8));
                        i = j - 1;
                    } else {
                        sb.append(e);
                    }
                }
            }
        }
        return sb.toString();
    }

    private static char unescape(char c) {
        return switch (c) {
            case 'n' -> '\n';
            case 't' -> '\t';
            case 'r' -> '\r';
            case 'b' -> '\b';
            case '0' -> '\0';
            default -> c;
        };
    }

    /** After a U&amp; literal: an optional {@code UESCAPE 'c'} clause. */
    private char uescape() {
        int save = pos;
        skipSpaceAndComments();
        if (s.regionMatches(true, pos, "UESCAPE", 0, 7) && !isIdentPart(at(pos + 7))) {
            pos += 7;
            skipSpaceAndComments();
            if (at(pos) != '\'') {
                throw new SqlLexException("UESCAPE needs a one-character string", pos);
            }
            String e = quoted('\'', false);
            if (e.length() != 1 || "0123456789abcdefABCDEF+'\" \t\n".indexOf(e.charAt(0)) >= 0) {
                throw new SqlLexException("invalid UESCAPE character", pos);
            }
            return e.charAt(0);
        }
        pos = save;
        return '\\';
    }

    private static String decodeUnicode(String raw, char esc, int offset) {
        StringBuilder sb = new StringBuilder(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c != esc) {
                sb.append(c);
                continue;
            }
            if (i + 1 < raw.length() && raw.charAt(i + 1) == esc) {
                sb.append(esc);
                i++;
            } else if (i + 7 < raw.length() + 0 && raw.charAt(i + 1) == '+' && hexRun(raw, i + 2, 6)) {
                sb.appendCodePoint(Integer.parseInt(raw.substring(i + 2, i + 8), 16));
                i += 7;
            } else if (hexRun(raw, i + 1, 4)) {
                sb.append((char) Integer.parseInt(raw.substring(i + 1, i + 5), 16));
                i += 4;
            } else {
                throw new SqlLexException("invalid Unicode escape in U& literal", offset);
            }
        }
        return sb.toString();
    }

    private static boolean hexRun(String s, int from, int len) {
        if (from + len > s.length()) {
            return false;
        }
        for (int i = from; i < from + len; i++) {
            if (!isHex(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
