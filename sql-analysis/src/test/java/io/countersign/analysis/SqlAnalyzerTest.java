package io.countersign.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.SensitiveColumns;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SqlAnalyzerTest {

    final Catalog pg = CorpusCatalogs.postgres();
    final SqlAnalyzer analyzer = new SqlAnalyzer(AnalyzerConfig.defaults().withSensitive(CorpusCatalogs.sensitive()));

    @Test
    void cachedShapeCarriesEachStatementsOwnText() {
        AnalysisResult first = analyzer.analyze("SELECT name FROM products WHERE id = 1", Dialect.POSTGRESQL, pg);
        AnalysisResult second = analyzer.analyze("SELECT name FROM products WHERE id = 2", Dialect.POSTGRESQL, pg);
        assertThat(second.statements().get(0).sql()).isEqualTo("SELECT name FROM products WHERE id = 2");
        assertThat(second.statements().get(0).columnsRead()).isEqualTo(first.statements().get(0).columnsRead());
        AnalyzerStats.Snapshot s = analyzer.stats().snapshot();
        assertThat(s.cacheHits()).isEqualTo(1);
        assertThat(s.cacheMisses()).isEqualTo(1);
        assertThat(s.settled().get(SettledBy.CALCITE)).isEqualTo(2);
        assertThat(s.share(SettledBy.CALCITE)).isEqualTo(1.0);
    }

    @Test
    void identicalTextIsServedWithoutLexing() {
        String sql = "SELECT name FROM products WHERE id = $1";
        AnalysisResult first = analyzer.analyze(sql, Dialect.POSTGRESQL, pg);
        AnalysisResult again = analyzer.analyze(new String(sql.toCharArray()), Dialect.POSTGRESQL, pg);
        assertThat(again).isSameAs(first);
        assertThat(analyzer.stats().snapshot().cacheHits()).isEqualTo(1);
        AnalysisResult pending = analyzer.analyze("SELECT x FROM nowhere", Dialect.POSTGRESQL, pg);
        assertThat(analyzer.analyze("SELECT x FROM nowhere", Dialect.POSTGRESQL, pg)).isNotSameAs(pending);
    }

    @Test
    void serverTokenisingSettingsComeWithTheCatalog() {
        Catalog ansi = Catalog.builder(Dialect.MYSQL).database("shop")
                .table("shop", "customers", 10, List.of("id"), "id", "email")
                .lexOptions(new io.countersign.analysis.lexer.SqlLexer.Options(true, false)).build();
        // with ANSI_QUOTES "email" is the column, not a string
        assertThat(analyzer.analyze("SELECT \"email\" FROM customers", Dialect.MYSQL, ansi).categories())
                .containsExactly(Category.SENSITIVE_READ);
        // with NO_BACKSLASH_ESCAPES 'a\' ends the string, so the email read is visible
        assertThat(analyzer.analyze("SELECT 'a\\', email FROM customers -- '", Dialect.MYSQL, ansi).categories())
                .containsExactly(Category.SENSITIVE_READ);
        Catalog plain = Catalog.builder(Dialect.MYSQL).database("shop")
                .table("shop", "customers", 10, List.of("id"), "id", "email").build();
        assertThat(analyzer.analyze("SELECT \"email\" FROM customers", Dialect.MYSQL, plain).isSafe()).isTrue();
    }

    @Test
    void ddlIsRecognisedForCatalogRefresh() {
        assertThat(analyzer.analyze("CREATE TABLE t2 (id int)", Dialect.POSTGRESQL, pg).changesCatalog()).isTrue();
        assertThat(analyzer.analyze("SELECT 1; ALTER TABLE products ADD COLUMN x int", Dialect.POSTGRESQL, pg).changesCatalog()).isTrue();
        assertThat(analyzer.analyze("SELECT name INTO t3 FROM products", Dialect.POSTGRESQL, pg).changesCatalog()).isTrue();
        assertThat(analyzer.analyze("SELECT name FROM products", Dialect.POSTGRESQL, pg).changesCatalog()).isFalse();
        assertThat(analyzer.analyze("INSERT INTO products (name) VALUES ('x')", Dialect.POSTGRESQL, pg).changesCatalog()).isFalse();
    }

    @Test
    void aNewCatalogVersionIsANewCacheKey() {
        analyzer.analyze("SELECT * FROM later", Dialect.POSTGRESQL, pg);
        Catalog withLater = Catalog.builder(Dialect.POSTGRESQL).table("public", "later", 1, List.of(), "id", "email").build();
        AnalysisResult r = analyzer.analyze("SELECT * FROM later", Dialect.POSTGRESQL, withLater);
        assertThat(r.categories()).containsExactly(Category.SENSITIVE_READ);
    }

    @Test
    void verdictIsTheMostSevereOverAllStatements() {
        AnalysisResult r = analyzer.analyze("SELECT email FROM customers WHERE id = 1; GRANT ALL ON orders TO x; SELECT 1",
                Dialect.POSTGRESQL, pg);
        assertThat(r.statements()).hasSize(3);
        assertThat(r.verdict()).contains(Category.PRIVILEGE);
        assertThat(r.mostSevere().orElseThrow().kind()).isEqualTo("GRANT");
        assertThat(r.categories()).containsExactlyInAnyOrder(Category.PRIVILEGE, Category.SENSITIVE_READ);
        assertThat(r.isSafe()).isFalse();
    }

    @Test
    void reasonsNameTheColumnTableOrFunction() {
        assertThat(analyzer.analyze("SELECT ssn FROM customers", Dialect.POSTGRESQL, pg).findings())
                .anySatisfy(f -> assertThat(f.reason()).contains("public.customers.ssn"));
        assertThat(analyzer.analyze("SELECT * FROM orders", Dialect.POSTGRESQL, pg).findings())
                .anySatisfy(f -> assertThat(f.reason()).contains("public.orders").contains("2,000,000"));
        assertThat(analyzer.analyze("SELECT pg_read_file('/etc/passwd')", Dialect.POSTGRESQL, pg).findings())
                .anySatisfy(f -> assertThat(f.reason()).contains("pg_read_file"));
        AnalysisResult u = analyzer.analyze("SELECT weird(x) FROM nowhere", Dialect.POSTGRESQL, pg);
        assertThat(u.findings()).singleElement().satisfies(f -> assertThat(f.reason()).contains("nowhere").contains("weird"));
        assertThat(u.needsExplain()).isTrue();
    }

    @Test
    void preparedStatementIsAnalysedOnceAndBindingDoesNotChangeIt() {
        PreparedAnalysis p = analyzer.prepare("SELECT email FROM customers WHERE id = $1", Dialect.POSTGRESQL, pg);
        assertThat(p.bind(List.of("5")).categories()).containsExactly(Category.SENSITIVE_READ);
        assertThat(p.bind(java.util.Arrays.asList((String) null))).isSameAs(p.analysis());
    }

    @Test
    void thresholdIsConfigurable() {
        SqlAnalyzer strict = new SqlAnalyzer(AnalyzerConfig.defaults().withSensitive(SensitiveColumns.none()).withLargeTableRows(100));
        assertThat(strict.analyze("SELECT name FROM products", Dialect.POSTGRESQL, pg).categories()).containsExactly(Category.EXPORT);
        assertThat(strict.analyze("SELECT name FROM products LIMIT 50", Dialect.POSTGRESQL, pg).isSafe()).isTrue();
    }

    @Test
    void badConfigurationIsRejectedWithTheFix() {
        assertThatThrownBy(() -> SensitiveColumns.of(List.of("customers.email"), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("schema.table.column");
        assertThatThrownBy(() -> new AnalyzerConfig(SensitiveColumns.none(), -1, 10, java.time.Duration.ofSeconds(1)))
                .hasMessageContaining("largeTableRows");
        assertThatThrownBy(() -> analyzer.analyze("SELECT 1", Dialect.MYSQL, pg)).hasMessageContaining("catalog is for POSTGRESQL");
    }

    @Test
    void sensitiveGlobsAndTags() {
        SensitiveColumns s = SensitiveColumns.of(List.of("hr.*.sal*"), Map.of("email", List.of("*mail*")));
        assertThat(s.match("hr", "staff", "salary")).isEqualTo("pattern hr.*.sal*");
        assertThat(s.match("pub", "x", "Contact_EMail")).isEqualTo("tag email");
        assertThat(s.match("pub", "x", "name")).isNull();
    }

    @Test
    void lexErrorsAreUnanalysableNotExceptions() {
        AnalysisResult r = analyzer.analyze("SELECT 'unterminated", Dialect.POSTGRESQL, pg);
        assertThat(r.verdict()).contains(Category.UNANALYSABLE);
        assertThat(r.findings().get(0).reason()).contains("unterminated");
    }
}
