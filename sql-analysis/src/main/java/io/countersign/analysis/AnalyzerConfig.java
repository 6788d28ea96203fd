package io.countersign.analysis;

import io.countersign.analysis.catalog.SensitiveColumns;
import java.time.Duration;

/**
 * Settings of a {@link SqlAnalyzer}.
 *
 * @param sensitive       which columns are sensitive
 * @param largeTableRows  row estimate above which an unbounded read is an EXPORT (default 10,000)
 * @param cacheSize       maximum cached statement analyses
 * @param explainTimeout  statement_timeout for the EXPLAIN layer
 */
public record AnalyzerConfig(SensitiveColumns sensitive, long largeTableRows, long cacheSize, Duration explainTimeout) {

    public AnalyzerConfig {
        if (sensitive == null) {
            throw new IllegalArgumentException("sensitive columns must be given (use SensitiveColumns.defaults() or none())");
        }
        if (largeTableRows < 0) {
            throw new IllegalArgumentException("largeTableRows must be >= 0, was " + largeTableRows);
        }
        if (cacheSize < 0) {
            throw new IllegalArgumentException("cacheSize must be >= 0, was " + cacheSize);
        }
        if (explainTimeout == null || explainTimeout.isNegative() || explainTimeout.isZero()) {
            throw new IllegalArgumentException("explainTimeout must be positive, e.g. PT2S");
        }
    }

    public static AnalyzerConfig defaults() {
        return new AnalyzerConfig(SensitiveColumns.defaults(), 10_000, 50_000, Duration.ofSeconds(2));
    }

    public AnalyzerConfig withSensitive(SensitiveColumns s) {
        return new AnalyzerConfig(s, largeTableRows, cacheSize, explainTimeout);
    }

    /** 0 disables the cache. */
    public AnalyzerConfig withCacheSize(long size) {
        return new AnalyzerConfig(sensitive, largeTableRows, size, explainTimeout);
    }

    public AnalyzerConfig withLargeTableRows(long rows) {
        return new AnalyzerConfig(sensitive, rows, cacheSize, explainTimeout);
    }
}
