package io.countersign.tracking;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * Writes audit Parquet files the way the audit module lays them out (see tracking/README.md, "Audit
 * schema contract"), using DuckDB itself: tracking may not depend on the audit module, so the tests
 * build files with the same columns, types and {@code dt=} layout.
 */
final class AuditFiles {

    static final String STATEMENTS_DDL = "CREATE TABLE statements (" + AuditViews.STATEMENT_COLUMNS + ")";

    static final String APPROVALS_DDL = "CREATE TABLE approvals (" + AuditViews.APPROVAL_COLUMNS + ")";

    /** One statement record; {@code usage} null for statements that never ran (denied). */
    record StatementRow(Instant started, String agent, String sessionId, String sql, String kind,
                        List<String[]> categories, String decision, String approvedBy, String requestId,
                        StatementUsage usage) {}

    record ApprovalRow(Instant at, String event, String requestId, String reviewer, String verdict, String agent) {}

    private AuditFiles() {}

    static void write(Path auditDir, List<StatementRow> statements, List<ApprovalRow> approvals) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
            s.execute("SET TimeZone = 'UTC'");
            s.execute(STATEMENTS_DDL);
            s.execute(APPROVALS_DDL);
            long seq = 0;
            for (StatementRow r : statements) {
                StatementUsage u = r.usage();
                List<String> values = new ArrayList<>();
                values.add(Long.toString(++seq));
                values.add("'test'");
                values.add("'00'");
                values.add("'" + Long.toHexString(seq) + "'");
                values.add(ts(r.started()));
                values.add(ts(r.started().plusMillis(3)));
                values.add(str(r.agent()));
                values.add(str("owner@example.com"));
                values.add(str(r.sessionId()));
                values.add(str("127.0.0.1:50000"));
                values.add("'postgresql'");
                values.add("'shop'");
                values.add(str(r.sql()));
                values.add(str(r.sql()));
                values.add(list(List.of()));
                values.add(list(List.of(r.kind())));
                values.add(categories(r.categories()));
                values.add(list(u == null ? List.of() : sorted(u.tablesRead())));
                values.add(list(u == null ? List.of() : sorted(u.tablesWritten())));
                values.add(list(u == null ? List.of() : sorted(u.columnsRead())));
                values.add(list(u == null ? List.of() : sorted(u.columnsWritten())));
                values.add(str(r.decision()));
                values.add(str(r.decision().equals("allowed_by_rule") ? "default" : null));
                values.add(str(r.approvedBy()));
                values.add(str(r.requestId()));
                values.add(str(r.decision().equals("denied") ? "reviewer denied" : null));
                values.add(u == null ? "NULL" : Long.toString(u.rowsReturned()));
                values.add(u == null ? "NULL" : Long.toString(u.rowsAffected()));
                values.add(u == null ? "NULL" : Long.toString(u.bytes()));
                values.add(r.decision().equals("denied") ? "'42501'" : "NULL");
                values.add("NULL");
                values.add("3000");
                values.add(list(u == null ? List.of() : u.resultColumns()));
                values.add(list(u == null ? List.of() : u.rowKeys()));
                values.add(u != null && u.keysCapped() ? "true" : "false");
                values.add("'CALCITE'");
                values.add("NULL"); // run_as_role
                values.add(date(r.started()));
                s.execute("INSERT INTO statements VALUES (" + String.join(", ", values) + ")");
            }
            for (ApprovalRow a : approvals) {
                s.execute("INSERT INTO approvals VALUES (" + String.join(", ", List.of(Long.toString(++seq), "'test'", "'00'",
                        "'" + Long.toHexString(seq) + "'", ts(a.at()), str(a.event()), str(a.requestId()), str(a.reviewer()),
                        a.reviewer() == null ? "NULL" : "'console'", str(a.verdict()), "NULL", "NULL", str(a.agent()),
                        "NULL", "NULL", "NULL", date(a.at()))) + ")");
            }
            copy(s, "statements", auditDir);
            if (!approvals.isEmpty()) {
                copy(s, "approvals", auditDir);
            }
        }
    }

    /** Hive layout {@code <dir>/<type>/dt=YYYY-MM-DD/*.parquet}, ZSTD like the audit writer; dt lives only in the path. */
    static void copy(Statement s, String table, Path auditDir) throws SQLException {
        s.execute("COPY (SELECT * FROM " + table + " ORDER BY seq) TO '" + auditDir.resolve(table)
                + "' (FORMAT PARQUET, PARTITION_BY (dt), COMPRESSION ZSTD, OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'part-test-{i}')");
    }

    static String ts(Instant i) {
        return "make_timestamptz(" + (i.getEpochSecond() * 1_000_000L + i.getNano() / 1_000) + ")";
    }

    static String date(Instant i) {
        return "DATE '" + i.atZone(ZoneOffset.UTC).toLocalDate() + "'";
    }

    static String str(String s) {
        return s == null ? "NULL" : "'" + s.replace("'", "''") + "'";
    }

    static String list(List<String> values) {
        StringJoiner j = new StringJoiner(", ", "CAST([", "] AS VARCHAR[])");
        values.forEach(v -> j.add(str(v)));
        return j.toString();
    }

    private static String categories(List<String[]> cats) {
        StringJoiner j = new StringJoiner(", ", "CAST([", "] AS STRUCT(category VARCHAR, reason VARCHAR)[])");
        for (String[] c : cats) {
            j.add("{'category': " + str(c[0]) + ", 'reason': " + str(c[1]) + "}");
        }
        return j.toString();
    }

    private static List<String> sorted(java.util.Set<String> s) {
        return s.stream().sorted().toList();
    }
}
