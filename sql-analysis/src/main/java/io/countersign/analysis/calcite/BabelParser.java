package io.countersign.analysis.calcite;

import io.countersign.analysis.Dialect;
import org.apache.calcite.avatica.util.Casing;
import org.apache.calcite.avatica.util.Quoting;
import org.apache.calcite.config.Lex;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.parser.SqlParseException;
import java.io.StringReader;
import org.apache.calcite.sql.parser.SqlAbstractParserImpl;
import org.apache.calcite.sql.parser.SqlParser;
import org.apache.calcite.sql.parser.babel.SqlBabelParserImpl;
import org.apache.calcite.sql.validate.SqlConformanceEnum;

/** Calcite's Babel parser configured per dialect. Text comes from {@link CalciteNormalizer}: already folded. */
public final class BabelParser {

    private static final SqlParser.Config POSTGRES = SqlParser.config()
            .withParserFactory(SqlBabelParserImpl.FACTORY)
            .withConformance(SqlConformanceEnum.BABEL)
            .withQuoting(Quoting.DOUBLE_QUOTE)
            .withUnquotedCasing(Casing.UNCHANGED)
            .withQuotedCasing(Casing.UNCHANGED)
            .withCaseSensitive(true)
            .withIdentifierMaxLength(1024);

    private static final SqlParser.Config MYSQL = SqlParser.config()
            .withParserFactory(SqlBabelParserImpl.FACTORY)
            .withConformance(SqlConformanceEnum.BABEL)
            .withLex(Lex.MYSQL)
            .withUnquotedCasing(Casing.UNCHANGED)
            .withQuotedCasing(Casing.UNCHANGED)
            .withIdentifierMaxLength(1024);

    /**
     * Babel's generated parser allocates thousands of lookahead structures when constructed; re-initialising a
     * per-thread instance is several times cheaper. Parsing is never re-entered on a thread (views and
     * RETURNING clauses are parsed after the statement's own parse has finished).
     */
    private static final ThreadLocal<SqlAbstractParserImpl[]> PARSERS = ThreadLocal.withInitial(() -> new SqlAbstractParserImpl[2]);

    private BabelParser() {}

    public static SqlNode parse(String sql, Dialect dialect) throws SqlParseException {
        SqlParser.Config config = dialect == Dialect.MYSQL ? MYSQL : POSTGRES;
        SqlAbstractParserImpl[] cache = PARSERS.get();
        int slot = dialect.ordinal();
        SqlAbstractParserImpl p = cache[slot];
        if (p == null) {
            p = config.parserFactory().getParser(new StringReader(sql));
            cache[slot] = p;
        } else {
            p.ReInit(new StringReader(sql));
        }
        p.setOriginalSql(sql);
        p.setTabSize(1);
        p.setQuotedCasing(config.quotedCasing());
        p.setUnquotedCasing(config.unquotedCasing());
        p.setIdentifierMaxLength(config.identifierMaxLength());
        p.setTimeUnitCodes(config.timeUnitCodes());
        p.setConformance(config.conformance());
        p.switchTo(SqlAbstractParserImpl.LexicalState.forConfig(config));
        try {
            return p.parseSqlStmtEof();
        } catch (Throwable e) {
            cache[slot] = null; // start from a fresh instance after any failure
            if (e instanceof Error err && !(e.getClass().getSimpleName().equals("TokenMgrError"))) {
                throw err;
            }
            throw p.normalizeException(e);
        }
    }
}
