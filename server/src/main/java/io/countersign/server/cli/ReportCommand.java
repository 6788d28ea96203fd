package io.countersign.server.cli;

import io.countersign.tracking.ReportFormat;
import io.countersign.tracking.ReportTable;
import io.countersign.tracking.TimeRange;
import io.countersign.tracking.UsageReports;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code countersign report usage|sensitive|rows|approvals|agent}: who touched what, from the audit files. */
@Command(name = "report", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Reports over the audit's Parquet files: usage, sensitive reads, row history, approvals, an agent's timeline.",
        subcommands = {ReportCommand.Usage.class, ReportCommand.Sensitive.class, ReportCommand.Rows.class,
                ReportCommand.Approvals.class, ReportCommand.Agent.class})
public final class ReportCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Options every report takes. */
    static final class Common {
        @Option(names = "--audit-dir", defaultValue = "countersign-data/audit", paramLabel = "DIR",
                description = "the audit directory (default: ${DEFAULT-VALUE})")
        Path auditDir;

        @Option(names = "--since", paramLabel = "WHEN", description = "7d, 24h, 2w, an ISO date or instant")
        String since;

        @Option(names = "--until", paramLabel = "WHEN", description = "same forms as --since")
        String until;

        @Option(names = "--format", defaultValue = "table", paramLabel = "table|csv|json", description = "output format (default: ${DEFAULT-VALUE})")
        String format;

        int print(java.util.function.BiFunction<UsageReports, TimeRange, ReportTable> report) {
            AuditCommand.existingDirectory(auditDir);
            ReportFormat f = ReportFormat.parse(format);
            TimeRange range = since == null && until == null ? TimeRange.ALL : TimeRange.parse(since, until, Clock.systemUTC());
            System.out.print(f.render(report.apply(new UsageReports(auditDir), range)));
            System.out.flush();
            return 0;
        }
    }

    @Command(name = "usage", mixinStandardHelpOptions = true, description = "Per agent and table: statements, rows read and written, first and last time.")
    static final class Usage implements Callable<Integer> {
        @Mixin Common common;

        @Override
        public Integer call() {
            return common.print(UsageReports::usage);
        }
    }

    @Command(name = "sensitive", mixinStandardHelpOptions = true, description = "Who read which sensitive columns, how many rows, under which approval.")
    static final class Sensitive implements Callable<Integer> {
        @Mixin Common common;

        @Override
        public Integer call() {
            return common.print(UsageReports::sensitive);
        }
    }

    @Command(name = "rows", mixinStandardHelpOptions = true, description = "Which agents saw or changed one row, when, with which statement.")
    static final class Rows implements Callable<Integer> {
        @Mixin Common common;

        @Option(names = "--table", required = true, paramLabel = "SCHEMA.TABLE") String table;
        @Option(names = "--key", required = true, paramLabel = "KEY", description = "the primary key value, e.g. 42 or (1,2)") String key;

        @Override
        public Integer call() {
            return common.print((r, range) -> r.rows(table, key, range));
        }
    }

    @Command(name = "approvals", mixinStandardHelpOptions = true, description = "Requests by state, median time to decision, by reviewer.")
    static final class Approvals implements Callable<Integer> {
        @Mixin Common common;

        @Override
        public Integer call() {
            return common.print(UsageReports::approvals);
        }
    }

    @Command(name = "agent", mixinStandardHelpOptions = true, description = "One agent's timeline of statements.")
    static final class Agent implements Callable<Integer> {
        @Mixin Common common;

        @Parameters(paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            return common.print((r, range) -> r.agent(name, range));
        }
    }
}
