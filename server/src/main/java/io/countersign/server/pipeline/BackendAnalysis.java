package io.countersign.server.pipeline;

import io.countersign.analysis.Dialect;
import io.countersign.analysis.SqlAnalyzer;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.CatalogCache;
import io.countersign.analysis.catalog.CatalogLoader;
import io.countersign.server.config.BackendConfig;
import io.countersign.tracking.ColumnRef;
import io.countersign.tracking.ColumnResolver;
import io.countersign.tracking.TrackingSettings;
import io.countersign.tracking.UsageCounters;
import io.countersign.tracking.UsageTracker;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What Countersign knows about one backend: its catalog (read over Countersign's own side
 * connection, never an agent's), and the usage tracker whose column resolution follows that catalog.
 */
public final class BackendAnalysis implements AutoCloseable {

    private static final java.util.regex.Pattern MYSQL_INTEGER =
            java.util.regex.Pattern.compile("(?i)(tiny|small|medium|big)?int\\b");

    private final BackendConfig backend;
    private final Dialect dialect;
    private final CatalogCache catalogs;
    private final UsageTracker tracker;

    BackendAnalysis(BackendConfig backend, Dialect dialect, Executor io, ScheduledExecutorService scheduler,
                    Duration refresh, TrackingSettings tracking, UsageCounters counters) {
        this.backend = backend;
        this.dialect = dialect;
        this.catalogs = new CatalogCache(CatalogLoader.of(dialect, this::sideConnection), io, scheduler, refresh);
        this.tracker = new UsageTracker(new FollowingResolver(), tracking, counters);
    }

    public String name() {
        return backend.name();
    }

    public Dialect dialect() {
        return dialect;
    }

    public CatalogCache catalogs() {
        return catalogs;
    }

    public UsageTracker tracker() {
        return tracker;
    }

    /**
     * A fresh JDBC connection to the backend with Countersign's own credentials (blocking: never on
     * an event loop): pgjdbc for PostgreSQL, the MariaDB driver for MySQL and MariaDB backends.
     */
    public Connection sideConnection() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", backend.user());
        if (backend.password() != null) {
            p.setProperty("password", backend.password());
        }
        if (dialect == Dialect.MYSQL) {
            return DriverManager.getConnection(mysqlUrl(), p);
        }
        p.setProperty("ApplicationName", "countersign-analysis");
        p.setProperty("connectTimeout", "5");
        p.setProperty("sslmode", switch (backend.tls()) {
            case DISABLE -> "disable";
            case PREFER -> "prefer";
            case REQUIRE -> "require";
            case VERIFY_FULL -> "verify-full";
        });
        String url = "jdbc:postgresql://" + backend.host() + ":" + backend.port() + "/" + backend.database();
        return DriverManager.getConnection(url, p);
    }

    /** The MariaDB driver's URL; its own scheme, so DriverManager never hands it to MySQL Connector/J on the class path. */
    private String mysqlUrl() {
        String ssl = switch (backend.tls()) {
            case DISABLE -> "disable";
            // MariaDB's "trust" encrypts without checking the certificate, like sslmode=prefer/require
            case PREFER, REQUIRE -> "trust";
            case VERIFY_FULL -> "verify-full";
        };
        if (backend.viaSocket()) {
            // the driver's localSocket (through JNA) replaces the host; a socket carries no TLS
            return "jdbc:mariadb://localhost/" + backend.database() + "?localSocket=" + backend.socket()
                    + "&sslMode=disable&connectTimeout=5000&permitMysqlScheme=false"
                    + "&connectionAttributes=program_name:countersign-analysis";
        }
        return "jdbc:mariadb://" + backend.host() + ":" + backend.port() + "/" + backend.database()
                + "?sslMode=" + ssl + "&connectTimeout=5000&permitMysqlScheme=false"
                + "&connectionAttributes=program_name:countersign-analysis";
    }

    private final java.util.concurrent.atomic.AtomicLong lastSuspicion = new java.util.concurrent.atomic.AtomicLong();

    /**
     * A result named a known column differently from the catalog: a rename behind Countersign's back,
     * or just an alias. Refreshes the catalog, at most every 30 s, so aliases cost little.
     */
    public void suspectStale() {
        long now = System.nanoTime();
        long last = lastSuspicion.get();
        if ((last == 0 || now - last > 30_000_000_000L) && lastSuspicion.compareAndSet(last, now)) {
            catalogs.markStale();
        }
    }

    @Override
    public void close() {
        catalogs.close();
    }

    /** Resolves wire column ids through whichever catalog snapshot is current. */
    private final class FollowingResolver implements ColumnResolver {

        /** Every answer comes from the current catalog snapshot: what is derived from them lasts as long as it does. */
        @Override
        public Object snapshot() {
            return catalogs.current();
        }

        @Override
        public Optional<CatalogColumn> column(int tableOid, int attnum) {
            Catalog c = catalogs.current();
            if (c == null || tableOid == 0) {
                return Optional.empty();
            }
            long oid = tableOid & 0xffffffffL;
            var table = c.tableByOid(oid);
            var col = c.columnAt(oid, attnum);
            if (table == null || col == null) {
                return Optional.empty();
            }
            return Optional.of(new CatalogColumn(new ColumnRef(table.schema(), table.name(), col.name()),
                    dialect == Dialect.MYSQL ? 0 : pgTypeOid(col.type())));
        }

        /**
         * The type OID of a PostgreSQL key column, from the catalog's format_type text. Tracking needs it
         * to read a key whose format the session does not know (pgjdbc's extended protocol): without it
         * every such key is "uncertain" and the statement's key list is marked incomplete.
         */
        private static int pgTypeOid(String formatType) {
            if (formatType == null) {
                return 0;
            }
            String t = formatType.toLowerCase(java.util.Locale.ROOT);
            int paren = t.indexOf('(');
            return switch (paren < 0 ? t : t.substring(0, paren).strip()) {
                case "smallint" -> 21;
                case "integer" -> 23;
                case "bigint" -> 20;
                case "oid" -> 26;
                case "uuid" -> 2950;
                case "text" -> 25;
                case "character varying" -> 1043;
                case "character" -> 1042;
                case "name" -> 19;
                default -> 0;
            };
        }

        @Override
        public List<String> primaryKey(String qualifiedTable) {
            Catalog c = catalogs.current();
            int dot = qualifiedTable.indexOf('.');
            if (c == null || dot < 0) {
                return List.of();
            }
            var table = c.table(qualifiedTable.substring(0, dot), qualifiedTable.substring(dot + 1));
            return table == null ? List.of() : table.primaryKey();
        }

        /**
         * MySQL results carry no type OIDs, so integer key columns are named by the catalog: they
         * compare as PostgreSQL's int8 (OID 20) does, "007" and "7" being one key, as
         * tracking's MySqlCatalogResolver does. PostgreSQL keys keep their wire types.
         */
        @Override
        public int typeOf(String qualifiedTable, String column) {
            Catalog c = catalogs.current();
            int dot = qualifiedTable.indexOf('.');
            if (dialect != Dialect.MYSQL || c == null || dot < 0) {
                return 0;
            }
            var table = c.table(qualifiedTable.substring(0, dot), qualifiedTable.substring(dot + 1));
            var col = table == null ? null : table.column(column);
            return col != null && col.type() != null && MYSQL_INTEGER.matcher(col.type()).lookingAt() ? 20 : 0;
        }
    }
}
