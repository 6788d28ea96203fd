package io.countersign.bench;

import io.countersign.analysis.AnalysisResult;
import io.countersign.analysis.AnalyzerConfig;
import io.countersign.analysis.Dialect;
import io.countersign.analysis.SqlAnalyzer;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.SensitiveColumns;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Layers 1-3 and 5 of the analysis, cold (cache disabled: lex, fingerprint, classify, normalise, parse with
 * Calcite, resolve over the catalog) and cached (lex + fingerprint + cache hit).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AnalysisBenchmark {

    static final String JOIN = "SELECT c.name, o.id, o.amount, p.name AS product FROM customers c"
            + " JOIN orders o ON o.customer_id = c.id JOIN products p ON p.id = o.product_id"
            + " WHERE o.created_at > $1 AND c.city = $2 ORDER BY o.created_at DESC LIMIT 50";

    /** pgjdbc's DatabaseMetaData.getPrimaryKeys query, as the driver sends it (settled by the catalog-only layer). */
    static final String DRIVER_CATALOG = "SELECT        result.TABLE_CAT AS \"TABLE_CAT\",        result.TABLE_SCHEM AS \"TABLE_SCHEM\","
            + "        result.TABLE_NAME AS \"TABLE_NAME\",        result.COLUMN_NAME AS \"COLUMN_NAME\",        result.KEY_SEQ AS \"KEY_SEQ\","
            + "        result.PK_NAME AS \"PK_NAME\"FROM      (SELECT current_database() AS TABLE_CAT, n.nspname AS TABLE_SCHEM,"
            + "   ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME,   (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ,"
            + " ci.relname AS PK_NAME,   information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM,"
            + " i.indnkeyatts as KEY_COUNT FROM pg_catalog.pg_class ct   JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)"
            + "   JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)   JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid)"
            + "   JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE true  AND n.nspname = $1 AND ct.relname = $2"
            + " AND i.indisprimary  ) result where  result.A_ATTNUM = (result.KEYS).x AND result.KEY_SEQ <= KEY_COUNT"
            + "  ORDER BY result.table_name, result.pk_name, result.key_seq";

    /** Adds a harmless reference to a user table so layer 3 does not apply and Calcite must resolve it. */
    static final String DRIVER_VIA_CALCITE = DRIVER_CATALOG.replace("WHERE true  AND", "WHERE true AND NOT EXISTS (SELECT 1 FROM products WHERE products.id = 0) AND");

    static final String JOIN_LITERALS = "SELECT c.name, o.id, o.amount, p.name AS product FROM customers c"
            + " JOIN orders o ON o.customer_id = c.id JOIN products p ON p.id = o.product_id"
            + " WHERE o.created_at > '2024-01-01' AND c.city = 'city";

    static final byte[] JOIN_BYTES = JOIN.getBytes(StandardCharsets.UTF_8);
    static final byte[] DRIVER_BYTES = DRIVER_CATALOG.getBytes(StandardCharsets.UTF_8);

    int counter;
    Catalog catalog;
    SqlAnalyzer cold;
    SqlAnalyzer cached;

    @Setup
    public void setup() {
        catalog = Catalog.builder(Dialect.POSTGRESQL).database("shop")
                .table("public", "customers", 5_000, List.of("id"), "id", "name", "email", "phone", "ssn", "city", "created_at")
                .table("public", "orders", 2_000_000, List.of("id"), "id", "customer_id", "product_id", "amount", "status", "created_at")
                .table("public", "products", 300, List.of("id"), "id", "name", "price", "category")
                .build();
        AnalyzerConfig config = AnalyzerConfig.defaults().withSensitive(SensitiveColumns.defaults());
        cold = new SqlAnalyzer(config.withCacheSize(0));
        cached = new SqlAnalyzer(config);
        check(cold.analyze(JOIN, Dialect.POSTGRESQL, catalog), "CALCITE");
        check(cold.analyze(DRIVER_CATALOG, Dialect.POSTGRESQL, catalog), "CATALOG_ONLY");
        check(cold.analyze(DRIVER_VIA_CALCITE, Dialect.POSTGRESQL, catalog), "CALCITE");
        cached.analyze(JOIN, Dialect.POSTGRESQL, catalog);
        cached.analyze(DRIVER_CATALOG, Dialect.POSTGRESQL, catalog);
        check(cached.analyze(JOIN_LITERALS + "x' ORDER BY o.created_at DESC LIMIT 50", Dialect.POSTGRESQL, catalog), "CALCITE");
    }

    private static void check(AnalysisResult r, String layer) {
        if (!r.isSafe() || !r.statements().get(0).settledBy().name().equals(layer)) {
            throw new IllegalStateException("benchmark statement is not analysed as expected: " + r);
        }
    }

    @Benchmark
    public AnalysisResult threeTableJoinCold() {
        return cold.analyze(JOIN, Dialect.POSTGRESQL, catalog);
    }

    /** The same text as the driver resends it: decoded from wire bytes into a fresh String each time. */
    @Benchmark
    public AnalysisResult threeTableJoinCached() {
        return cached.analyze(new String(JOIN_BYTES, StandardCharsets.UTF_8), Dialect.POSTGRESQL, catalog);
    }

    /** Literals differ on every call: the fingerprint cache path (lex, fingerprint, hit, copy with own text). */
    @Benchmark
    public AnalysisResult threeTableJoinCachedNewLiterals() {
        String sql = JOIN_LITERALS + (counter++ & 0xffff) + "' ORDER BY o.created_at DESC LIMIT 50";
        return cached.analyze(sql, Dialect.POSTGRESQL, catalog);
    }

    @Benchmark
    public AnalysisResult driverCatalogQueryCold() {
        return cold.analyze(DRIVER_CATALOG, Dialect.POSTGRESQL, catalog);
    }

    /** The same driver query through Calcite, as if it named a user table: the parser's worst case here. */
    @Benchmark
    public AnalysisResult driverCatalogQueryThroughCalcite() {
        return cold.analyze(DRIVER_VIA_CALCITE, Dialect.POSTGRESQL, catalog);
    }

    @Benchmark
    public AnalysisResult driverCatalogQueryCached() {
        return cached.analyze(new String(DRIVER_BYTES, StandardCharsets.UTF_8), Dialect.POSTGRESQL, catalog);
    }
}
