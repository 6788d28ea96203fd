package io.countersign.analysis.layer;

import io.countersign.analysis.Category;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.SensitiveColumns;
import io.countersign.analysis.catalog.Table;
import java.util.Set;

/** Turns resolved facts into findings: sensitive columns, unbounded reads of large tables, role adjustments. */
public final class Findings {

    private Findings() {}

    public static void sensitive(Draft d, SensitiveColumns sensitive) {
        for (String c : d.columnsRead) {
            if (c.endsWith(".*")) {
                continue;
            }
            String rule = sensitive.match(c);
            if (rule != null) {
                d.flag(Category.SENSITIVE_READ, "reads sensitive column " + c + " (" + rule + ")");
            }
        }
        for (String c : d.columnsWritten) {
            String rule = sensitive.match(c);
            if (rule != null) {
                d.flag(Category.SENSITIVE_WRITE, "writes sensitive column " + c + " (" + rule + ")");
            }
        }
    }

    /** EXPORT for every large table read without a bound. */
    public static void unbounded(Draft d, Catalog catalog, Set<String> unboundedTables, long largeTableRows) {
        for (String t : unboundedTables) {
            int dot = t.indexOf('.');
            Table table = dot < 0 ? null : catalog.table(t.substring(0, dot), t.substring(dot + 1));
            if (table != null && !table.isView() && table.rowEstimate() > largeTableRows) {
                d.flag(Category.EXPORT, "reads " + t + " (about " + String.format("%,d", table.rowEstimate())
                        + " rows) without a LIMIT of at most " + String.format("%,d", largeTableRows));
            }
        }
    }
}
