package io.countersign.analysis.calcite;

import io.countersign.analysis.Dialect;
import org.apache.calcite.avatica.util.Casing;
import org.apache.calcite.avatica.util.Quoting;
import org.apache.calcite.config.Lex;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.parser.SqlParseException;
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

    private BabelParser() {}

    public static SqlNode parse(String sql, Dialect dialect) throws SqlParseException {
        SqlParser parser = SqlParser.create(sql, dialect == Dialect.MYSQL ? MYSQL : POSTGRES);
        return parser.parseStmt();
    }
}
