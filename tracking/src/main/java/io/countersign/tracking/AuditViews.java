package io.countersign.tracking;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The audit as SQL views in a DuckDB connection, for the read-only {@code countersign_audit} endpoint
 * and for data teams: {@code statements}, {@code approvals}, {@code usage_by_agent_table} (per agent,
 * table and day) and {@code rows_touched} (one row per key per statement). Views read the Parquet
 * files at query time, so new files show up without re-creating them; when a file set is still empty
 * the view is an empty relation with the audit's columns (re-create once files exist).
 */
public final class AuditViews {

    /** The statements file set's columns, as {@code audit} writes them (see README, "Audit schema contract"). */
    static final String STATEMENT_COLUMNS = """
            seq BIGINT, instance_id VARCHAR, prev_hash VARCHAR, hash VARCHAR,
            started TIMESTAMPTZ, ended TIMESTAMPTZ, agent VARCHAR, owner VARCHAR, session_id VARCHAR,
            client_address VARCHAR, protocol VARCHAR, database VARCHAR, sql VARCHAR, fingerprint VARCHAR,
            parameters VARCHAR[], statement_kinds VARCHAR[], categories STRUCT(category VARCHAR, reason VARCHAR)[],
            tables_read VARCHAR[], tables_written VARCHAR[], columns_read VARCHAR[], columns_written VARCHAR[],
            decision VARCHAR, decision_rule VARCHAR, approved_by VARCHAR, request_id VARCHAR, decision_reason VARCHAR,
            rows_returned BIGINT, rows_affected BIGINT, bytes_sent BIGINT, error_code VARCHAR, error_message VARCHAR,
            duration_us BIGINT, result_columns VARCHAR[], row_keys VARCHAR[], row_keys_capped BOOLEAN, settled_by VARCHAR,
            run_as_role VARCHAR, dt DATE""";

    static final String APPROVAL_COLUMNS = """
            seq BIGINT, instance_id VARCHAR, prev_hash VARCHAR, hash VARCHAR,
            occurred_at TIMESTAMPTZ, event VARCHAR, request_id VARCHAR, reviewer VARCHAR, channel VARCHAR, verdict VARCHAR,
            comment VARCHAR, tier VARCHAR, agent VARCHAR, owner VARCHAR, sql VARCHAR, reviewer_auth VARCHAR, dt DATE""";

    private AuditViews() {}

    /** Creates (or replaces) the four views in {@code duckdb} over the files under {@code auditDir}. */
    public static void create(Connection duckdb, Path auditDir) throws SQLException {
        try (Statement s = duckdb.createStatement()) {
            s.execute("SET TimeZone = 'UTC'");
        }
        createViews(duckdb, auditDir);
    }

    /** The views alone, for a connection whose settings are already fixed (the SQL endpoint sets UTC itself, then locks them). */
    static void createViews(Connection duckdb, Path auditDir) throws SQLException {
        UsageReports files = new UsageReports(auditDir);
        try (Statement s = duckdb.createStatement()) {
            source(s, files, "statements", STATEMENT_COLUMNS);
            source(s, files, "approvals", APPROVAL_COLUMNS);
            s.execute("""
                    CREATE OR REPLACE VIEW usage_by_agent_table AS
                    WITH ran AS (
                      SELECT * FROM statements WHERE coalesce(decision, '') NOT IN ('denied', 'timed_out', 'withdrawn')),
                    u AS (
                      SELECT agent, dt, started, unnest(tables_read) AS tbl, 1 AS stmts,
                             coalesce(rows_returned, 0) AS rows_read, 0 AS rows_written FROM ran
                      UNION ALL
                      SELECT agent, dt, started, tbl, CASE WHEN list_contains(tables_read, tbl) THEN 0 ELSE 1 END, 0,
                             greatest(coalesce(rows_affected, 0), 0)
                        FROM (SELECT *, unnest(tables_written) AS tbl FROM ran))
                    SELECT agent, tbl AS "table", dt AS day, CAST(sum(stmts) AS BIGINT) AS statements,
                           CAST(sum(rows_read) AS BIGINT) AS rows_read, CAST(sum(rows_written) AS BIGINT) AS rows_written,
                           min(started) AS first_seen, max(started) AS last_seen
                      FROM u GROUP BY agent, tbl, dt""");
            s.execute("""
                    CREATE OR REPLACE VIEW rows_touched AS
                    SELECT started, agent, session_id, request_id, sql, tbl AS "table", "key",
                           CASE WHEN list_contains(tables_written, tbl) THEN 'changed' ELSE 'read' END AS action,
                           row_keys_capped AS keys_capped, seq
                      FROM (SELECT *, split_part(rk, ':', 1) AS tbl, substr(rk, strpos(rk, ':') + 1) AS "key"
                              FROM (SELECT *, unnest(row_keys) AS rk FROM statements
                                     WHERE coalesce(decision, '') NOT IN ('denied', 'timed_out', 'withdrawn')))""");
        }
    }

    private static void source(Statement s, UsageReports files, String type, String columns) throws SQLException {
        if (files.hasFiles(type)) {
            s.execute("CREATE OR REPLACE VIEW " + type + " AS SELECT * FROM " + files.files(type));
        } else {
            s.execute("CREATE OR REPLACE TABLE empty_" + type + " (" + columns + ")");
            s.execute("CREATE OR REPLACE VIEW " + type + " AS SELECT * FROM empty_" + type);
        }
    }
}
