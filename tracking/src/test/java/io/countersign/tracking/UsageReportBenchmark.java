package io.countersign.tracking;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Report time over a large audit: writes N statement records (default 10 million) spread over 30
 * days as hive-partitioned, ZSTD Parquet with the audit's schema, then times {@code usage} for the
 * last 7 days. Not a test: run it by hand and copy the figures into tracking/README.md.
 *
 * <pre>
 * ./mvnw -q -pl tracking -am test-compile
 * java -cp "$(cat tracking/target/bench.cp):tracking/target/classes:tracking/target/test-classes" \
 *      io.countersign.tracking.UsageReportBenchmark [dir] [records]
 * </pre>
 */
public final class UsageReportBenchmark {

    private static final int DAYS = 30;
    private static final Instant START = Instant.parse("2026-10-01T00:00:00Z");

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/usage-bench");
        long records = args.length > 1 ? Long.parseLong(args[1]) : 10_000_000L;
        Path marker = dir.resolve("records-" + records);
        if (!Files.exists(marker)) {
            deleteTree(dir);
            Files.createDirectories(dir);
            long t0 = System.nanoTime();
            generate(dir, records);
            Files.createFile(marker);
            System.out.printf("generated %,d statement records in %.1f s%n", records, (System.nanoTime() - t0) / 1e9);
        }
        long bytes;
        long files;
        try (Stream<Path> s = Files.walk(dir.resolve("statements"))) {
            List<Path> parquet = s.filter(p -> p.toString().endsWith(".parquet")).toList();
            files = parquet.size();
            bytes = 0;
            for (Path p : parquet) {
                bytes += Files.size(p);
            }
        }
        System.out.printf("audit: %,d Parquet files, %.1f MiB, %d days%n", files, bytes / 1048576.0, DAYS);

        UsageReports reports = new UsageReports(dir);
        Instant end = START.plus(Duration.ofDays(DAYS));
        TimeRange week = new TimeRange(end.minus(Duration.ofDays(7)), end);
        List<Double> times = new ArrayList<>();
        ReportTable t = null;
        // Process CPU time counts DuckDB's native worker threads too: a figure that other load on the machine does not inflate.
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        List<Double> cpu = new ArrayList<>();
        for (int run = 0; run < 6; run++) {
            long c0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            t = reports.usage(week);
            double s = (System.nanoTime() - t0) / 1e9;
            double c = (os.getProcessCpuTime() - c0) / 1e9;
            times.add(s);
            cpu.add(c);
            System.out.printf("usage, last 7 days, run %d: %.3f s wall, %.3f s CPU (%d rows); load average %.1f%n",
                    run + 1, s, c, t.rows().size(), os.getSystemLoadAverage());
        }
        long statements = 0;
        for (List<Object> row : t.rows()) {
            statements += (Long) row.get(2);
        }
        List<Double> warm = new ArrayList<>(times.subList(1, times.size()));
        warm.sort(Comparator.naturalOrder());
        List<Double> warmCpu = new ArrayList<>(cpu.subList(1, cpu.size()));
        warmCpu.sort(Comparator.naturalOrder());
        System.out.printf("median CPU of warm runs %.3f s over %d cores%n", warmCpu.get(warmCpu.size() / 2), Runtime.getRuntime().availableProcessors());
        System.out.printf("first run %.3f s, median of warm runs %.3f s; %,d agent-table rows covering %,d statement-table pairs%n",
                times.get(0), warm.get(warm.size() / 2), t.rows().size(), statements);
        System.out.print(ReportFormat.TABLE.render(new ReportTable("sample", t.columns(), t.rows().subList(0, Math.min(5, t.rows().size())))));
    }

    /** 20 agents, 200 tables, one to three tables per statement, reads and writes, 0-3 row keys. */
    static void generate(Path dir, long records) throws Exception {
        long spanUs = Duration.ofDays(DAYS).toNanos() / 1000;
        long startUs = START.getEpochSecond() * 1_000_000L;
        String select = """
                SELECT i AS seq, 'bench' AS instance_id, printf('%%064x', i - 1) AS prev_hash, printf('%%064x', i) AS hash,
                       make_timestamptz(%1$d + i * (%2$d // %3$d)) AS started,
                       make_timestamptz(%1$d + i * (%2$d // %3$d) + 1500) AS ended,
                       'agent-' || (i %% 20) AS agent, 'owner-' || (i %% 5) || '@example.com' AS owner,
                       'pg-' || (i // 50) AS session_id, '10.0.0.' || (i %% 200) || ':5' || (i %% 1000) AS client_address,
                       'postgresql' AS protocol, 'shop' AS database,
                       CASE WHEN i %% 5 = 0 THEN 'UPDATE public.t' || (i * 7 %% 200) || ' SET v = v + 1 WHERE id = ' || (i %% 100000)
                            ELSE 'SELECT id, name, v FROM public.t' || (i * 7 %% 200) || ' WHERE id = ' || (i %% 100000) END AS sql,
                       CASE WHEN i %% 5 = 0 THEN 'UPDATE public.t? SET v = v + ? WHERE id = ?'
                            ELSE 'SELECT id, name, v FROM public.t? WHERE id = ?' END AS fingerprint,
                       CAST([] AS VARCHAR[]) AS parameters,
                       [CASE WHEN i %% 5 = 0 THEN 'UPDATE' ELSE 'SELECT' END] AS statement_kinds,
                       CAST(CASE WHEN i %% 97 = 0 THEN [{'category': 'sensitive_read', 'reason': 'reads sensitive column public.t1.email'}]
                                 ELSE [] END AS STRUCT(category VARCHAR, reason VARCHAR)[]) AS categories,
                       CASE WHEN i %% 5 = 0 THEN CAST([] AS VARCHAR[])
                            WHEN i %% 3 = 0 THEN ['public.t' || (i * 7 %% 200), 'public.t' || (i * 13 %% 200)]
                            ELSE ['public.t' || (i * 7 %% 200)] END AS tables_read,
                       CASE WHEN i %% 5 = 0 THEN ['public.t' || (i * 7 %% 200)] ELSE CAST([] AS VARCHAR[]) END AS tables_written,
                       ['public.t' || (i * 7 %% 200) || '.id', 'public.t' || (i * 7 %% 200) || '.name'] AS columns_read,
                       CASE WHEN i %% 5 = 0 THEN ['public.t' || (i * 7 %% 200) || '.v'] ELSE CAST([] AS VARCHAR[]) END AS columns_written,
                       CASE WHEN i %% 1000 = 0 THEN 'denied' WHEN i %% 97 = 0 THEN 'approved' ELSE 'allowed_by_rule' END AS decision,
                       CASE WHEN i %% 97 = 0 THEN NULL ELSE 'default' END AS decision_rule,
                       CASE WHEN i %% 97 = 0 THEN 'dana' END AS approved_by,
                       CASE WHEN i %% 97 = 0 THEN 'req-' || i END AS request_id,
                       CAST(NULL AS VARCHAR) AS decision_reason,
                       CAST(CASE WHEN i %% 5 = 0 THEN 0 ELSE i %% 4 END AS BIGINT) AS rows_returned,
                       CAST(CASE WHEN i %% 5 = 0 THEN 1 ELSE -1 END AS BIGINT) AS rows_affected,
                       CAST(100 + i %% 900 AS BIGINT) AS bytes_sent,
                       CAST(NULL AS VARCHAR) AS error_code, CAST(NULL AS VARCHAR) AS error_message,
                       CAST(500 + i %% 3000 AS BIGINT) AS duration_us,
                       ['public.t' || (i * 7 %% 200) || '.id', 'public.t' || (i * 7 %% 200) || '.name'] AS result_columns,
                       list_transform(range(i %% 4), k -> 'public.t' || (i * 7 %% 200) || ':' || (i %% 100000 + k)) AS row_keys,
                       false AS row_keys_capped, 'CALCITE' AS settled_by,
                       CAST(make_timestamptz(%1$d + i * (%2$d // %3$d)) AS DATE) AS dt
                  FROM range(1, %3$d + 1) r(i)
                """.formatted(startUs, spanUs, records);
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
            s.execute("SET TimeZone = 'UTC'");
            s.execute("COPY (" + select + ") TO '" + dir.resolve("statements")
                    + "' (FORMAT PARQUET, PARTITION_BY (dt), COMPRESSION ZSTD, ROW_GROUP_SIZE 122880, FILENAME_PATTERN 'part-bench-{i}')");
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
