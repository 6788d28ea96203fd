package io.countersign.server.cli;

import io.countersign.audit.AuditExporter;
import io.countersign.audit.AuditVerifier;
import io.countersign.audit.SigningKeys;
import io.countersign.audit.VerificationReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code countersign audit verify|export}: check the tamper-evident trail, or bundle it for an auditor. */
@Command(name = "audit", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Verify the audit trail's hash chain and manifest, or export a self-contained bundle.",
        subcommands = {AuditCommand.Verify.class, AuditCommand.Export.class, AuditCommand.Sql.class})
public final class AuditCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static Path existingDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("audit directory " + dir + " does not exist; pass the audit.directory of the config"
                    + " (by default countersign-data/audit)");
        }
        return dir;
    }

    @Command(name = "verify", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = {"Checks every record's hash chain, every file against the manifest, and the signed chain head.",
                    "Prints what was changed, deleted, reordered or is missing; exits 1 when anything is wrong."})
    static final class Verify implements Callable<Integer> {
        @Parameters(paramLabel = "DIR", description = "the audit directory")
        Path dir;

        @Option(names = "--public-key", paramLabel = "PEM", description = "Ed25519 public key that signed the chain head")
        Path publicKey;

        @Override
        public Integer call() throws Exception {
            existingDirectory(dir);
            VerificationReport report = publicKey == null ? AuditVerifier.verify(dir)
                    : AuditVerifier.verify(dir, SigningKeys.readPublicKey(publicKey));
            System.out.println(report.render());
            return report.ok() ? 0 : 1;
        }
    }

    @Command(name = "sql", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = {"Runs a SQL query with DuckDB over the audit's Parquet files.",
                    "Views: statements, approvals, usage_by_agent_table, rows_touched.",
                    "Example: countersign audit sql DIR \"SELECT agent, count(*) FROM statements GROUP BY agent\""})
    static final class Sql implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "the audit directory")
        Path dir;

        @Parameters(index = "1", paramLabel = "QUERY", description = "a DuckDB SQL query")
        String query;

        @Option(names = "--format", defaultValue = "table", paramLabel = "table|csv|json", description = "output format (default: ${DEFAULT-VALUE})")
        String format;

        @Override
        public Integer call() throws Exception {
            existingDirectory(dir);
            io.countersign.tracking.ReportFormat f = io.countersign.tracking.ReportFormat.parse(format);
            try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:")) {
                io.countersign.tracking.AuditViews.create(c, dir);
                try (java.sql.Statement s = c.createStatement(); java.sql.ResultSet rs = s.executeQuery(query)) {
                    var md = rs.getMetaData();
                    java.util.List<String> columns = new java.util.ArrayList<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        columns.add(md.getColumnLabel(i));
                    }
                    java.util.List<java.util.List<Object>> rows = new java.util.ArrayList<>();
                    while (rs.next()) {
                        java.util.List<Object> row = new java.util.ArrayList<>();
                        for (int i = 1; i <= columns.size(); i++) {
                            Object v = rs.getObject(i);
                            row.add(v instanceof java.sql.Array a ? java.util.Arrays.toString((Object[]) a.getArray()) : v);
                        }
                        rows.add(row);
                    }
                    System.out.print(f.render(new io.countersign.tracking.ReportTable("query", columns, rows)));
                }
            }
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "Writes the files of a date range, their manifest and a verification report to OUT.")
    static final class Export implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "the audit directory")
        Path dir;

        @Option(names = "--from", required = true, paramLabel = "YYYY-MM-DD", description = "first day (UTC) to include")
        LocalDate from;

        @Option(names = "--to", required = true, paramLabel = "YYYY-MM-DD", description = "last day (UTC) to include")
        LocalDate to;

        @Option(names = {"-o", "--out"}, required = true, paramLabel = "OUT", description = "the bundle directory to create")
        Path out;

        @Override
        public Integer call() throws Exception {
            existingDirectory(dir);
            if (to.isBefore(from)) {
                throw new IllegalArgumentException("--to " + to + " is before --from " + from);
            }
            AuditExporter.Result r = AuditExporter.export(dir, from, to, out);
            System.out.println("exported " + r.files() + " file(s), " + r.records() + " record(s) to " + r.bundle()
                    + "; bundle verification: " + (r.bundleReport().ok() ? "ok" : "FAILED"));
            return r.bundleReport().ok() ? 0 : 1;
        }
    }
}
