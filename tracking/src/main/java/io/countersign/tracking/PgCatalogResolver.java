package io.countersign.tracking;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link ColumnResolver} over a snapshot of PostgreSQL's catalog (pg_class, pg_attribute,
 * pg_index). {@link #load} runs two queries and keeps the answers in memory, so lookups on the
 * event loop never touch the database. Reload after DDL (the server does it on its catalog refresh).
 */
public final class PgCatalogResolver implements ColumnResolver {

    private static final String COLUMNS = """
            SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname, a.atttypid
              FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
               AND a.attnum > 0 AND NOT a.attisdropped
               AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
            """;

    private static final String PRIMARY_KEYS = """
            SELECT n.nspname, c.relname, a.attname
              FROM pg_catalog.pg_index i
              JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
             WHERE i.indisprimary
               AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
             ORDER BY n.nspname, c.relname, k.ord
            """;

    /** Table OID and attribute number packed into one long: the lookup key. */
    private final Map<Long, CatalogColumn> columns;
    private final Map<String, List<String>> primaryKeys;
    private final Map<String, Integer> types;

    private PgCatalogResolver(Map<Long, CatalogColumn> columns, Map<String, List<String>> primaryKeys, Map<String, Integer> types) {
        this.columns = columns;
        this.primaryKeys = primaryKeys;
        this.types = types;
    }

    /** Reads the catalog of the database {@code connection} is connected to. Blocking: call off the event loop. */
    public static PgCatalogResolver load(Connection connection) throws SQLException {
        Map<Long, CatalogColumn> columns = new HashMap<>();
        Map<String, Integer> types = new HashMap<>();
        try (PreparedStatement ps = connection.prepareStatement(COLUMNS); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                long oid = rs.getLong(1);
                ColumnRef ref = new ColumnRef(rs.getString(2), rs.getString(3), rs.getString(5));
                int type = (int) rs.getLong(6);
                columns.put(key((int) oid, rs.getInt(4)), new CatalogColumn(ref, type));
                types.put(ref.toString(), type);
            }
        }
        Map<String, List<String>> keys = new HashMap<>();
        try (PreparedStatement ps = connection.prepareStatement(PRIMARY_KEYS); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                keys.computeIfAbsent(rs.getString(1) + "." + rs.getString(2), t -> new ArrayList<>()).add(rs.getString(3));
            }
        }
        keys.replaceAll((t, cols) -> List.copyOf(cols));
        return new PgCatalogResolver(Map.copyOf(columns), Map.copyOf(keys), Map.copyOf(types));
    }

    private static long key(int tableOid, int attnum) {
        return (Integer.toUnsignedLong(tableOid) << 16) | (attnum & 0xffffL);
    }

    @Override
    public Optional<CatalogColumn> column(int tableOid, int attnum) {
        if (tableOid == 0 || attnum <= 0) {
            return Optional.empty();
        }
        return Optional.ofNullable(columns.get(key(tableOid, attnum)));
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

    /** How many table columns the snapshot knows; for logs. */
    public int size() {
        return columns.size();
    }
}
