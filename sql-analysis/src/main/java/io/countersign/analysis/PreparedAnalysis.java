package io.countersign.analysis;

import java.util.List;

/**
 * A statement analysed at Parse time. Binding adds parameter values but never changes what the statement
 * reads or writes: placeholders are treated as unknown values during analysis (a parameterised LIMIT is
 * unbounded, a parameterised set_config name is SESSION_AUTH), so the analysis holds for every binding.
 *
 * @param sql      the prepared text
 * @param analysis its analysis
 */
public record PreparedAnalysis(String sql, AnalysisResult analysis) {

    /** The analysis for one execution with these parameter values (as text, null for SQL NULL). */
    public AnalysisResult bind(List<String> parameterValues) {
        return analysis;
    }
}
