package io.countersign.analysis.catalog;

/**
 * A table or view column.
 *
 * @param name   column name as stored (PostgreSQL folds unquoted names to lower case)
 * @param attnum PostgreSQL attribute number (1-based), MySQL ordinal position
 * @param type   the backend's type name, informational
 */
public record Column(String name, int attnum, String type) {}
