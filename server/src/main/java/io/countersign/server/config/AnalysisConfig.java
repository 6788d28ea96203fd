package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.countersign.analysis.AnalyzerConfig;
import io.countersign.analysis.catalog.SensitiveColumns;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What the analysis treats as sensitive or large.
 *
 * @param sensitiveColumns  {@code schema.table.column} patterns (globs) that are sensitive
 * @param sensitiveTags     tag name to column-name patterns (e.g. {@code pii: [email, phone]}); absent means the built-in tags
 * @param largeTableRows    row estimate above which an unbounded read is an EXPORT (default 10,000)
 * @param catalogRefreshSeconds how often each backend's catalog is re-read (default 300; DDL through the proxy refreshes at once)
 */
public record AnalysisConfig(
        @JsonProperty("sensitive-columns") List<String> sensitiveColumns,
        @JsonProperty("sensitive-tags") Map<String, List<String>> sensitiveTags,
        @JsonProperty("large-table-rows") Long largeTableRows,
        @JsonProperty("catalog-refresh-seconds") Integer catalogRefreshSeconds) implements ConfigSection {

    public static final AnalysisConfig DEFAULT = new AnalysisConfig(null, null, null, null);

    public AnalysisConfig {
        sensitiveColumns = ConfigLists.copy(sensitiveColumns);
        largeTableRows = largeTableRows == null ? 10_000L : largeTableRows;
        catalogRefreshSeconds = catalogRefreshSeconds == null ? 300 : catalogRefreshSeconds;
    }

    public SensitiveColumns sensitive() {
        return SensitiveColumns.of(sensitiveColumns, sensitiveTags == null ? SensitiveColumns.DEFAULT_TAGS : sensitiveTags);
    }

    public AnalyzerConfig analyzerConfig() {
        return AnalyzerConfig.defaults().withSensitive(sensitive()).withLargeTableRows(largeTableRows);
    }

    public Duration catalogRefresh() {
        return Duration.ofSeconds(catalogRefreshSeconds);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        try {
            sensitive();
        } catch (IllegalArgumentException e) {
            problems.add(Problems.join(at, "sensitive-columns"), e.getMessage());
        }
        if (largeTableRows < 0) {
            problems.add(Problems.join(at, "large-table-rows"), largeTableRows + " is negative; expected a row count such as 10000");
        }
        if (catalogRefreshSeconds < 1) {
            problems.add(Problems.join(at, "catalog-refresh-seconds"), catalogRefreshSeconds + " is too small; expected seconds, at least 1");
        }
    }
}
