package io.countersign.tracking;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link ColumnResolver} for MySQL and MariaDB over a snapshot of information_schema: primary keys
 * per {@code schema.table} and integer column types. MySQL results name their columns themselves
 * (org_table, org_name), so {@link #column} has nothing to resolve. Blocking load, in-memory lookups.
 */
public final class MySqlCatalogResolver implements ColumnResolver {

    private static final String KEYS = """
            SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME, c.DATA_TYPE
              FROM information_schema.KEY_COLUMN_USAGE k
              JOIN information_schema.COLUMNS c
                ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME
             WHERE k.CONSTRAINT_NAME = 'PRIMARY'
               AND k.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
             ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.ORDINAL_POSITION
            """;

    private final Map<String, List<String>> primaryKeys;
    private final Map<String, Integer> types;

    private MySqlCatalogResolver(Map<String, List<String>> primaryKeys, Map<String, Integer> types) {
        this.primaryKeys = primaryKeys;
        this.types = types;
    }

    /** Reads every user schema's primary keys. Blocking: call off the event loop. */
    public static MySqlCatalogResolver load(Connection connection) throws SQLException {
        Map<String, List<String>> keys = new HashMap<>();
        Map<String, Integer> types = new HashMap<>();
        try (PreparedStatement ps = connection.prepareStatement(KEYS); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String table = rs.getString(1) + "." + rs.getString(2);
                keys.computeIfAbsent(table, t -> new ArrayList<>()).add(rs.getString(3));
                // Integer keys are normalised like PostgreSQL's int8 ("007" and "7" are one key); the rest compare as text.
                String type = rs.getString(4).toLowerCase(Locale.ROOT);
                if (type.endsWith("int")) {
                    types.put(table + "." + rs.getString(3), KeyValues.INT8);
                }
            }
        }
        keys.replaceAll((t, cols) -> List.copyOf(cols));
        return new MySqlCatalogResolver(Map.copyOf(keys), Map.copyOf(types));
    }

    @Override
    public Optional<CatalogColumn> column(int tableOid, int attnum) {
        return Optional.empty();
    }

    /** Loaded once and never changed: the resolver is its own snapshot. */
    @Override
    public Object snapshot() {
        return this;
    }

    @Override
    public List<String> primaryKey(String qualifiedTable) {
        return primaryKeys.getOrDefault(qualifiedTable, List.of());
    }

    @Override
    public int typeOf(String qualifiedTable, String column) {
        return types.getOrDefault(qualifiedTable + "." + column, 0);
    }
}
