package io.countersign.analysis.catalog;

import io.countersign.analysis.Dialect;
import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Loads a {@link Catalog} from PostgreSQL's pg_catalog. Blocking JDBC: call it off the event loop. */
public final class PostgresCatalogLoader {

    private static final String USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema')"
            + " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

    private PostgresCatalogLoader() {}

    public static Catalog load(Connection c) throws SQLException {
        Catalog.Builder b = Catalog.builder(Dialect.POSTGRESQL);
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT current_database(), current_schemas(true),"
                    + " current_setting('standard_conforming_strings')")) {
                rs.next();
                b.database(rs.getString(1));
                b.lexOptions(new io.countersign.analysis.lexer.SqlLexer.Options(false, !"on".equals(rs.getString(3))));
                Array path = rs.getArray(2);
                List<String> sp = new ArrayList<>();
                for (Object o : (Object[]) path.getArray()) {
                    sp.add(o.toString());
                }
                if (!sp.contains("pg_catalog")) {
                    sp.add(0, "pg_catalog");
                }
                b.searchPath(sp);
            }
            record Rel(long oid, String schema, String name, char kind, long rows, String viewDef) {}
            Map<Long, Rel> rels = new LinkedHashMap<>();
            try (ResultSet rs = s.executeQuery(
                    "SELECT c.oid, n.nspname, c.relname, c.relkind,"
                            + " CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint"
                            // never analysed: estimate from the relation size rather than report it small
                            + " ELSE (pg_catalog.pg_relation_size(c.oid) / 64)::bigint END,"
                            + " CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END"
                            + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                            + " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND " + USER_SCHEMAS)) {
                while (rs.next()) {
                    rels.put(rs.getLong(1), new Rel(rs.getLong(1), rs.getString(2), rs.getString(3),
                            rs.getString(4).charAt(0), rs.getLong(5), rs.getString(6)));
                }
            }
            Map<Long, List<Column>> cols = new HashMap<>();
            try (ResultSet rs = s.executeQuery(
                    "SELECT a.attrelid, a.attname, a.attnum, pg_catalog.format_type(a.atttypid, a.atttypmod)"
                            + " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
                            + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                            + " WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND "
                            + USER_SCHEMAS + " ORDER BY a.attrelid, a.attnum")) {
                while (rs.next()) {
                    cols.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>())
                            .add(new Column(rs.getString(2), rs.getInt(3), rs.getString(4)));
                }
            }
            Map<Long, List<String>> pks = new HashMap<>();
            try (ResultSet rs = s.executeQuery(
                    "SELECT i.indrelid, a.attname FROM pg_catalog.pg_index i"
                            + " JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
                            + " WHERE i.indisprimary ORDER BY i.indrelid, array_position(i.indkey::int2[], a.attnum)")) {
                while (rs.next()) {
                    pks.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getString(2));
                }
            }
            for (Rel r : rels.values()) {
                Table.Kind kind = switch (r.kind()) {
                    case 'v' -> Table.Kind.VIEW;
                    case 'm' -> Table.Kind.MATERIALIZED_VIEW;
                    case 'f' -> Table.Kind.FOREIGN_TABLE;
                    case 'p' -> Table.Kind.PARTITIONED_TABLE;
                    default -> Table.Kind.TABLE;
                };
                b.table(new Table(r.schema(), r.name(), kind, cols.getOrDefault(r.oid(), List.of()),
                        pks.getOrDefault(r.oid(), List.of()), r.rows(), r.oid(), r.viewDef()));
            }
            try (ResultSet rs = s.executeQuery(
                    "SELECT n.nspname, p.proname, l.lanname, p.prosecdef FROM pg_catalog.pg_proc p"
                            + " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
                            + " JOIN pg_catalog.pg_language l ON l.oid = p.prolang WHERE " + USER_SCHEMAS)) {
                while (rs.next()) {
                    b.function(new FunctionInfo(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4)));
                }
            }
        }
        return b.build();
    }
}
