package io.countersign.analysis;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.countersign.analysis.calcite.CalciteLayer;
import io.countersign.analysis.calcite.Unresolvable;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.explain.ExplainLayer;
import io.countersign.analysis.layer.CatalogOnlyLayer;
import io.countersign.analysis.layer.Draft;
import io.countersign.analysis.layer.Findings;
import io.countersign.analysis.layer.LexerLayer;
import io.countersign.analysis.layer.LexerOutcome;
import io.countersign.analysis.lexer.Fingerprinter;
import io.countersign.analysis.lexer.LexedStatement;
import io.countersign.analysis.lexer.LexicalAnalyzer;
import io.countersign.analysis.lexer.LexicalFacts;
import io.countersign.analysis.lexer.QualifiedName;
import io.countersign.analysis.lexer.SqlLexException;
import io.countersign.analysis.lexer.SqlLexer;
import io.countersign.analysis.lexer.Token;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The public entry point: what each statement of a SQL string reads, writes, exports and grants.
 * Immutable and thread-safe; {@link #analyze} does no I/O and is safe on an event loop.
 *
 * <p>Layers: 1 lexer and kind, 2 Calcite resolution over the catalog, 3 catalog-only reads, 4 the database's
 * own EXPLAIN (asynchronous, {@link #analyzeWithExplain}), 5 UNANALYSABLE. Analyses are cached by
 * (dialect, catalog version, fingerprint); a cache hit still carries the statement's own text.
 */
public final class SqlAnalyzer {

    private static final Set<String> QUERY_KINDS = Set.of("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE");

    private final AnalyzerConfig config;
    private final AnalyzerStats stats = new AnalyzerStats();
    private final Cache<CacheKey, Cached> cache;

    private record CacheKey(Dialect dialect, long catalogVersion, String fingerprint) {}

    private record Cached(StatementAnalysis analysis, boolean pendingExplain) {}

    private record ExactKey(Dialect dialect, long catalogVersion, String sql) {}

    /**
     * Drivers resend the same text (placeholders, not literals) over and over: an exact-text hit skips even
     * lexing and fingerprinting. Only fully settled results are kept here.
     */
    private final Cache<ExactKey, AnalysisResult> exact;

    public SqlAnalyzer(AnalyzerConfig config) {
        this.config = config;
        // cacheSize 0 disables caching (benchmarks of the cold path). Maintenance runs on the caller's
        // thread: with the default executor every new literal woke a ForkJoinPool thread to tidy the
        // cache, a context switch per statement that cost more than the tidying itself.
        this.cache = config.cacheSize() == 0 ? null
                : Caffeine.newBuilder().maximumSize(config.cacheSize()).executor(Runnable::run).build();
        this.exact = config.cacheSize() == 0 ? null
                : Caffeine.newBuilder().maximumSize(Math.max(1, config.cacheSize() / 4)).executor(Runnable::run).build();
    }

    public SqlAnalyzer() {
        this(AnalyzerConfig.defaults());
    }

    public AnalyzerConfig config() {
        return config;
    }

    public AnalyzerStats stats() {
        return stats;
    }

    /** Layers 1, 2, 3 and 5, synchronously, without I/O. */
    public AnalysisResult analyze(String sql, Dialect dialect, Catalog catalog) {
        if (sql == null) {
            throw new IllegalArgumentException("sql must not be null");
        }
        if (catalog.dialect() != dialect) {
            throw new IllegalArgumentException("catalog is for " + catalog.dialect() + " but the statement is " + dialect);
        }
        ExactKey exactKey = exact == null ? null : new ExactKey(dialect, catalog.version(), sql);
        if (exactKey != null) {
            AnalysisResult hit = exact.getIfPresent(exactKey);
            if (hit != null) {
                for (StatementAnalysis a : hit.statements()) {
                    stats.hit();
                    stats.settled(a.settledBy());
                }
                return hit;
            }
        }
        List<LexedStatement> statements;
        try {
            statements = LexedStatement.split(sql, SqlLexer.tokenize(sql, dialect, catalog.lexOptions()));
        } catch (SqlLexException e) {
            StatementAnalysis a = unanalysable(sql, sql, "UNKNOWN", "the SQL cannot be tokenised: " + e.getMessage(), null);
            stats.settled(SettledBy.NONE);
            return new AnalysisResult(List.of(a), List.of(false));
        }
        List<StatementAnalysis> out = new ArrayList<>(statements.size());
        List<Boolean> pending = new ArrayList<>(statements.size());
        for (LexedStatement st : statements) {
            Cached c = analyzeCached(st, dialect, catalog);
            out.add(c.analysis());
            pending.add(c.pendingExplain());
        }
        AnalysisResult result = new AnalysisResult(out, pending);
        if (exactKey != null && !result.needsExplain()) {
            exact.put(exactKey, result);
        }
        return result;
    }

    /**
     * All layers: runs {@link #analyze}, then for statements that only the database's own parser can settle,
     * EXPLAIN on the proxy's side connection (never the agent's), off the caller's thread.
     *
     * @param sideConnection supplies a connection to the same database; it is closed after use
     * @param executor       where the blocking JDBC work runs
     */
    public CompletableFuture<AnalysisResult> analyzeWithExplain(String sql, Dialect dialect, Catalog catalog,
                                                                ConnectionSupplier sideConnection, Executor executor) {
        AnalysisResult first;
        try {
            first = analyze(sql, dialect, catalog);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (!first.needsExplain()) {
            return CompletableFuture.completedFuture(first);
        }
        return CompletableFuture.supplyAsync(() -> {
            List<StatementAnalysis> out = new ArrayList<>(first.statements());
            List<Boolean> pending = new ArrayList<>(first.pendingExplain());
            for (int i = 0; i < out.size(); i++) {
                if (!pending.get(i)) {
                    continue;
                }
                StatementAnalysis before = out.get(i);
                stats.explainRun();
                StatementAnalysis after = ExplainLayer.run(before, dialect, catalog, sideConnection, config);
                if (after.settledBy() != SettledBy.EXPLAIN) {
                    stats.explainFailure();
                }
                stats.settled(after.settledBy());
                if (cache != null && after.settledBy() == SettledBy.EXPLAIN) {
                    // only successes are cached: a failed EXPLAIN may be transient
                    cache.put(new CacheKey(dialect, catalog.version(), before.fingerprint()), new Cached(after, false));
                }
                out.set(i, after);
                pending.set(i, false);
            }
            return new AnalysisResult(out, pending);
        }, executor);
    }

    /** Analyses a prepared statement once, at Parse; binding parameter values does not change the result. */
    public PreparedAnalysis prepare(String sql, Dialect dialect, Catalog catalog) {
        return new PreparedAnalysis(sql, analyze(sql, dialect, catalog));
    }

    /**
     * Defence in depth on the wire: the sensitive columns a result carries (PostgreSQL RowDescription table
     * OID and attnum; MySQL org_table/org_name) that the analysis did not predict. Non-empty means: stop the
     * result before any row reaches the agent, audit it, and count an analysis miss.
     */
    public List<String> unpredictedSensitiveColumns(StatementAnalysis analysis, List<io.countersign.wire.spi.ResultColumn> columns,
                                                    Catalog catalog) {
        List<String> out = new ArrayList<>();
        for (io.countersign.wire.spi.ResultColumn rc : columns) {
            String qualified = null;
            if (rc.tableOid() != 0) {
                var table = catalog.tableByOid(rc.tableOid() & 0xffffffffL);
                var col = catalog.columnAt(rc.tableOid() & 0xffffffffL, rc.attnum());
                if (table != null && col != null) {
                    qualified = table.qualifiedName() + "." + col.name();
                }
            } else if (rc.table() != null && rc.column() != null && !rc.table().isEmpty()) {
                var table = catalog.resolve(rc.schema() == null || rc.schema().isEmpty() ? null : rc.schema(), rc.table());
                var col = table == null ? null : table.column(rc.column());
                if (col != null) {
                    qualified = table.qualifiedName() + "." + col.name();
                }
            }
            if (qualified != null && config.sensitive().match(qualified) != null
                    && !analysis.columnsRead().contains(qualified)) {
                out.add(qualified);
            }
        }
        return out;
    }

    /** A blocking supplier of the proxy's own connection to the backend. */
    @FunctionalInterface
    public interface ConnectionSupplier {
        Connection get() throws java.sql.SQLException;
    }

    // ------------------------------------------------------------------------------------------------

    private Cached analyzeCached(LexedStatement st, Dialect dialect, Catalog catalog) {
        String fp = Fingerprinter.fingerprint(st.tokens());
        CacheKey key = new CacheKey(dialect, catalog.version(), fp);
        Cached c = cache == null ? null : cache.getIfPresent(key);
        if (c != null) {
            stats.hit();
            stats.settled(c.analysis().settledBy());
            StatementAnalysis a = c.analysis();
            if (!a.sql().equals(st.sql())) {
                a = new StatementAnalysis(st.sql(), a.fingerprint(), a.kind(), a.tablesRead(), a.tablesWritten(),
                        a.columnsRead(), a.columnsWritten(), a.functions(), a.findings(), a.settledBy());
            }
            return new Cached(a, c.pendingExplain());
        }
        stats.miss();
        Cached fresh = analyzeStatement(st, fp, dialect, catalog, 0);
        stats.settled(fresh.analysis().settledBy());
        if (cache != null) {
            cache.put(key, fresh);
        }
        return fresh;
    }

    private Cached analyzeStatement(LexedStatement st, String fp, Dialect dialect, Catalog catalog, int nesting) {
        List<Token> tk = st.tokens();
        LexicalFacts facts;
        try {
            facts = LexicalAnalyzer.analyze(tk);
        } catch (RuntimeException e) {
            return new Cached(unanalysable(st.sql(), fp, "UNKNOWN", "the lexer failed: " + e.getMessage(), null), false);
        }
        Draft d = new Draft(facts.kind());
        LexerOutcome outcome = LexerLayer.run(st, facts, dialect, catalog, d);
        switch (outcome) {
            case LexerOutcome.Settled s -> {
                Findings.sensitive(d, config.sensitive());
                if (d.wholeTableCopy != null) {
                    Findings.unbounded(d, catalog, Set.of(d.wholeTableCopy), config.largeTableRows());
                }
                return new Cached(d.freeze(st.sql(), fp, SettledBy.LEXER), false);
            }
            case LexerOutcome.Nested nested -> {
                return nested(st, fp, nested.sql(), dialect, catalog, d, nesting);
            }
            case LexerOutcome.Unsettled u -> {
                if (CatalogOnlyLayer.settle(facts, st.tokens(), dialect, catalog, d) && !d.has(Category.SESSION_AUTH)
                        && QUERY_KINDS.contains(facts.kind())) {
                    return new Cached(d.freeze(st.sql(), fp, SettledBy.CATALOG_ONLY), false);
                }
                return new Cached(unanalysable(st.sql(), fp, facts.kind(), u.reason(), facts, d, catalog), false);
            }
            case LexerOutcome.Query q -> {
                return query(st, fp, q, facts, dialect, catalog, d);
            }
        }
    }

    private Cached query(LexedStatement st, String fp, LexerOutcome.Query q, LexicalFacts facts, Dialect dialect,
                         Catalog catalog, Draft d) {
        // Catalog reads (most driver and BI introspection) are settled by layer 3 before Calcite: equally
        // certain, and Calcite's parser backtracks heavily over their nested joins and derived tables
        String kindOfQuery = io.countersign.analysis.lexer.StatementKinds.classify(st.tokens().subList(q.from(), q.to()));
        if (kindOfQuery.equals("SELECT") && !d.has(Category.SESSION_AUTH)) {
            Draft catalogOnly = new Draft(d.kind);
            catalogOnly.mergeFrom(d);
            if (CatalogOnlyLayer.settle(facts, st.tokens(), dialect, catalog, catalogOnly)) {
                if (q.role().equals("explain")) {
                    roleAdjust(catalogOnly, "explain", new Draft(d.kind));
                }
                return new Cached(catalogOnly.freeze(st.sql(), fp, SettledBy.CATALOG_ONLY), false);
            }
        }
        Draft layer2 = new Draft(d.kind);
        String why;
        try {
            CalciteLayer.Shape shape = CalciteLayer.resolve(st.tokens(), q.from(), q.to(), dialect, catalog, layer2,
                    config.largeTableRows());
            Findings.sensitive(layer2, config.sensitive());
            boolean readsOut = switch (q.role()) {
                case "query", "cursor", "export", "prepare", "explain-analyze", "create-as" -> true;
                default -> false;
            };
            String innerKind = io.countersign.analysis.lexer.StatementKinds.classify(st.tokens().subList(q.from(), q.to()));
            if (readsOut && shape.unbounded() && innerKind.equals("SELECT")) {
                Findings.unbounded(layer2, catalog, shape.unboundedTables(), config.largeTableRows());
            }
            d.mergeFrom(layer2);
            roleAdjust(d, q.role(), layer2);
            if (innerKind.equals("SELECT") && !layer2.tablesWritten.isEmpty() && q.role().equals("query")) {
                // SELECT ... INTO new_table copies data like CREATE TABLE AS
                roleAdjust(d, "create-as", layer2);
            }
            return new Cached(d.freeze(st.sql(), fp, SettledBy.CALCITE), false);
        } catch (Unresolvable e) {
            why = e.getMessage();
        } catch (RuntimeException e) {
            why = "layer 2 failed: " + e;
        }
        String innerKind = io.countersign.analysis.lexer.StatementKinds.classify(st.tokens().subList(q.from(), q.to()));
        if (CatalogOnlyLayer.settle(facts, st.tokens(), dialect, catalog, d) && innerKind.equals("SELECT")
                && !d.has(Category.SESSION_AUTH)) {
            if (q.role().equals("explain")) {
                roleAdjust(d, "explain", new Draft(d.kind));
            }
            return new Cached(d.freeze(st.sql(), fp, SettledBy.CATALOG_ONLY), false);
        }
        boolean explainable = QUERY_KINDS.contains(innerKind) && !callsUserFunction(facts, catalog);
        StatementAnalysis u = unanalysable(st.sql(), fp, d.kind,
                (explainable ? "pending the database's EXPLAIN: " : "") + why, facts, d, catalog);
        return new Cached(u, explainable);
    }

    private static void roleAdjust(Draft d, String role, Draft inner) {
        switch (role) {
            case "explain" -> {
                // plain EXPLAIN plans but does not execute: it neither reads rows nor changes them
                d.drop(Category.SENSITIVE_READ);
                d.drop(Category.SENSITIVE_WRITE);
                d.drop(Category.DESTRUCTIVE);
                d.drop(Category.EXPORT);
            }
            case "create-as" -> {
                if (inner.has(Category.SENSITIVE_READ) || inner.has(Category.EXPORT)) {
                    d.flag(Category.EXPORT, "copies " + (inner.has(Category.SENSITIVE_READ) ? "sensitive" : "large")
                            + " data into a new table" + (d.tablesWritten.isEmpty() ? "" : " " + String.join(", ", d.tablesWritten)));
                }
            }
            default -> { }
        }
    }

    private static boolean callsUserFunction(LexicalFacts facts, Catalog catalog) {
        for (QualifiedName f : facts.functions()) {
            if (catalog.hasUserFunction(f.last())) {
                return true;
            }
        }
        return false;
    }

    private Cached nested(LexedStatement st, String fp, String innerSql, Dialect dialect, Catalog catalog, Draft d, int nesting) {
        if (nesting > 3) {
            return new Cached(unanalysable(st.sql(), fp, d.kind, "statements nested too deeply", null), false);
        }
        List<LexedStatement> inner;
        try {
            inner = LexedStatement.split(innerSql, SqlLexer.tokenize(innerSql, dialect, catalog.lexOptions()));
        } catch (SqlLexException e) {
            return new Cached(unanalysable(st.sql(), fp, d.kind, "the prepared text cannot be tokenised: " + e.getMessage(), null), false);
        }
        if (inner.size() != 1) {
            return new Cached(unanalysable(st.sql(), fp, d.kind, "the prepared text holds " + inner.size() + " statements", null), false);
        }
        LexedStatement is = inner.get(0);
        Cached c = analyzeStatement(is, Fingerprinter.fingerprint(is.tokens()), dialect, catalog, nesting + 1);
        StatementAnalysis a = c.analysis();
        Draft merged = new Draft(d.kind);
        merged.mergeFrom(d);
        merged.tablesRead.addAll(a.tablesRead());
        merged.tablesWritten.addAll(a.tablesWritten());
        merged.columnsRead.addAll(a.columnsRead());
        merged.columnsWritten.addAll(a.columnsWritten());
        merged.functions.addAll(a.functions());
        a.findings().forEach(f -> merged.flag(f.category(), f.reason()));
        return new Cached(merged.freeze(st.sql(), fp, a.settledBy()), false);
    }

    private StatementAnalysis unanalysable(String sql, String fp, String kind, String reason, LexicalFacts facts) {
        Draft d = new Draft(kind);
        d.flag(Category.UNANALYSABLE, reason + (facts == null ? "" : "; it names " + facts.identifiersForReview()));
        return d.freeze(sql, fp, SettledBy.NONE);
    }

    private StatementAnalysis unanalysable(String sql, String fp, String kind, String reason, LexicalFacts facts,
                                           Draft layer1, Catalog catalog) {
        Draft d = new Draft(kind);
        d.mergeFrom(layer1);
        for (QualifiedName q : facts.relations()) {
            d.tablesRead.add(LexerLayer.qualify(q, catalog));
        }
        for (QualifiedName f : facts.functions()) {
            d.functions.add(f.toString().toLowerCase(java.util.Locale.ROOT));
        }
        d.flag(Category.UNANALYSABLE, reason + "; it names " + facts.identifiersForReview());
        return d.freeze(sql, fp, SettledBy.NONE);
    }
}
