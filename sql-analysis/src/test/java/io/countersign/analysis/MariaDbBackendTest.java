package io.countersign.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.CatalogLoader;
import io.countersign.analysis.catalog.Column;
import io.countersign.analysis.catalog.MySqlCatalogLoader;
import io.countersign.analysis.catalog.SensitiveColumns;
import io.countersign.analysis.catalog.Table;
import io.countersign.wire.spi.ResultColumn;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Catalog loading and the EXPLAIN layer against the real MariaDB on 127.0.0.1:3306, in a database of our own. */
class MariaDbBackendTest {

    static final String HOST = System.getProperty("countersign.mariadb.host", "127.0.0.1");
    static final int PORT = Integer.getInteger("countersign.mariadb.port", 3306);
    static final String DB = "cs_analysis_" + ProcessHandle.current().pid();
    static ExecutorService executor;
    static SqlAnalyzer analyzer = new SqlAnalyzer(AnalyzerConfig.defaults().withSensitive(SensitiveColumns.defaults()));

    static Connection connect(String database) throws SQLException {
        return DriverManager.getConnection("jdbc:mariadb://" + HOST + ":" + PORT + "/" + database, "root", "");
    }

    @BeforeAll
    static void schema() throws Exception {
        executor = Executors.newFixedThreadPool(2);
        try (Connection c = connect(""); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + DB);
            s.execute("CREATE DATABASE " + DB);
        }
        try (Connection c = connect(DB); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50), email VARCHAR(100), city VARCHAR(50))");
            s.execute("CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(50), price DECIMAL(10,2))");
            s.execute("INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com', 'Oslo'), (2, 'Bo', 'bo@example.com', 'Rome')");
            s.execute("INSERT INTO products VALUES (1, 'pen', 1.5), (2, 'ink', 3)");
            s.execute("ALTER TABLE customers ADD FULLTEXT INDEX ft_city (city)");
            s.execute("CREATE VIEW customer_cities AS SELECT id, city FROM customers");
            s.execute("CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2");
        }
    }

    @AfterAll
    static void drop() throws Exception {
        executor.shutdownNow();
        try (Connection c = connect(""); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + DB);
        }
    }

    static Catalog load() throws Exception {
        try (Connection c = connect(DB)) {
            return MySqlCatalogLoader.load(c);
        }
    }

    @Test
    void loadsTablesViewsAndRoutines() throws Exception {
        Catalog cat = load();
        assertThat(cat.database()).isEqualTo(DB);
        Table t = cat.resolve(null, "customers");
        assertThat(t.qualifiedName()).isEqualTo(DB + ".customers");
        assertThat(t.columns()).extracting(Column::name).containsExactly("id", "name", "email", "city");
        assertThat(t.primaryKey()).containsExactly("id");
        assertThat(cat.table(DB, "customer_cities").isView()).isTrue();
        assertThat(cat.hasUserFunction("twice")).isTrue();
    }

    @Test
    void analysesOverTheLoadedCatalogIncludingRealViewDefinitions() throws Exception {
        Catalog cat = load();
        AnalysisResult v = analyzer.analyze("SELECT city FROM customer_cities WHERE id = 1", Dialect.MYSQL, cat);
        assertThat(v.statements().get(0).settledBy()).isEqualTo(SettledBy.CALCITE);
        assertThat(v.statements().get(0).columnsRead()).contains(DB + ".customers.city").doesNotContain(DB + ".customers.email");
        assertThat(v.isSafe()).isTrue();
        assertThat(analyzer.analyze("SELECT `email` FROM customers /*!50000 WHERE id = 1 */", Dialect.MYSQL, cat).categories())
                .containsExactly(Category.SENSITIVE_READ);
        assertThat(analyzer.analyze("SELECT twice(price) FROM products", Dialect.MYSQL, cat).categories())
                .contains(Category.UNANALYSABLE);
    }

    @Test
    void explainLayerOnMariaDb() throws Exception {
        Catalog cat = load();
        // MATCH ... AGAINST is not Calcite syntax; MariaDB plans it over the full-text index
        String sql = "SELECT name FROM customers WHERE MATCH(city) AGAINST ('Oslo' IN BOOLEAN MODE)";
        AnalysisResult sync = analyzer.analyze(sql, Dialect.MYSQL, cat);
        assertThat(sync.needsExplain()).isTrue();
        AnalysisResult full = analyzer.analyzeWithExplain(sql, Dialect.MYSQL, cat, () -> connect(DB), executor)
                .get(30, TimeUnit.SECONDS);
        StatementAnalysis a = full.statements().get(0);
        assertThat(a.settledBy()).as("%s", a).isEqualTo(SettledBy.EXPLAIN);
        assertThat(a.tablesRead()).contains(DB + ".customers");
        // MariaDB does not name the columns it uses: every column of the table counts, so email is read
        assertThat(full.categories()).contains(Category.SENSITIVE_READ).doesNotContain(Category.UNANALYSABLE);
    }

    @Test
    void wireCheckUsesOrgTableAndOrgName() throws Exception {
        Catalog cat = load();
        StatementAnalysis a = analyzer.analyze("SELECT id FROM customers", Dialect.MYSQL, cat).statements().get(0);
        List<ResultColumn> cols = List.of(new ResultColumn("id", 0, 0, DB, "customers", "id"),
                new ResultColumn("e", 0, 0, DB, "customers", "email"));
        assertThat(analyzer.unpredictedSensitiveColumns(a, cols, cat)).containsExactly(DB + ".customers.email");
    }

    @Test
    void asyncLoaderOpensAndClosesItsConnection() throws Exception {
        Connection[] used = new Connection[1];
        Catalog c = CatalogLoader.of(Dialect.MYSQL, () -> used[0] = connect(DB)).loadAsync(executor).get(30, TimeUnit.SECONDS);
        assertThat(c.resolve(null, "products")).isNotNull();
        assertThat(used[0].isClosed()).isTrue();
        try (Connection conn = connect(DB); Statement s = conn.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
            assertThat(rs.next()).isTrue();
        }
    }
}
