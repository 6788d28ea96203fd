package io.countersign.audit;

import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Reads the trail's Parquet back with DuckDB (an independent reader) into records for comparison. */
final class DuckDb {
    private DuckDb() {}

    static Connection connect() throws SQLException {
        return DriverManager.getConnection("jdbc:duckdb:");
    }

    static String glob(Path dir, RecordType type) {
        return dir.resolve(type.directory()).toString().replace("'", "''") + "/**/*.parquet";
    }

    /** Rows in seq order as (seq, record, dt from the hive partition). */
    record Read(long seq, String prevHash, String hash, String dt, AuditRecord record) {}

    static List<Read> read(Path dir, RecordType type) throws SQLException {
        String from = "read_parquet('" + glob(dir, type) + "', hive_partitioning=1)";
        String sql = switch (type) {
            case STATEMENT -> "SELECT seq, prev_hash, hash, CAST(dt AS VARCHAR) AS dt, epoch_us(started) AS started_us,"
                    + " epoch_us(ended) AS ended_us, agent, owner, session_id, client_address, protocol, database, sql,"
                    + " fingerprint, parameters, statement_kinds,"
                    + " list_transform(categories, lambda c: c.category || '=' || coalesce(c.reason, '<null>')) AS cats,"
                    + " tables_read, tables_written, columns_read, columns_written, decision, decision_rule, approved_by,"
                    + " request_id, decision_reason, rows_returned, rows_affected, bytes_sent, error_code, error_message,"
                    + " duration_us, result_columns, row_keys, row_keys_capped, settled_by, run_as_role FROM " + from + " ORDER BY seq";
            case APPROVAL -> "SELECT seq, prev_hash, hash, CAST(dt AS VARCHAR) AS dt, epoch_us(occurred_at) AS at_us, event, request_id,"
                    + " reviewer, channel, verdict, comment, tier, agent, owner, sql, reviewer_auth FROM " + from + " ORDER BY seq";
            case ADMIN -> "SELECT seq, prev_hash, hash, CAST(dt AS VARCHAR) AS dt, epoch_us(occurred_at) AS at_us, event, actor, detail,"
                    + " policy_hash, list_transform(deleted_files, lambda f: f.path || '|' || f.first_seq || '|' || f.last_seq || '|'"
                    + " || f.record_count || '|' || f.sha256) AS files FROM " + from + " ORDER BY seq";
        };
        List<Read> out = new ArrayList<>();
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                AuditRecord r = switch (type) {
                    case STATEMENT -> statement(rs);
                    case APPROVAL -> approval(rs);
                    case ADMIN -> admin(rs);
                };
                out.add(new Read(rs.getLong("seq"), rs.getString("prev_hash"), rs.getString("hash"), rs.getString("dt"), r));
            }
        }
        return out;
    }

    private static StatementRecord statement(ResultSet rs) throws SQLException {
        String kind = rs.getString("decision");
        Decision d = kind == null ? null : new Decision(Decision.Kind.valueOf(kind.toUpperCase()), rs.getString("decision_rule"),
                rs.getString("approved_by"), rs.getString("request_id"), rs.getString("decision_reason"));
        List<CategoryReason> cats = new ArrayList<>();
        for (String c : strings(rs.getArray("cats"))) {
            String[] kv = c.split("=", 2);
            cats.add(new CategoryReason(kv[0], kv[1].equals("<null>") ? null : kv[1]));
        }
        Long durationUs = longOrNull(rs, "duration_us");
        return new StatementRecord(micros(rs, "started_us"), micros(rs, "ended_us"), rs.getString("agent"), rs.getString("owner"),
                rs.getString("session_id"), rs.getString("client_address"), Protocol.valueOf(rs.getString("protocol").toUpperCase()),
                rs.getString("database"), rs.getString("sql"), rs.getString("fingerprint"), strings(rs.getArray("parameters")),
                strings(rs.getArray("statement_kinds")), cats, strings(rs.getArray("tables_read")),
                strings(rs.getArray("tables_written")), strings(rs.getArray("columns_read")),
                strings(rs.getArray("columns_written")), d, longOrNull(rs, "rows_returned"), longOrNull(rs, "rows_affected"),
                longOrNull(rs, "bytes_sent"), rs.getString("error_code"), rs.getString("error_message"),
                durationUs == null ? null : Duration.ofNanos(durationUs * 1000), strings(rs.getArray("result_columns")),
                strings(rs.getArray("row_keys")), rs.getBoolean("row_keys_capped"), rs.getString("settled_by"),
                rs.getString("run_as_role"));
    }

    private static ApprovalRecord approval(ResultSet rs) throws SQLException {
        String channel = rs.getString("channel");
        return new ApprovalRecord(micros(rs, "at_us"), ApprovalRecord.Event.valueOf(rs.getString("event").toUpperCase()),
                rs.getString("request_id"), rs.getString("reviewer"),
                channel == null ? null : ApprovalRecord.Channel.valueOf(channel.toUpperCase()), rs.getString("verdict"),
                rs.getString("comment"), rs.getString("tier"), rs.getString("agent"), rs.getString("owner"), rs.getString("sql"),
                rs.getString("reviewer_auth"));
    }

    private static AdminRecord admin(ResultSet rs) throws SQLException {
        List<AdminRecord.DeletedFile> files = new ArrayList<>();
        for (String f : strings(rs.getArray("files"))) {
            String[] p = f.split("\\|");
            files.add(new AdminRecord.DeletedFile(p[0], Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3]), p[4]));
        }
        return new AdminRecord(micros(rs, "at_us"), AdminRecord.Event.valueOf(rs.getString("event").toUpperCase()),
                rs.getString("actor"), rs.getString("detail"), rs.getString("policy_hash"), files);
    }

    private static Instant micros(ResultSet rs, String col) throws SQLException {
        Long v = longOrNull(rs, col);
        return v == null ? null : RecordCodec.instantOfMicros(v);
    }

    private static Long longOrNull(ResultSet rs, String col) throws SQLException {
        long v = rs.getLong(col);
        return rs.wasNull() ? null : v;
    }

    private static List<String> strings(Array a) throws SQLException {
        if (a == null) {
            return null;
        }
        Object[] values = (Object[]) a.getArray();
        List<String> out = new ArrayList<>(values.length);
        for (Object o : values) {
            out.add(o == null ? null : o.toString());
        }
        return out;
    }

    static long scalar(String sql) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
