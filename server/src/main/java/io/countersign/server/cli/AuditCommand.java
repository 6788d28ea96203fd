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
        subcommands = {AuditCommand.Verify.class, AuditCommand.Export.class})
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
