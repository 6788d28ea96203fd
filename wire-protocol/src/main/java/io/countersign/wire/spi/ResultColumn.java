package io.countersign.wire.spi;

/**
 * A result column as the backend described it: PostgreSQL RowDescription gives table OID and
 * attribute number; MySQL column definitions give org_table and org_name (in {@code table}/{@code column}).
 *
 * @param name      the column's label in the result
 * @param tableOid  PostgreSQL table OID, 0 when not a plain table column or on MySQL
 * @param attnum    PostgreSQL attribute number, 0 when unknown
 * @param schema    MySQL schema of the originating table, or {@code null}
 * @param table     MySQL org_table, or {@code null}
 * @param column    MySQL org_name, or {@code null}
 */
public record ResultColumn(String name, int tableOid, int attnum, String schema, String table, String column) {}
