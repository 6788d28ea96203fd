package io.countersign.tracking;

import java.util.ArrayList;
import java.util.List;

/**
 * A report's answer: named columns and rows of values (String, Long, Double, Boolean, Instant or
 * null). Immutable, and small enough to render at once.
 */
public record ReportTable(String title, List<String> columns, List<List<Object>> rows) {

    public ReportTable {
        columns = List.copyOf(columns);
        List<List<Object>> copy = new ArrayList<>(rows.size());
        for (List<Object> r : rows) {
            if (r.size() != columns.size()) {
                throw new IllegalArgumentException("report row has " + r.size() + " values for " + columns.size() + " columns");
            }
            copy.add(java.util.Collections.unmodifiableList(new ArrayList<>(r)));
        }
        rows = List.copyOf(copy);
    }

    /** The value in {@code row} under {@code column}. */
    public Object get(int row, String column) {
        int i = columns.indexOf(column);
        if (i < 0) {
            throw new IllegalArgumentException("report '" + title + "' has no column '" + column + "'; it has " + columns);
        }
        return rows.get(row).get(i);
    }
}
