package io.countersign.bench;

import io.countersign.analysis.AnalysisResult;
import io.countersign.analysis.AnalyzerConfig;
import io.countersign.analysis.Dialect;
import io.countersign.analysis.SettledBy;
import io.countersign.analysis.SqlAnalyzer;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.PostgresCatalogLoader;
import io.countersign.analysis.catalog.SensitiveColumns;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Executor;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Layer 4, reported separately: a statement Calcite cannot parse, settled by PostgreSQL's EXPLAIN on a side
 * connection (read-only transaction, statement timeout, live user-function check). Uncached. Needs the
 * PostgreSQL at -Dcountersign.bench.pg (default jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres);
 * creates and drops its own database.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class ExplainBenchmark {

    static final String SQL = "WITH gone AS (DELETE FROM customers WHERE id = 7 RETURNING email) SELECT * FROM gone";

    String admin;
    String url;
    String db;
    Catalog catalog;
    SqlAnalyzer analyzer;
    Connection side;
    final Executor direct = Runnable::run;

    @Setup
    public void setup() throws SQLException {
        admin = System.getProperty("countersign.bench.pg", "jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres");
        db = "cs_jmh_" + ProcessHandle.current().pid();
        url = admin.replaceFirst("/[^/?]+(\\?|$)", "/" + db + "$1");
        try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + db);
            s.execute("CREATE DATABASE " + db);
        }
        side = DriverManager.getConnection(url);
        try (Statement s = side.createStatement()) {
            s.execute("CREATE TABLE customers (id int PRIMARY KEY, name text, email text)");
        }
        catalog = PostgresCatalogLoader.load(side);
        analyzer = new SqlAnalyzer(AnalyzerConfig.defaults().withSensitive(SensitiveColumns.defaults()).withCacheSize(0));
        AnalysisResult r = explain();
        if (r.statements().get(0).settledBy() != SettledBy.EXPLAIN) {
            throw new IllegalStateException("not settled by EXPLAIN: " + r);
        }
    }

    @TearDown
    public void tearDown() throws SQLException {
        side.close();
        try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
        }
    }

    @Benchmark
    public AnalysisResult explainLayer() {
        return explain();
    }

    private AnalysisResult explain() {
        // the side connection stays open (the proxy keeps one per database); the supplier must not close it
        return analyzer.analyzeWithExplain(SQL, Dialect.POSTGRESQL, catalog, this::borrowed, direct).join();
    }

    private Connection borrowed() {
        return (Connection) java.lang.reflect.Proxy.newProxyInstance(Connection.class.getClassLoader(),
                new Class<?>[] {Connection.class}, (proxy, m, args) -> {
                    if (m.getName().equals("close")) {
                        return null;
                    }
                    try {
                        return m.invoke(side, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
