package io.countersign.analysis.catalog;

import io.countersign.analysis.Dialect;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An immutable snapshot of one backend database's catalog. Every snapshot gets a process-wide unique
 * {@link #version()}, so analyses cached for one snapshot never serve another (or another database).
 */
public final class Catalog {

    private static final AtomicLong VERSIONS = new AtomicLong();

    private static final Set<String> PG_SYSTEM = Set.of("pg_catalog", "information_schema");
    private static final Set<String> MYSQL_SYSTEM = Set.of("information_schema", "mysql", "performance_schema", "sys");

    private final long version;
    private final Dialect dialect;
    private final String database;
    private final List<String> searchPath;
    private final Map<String, Table> tables;
    private final Map<Long, Table> byOid;
    private final Map<String, List<FunctionInfo>> functions;
    private final Set<String> schemas;
    private final Set<String> relationNames;
    private final io.countersign.analysis.lexer.SqlLexer.Options lexOptions;

    private Catalog(Dialect dialect, String database, List<String> searchPath, List<Table> tableList,
                    List<FunctionInfo> functionList, io.countersign.analysis.lexer.SqlLexer.Options lexOptions) {
        this.lexOptions = lexOptions;
        this.version = VERSIONS.incrementAndGet();
        this.dialect = dialect;
        this.database = database;
        this.searchPath = List.copyOf(searchPath);
        Map<String, Table> t = new HashMap<>();
        Map<Long, Table> o = new HashMap<>();
        java.util.HashSet<String> s = new java.util.HashSet<>();
        for (Table table : tableList) {
            t.put(key(table.schema(), table.name()), table);
            if (table.oid() != 0) {
                o.put(table.oid(), table);
            }
            s.add(table.schema().toLowerCase(Locale.ROOT));
        }
        Map<String, List<FunctionInfo>> f = new HashMap<>();
        for (FunctionInfo fn : functionList) {
            f.computeIfAbsent(fn.name().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(fn);
            s.add(fn.schema().toLowerCase(Locale.ROOT));
        }
        f.replaceAll((k, v) -> List.copyOf(v));
        this.tables = Map.copyOf(t);
        this.byOid = Map.copyOf(o);
        this.functions = Map.copyOf(f);
        this.schemas = Set.copyOf(s);
        java.util.HashSet<String> names = new java.util.HashSet<>();
        tableList.forEach(tb -> names.add(tb.name().toLowerCase(Locale.ROOT)));
        this.relationNames = Set.copyOf(names);
    }

    /** How the server tokenises SQL (sql_mode / standard_conforming_strings at load time). */
    public io.countersign.analysis.lexer.SqlLexer.Options lexOptions() {
        return lexOptions;
    }

    /** Whether any user schema has a relation with this name (it could shadow a system relation). */
    public boolean hasRelationNamed(String name) {
        return relationNames.contains(name.toLowerCase(Locale.ROOT));
    }

    public static Builder builder(Dialect dialect) {
        return new Builder(dialect);
    }

    public static Catalog empty(Dialect dialect) {
        return builder(dialect).build();
    }

    private static String key(String schema, String name) {
        return schema.toLowerCase(Locale.ROOT) + "." + name.toLowerCase(Locale.ROOT);
    }

    public long version() { return version; }
    public Dialect dialect() { return dialect; }
    /** The database this catalog describes (MySQL: the default schema for unqualified names). */
    public String database() { return database; }
    public List<String> searchPath() { return searchPath; }
    public java.util.Collection<Table> tables() { return tables.values(); }
    public Set<String> schemas() { return schemas; }

    public boolean isSystemSchema(String schema) {
        String s = schema.toLowerCase(Locale.ROOT);
        return dialect == Dialect.POSTGRESQL ? PG_SYSTEM.contains(s) || s.startsWith("pg_toast") : MYSQL_SYSTEM.contains(s);
    }

    /** A relation by schema and name; lookup is case-insensitive, since names were folded when lexed. */
    public Table table(String schema, String name) {
        return tables.get(key(schema, name));
    }

    /** Resolves an unqualified name through the search path (MySQL: the current database). */
    public Table resolve(String schemaOrNull, String name) {
        if (schemaOrNull != null) {
            return table(schemaOrNull, name);
        }
        for (String s : searchPath) {
            Table t = table(s, name);
            if (t != null) {
                return t;
            }
        }
        return null;
    }

    /** For the wire check: the table behind a RowDescription's table OID. */
    public Table tableByOid(long oid) {
        return byOid.get(oid);
    }

    /** For the wire check: the column behind (table OID, attnum), or null. */
    public Column columnAt(long oid, int attnum) {
        Table t = byOid.get(oid);
        if (t == null) {
            return null;
        }
        for (Column c : t.columns()) {
            if (c.attnum() == attnum) {
                return c;
            }
        }
        return null;
    }

    /** User-defined functions with this name, in any schema. */
    public List<FunctionInfo> userFunctions(String name) {
        return functions.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }

    public boolean hasUserFunction(String name) {
        return functions.containsKey(name.toLowerCase(Locale.ROOT));
    }

    @Override
    public String toString() {
        return "Catalog[" + dialect + " " + database + " v" + version + ", " + tables.size() + " relations, "
                + functions.size() + " function names]";
    }

    public static final class Builder {
        private final Dialect dialect;
        private String database = "";
        private List<String> searchPath;
        private final List<Table> tables = new ArrayList<>();
        private final List<FunctionInfo> functions = new ArrayList<>();
        private io.countersign.analysis.lexer.SqlLexer.Options lexOptions;

        private Builder(Dialect dialect) {
            this.lexOptions = io.countersign.analysis.lexer.SqlLexer.Options.defaults(dialect);
            this.dialect = dialect;
            this.searchPath = dialect == Dialect.POSTGRESQL ? List.of("pg_catalog", "public") : List.of();
        }

        public Builder database(String name) {
            this.database = name;
            if (dialect == Dialect.MYSQL) {
                this.searchPath = List.of(name);
            }
            return this;
        }

        public Builder searchPath(List<String> path) {
            this.searchPath = List.copyOf(path);
            return this;
        }

        public Builder table(Table t) {
            tables.add(t);
            return this;
        }

        /** Convenience for tests and config: a plain table with columns named in order. */
        public Builder table(String schema, String name, long rowEstimate, List<String> primaryKey, String... columns) {
            List<Column> cols = new ArrayList<>();
            for (int i = 0; i < columns.length; i++) {
                cols.add(new Column(columns[i], i + 1, "unknown"));
            }
            tables.add(new Table(schema, name, Table.Kind.TABLE, cols, primaryKey, rowEstimate, 0, null));
            return this;
        }

        public Builder view(String schema, String name, String definition, String... columns) {
            List<Column> cols = new ArrayList<>();
            for (int i = 0; i < columns.length; i++) {
                cols.add(new Column(columns[i], i + 1, "unknown"));
            }
            tables.add(new Table(schema, name, Table.Kind.VIEW, cols, List.of(), -1, 0, definition));
            return this;
        }

        public Builder function(FunctionInfo f) {
            functions.add(f);
            return this;
        }

        public Builder lexOptions(io.countersign.analysis.lexer.SqlLexer.Options options) {
            this.lexOptions = options;
            return this;
        }

        public Catalog build() {
            return new Catalog(dialect, database, searchPath, tables, functions, lexOptions);
        }
    }
}
