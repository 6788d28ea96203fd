package io.countersign.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.analysis.lexer.Fingerprinter;
import io.countersign.analysis.lexer.LexedStatement;
import io.countersign.analysis.lexer.LexicalAnalyzer;
import io.countersign.analysis.lexer.LexicalFacts;
import io.countersign.analysis.lexer.QualifiedName;
import io.countersign.analysis.lexer.SqlLexException;
import io.countersign.analysis.lexer.SqlLexer;
import io.countersign.analysis.lexer.Token;
import io.countersign.analysis.lexer.TokenType;
import java.util.List;
import org.junit.jupiter.api.Test;

class LexerTest {

    static List<Token> pg(String s) {
        return SqlLexer.tokenize(s, Dialect.POSTGRESQL);
    }

    static List<Token> my(String s) {
        return SqlLexer.tokenize(s, Dialect.MYSQL);
    }

    static List<String> values(List<Token> t) {
        return t.stream().map(Token::value).toList();
    }

    @Test
    void postgresQuotingAndEscapes() {
        assertThat(values(pg("SELECT E'a\\'b', 'it''s', U&\"\\0065mail\", U&'!0041' UESCAPE '!'")))
                .containsExactly("select", "a'b", ",", "it's", ",", "email", ",", "A");
        assertThat(pg("U&\"\\+000065x\"").get(0).value()).isEqualTo("ex");
        assertThat(pg("$tag$ body ; 'x' $tag$").get(0)).extracting(Token::type, Token::value)
                .containsExactly(TokenType.DOLLAR_STRING, " body ; 'x' ");
        assertThat(pg("$1 + $22").stream().filter(t -> t.type() == TokenType.PARAM).map(Token::value)).containsExactly("$1", "$22");
        assertThat(values(pg("a::int[] /* x /* nested */ y */ -- tail\n b"))).containsExactly("a", "::", "int", "[", "]", "b");
        assertThat(values(pg("\"MiXeD\" MiXeD"))).containsExactly("MiXeD", "mixed");
    }

    @Test
    void mysqlQuotingCommentsAndVariables() {
        assertThat(values(my("SELECT `we``ird`, \"str\", 'a\\'b' # comment\n FROM t")))
                .containsExactly("select", "we`ird", ",", "str", ",", "a'b", "from", "t");
        assertThat(values(my("SELECT 1 /*!50000 , email */ FROM t"))).containsExactly("select", "1", ",", "email", "from", "t");
        assertThat(values(my("/*M!100100 SELECT */ 1"))).containsExactly("select", "1");
        assertThat(values(my("SELECT 1--1"))).containsExactly("select", "1", "--", "1");
        assertThat(values(my("SELECT 1 -- c\n"))).containsExactly("select", "1");
        assertThat(my("SELECT @@session.sql_mode, @x, ?").stream().filter(t -> t.type() == TokenType.VARIABLE || t.type() == TokenType.PARAM)
                .map(Token::value)).containsExactly("session.sql_mode", "x", "?");
    }

    @Test
    void unterminatedInputIsAnError() {
        assertThatThrownBy(() -> pg("SELECT 'abc")).isInstanceOf(SqlLexException.class).hasMessageContaining("unterminated");
        assertThatThrownBy(() -> pg("SELECT /* /* */")).isInstanceOf(SqlLexException.class);
        assertThatThrownBy(() -> pg("SELECT $a$ x")).isInstanceOf(SqlLexException.class);
        assertThatThrownBy(() -> my("SELECT /*! 1")).isInstanceOf(SqlLexException.class);
    }

    @Test
    void splitsOnTopLevelSemicolonsOnly() {
        String s = "SELECT ';'; SELECT $$;$$ ;; BEGIN";
        List<LexedStatement> parts = LexedStatement.split(s, pg(s));
        assertThat(parts).extracting(LexedStatement::sql).containsExactly("SELECT ';'", "SELECT $$;$$", "BEGIN");
    }

    @Test
    void kindsAndIdentifiers() {
        LexicalFacts f = LexicalAnalyzer.analyze(pg("WITH x AS (SELECT * FROM a.b) INSERT INTO t (c) SELECT f(y) FROM x, s.u JOIN v ON g(1) = 2"));
        assertThat(f.kind()).isEqualTo("INSERT");
        assertThat(f.relations()).extracting(QualifiedName::toString).contains("a.b", "t", "x", "s.u", "v");
        assertThat(f.functions()).extracting(QualifiedName::toString).containsExactly("f", "g");
        assertThat(LexicalAnalyzer.analyze(pg("CREATE OR REPLACE TEMP VIEW v AS SELECT 1")).kind()).isEqualTo("CREATE VIEW");
        assertThat(LexicalAnalyzer.analyze(pg("DROP MATERIALIZED VIEW mv")).kind()).isEqualTo("DROP MATERIALIZED VIEW");
        assertThat(LexicalAnalyzer.analyze(pg("SELECT extract(year FROM d) FROM t")).relations())
                .extracting(QualifiedName::toString).containsExactly("t");
        assertThat(LexicalAnalyzer.analyze(pg("SELECT 1 FROM t WHERE 'public.x'::regclass > 0")).relations())
                .extracting(QualifiedName::toString).containsExactly("t", "public.x");
    }

    @Test
    void fingerprintsNormaliseLiteralsButKeepWhatDecides() {
        String a = Fingerprinter.fingerprint(pg("SELECT *  FROM t WHERE id IN (1, 2, 3) AND name = 'x' LIMIT 10"));
        String b = Fingerprinter.fingerprint(pg("select * from T where ID in (4,5) and NAME = 'yy'   limit 10"));
        assertThat(a).isEqualTo(b).isEqualTo("select * from t where id in (?+) and name = ? limit 10");
        assertThat(Fingerprinter.fingerprint(pg("SELECT * FROM t LIMIT 10")))
                .isNotEqualTo(Fingerprinter.fingerprint(pg("SELECT * FROM t LIMIT 100000")));
        assertThat(Fingerprinter.fingerprint(pg("SELECT set_config('role', 'x', false)")))
                .isNotEqualTo(Fingerprinter.fingerprint(pg("SELECT set_config('search_path', 'x', false)")));
        assertThat(Fingerprinter.fingerprint(my("PREPARE s FROM 'SELECT 1'")))
                .isNotEqualTo(Fingerprinter.fingerprint(my("PREPARE s FROM 'SELECT ssn FROM customers'")));
        assertThat(Fingerprinter.fingerprint(pg("SELECT \"A\" FROM t"))).isNotEqualTo(Fingerprinter.fingerprint(pg("SELECT a FROM t")));
        assertThat(Fingerprinter.hash(a)).isEqualTo(Fingerprinter.hash(b));
    }
}
