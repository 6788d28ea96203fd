package io.countersign.tracking;

import java.util.Objects;

/**
 * A column of a table, as the catalog names it. Rendered {@code schema.table.column}, the form
 * {@link io.countersign.analysis.StatementAnalysis} uses.
 */
public record ColumnRef(String schema, String table, String column) {

    public ColumnRef {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(column, "column");
    }

    /** {@code schema.table}, the key of per-table data. */
    public String qualifiedTable() {
        return schema + "." + table;
    }

    @Override
    public String toString() {
        return schema + "." + table + "." + column;
    }
}
