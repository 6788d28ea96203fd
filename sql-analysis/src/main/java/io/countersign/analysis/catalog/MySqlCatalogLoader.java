package io.countersign.analysis.catalog;

import io.countersign.analysis.Dialect;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a {@link Catalog} from MySQL/MariaDB information_schema, for every user schema; unqualified names
 * resolve in the connection's current database. Blocking JDBC: call it off the event loop.
 */
public final class MySqlCatalogLoader {

    private static final String USER_SCHEMAS = " NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys')";

    private MySqlCatalogLoader() {}

    public static Catalog load(Connection c) throws SQLException {
        Catalog.Builder b = Catalog.builder(Dialect.MYSQL);
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT DATABASE(), @@GLOBAL.sql_mode")) {
                rs.next();
                String db = rs.getString(1);
                String mode = String.valueOf(rs.getString(2)).toUpperCase(java.util.Locale.ROOT);
                // agents' sessions start from the global sql_mode; session changes to it are held by layer 1
                b.lexOptions(new io.countersign.analysis.lexer.SqlLexer.Options(
                        mode.contains("ANSI_QUOTES") || mode.matches("(^|.*,)ANSI(,.*|$)"),
                        !mode.contains("NO_BACKSLASH_ESCAPES")));
                if (db == null) {
                    throw new SQLException("the catalog connection has no current database; connect with a database name (jdbc:mariadb://host/db)");
                }
                b.database(db);
            }
            Map<String, List<Column>> cols = new HashMap<>();
            try (ResultSet rs = s.executeQuery("SELECT table_schema, table_name, column_name, ordinal_position, column_type"
                    + " FROM information_schema.columns WHERE table_schema" + USER_SCHEMAS
                    + " ORDER BY table_schema, table_name, ordinal_position")) {
                while (rs.next()) {
                    cols.computeIfAbsent(rs.getString(1) + "." + rs.getString(2), k -> new ArrayList<>())
                            .add(new Column(rs.getString(3), rs.getInt(4), rs.getString(5)));
                }
            }
            Map<String, List<String>> pks = new HashMap<>();
            try (ResultSet rs = s.executeQuery("SELECT table_schema, table_name, column_name FROM information_schema.key_column_usage"
                    + " WHERE constraint_name = 'PRIMARY' AND table_schema" + USER_SCHEMAS
                    + " ORDER BY table_schema, table_name, ordinal_position")) {
                while (rs.next()) {
                    pks.computeIfAbsent(rs.getString(1) + "." + rs.getString(2), k -> new ArrayList<>()).add(rs.getString(3));
                }
            }
            Map<String, String> views = new HashMap<>();
            try (ResultSet rs = s.executeQuery("SELECT table_schema, table_name, view_definition FROM information_schema.views"
                    + " WHERE table_schema" + USER_SCHEMAS)) {
                while (rs.next()) {
                    views.put(rs.getString(1) + "." + rs.getString(2), rs.getString(3));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT table_schema, table_name, table_type, table_rows FROM information_schema.tables"
                    + " WHERE table_schema" + USER_SCHEMAS)) {
                while (rs.next()) {
                    String key = rs.getString(1) + "." + rs.getString(2);
                    boolean view = "VIEW".equalsIgnoreCase(rs.getString(3));
                    long rows = rs.getLong(4);
                    if (rs.wasNull()) {
                        rows = -1;
                    }
                    b.table(new Table(rs.getString(1), rs.getString(2), view ? Table.Kind.VIEW : Table.Kind.TABLE,
                            cols.getOrDefault(key, List.of()), pks.getOrDefault(key, List.of()), rows, 0,
                            view ? views.get(key) : null));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT routine_schema, routine_name, COALESCE(external_language, routine_body),"
                    + " security_type FROM information_schema.routines WHERE routine_schema" + USER_SCHEMAS)) {
                while (rs.next()) {
                    b.function(new FunctionInfo(rs.getString(1), rs.getString(2), rs.getString(3),
                            "DEFINER".equalsIgnoreCase(rs.getString(4))));
                }
            }
        }
        return b.build();
    }
}
