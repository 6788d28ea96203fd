package io.countersign.tracking;

import static io.countersign.tracking.TrackingFixture.analysis;
import static io.countersign.tracking.TrackingFixture.read;
import static io.countersign.tracking.TrackingFixture.replay;
import static io.countersign.tracking.TrackingFixture.track;
import static io.countersign.tracking.TrackingFixture.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.tracking.AuditFiles.ApprovalRow;
import io.countersign.tracking.AuditFiles.StatementRow;
import io.countersign.testing.PostgresDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A scripted workload of three agents runs against the real PostgreSQL; each statement's result
 * bytes go through the tracker; the usages become audit Parquet files; every report is checked to
 * the number and the key.
 */
class UsageReportsTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path audit;

    static final Instant DAY1 = Instant.parse("2026-11-20T09:00:00Z");
    static final Instant DAY2 = Instant.parse("2026-11-21T15:30:00Z");
    static final Instant OLD = Instant.parse("2026-10-01T08:00:00Z");
    static final KeyHasher HASHER = new KeyHasher("reports-test-secret-0123456789".getBytes(StandardCharsets.UTF_8));

    static UsageReports reports;
    static List<String> insertedIds;
    static final Clock NOW = Clock.fixed(Instant.parse("2026-11-22T00:00:00Z"), ZoneOffset.UTC);

    @BeforeAll
    static void workload() throws Exception {
        db.execute(TrackingFixture.SCHEMA);
        db.execute("CREATE TABLE vault (id int PRIMARY KEY, secret text)", "INSERT INTO vault VALUES (7, 's7'), (8, 's8')");
        PgCatalogResolver resolver = TrackingFixture.resolver(db);
        Set<String> sensitive = Set.of("public.customers.email");
        UsageTracker tracker = new UsageTracker(resolver, TrackingSettings.DEFAULTS.withSensitiveColumns(sensitive), new UsageCounters(null));
        UsageTracker capped = new UsageTracker(resolver, TrackingSettings.DEFAULTS.withKeyCap(10), new UsageCounters(null));
        UsageTracker hashed = new UsageTracker(resolver, TrackingSettings.DEFAULTS.withKeyHasher(HASHER), new UsageCounters(null));
        List<StatementRow> rows = new ArrayList<>();
        List<ApprovalRow> approvals = new ArrayList<>();
        try (RawPgClient pg = TrackingFixture.raw(db)) {
            // An old read, outside every windowed query below.
            String q0 = "SELECT id, name FROM customers WHERE id = 30";
            rows.add(allowed(OLD, "alice-bot", q0, "SELECT", replay(track(tracker, "alice-bot", read(q0, "public.customers"), List.of()), pg.query(q0).get(0), OLD)));

            // alice reads with keys, then without.
            String q1 = "SELECT id, name FROM customers WHERE id IN (1, 2, 3)";
            rows.add(allowed(DAY1, "alice-bot", q1, "SELECT", replay(track(tracker, "alice-bot", read(q1, "public.customers"), List.of()), pg.query(q1).get(0), DAY1)));
            String q2 = "SELECT count(*) FROM customers";
            rows.add(allowed(DAY1.plusSeconds(60), "alice-bot", q2, "SELECT", replay(track(tracker, "alice-bot", read(q2, "public.customers"), List.of()), pg.query(q2).get(0), DAY1)));

            // bob updates one customer (keys from the WHERE) and inserts two items (keys from RETURNING).
            String q3 = "UPDATE customers SET name = 'renamed' WHERE id = 2";
            rows.add(allowed(DAY1.plusSeconds(120), "bob-bot", q3, "UPDATE", replay(track(tracker, "bob-bot",
                    // Reads and writes the same table: it must count once for it.
                    analysis(q3, "UPDATE", Set.of("public.customers"), Set.of("public.customers"), Set.of("public.customers.id"), Set.of("public.customers.name")),
                    List.of()), pg.query(q3).get(0), DAY1)));
            String q4 = "INSERT INTO items (title) VALUES ('x'), ('y') RETURNING id";
            RawPgClient.Result r4 = pg.query(q4).get(0);
            StatementUsage u4 = replay(track(tracker, "bob-bot", write(q4, "INSERT", "public.items"), List.of()), r4, DAY1);
            insertedIds = u4.keysOf("public.items");
            rows.add(allowed(DAY1.plusSeconds(180), "bob-bot", q4, "INSERT", u4));

            // carol's sensitive read is held, approved by dana after 90 s, then runs.
            String q5 = "SELECT id, email FROM customers WHERE id = 2";
            Instant held = DAY1.plusSeconds(300);
            approvals.add(new ApprovalRow(held, "request_created", "req-1", null, null, "carol-bot"));
            approvals.add(new ApprovalRow(held.plusSeconds(90), "decision", "req-1", "dana", "approved", "carol-bot"));
            approvals.add(new ApprovalRow(held.plusSeconds(91), "executed", "req-1", null, null, "carol-bot"));
            StatementUsage u5 = replay(track(tracker, "carol-bot", analysis(q5, "SELECT", Set.of("public.customers"), Set.of(),
                    Set.of("public.customers.id", "public.customers.email"), Set.of()), List.of()), pg.query(q5).get(0), held.plusSeconds(91));
            rows.add(new StatementRow(held, "carol-bot", "s-carol", q5, "SELECT",
                    List.<String[]>of(new String[] {"sensitive_read", "reads sensitive column public.customers.email"}),
                    "approved", "dana", "req-1", u5));

            // carol's DELETE without WHERE is denied by erin after 30 s: never ran.
            Instant held2 = DAY1.plusSeconds(600);
            approvals.add(new ApprovalRow(held2, "request_created", "req-2", null, null, "carol-bot"));
            approvals.add(new ApprovalRow(held2.plusSeconds(30), "decision", "req-2", "erin", "denied", "carol-bot"));
            rows.add(new StatementRow(held2, "carol-bot", "s-carol", "DELETE FROM customers", "DELETE",
                    List.<String[]>of(new String[] {"destructive", "DELETE without WHERE on public.customers"}), "denied", "erin", "req-2", null));

            // A request still waiting.
            approvals.add(new ApprovalRow(DAY2, "request_created", "req-3", null, null, "bob-bot"));

            // Day 2: alice reads all 30 customers with a key cap of 10.
            String q7 = "SELECT id FROM customers ORDER BY id";
            rows.add(allowed(DAY2, "alice-bot", q7, "SELECT", replay(track(capped, "alice-bot", read(q7, "public.customers"), List.of()), pg.query(q7).get(0), DAY2)));

            // Day 2: bob reads the vault with keys stored hashed.
            String q8 = "SELECT id, secret FROM vault WHERE id = 7";
            rows.add(allowed(DAY2.plusSeconds(5), "bob-bot", q8, "SELECT", replay(track(hashed, "bob-bot", read(q8, "public.vault"), List.of()), pg.query(q8).get(0), DAY2)));
        }
        AuditFiles.write(audit, rows, approvals);
        reports = new UsageReports(audit);
    }

    private static StatementRow allowed(Instant at, String agent, String sql, String kind, StatementUsage u) {
        return new StatementRow(at, agent, "s-" + agent, sql, kind, List.of(), "allowed_by_rule", null, null, u);
    }

    private static final TimeRange NOV = new TimeRange(Instant.parse("2026-11-01T00:00:00Z"), Instant.parse("2026-12-01T00:00:00Z"));

    @Test
    void filesAreLaidOutHiveStyleByDate() throws Exception {
        try (Stream<Path> files = Files.walk(audit)) {
            assertThat(files.filter(p -> p.toString().endsWith(".parquet")).map(p -> audit.relativize(p.getParent()).toString()).distinct().sorted())
                    .containsExactly("approvals/dt=2026-11-20", "approvals/dt=2026-11-21",
                            "statements/dt=2026-10-01", "statements/dt=2026-11-20", "statements/dt=2026-11-21");
        }
    }

    @Test
    void usagePerAgentAndTable() {
        ReportTable t = reports.usage(NOV);
        assertThat(t.columns()).containsExactly("agent", "table", "statements", "rows_read", "rows_written", "first_seen", "last_seen");
        assertThat(t.rows()).containsExactly(
                List.of("alice-bot", "public.customers", 3L, 34L, 0L, DAY1, DAY2),
                List.of("bob-bot", "public.customers", 1L, 0L, 1L, DAY1.plusSeconds(120), DAY1.plusSeconds(120)),
                List.of("bob-bot", "public.items", 1L, 0L, 2L, DAY1.plusSeconds(180), DAY1.plusSeconds(180)),
                List.of("bob-bot", "public.vault", 1L, 1L, 0L, DAY2.plusSeconds(5), DAY2.plusSeconds(5)),
                List.of("carol-bot", "public.customers", 1L, 1L, 0L, DAY1.plusSeconds(300), DAY1.plusSeconds(300)));
    }

    @Test
    void usageHonoursSinceAndUntil() {
        ReportTable day1 = reports.usage(TimeRange.parse("2026-11-20", "2026-11-21", NOW));
        assertThat(day1.rows()).extracting(r -> r.get(0) + " " + r.get(1) + " " + r.get(2) + " " + r.get(3))
                .containsExactly("alice-bot public.customers 2 4", "bob-bot public.customers 1 0",
                        "bob-bot public.items 1 0", "carol-bot public.customers 1 1");
        // 24h before 2026-11-22T00:00Z: day 2 only.
        ReportTable recent = reports.usage(TimeRange.parse("24h", null, NOW));
        assertThat(recent.rows()).extracting(r -> r.get(0) + " " + r.get(1) + " " + r.get(3))
                .containsExactly("alice-bot public.customers 30", "bob-bot public.vault 1");
        // Everything, including the October read.
        ReportTable all = reports.usage(TimeRange.ALL);
        assertThat(all.get(0, "statements")).isEqualTo(4L);
        assertThat(all.get(0, "first_seen")).isEqualTo(OLD);
    }

    @Test
    void sensitiveReadsWithTheirApproval() {
        ReportTable t = reports.sensitive(NOV);
        assertThat(t.rows()).containsExactly(
                List.of("carol-bot", "public.customers.email", "req-1", "dana", 1L, 1L, DAY1.plusSeconds(300), DAY1.plusSeconds(300)));
        // With an explicit column set the same answer comes from the columns alone.
        assertThat(reports.sensitive(NOV, Set.of("public.customers.email")).rows()).isEqualTo(t.rows());
        assertThat(reports.sensitive(NOV, Set.of("public.vault.secret")).rows()).extracting(r -> r.get(0) + " " + r.get(4) + " " + r.get(5))
                .containsExactly("bob-bot 1 1");
    }

    @Test
    void rowsSeenOrChangedForOneKey() {
        ReportTable two = reports.rows("public.customers", "2", NOV);
        assertThat(two.rows()).extracting(r -> r.get(1) + " " + r.get(2) + " " + r.get(0))
                .containsExactly("alice-bot read " + DAY1, "bob-bot changed " + DAY1.plusSeconds(120),
                        "carol-bot read " + DAY1.plusSeconds(300), "alice-bot read " + DAY2);
        assertThat(two.get(1, "sql")).isEqualTo("UPDATE customers SET name = 'renamed' WHERE id = 2");
        assertThat(two.get(2, "request_id")).isEqualTo("req-1");

        // Key 25 is past the cap of alice's day-2 read: reported as possible, not as certain.
        assertThat(reports.rows("public.customers", "25", NOV).rows()).extracting(r -> r.get(1) + " " + r.get(2))
                .containsExactly("alice-bot possibly (keys capped)");

        // Keys from RETURNING.
        assertThat(insertedIds).hasSize(2);
        assertThat(reports.rows("public.items", insertedIds.get(1), NOV).rows()).extracting(r -> r.get(1) + " " + r.get(2))
                .containsExactly("bob-bot changed");
        assertThat(reports.rows("public.customers", "29", NOV).rows()).extracting(r -> r.get(2)).containsExactly("possibly (keys capped)");
        assertThat(reports.rows("public.customers", "30", TimeRange.ALL).rows()).extracting(r -> r.get(1) + " " + r.get(2))
                .containsExactly("alice-bot read", "alice-bot possibly (keys capped)");
    }

    @Test
    void hashedKeysAreFoundWithTheSecretOnly() {
        assertThat(reports.rows("public.vault", "7", NOV).rows()).isEmpty();
        assertThat(reports.withKeyHasher(HASHER).rows("public.vault", "7", NOV).rows()).extracting(r -> r.get(1) + " " + r.get(2))
                .containsExactly("bob-bot read");
        assertThat(reports.withKeyHasher(HASHER).rows("public.vault", "8", NOV).rows()).isEmpty();
    }

    @Test
    void approvalsByStateAndReviewer() {
        ReportTable t = reports.approvals(NOV);
        assertThat(t.rows()).containsExactly(
                List.of("approved", "dana", 1L, 90.0),
                List.of("denied", "erin", 1L, 30.0),
                java.util.Arrays.asList("pending", null, 1L, null));
    }

    @Test
    void agentTimeline() {
        ReportTable t = reports.agent("carol-bot", TimeRange.parse("7d", null, NOW));
        assertThat(t.rows()).extracting(r -> r.get(0) + " " + r.get(1) + " " + r.get(2) + " " + r.get(3) + " " + r.get(7))
                .containsExactly(DAY1.plusSeconds(300) + " SELECT approved req-1 1", DAY1.plusSeconds(600) + " DELETE denied req-2 0");
        assertThat(reports.agent("nobody", NOV).rows()).isEmpty();
    }

    @Test
    void rendersAsTableCsvAndJson() {
        ReportTable t = reports.rows("public.customers", "2", NOV);
        String table = ReportFormat.TABLE.render(t);
        List<String> lines = table.lines().toList();
        assertThat(lines.get(0)).startsWith("started").contains("agent").contains("action");
        assertThat(lines.get(0).indexOf("agent")).isEqualTo(lines.get(2).indexOf("alice-bot"));
        assertThat(lines.get(lines.size() - 1)).isEqualTo("(4 rows)");
        String csv = ReportFormat.CSV.render(t);
        assertThat(csv).startsWith("started,agent,action,request_id,session_id,sql\r\n");
        assertThat(csv.split("\r\n")[1]).isEqualTo(DAY1 + ",alice-bot,read,,s-alice-bot,\"SELECT id, name FROM customers WHERE id IN (1, 2, 3)\"");
        String json = ReportFormat.JSON.render(reports.approvals(NOV));
        assertThat(json).startsWith("[{\"state\":\"approved\",\"reviewer\":\"dana\",\"requests\":1,\"median_decision_seconds\":90.0}");
        assertThat(ReportFormat.parse("Csv")).isEqualTo(ReportFormat.CSV);
        assertThatThrownBy(() -> ReportFormat.parse("xml")).hasMessageContaining("use table, csv or json");
    }

    @Test
    void sqlViewsAnswerLikeTheReports(@TempDir Path empty) throws Exception {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:")) {
            AuditViews.create(c, audit);
            try (java.sql.Statement s = c.createStatement()) {
                List<String> usage = new ArrayList<>();
                try (java.sql.ResultSet rs = s.executeQuery("SELECT agent, \"table\", sum(statements), sum(rows_read), sum(rows_written)"
                        + " FROM usage_by_agent_table WHERE day >= DATE '2026-11-01' GROUP BY ALL ORDER BY 1, 2")) {
                    while (rs.next()) {
                        usage.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getLong(3) + " " + rs.getLong(4) + " " + rs.getLong(5));
                    }
                }
                assertThat(usage).containsExactly("alice-bot public.customers 3 34 0", "bob-bot public.customers 1 0 1",
                        "bob-bot public.items 1 0 2", "bob-bot public.vault 1 1 0", "carol-bot public.customers 1 1 0");
                List<String> touched = new ArrayList<>();
                try (java.sql.ResultSet rs = s.executeQuery("SELECT agent, action FROM rows_touched"
                        + " WHERE \"table\" = 'public.customers' AND \"key\" = '2' ORDER BY started")) {
                    while (rs.next()) {
                        touched.add(rs.getString(1) + " " + rs.getString(2));
                    }
                }
                assertThat(touched).containsExactly("alice-bot read", "bob-bot changed", "carol-bot read", "alice-bot read");
                try (java.sql.ResultSet rs = s.executeQuery("SELECT count(*) FROM approvals WHERE event = 'decision'")) {
                    rs.next();
                    assertThat(rs.getLong(1)).isEqualTo(2);
                }
            }
        }
        // No files yet: the views exist and are empty.
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:"); java.sql.Statement s = c.createStatement()) {
            AuditViews.create(c, empty);
            try (java.sql.ResultSet rs = s.executeQuery("SELECT (SELECT count(*) FROM usage_by_agent_table) + (SELECT count(*) FROM rows_touched)")) {
                rs.next();
                assertThat(rs.getLong(1)).isZero();
            }
        }
    }

    @Test
    void badInputGetsAClearError(@TempDir Path empty) {
        assertThatThrownBy(() -> TimeRange.parse("last week", null, NOW)).hasMessageContaining("--since 'last week' is not a time");
        assertThatThrownBy(() -> TimeRange.parse("2026-11-22", "2026-11-20", NOW)).hasMessageContaining("make --since earlier than --until");
        assertThatThrownBy(() -> reports.rows("customers", "1", NOV)).hasMessageContaining("must name schema.table");
        assertThatThrownBy(() -> new UsageReports(empty.resolve("missing")).usage(NOV)).hasMessageContaining("does not exist");
        assertThat(new UsageReports(empty).usage(NOV).rows()).isEmpty();
    }
}
