package io.countersign.analysis.catalog;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A relation of the catalog.
 *
 * @param schema         schema (MySQL: database)
 * @param name           relation name
 * @param kind           what it is
 * @param columns        columns in attnum order
 * @param primaryKey     primary key column names, empty when none
 * @param rowEstimate    the planner's row estimate (pg_class.reltuples / information_schema.tables.table_rows), -1 unknown
 * @param oid            PostgreSQL pg_class OID, 0 on MySQL
 * @param viewDefinition the SELECT behind a view, else null
 */
public record Table(String schema, String name, Kind kind, List<Column> columns, List<String> primaryKey,
                    long rowEstimate, long oid, String viewDefinition) {

    public enum Kind { TABLE, VIEW, MATERIALIZED_VIEW, FOREIGN_TABLE, PARTITIONED_TABLE }

    public Table {
        columns = List.copyOf(columns);
        primaryKey = List.copyOf(primaryKey);
    }

    public String qualifiedName() {
        return schema + "." + name;
    }

    public boolean isView() {
        return kind == Kind.VIEW && viewDefinition != null;
    }

    /** Column by name, case-insensitively when no exact match (MySQL column names are case-insensitive). */
    public Column column(String columnName) {
        for (Column c : columns) {
            if (c.name().equals(columnName)) {
                return c;
            }
        }
        for (Column c : columns) {
            if (c.name().equalsIgnoreCase(columnName)) {
                return c;
            }
        }
        return null;
    }

    Map<String, Column> byLowerName() {
        return columns.stream().collect(Collectors.toMap(c -> c.name().toLowerCase(Locale.ROOT), Function.identity(), (a, b) -> a));
    }
}
