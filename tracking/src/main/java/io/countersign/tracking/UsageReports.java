package io.countersign.tracking;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The usage reports, as SQL over the audit's Parquet files through DuckDB's embedded engine. Each call
 * opens an in-memory DuckDB, reads only the {@code dt=} partitions the window needs, and returns a
 * {@link ReportTable}. Read-only: the audit files are never written. The layout and columns relied
 * on are listed in tracking/README.md ("Audit schema contract").
 *
 * <p>Statements count when they ran: decisions {@code denied}, {@code timed_out} and {@code withdrawn}
 * are left out of usage, sensitive and rows (the agent touched nothing); the agent timeline shows all.
 */
public final class UsageReports {

    private static final String NOT_RUN = "('denied', 'timed_out', 'withdrawn')";

    private final Path auditDir;
    private final KeyHasher keyHasher;

    public UsageReports(Path auditDir) {
        this(auditDir, null);
    }

    private UsageReports(Path auditDir, KeyHasher keyHasher) {
        this.auditDir = Objects.requireNonNull(auditDir, "auditDir");
        this.keyHasher = keyHasher;
    }

    /** The same reports, where row keys were stored hashed with {@code hasher}'s secret: {@link #rows} hashes the key it looks for. */
    public UsageReports withKeyHasher(KeyHasher hasher) {
        return new UsageReports(auditDir, hasher);
    }

    /** Per agent and table: statements, rows read, rows written, first and last time. */
    public ReportTable usage(TimeRange range) {
        // Collapse statements with the same agent and table lists first (few groups), then unnest: the
        // scan and one small aggregation dominate, which keeps a week of 10 million records near a second.
        // A statement that reads and writes one table counts once for it.
        String sql = """
                WITH s AS (
                  SELECT agent, tables_read, tables_written, count(*) AS n,
                         sum(coalesce(rows_returned, 0)) AS rr, sum(greatest(coalesce(rows_affected, 0), 0)) AS ra,
                         min(started) AS first_seen, max(started) AS last_seen
                    FROM %s
                   WHERE %s AND coalesce(decision, '') NOT IN %s
                   GROUP BY agent, tables_read, tables_written),
                u AS (
                  SELECT agent, unnest(tables_read) AS tbl, n AS stmts, rr AS rows_read, 0 AS rows_written, first_seen, last_seen
                    FROM s
                  UNION ALL
                  SELECT agent, tbl, CASE WHEN list_contains(tables_read, tbl) THEN 0 ELSE n END, 0, ra, first_seen, last_seen
                    FROM (SELECT agent, unnest(tables_written) AS tbl, tables_read, n, ra, first_seen, last_seen
                            FROM s WHERE len(tables_written) > 0))
                SELECT agent, tbl AS "table", CAST(sum(stmts) AS BIGINT) AS statements,
                       CAST(sum(rows_read) AS BIGINT) AS rows_read, CAST(sum(rows_written) AS BIGINT) AS rows_written,
                       min(first_seen) AS first_seen, max(last_seen) AS last_seen
                  FROM u
                 GROUP BY agent, tbl
                 ORDER BY agent, tbl
                """.formatted(statements(), window(range), NOT_RUN);
        return query("usage", sql, "agent", "table", "statements", "rows_read", "rows_written", "first_seen", "last_seen");
    }

    /**
     * Who read which sensitive columns, how many rows, under which approval. A column counts as
     * sensitive when the statement's analysis raised {@code sensitive_read} naming it.
     */
    public ReportTable sensitive(TimeRange range) {
        return sensitive(range, null);
    }

    /** As {@link #sensitive(TimeRange)}, for an explicit set of {@code schema.table.column} names. */
    public ReportTable sensitive(TimeRange range, Set<String> columns) {
        String match = columns == null
                ? "len(list_filter(categories, c -> lower(c.category) = 'sensitive_read' AND contains(' ' || c.reason || ' ', ' ' || col || ' '))) > 0"
                : "col IN (" + literals(columns) + ")";
        String sql = """
                WITH s AS (
                  SELECT agent, started, request_id, approved_by, categories, coalesce(rows_returned, 0) AS rr,
                         unnest(list_distinct(list_concat(columns_read, result_columns))) AS col
                    FROM %s
                   WHERE %s AND coalesce(decision, '') NOT IN %s)
                SELECT agent, col AS "column", request_id, approved_by, count(*) AS statements,
                       CAST(sum(rr) AS BIGINT) AS rows_returned, min(started) AS first_seen, max(started) AS last_seen
                  FROM s
                 WHERE %s
                 GROUP BY agent, col, request_id, approved_by
                 ORDER BY agent, col, first_seen
                """.formatted(statements(), window(range), NOT_RUN, match);
        return query("sensitive", sql, "agent", "column", "request_id", "approved_by", "statements", "rows_returned",
                "first_seen", "last_seen");
    }

    /**
     * Which agents saw or changed one row of {@code table} (schema.table), identified by its key text
     * (composite keys as a row literal, {@code (1,2)}). Statements whose key list was capped and that
     * touched the table without listing the key are shown as {@code possibly (keys capped)}.
     */
    public ReportTable rows(String table, String key, TimeRange range) {
        if (table == null || !table.contains(".")) {
            throw new IllegalArgumentException("--table '" + table + "' must name schema.table, e.g. public.customers");
        }
        String clear = table + ":" + key;
        String hashed = keyHasher == null ? clear : table + ":" + keyHasher.hash(key);
        String t = literal(table);
        String hit = "(list_contains(row_keys, " + literal(clear) + ") OR list_contains(row_keys, " + literal(hashed) + "))";
        String sql = """
                SELECT started, agent,
                       CASE WHEN NOT %4$s THEN 'possibly (keys capped)'
                            WHEN list_contains(tables_written, %3$s) THEN 'changed' ELSE 'read' END AS action,
                       request_id, session_id, sql
                  FROM %1$s
                 WHERE %2$s AND coalesce(decision, '') NOT IN %5$s
                   AND (%4$s OR (row_keys_capped AND (list_contains(tables_read, %3$s) OR list_contains(tables_written, %3$s))))
                 ORDER BY started, seq
                """.formatted(statements(), window(range), t, hit, NOT_RUN);
        return query("rows", sql, "started", "agent", "action", "request_id", "session_id", "sql");
    }

    /**
     * Approval requests created in the window, by final state and deciding reviewer: how many, and the
     * median seconds from request to that reviewer's decision. Undecided requests have no reviewer.
     */
    public ReportTable approvals(TimeRange range) {
        if (!hasFiles("approvals")) {
            return new ReportTable("approvals", List.of("state", "reviewer", "requests", "median_decision_seconds"), List.of());
        }
        String sql = """
                WITH a AS (SELECT * FROM %s),
                created AS (
                  SELECT request_id, min(occurred_at) AS created_at FROM a WHERE event = 'request_created' GROUP BY request_id),
                state AS (
                  SELECT request_id,
                         arg_max(CASE WHEN event <> 'decision' THEN event
                                     WHEN lower(verdict) IN ('approve', 'approved') THEN 'approved'
                                     WHEN lower(verdict) IN ('deny', 'denied', 'reject', 'rejected') THEN 'denied'
                                     ELSE lower(verdict) END, occurred_at) AS state
                    FROM a WHERE event IN ('decision', 'expired', 'withdrawn', 'abandoned') GROUP BY request_id),
                r AS (
                  SELECT c.request_id, c.created_at, coalesce(s.state, 'pending') AS state
                    FROM created c LEFT JOIN state s USING (request_id)
                   WHERE c.created_at >= %s AND c.created_at < %s),
                d AS (SELECT request_id, reviewer, occurred_at FROM a WHERE event = 'decision')
                SELECT r.state, d.reviewer, count(DISTINCT r.request_id) AS requests,
                       median((epoch_us(d.occurred_at) - epoch_us(r.created_at)) / 1e6) AS median_decision_seconds
                  FROM r JOIN d USING (request_id)
                 GROUP BY r.state, d.reviewer
                UNION ALL
                SELECT r.state, NULL, count(*), NULL
                  FROM r WHERE r.request_id NOT IN (SELECT request_id FROM d)
                 GROUP BY r.state
                 ORDER BY 1, 2 NULLS FIRST
                """.formatted(files("approvals"), ts(range.from()), ts(range.until()));
        return query("approvals", sql, "state", "reviewer", "requests", "median_decision_seconds");
    }

    /**
     * Per agent, each statement once (whatever the number of tables it touched): statements, rows
     * read and written, distinct tables, first and last time. Statements that never ran are left out.
     */
    public ReportTable agents(TimeRange range) {
        String sql = """
                SELECT agent, count(*) AS statements, CAST(sum(coalesce(rows_returned, 0)) AS BIGINT) AS rows_read,
                       CAST(sum(greatest(coalesce(rows_affected, 0), 0)) AS BIGINT) AS rows_written,
                       CAST(len(list_distinct(flatten(list(list_concat(tables_read, tables_written))))) AS BIGINT) AS tables,
                       min(started) AS first_seen, max(started) AS last_seen
                  FROM %s
                 WHERE %s AND coalesce(decision, '') NOT IN %s
                 GROUP BY agent
                 ORDER BY agent
                """.formatted(statements(), window(range), NOT_RUN);
        return query("agents", sql, "agent", "statements", "rows_read", "rows_written", "tables", "first_seen", "last_seen");
    }

    /** Statements and rows per {@code hour} or {@code day} (UTC), for the console's chart; empty buckets are left out. */
    public ReportTable timeline(TimeRange range, String bucket) {
        if (!bucket.equals("hour") && !bucket.equals("day")) {
            throw new IllegalArgumentException("bucket '" + bucket + "' is not hour or day");
        }
        String sql = """
                SELECT date_trunc('%s', started) AS bucket, count(*) AS statements,
                       CAST(sum(coalesce(rows_returned, 0)) AS BIGINT) AS rows_read,
                       CAST(sum(greatest(coalesce(rows_affected, 0), 0)) AS BIGINT) AS rows_written
                  FROM %s
                 WHERE %s AND coalesce(decision, '') NOT IN %s
                 GROUP BY 1
                 ORDER BY 1
                """.formatted(bucket, statements(), window(range), NOT_RUN);
        return query("timeline", sql, "bucket", "statements", "rows_read", "rows_written");
    }

    /** One agent's statements in time order: what it ran, how it was decided, what it touched. */
    public ReportTable agent(String agent, TimeRange range) {
        String sql = """
                SELECT started, array_to_string(statement_kinds, ',') AS kinds, decision, request_id,
                       array_to_string(list_distinct(list_concat(tables_read, tables_written)), ',') AS tables,
                       rows_returned, rows_affected, CAST(len(row_keys) AS BIGINT) AS keys, row_keys_capped AS keys_capped, sql
                  FROM %s
                 WHERE %s AND agent = %s
                 ORDER BY started, seq
                """.formatted(statements(), window(range), literal(agent));
        return query("agent " + agent, sql, "started", "kinds", "decision", "request_id", "tables", "rows_returned",
                "rows_affected", "keys", "keys_capped", "sql");
    }

    // ---- plumbing

    private String statements() {
        return files("statements");
    }

    /** The file set of one record type, hive-partitioned by dt; schema differences between files are unioned by name. */
    String files(String type) {
        String glob = auditDir.resolve(type).toAbsolutePath() + "/dt=*/*.parquet";
        return "read_parquet(" + literal(glob) + ", hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE})";
    }

    /** Partition pruning on dt first (whole files skipped), then the exact bounds on started. */
    private static String window(TimeRange range) {
        return "dt BETWEEN " + date(range.from()) + " AND " + date(range.until())
                + " AND started >= " + ts(range.from()) + " AND started < " + ts(range.until());
    }

    private static String date(Instant i) {
        return "DATE '" + LocalDateTime.ofInstant(i, ZoneOffset.UTC).toLocalDate() + "'";
    }

    private static String ts(Instant i) {
        return "make_timestamptz(" + (i.getEpochSecond() * 1_000_000L + i.getNano() / 1_000) + ")";
    }

    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    private static String literals(Set<String> values) {
        StringJoiner j = new StringJoiner(", ");
        values.stream().sorted().forEach(v -> j.add(literal(v)));
        return values.isEmpty() ? "NULL" : j.toString();
    }

    boolean hasFiles(String type) {
        Path root = auditDir.resolve(type);
        if (!Files.isDirectory(root)) {
            return false;
        }
        try (DirectoryStream<Path> days = Files.newDirectoryStream(root, "dt=*")) {
            for (Path day : days) {
                try (DirectoryStream<Path> files = Files.newDirectoryStream(day, "*.parquet")) {
                    if (files.iterator().hasNext()) {
                        return true;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list audit files under " + root + ": " + e.getMessage()
                    + "; check the directory exists and is readable", e);
        }
        return false;
    }

    private ReportTable query(String title, String sql, String... columns) {
        if (!hasFiles(title.startsWith("approvals") ? "approvals" : "statements")) {
            if (!Files.isDirectory(auditDir)) {
                throw new IllegalArgumentException("audit directory " + auditDir + " does not exist; "
                        + "pass the directory Countersign's audit writes to (it holds statements/ and approvals/)");
            }
            return new ReportTable(title, List.of(columns), List.of());
        }
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
             Statement st = c.createStatement()) {
            st.execute("SET TimeZone = 'UTC'");
            try (ResultSet rs = st.executeQuery(sql)) {
                ResultSetMetaData md = rs.getMetaData();
                if (md.getColumnCount() != columns.length) {
                    throw new IllegalStateException("report " + title + " returned " + md.getColumnCount() + " columns, expected " + columns.length);
                }
                List<List<Object>> rows = new ArrayList<>();
                while (rs.next()) {
                    List<Object> row = new ArrayList<>(columns.length);
                    for (int i = 1; i <= columns.length; i++) {
                        row.add(value(rs.getObject(i)));
                    }
                    rows.add(row);
                }
                return new ReportTable(title, List.of(columns), rows);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("report " + title + " over " + auditDir + " failed: " + e.getMessage()
                    + "; check that the directory holds Countersign audit files (statements/dt=*/*.parquet)", e);
        }
    }

    /** JDBC values as the plain types {@link ReportTable} promises. */
    static Object value(Object v) throws SQLException {
        return switch (v) {
            case null -> null;
            case OffsetDateTime o -> o.toInstant();
            case java.sql.Timestamp t -> t.toLocalDateTime().toInstant(ZoneOffset.UTC);
            case LocalDateTime l -> l.toInstant(ZoneOffset.UTC);
            case Integer i -> i.longValue();
            case Short s -> s.longValue();
            case BigInteger b -> b.longValueExact();
            case BigDecimal b -> b.scale() == 0 ? (Object) b.longValueExact() : (Object) b.doubleValue();
            case Float f -> f.doubleValue();
            case Array a -> {
                Object[] items = (Object[]) a.getArray();
                StringJoiner j = new StringJoiner(",");
                for (Object o : items) {
                    j.add(String.valueOf(o));
                }
                yield j.toString();
            }
            default -> v;
        };
    }
}
