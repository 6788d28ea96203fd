package io.countersign.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.CatalogCache;
import io.countersign.analysis.catalog.CatalogLoader;
import io.countersign.analysis.catalog.Column;
import io.countersign.analysis.catalog.PostgresCatalogLoader;
import io.countersign.analysis.catalog.SensitiveColumns;
import io.countersign.analysis.catalog.Table;
import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.spi.ResultColumn;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Catalog loading, view expansion, the EXPLAIN layer and the wire check against the real PostgreSQL. */
class PostgresBackendTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    static ExecutorService executor;
    static SqlAnalyzer analyzer = new SqlAnalyzer(AnalyzerConfig.defaults()
            .withSensitive(SensitiveColumns.of(List.of("app.staff.salary"), SensitiveColumns.DEFAULT_TAGS)));

    @BeforeAll
    static void schema() throws Exception {
        executor = Executors.newFixedThreadPool(2);
        db.execute(
                "CREATE SCHEMA app",
                "CREATE TABLE app.customers (id int PRIMARY KEY, name text, email text, city text)",
                "CREATE TABLE app.big (id int PRIMARY KEY, v text)",
                "INSERT INTO app.big SELECT g, 'v' || g FROM generate_series(1, 20000) g",
                "INSERT INTO app.customers VALUES (1, 'Ann', 'ann@example.com', 'Oslo'), (2, 'Bo', 'bo@example.com', 'Rome')",
                "CREATE TABLE app.staff (id int PRIMARY KEY, salary numeric)",
                "CREATE VIEW app.customer_cities AS SELECT c.id, upper(c.city) AS city FROM app.customers c",
                "CREATE VIEW app.customer_mail AS SELECT id, lower(email) AS contact FROM app.customers",
                "CREATE FUNCTION app.bump(i int) RETURNS int LANGUAGE sql AS 'select i + 1'",
                "CREATE FUNCTION app.elevated() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'select 1'",
                "CREATE VIEW app.bumped AS SELECT id, app.bump(id) AS next FROM app.big",
                "ANALYZE app.big",
                "ANALYZE app.customers",
                "ALTER DATABASE " + db.name() + " SET search_path = app, public");
    }

    @AfterAll
    static void stop() {
        executor.shutdownNow();
    }

    static Catalog load() throws Exception {
        try (Connection c = db.connect()) {
            return PostgresCatalogLoader.load(c);
        }
    }

    @Test
    void loadsTablesColumnsKeysViewsFunctionsAndOids() throws Exception {
        Catalog cat = load();
        Table customers = cat.resolve(null, "customers");
        assertThat(customers).isNotNull();
        assertThat(customers.qualifiedName()).isEqualTo("app.customers");
        assertThat(customers.columns()).extracting(Column::name).containsExactly("id", "name", "email", "city");
        assertThat(customers.primaryKey()).containsExactly("id");
        assertThat(cat.table("app", "big").rowEstimate()).isGreaterThan(10_000);
        assertThat(cat.table("app", "customer_cities").isView()).isTrue();
        assertThat(cat.table("app", "customer_cities").viewDefinition()).containsIgnoringCase("upper");
        assertThat(cat.userFunctions("elevated")).singleElement().satisfies(f -> assertThat(f.securityDefiner()).isTrue());
        assertThat(cat.hasUserFunction("bump")).isTrue();
        try (Connection c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 'app.customers'::regclass::oid, attnum FROM pg_attribute WHERE attrelid = 'app.customers'::regclass AND attname = 'email'")) {
            rs.next();
            assertThat(cat.columnAt(rs.getLong(1), rs.getInt(2)).name()).isEqualTo("email");
        }
    }

    @Test
    void expandsRealViewDefinitions() throws Exception {
        Catalog cat = load();
        AnalysisResult benign = analyzer.analyze("SELECT city FROM customer_cities WHERE id = 1", Dialect.POSTGRESQL, cat);
        assertThat(benign.statements().get(0).settledBy()).isEqualTo(SettledBy.CALCITE);
        assertThat(benign.statements().get(0).columnsRead()).contains("app.customers.city").doesNotContain("app.customers.email");
        assertThat(benign.isSafe()).isTrue();
        AnalysisResult mail = analyzer.analyze("SELECT contact FROM customer_mail", Dialect.POSTGRESQL, cat);
        assertThat(mail.categories()).contains(Category.SENSITIVE_READ);
        assertThat(mail.statements().get(0).columnsRead()).contains("app.customers.email");
    }

    @Test
    void largeTableByRealRowEstimate() throws Exception {
        Catalog cat = load();
        assertThat(analyzer.analyze("SELECT * FROM big", Dialect.POSTGRESQL, cat).categories()).contains(Category.EXPORT);
        assertThat(analyzer.analyze("SELECT * FROM big LIMIT 10", Dialect.POSTGRESQL, cat).isSafe()).isTrue();
        assertThat(analyzer.analyze("SELECT * FROM customers WHERE id = 1", Dialect.POSTGRESQL, cat).categories())
                .containsExactly(Category.SENSITIVE_READ);
        assertThat(analyzer.analyze("SELECT elevated()", Dialect.POSTGRESQL, cat).categories()).contains(Category.PRIVILEGE);
    }

    @Test
    void explainLayerSettlesWhatCalciteCannotParse() throws Exception {
        Catalog cat = load();
        String sql = "WITH gone AS (DELETE FROM customers WHERE id = 99 RETURNING email) SELECT * FROM gone";
        AnalysisResult sync = analyzer.analyze(sql, Dialect.POSTGRESQL, cat);
        assertThat(sync.needsExplain()).isTrue();
        assertThat(sync.categories()).contains(Category.UNANALYSABLE);
        AnalysisResult full = analyzer.analyzeWithExplain(sql, Dialect.POSTGRESQL, cat, db::connect, executor)
                .get(30, TimeUnit.SECONDS);
        StatementAnalysis a = full.statements().get(0);
        assertThat(a.settledBy()).isEqualTo(SettledBy.EXPLAIN);
        assertThat(a.tablesWritten()).contains("app.customers");
        assertThat(a.columnsRead()).contains("app.customers.email");
        assertThat(full.categories()).contains(Category.SENSITIVE_READ).doesNotContain(Category.UNANALYSABLE);
        // EXPLAIN did not run the DELETE
        try (Connection c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM app.customers")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(2);
        }
        // cached by fingerprint: a literal-only variant is settled without a new EXPLAIN
        long runs = analyzer.stats().snapshot().explainRuns();
        AnalysisResult again = analyzer.analyze(sql.replace("99", "98"), Dialect.POSTGRESQL, cat);
        assertThat(again.needsExplain()).isFalse();
        assertThat(again.statements().get(0).settledBy()).isEqualTo(SettledBy.EXPLAIN);
        assertThat(again.statements().get(0).sql()).contains("98");
        assertThat(analyzer.stats().snapshot().explainRuns()).isEqualTo(runs);
    }

    @Test
    void explainLayerSeesADeleteWithoutFilter() throws Exception {
        Catalog cat = load();
        String sql = "WITH gone AS (DELETE FROM big RETURNING id) SELECT count(*) FROM gone";
        AnalysisResult full = analyzer.analyzeWithExplain(sql, Dialect.POSTGRESQL, cat, db::connect, executor)
                .get(30, TimeUnit.SECONDS);
        assertThat(full.statements().get(0).settledBy()).isEqualTo(SettledBy.EXPLAIN);
        assertThat(full.categories()).contains(Category.DESTRUCTIVE);
        assertThat(full.findings()).anySatisfy(f -> assertThat(f.reason()).contains("app.big"));
    }

    @Test
    void explainLayerWithParametersUsesAGenericPlan() throws Exception {
        Catalog cat = load();
        String sql = "SELECT c.name FROM customers c WHERE c.id = $1 AND c.city IS NFC NORMALIZED";
        AnalysisResult full = analyzer.analyzeWithExplain(sql, Dialect.POSTGRESQL, cat, db::connect, executor)
                .get(30, TimeUnit.SECONDS);
        StatementAnalysis a = full.statements().get(0);
        assertThat(a.settledBy()).as("%s", a).isIn(SettledBy.EXPLAIN, SettledBy.CALCITE);
        assertThat(a.columnsRead()).contains("app.customers.name", "app.customers.city");
    }

    @Test
    void aStatementNamingAMissingRelationIsLeftToFailAtTheBackend() throws Exception {
        Catalog cat = load();
        String sql = "SELECT * FROM no_such_table";
        AnalysisResult full = analyzer.analyzeWithExplain(sql, Dialect.POSTGRESQL, cat, db::connect, executor)
                .get(30, TimeUnit.SECONDS);
        assertThat(full.categories()).as("%s", full).doesNotContain(Category.UNANALYSABLE);
        // an EXPLAIN that fails for another reason still holds the statement
        String notExplainable = "WITH x AS (DELETE FROM customers RETURNING email) SELECT * FROM x WHERE email ~ '('";
        AnalysisResult broken = analyzer.analyzeWithExplain(notExplainable, Dialect.POSTGRESQL, cat, db::connect, executor)
                .get(30, TimeUnit.SECONDS);
        assertThat(broken.categories()).isNotEmpty();
    }

    @Test
    void explainLayerRefusesUserFunctions() throws Exception {
        Catalog cat = load();
        String sql = "WITH x AS (UPDATE big SET v = v WHERE id = bump(1) RETURNING id) SELECT * FROM x";
        AnalysisResult full = analyzer.analyzeWithExplain(sql, Dialect.POSTGRESQL, cat, db::connect, executor)
                .get(30, TimeUnit.SECONDS);
        assertThat(full.categories()).contains(Category.UNANALYSABLE);
        assertThat(full.statements().get(0).findings().toString()).contains("bump");
    }

    @Test
    void explainLayerRefusesViewsThatCallUserFunctions() throws Exception {
        Catalog cat = load();
        String sql = "SELECT next FROM bumped WHERE id = 1 AND next IS NOT NULL AND 'x' IS NFC NORMALIZED";
        AnalysisResult sync = analyzer.analyze(sql, Dialect.POSTGRESQL, cat);
        assertThat(sync.categories()).contains(Category.UNANALYSABLE);
        AnalysisResult full = analyzer.analyzeWithExplain(sql, Dialect.POSTGRESQL, cat, db::connect, executor)
                .get(30, TimeUnit.SECONDS);
        assertThat(full.categories()).contains(Category.UNANALYSABLE);
        assertThat(full.findings().toString()).contains("reads a view that calls user-defined function bump");
    }

    @Test
    void wireCheckFindsAnUnpredictedSensitiveColumn() throws Exception {
        Catalog cat = load();
        StatementAnalysis predictedNothing = analyzer.analyze("SELECT id FROM customers WHERE id = 1", Dialect.POSTGRESQL, cat)
                .statements().get(0);
        List<ResultColumn> cols = new ArrayList<>();
        try (Connection c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, email FROM app.customers WHERE id = 1")) {
            ResultSetMetaData md = rs.getMetaData();
            org.postgresql.PGResultSetMetaData pg = md.unwrap(org.postgresql.PGResultSetMetaData.class);
            for (int i = 1; i <= md.getColumnCount(); i++) {
                int oid = pg.getBaseColumnName(i).isEmpty() ? 0 : tableOid(c, pg.getBaseSchemaName(i), pg.getBaseTableName(i));
                int attnum = attnum(c, oid, pg.getBaseColumnName(i));
                cols.add(new ResultColumn(md.getColumnLabel(i), oid, attnum, null, null, null));
            }
        }
        assertThat(analyzer.unpredictedSensitiveColumns(predictedNothing, cols, cat)).containsExactly("app.customers.email");
        StatementAnalysis predicted = analyzer.analyze("SELECT id, email FROM customers WHERE id = 1", Dialect.POSTGRESQL, cat)
                .statements().get(0);
        assertThat(analyzer.unpredictedSensitiveColumns(predicted, cols, cat)).isEmpty();
    }

    private static int tableOid(Connection c, String schema, String table) throws Exception {
        try (var ps = c.prepareStatement("SELECT (quote_ident(?) || '.' || quote_ident(?))::regclass::oid")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return (int) rs.getLong(1);
            }
        }
    }

    private static int attnum(Connection c, int oid, String column) throws Exception {
        try (var ps = c.prepareStatement("SELECT attnum FROM pg_attribute WHERE attrelid = ? AND attname = ?")) {
            ps.setLong(1, oid);
            ps.setString(2, column);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getInt(1) : 0;
            }
        }
    }

    @Test
    void catalogCacheRefreshesAfterDdl() throws Exception {
        try (CatalogCache cache = new CatalogCache(CatalogLoader.of(Dialect.POSTGRESQL, db::connect), executor, null, Duration.ofMinutes(5))) {
            Catalog first = cache.get().get(30, TimeUnit.SECONDS);
            assertThat(first.resolve(null, "later")).isNull();
            assertThat(cache.get().get(30, TimeUnit.SECONDS)).isSameAs(first);
            db.execute("CREATE TABLE app.later (id int, phone text)");
            cache.markStale();
            Catalog second = cache.get().get(30, TimeUnit.SECONDS);
            assertThat(second.version()).isGreaterThan(first.version());
            assertThat(second.resolve(null, "later")).isNotNull();
            assertThat(analyzer.analyze("SELECT phone FROM later", Dialect.POSTGRESQL, second).categories())
                    .contains(Category.SENSITIVE_READ);
            assertThat(analyzer.analyze("SELECT phone FROM later", Dialect.POSTGRESQL, first).categories())
                    .contains(Category.UNANALYSABLE);
        }
    }

    @Test
    void catalogLoadsAsynchronouslyOnTheGivenExecutor() throws Exception {
        Thread caller = Thread.currentThread();
        Catalog c = CatalogLoader.of(Dialect.POSTGRESQL, () -> {
            assertThat(Thread.currentThread()).isNotSameAs(caller);
            return db.connect();
        }).loadAsync(executor).get(30, TimeUnit.SECONDS);
        assertThat(c.tables()).isNotEmpty();
        assertThat(Map.of("db", c.database())).containsEntry("db", db.name());
    }
}
