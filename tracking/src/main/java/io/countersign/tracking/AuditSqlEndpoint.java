package io.countersign.tracking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.wire.spi.LocalDatabase;
import io.countersign.wire.spi.ProtocolError;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The read-only {@code countersign_audit} database: each analyst session gets its own in-memory
 * DuckDB with the {@link AuditViews} over the audit's Parquet files, and nothing else.
 *
 * <p>Read-only, three ways: a statement must parse as a query (DuckDB's own parser, through
 * {@code json_serialize_sql}, which serialises SELECT statements only, so INSERT, CREATE, COPY,
 * ATTACH, INSTALL, PRAGMA and SET are refused with 25006 before they run); the database may touch no
 * file but the audit's {@code statements/} and {@code approvals/} directories
 * ({@code enable_external_access=false} with {@code allowed_directories}, so {@code read_text('/etc/passwd')}
 * or {@code read_parquet} elsewhere fail with 42501); and its configuration is locked. The few
 * {@code SET}s that PostgreSQL drivers send at connect ({@code extra_float_digits},
 * {@code application_name}, ...) and {@code BEGIN/COMMIT/ROLLBACK} are answered without touching
 * DuckDB.
 *
 * <p>Queries run on a small bounded pool, never on the listener's event loop; results are capped at
 * {@code maxRows} (an error, not a silent cut, past it).
 */
public final class AuditSqlEndpoint implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuditSqlEndpoint.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String DEFAULT_DATABASE = "countersign_audit";
    public static final int DEFAULT_MAX_ROWS = 100_000;

    private static final Pattern TRANSACTION = Pattern.compile(
            "(?is)\\s*(begin|start\\s+transaction|commit|end|rollback|abort)(\\s+(work|transaction))?(\\s+read\\s+only|\\s+isolation\\s+level\\s+[a-z ]+)?\\s*;?\\s*");
    private static final Pattern SET = Pattern.compile("(?is)\\s*set\\s+(session\\s+|local\\s+)?([a-z_]+)\\s*(=|\\s+to\\s+|\\s+)([^;]*);?\\s*");
    /** Session settings drivers send at connect; accepted and ignored, since the endpoint's output settings are fixed. */
    private static final Set<String> CLIENT_SETTINGS = Set.of("extra_float_digits", "application_name", "client_encoding",
            "datestyle", "intervalstyle", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "search_path");
    private static final Pattern EXPLAIN = Pattern.compile("(?is)\\s*explain(\\s+analy[sz]e)?\\s+(.*)");
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    private final Path auditDir;
    private final int maxRows;
    private final ThreadPoolExecutor pool;

    /**
     * @param auditDir the audit directory (holds {@code statements/} and {@code approvals/})
     * @param threads  queries that may run at once (each session's DuckDB also uses one thread)
     * @param maxRows  most rows one result may have
     */
    public AuditSqlEndpoint(Path auditDir, int threads, int maxRows) {
        this.auditDir = auditDir.toAbsolutePath().normalize();
        this.maxRows = maxRows;
        this.pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
                Thread.ofPlatform().daemon().name("countersign-audit-sql-", 0).factory());
        this.pool.allowCoreThreadTimeOut(true);
    }

    public AuditSqlEndpoint(Path auditDir) {
        this(auditDir, 2, DEFAULT_MAX_ROWS);
    }

    public Path auditDir() {
        return auditDir;
    }

    /** A session for {@code analyst}; its DuckDB is opened at the first statement and closed with the session. */
    public LocalDatabase open(String analyst) {
        return new Session(analyst);
    }

    @Override
    public void close() {
        pool.shutdown();
    }

    private final class Session implements LocalDatabase {
        private final String analyst;
        private Connection duckdb;
        private boolean closed;

        Session(String analyst) {
            this.analyst = analyst;
        }

        @Override
        public CompletableFuture<LocalResult> execute(String sql, List<String> parameters) {
            return submit(() -> run(sql, parameters, true));
        }

        @Override
        public CompletableFuture<LocalResult> describe(String sql) {
            return submit(() -> run(sql, List.of(), false));
        }

        @Override
        public void close() {
            try {
                pool.execute(this::release);
            } catch (RejectedExecutionException e) {
                Thread.ofVirtual().start(this::release);
            }
        }

        private synchronized void release() {
            closed = true;
            if (duckdb != null) {
                try {
                    duckdb.close();
                } catch (SQLException e) {
                    log.debug("closing an audit SQL session of {}: {}", analyst, e.toString());
                }
                duckdb = null;
            }
        }

        private interface Work {
            LocalResult run() throws SQLException;
        }

        private CompletableFuture<LocalResult> submit(Work work) {
            CompletableFuture<LocalResult> f = new CompletableFuture<>();
            try {
                pool.execute(() -> {
                    try {
                        synchronized (this) {
                            if (closed) {
                                throw failure("08003", "the session is closed");
                            }
                            f.complete(work.run());
                        }
                    } catch (LocalQueryException e) {
                        f.completeExceptionally(e);
                    } catch (SQLException e) {
                        f.completeExceptionally(new LocalQueryException(mapError(e)));
                    } catch (RuntimeException | Error e) {
                        f.completeExceptionally(e);
                    }
                });
            } catch (RejectedExecutionException e) {
                f.completeExceptionally(failure("53300", "Countersign's audit endpoint is busy (too many queries waiting); try again shortly"));
            }
            return f;
        }

        /** Runs (or only describes) one statement. Called on the pool, one at a time per session. */
        private LocalResult run(String sql, List<String> parameters, boolean execute) throws SQLException {
            Matcher tx = TRANSACTION.matcher(sql);
            if (tx.matches()) {
                String verb = tx.group(1).toLowerCase(Locale.ROOT);
                return LocalResult.command(switch (verb) {
                    case "commit", "end" -> "COMMIT";
                    case "rollback", "abort" -> "ROLLBACK";
                    default -> "BEGIN";
                });
            }
            Matcher set = SET.matcher(sql);
            if (set.matches()) {
                String name = set.group(2).toLowerCase(Locale.ROOT);
                if (CLIENT_SETTINGS.contains(name)) {
                    return LocalResult.command("SET");
                }
                throw failure("25006", "SET " + name + " is not allowed: countersign_audit is a read-only database whose settings are fixed; "
                        + "only queries (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN) may run");
            }
            Connection c = connection();
            Matcher explain = EXPLAIN.matcher(sql);
            requireQuery(c, explain.matches() ? explain.group(2) : sql);
            try (PreparedStatement p = c.prepareStatement(sql)) {
                int count = p.getParameterMetaData().getParameterCount();
                if (!execute) {
                    ResultSetMetaData md = p.getMetaData();
                    return new LocalResult(columns(md), List.of(), "SELECT 0", count);
                }
                if (parameters.size() != count) {
                    throw failure("08P01", "the statement has " + count + " parameters but " + parameters.size() + " were bound");
                }
                for (int i = 0; i < count; i++) {
                    p.setObject(i + 1, parameters.get(i));
                }
                try (ResultSet rs = p.executeQuery()) {
                    ResultSetMetaData md = rs.getMetaData();
                    List<LocalResult.Column> columns = columns(md);
                    List<List<String>> rows = new ArrayList<>();
                    while (rs.next()) {
                        if (rows.size() == maxRows) {
                            throw failure("54000", "the result has more than " + maxRows + " rows, the most Countersign's audit endpoint returns; "
                                    + "add a LIMIT or aggregate (GROUP BY)");
                        }
                        List<String> row = new ArrayList<>(columns.size());
                        for (int i = 1; i <= columns.size(); i++) {
                            row.add(text(rs.getObject(i)));
                        }
                        rows.add(row);
                    }
                    return new LocalResult(columns, rows, "SELECT " + rows.size(), count);
                }
            }
        }

        /** Refuses anything DuckDB's parser does not read as exactly one query. */
        private void requireQuery(Connection c, String sql) throws SQLException {
            JsonNode parsed;
            try (PreparedStatement p = c.prepareStatement("SELECT CAST(json_serialize_sql(" + UsageReports.literal(sql) + ") AS VARCHAR)")) {
                try (ResultSet rs = p.executeQuery()) {
                    rs.next();
                    parsed = JSON.readTree(rs.getString(1));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw failure("XX000", "could not read DuckDB's parse of the statement: " + e.getOriginalMessage());
                }
            }
            if (parsed.path("error").asBoolean(false)) {
                String type = parsed.path("error_type").asText("");
                String message = parsed.path("error_message").asText("");
                if (type.equals("parser")) {
                    throw failure("42601", "syntax error: " + message);
                }
                throw failure("25006", "only queries may run on countersign_audit, a read-only database "
                        + "(SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); this statement is not one: " + firstWords(sql));
            }
            int n = parsed.path("statements").size();
            if (n != 1) {
                throw failure("0A000", n == 0 ? "empty statement" : "send one statement at a time to countersign_audit (this text holds " + n + ")");
            }
        }

        private Connection connection() throws SQLException {
            if (duckdb == null) {
                Connection c = DriverManager.getConnection("jdbc:duckdb:");
                try (Statement s = c.createStatement()) {
                    s.execute("SET TimeZone = 'UTC'");
                    s.execute("SET threads = 1");
                    s.execute("SET memory_limit = '512MB'");
                    AuditViews.createViews(c, auditDir);
                    s.execute("SET allowed_directories = [" + UsageReports.literal(auditDir.resolve("statements") + "/") + ", "
                            + UsageReports.literal(auditDir.resolve("approvals") + "/") + "]");
                    s.execute("SET enable_external_access = false");
                    s.execute("SET autoinstall_known_extensions = false");
                    s.execute("SET autoload_known_extensions = false");
                    s.execute("SET lock_configuration = true");
                } catch (SQLException e) {
                    c.close();
                    throw e;
                }
                duckdb = c;
                log.info("audit SQL session of {} opened over {}", analyst, auditDir);
            }
            return duckdb;
        }
    }

    private static String firstWords(String sql) {
        String s = sql.strip().replaceAll("\\s+", " ");
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private static LocalDatabase.LocalQueryException failure(String state, String message) {
        return new LocalDatabase.LocalQueryException(new ProtocolError(state, 1105, message, null));
    }

    /** DuckDB's error classes as SQLSTATEs, with DuckDB's message (it names the thing and where). */
    static ProtocolError mapError(SQLException e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage().strip();
        String state;
        if (m.startsWith("Parser Error")) {
            state = "42601";
        } else if (m.startsWith("Catalog Error")) {
            state = m.contains("does not exist") && (m.contains("Table") || m.contains("View")) ? "42P01"
                    : m.contains("Function") ? "42883" : "42704";
        } else if (m.startsWith("Binder Error")) {
            state = m.contains("not found") && m.contains("column") ? "42703" : "42P18";
        } else if (m.startsWith("Permission Error")) {
            state = "42501";
            m = m + " (countersign_audit reads only the audit's own files; query the views statements, approvals, "
                    + "usage_by_agent_table, rows_touched)";
        } else if (m.startsWith("Conversion Error") || m.startsWith("Invalid Input Error")) {
            state = "22P02";
        } else if (m.startsWith("Out of Range Error")) {
            state = "22003";
        } else if (m.startsWith("Out of Memory Error")) {
            state = "53200";
        } else if (m.startsWith("Interrupt")) {
            state = "57014";
        } else {
            state = "XX000";
        }
        return new ProtocolError(state, 1105, m, null);
    }

    /** DuckDB types as the PostgreSQL type OIDs clients know. */
    static List<LocalDatabase.LocalResult.Column> columns(ResultSetMetaData md) throws SQLException {
        List<LocalDatabase.LocalResult.Column> out = new ArrayList<>();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            out.add(new LocalDatabase.LocalResult.Column(md.getColumnLabel(i), oid(md.getColumnTypeName(i))));
        }
        return out;
    }

    static int oid(String duckType) {
        String t = duckType.toUpperCase(Locale.ROOT);
        if (t.startsWith("DECIMAL")) {
            return 1700;
        }
        if (t.equals("VARCHAR[]")) {
            return 1009;
        }
        return switch (t) {
            case "BOOLEAN" -> 16;
            case "TINYINT", "SMALLINT", "UTINYINT" -> 21;
            case "INTEGER", "USMALLINT" -> 23;
            case "BIGINT", "UINTEGER" -> 20;
            case "UBIGINT", "HUGEINT", "UHUGEINT" -> 1700;
            case "FLOAT" -> 700;
            case "DOUBLE" -> 701;
            case "DATE" -> 1082;
            case "TIMESTAMP WITH TIME ZONE" -> 1184;
            case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS" -> 1114;
            case "UUID" -> 2950;
            case "JSON" -> 114;
            case "INTERVAL" -> 1186;
            case "BLOB" -> 17;
            default -> 25;
        };
    }

    /** A JDBC value in PostgreSQL's text format (timestamps in UTC, arrays as {@code {a,"b c"}}). */
    static String text(Object v) throws SQLException {
        return switch (v) {
            case null -> null;
            case Boolean b -> b ? "t" : "f";
            case BigDecimal d -> d.toPlainString();
            case BigInteger i -> i.toString();
            case Double d -> d.isInfinite() ? (d > 0 ? "Infinity" : "-Infinity") : d.toString();
            case Float f -> f.isInfinite() ? (f > 0 ? "Infinity" : "-Infinity") : f.toString();
            case OffsetDateTime o -> timestamp(o.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime()) + "+00";
            case java.sql.Timestamp ts -> timestamp(ts.toLocalDateTime());
            case LocalDateTime l -> timestamp(l);
            case LocalDate d -> d.toString();
            case byte[] bytes -> "\\x" + java.util.HexFormat.of().formatHex(bytes);
            case java.sql.Blob blob -> "\\x" + java.util.HexFormat.of().formatHex(blob.getBytes(1, (int) blob.length()));
            case Array a -> array((Object[]) a.getArray());
            default -> v.toString();
        };
    }

    /** Microseconds with trailing zeros dropped, as PostgreSQL prints them. */
    private static String timestamp(LocalDateTime t) {
        String s = TIMESTAMP.format(t);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private static String array(Object[] items) throws SQLException {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < items.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            String e = text(items[i]);
            if (e == null) {
                sb.append("NULL");
            } else if (e.isEmpty() || e.equalsIgnoreCase("NULL") || e.chars().anyMatch(ch -> "{}\",\\".indexOf(ch) >= 0 || Character.isWhitespace(ch))) {
                sb.append('"').append(e.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            } else {
                sb.append(e);
            }
        }
        return sb.append('}').toString();
    }
}
