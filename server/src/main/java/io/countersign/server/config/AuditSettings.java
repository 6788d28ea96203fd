package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.countersign.audit.AuditConfig;
import io.countersign.audit.FailureMode;
import io.countersign.audit.FsyncPolicy;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The audit trail.
 *
 * @param directory   where the journal and the Parquet files go (default: {@code audit} under the data directory)
 * @param fsync       {@code per-statement} (default: a statement's record is on disk before its result's last message goes out)
 *                    or {@code bounded} (acknowledged at once, on disk within {@code fsyncBoundMs})
 * @param fsyncBoundMs the bound for {@code bounded}, in milliseconds (default 5)
 * @param failureMode {@code fail-closed} (default: refuse new statements while the audit cannot write) or {@code fail-open}
 * @param enabled     false turns the audit off (default true)
 * @param rollSeconds a Parquet file is closed (and readable) at the latest this long after its first record (default 300)
 * @param retentionDays partitions older than this many days are deleted once a day, recorded in the chain (default: keep all)
 * @param stagingDir  where acknowledged records wait for the journal thread, a directory on a memory file system
 *                    (default {@code /dev/shm} where it is writable), or {@code none} to write each record into
 *                    the journal file on the statement's own thread (audit/README.md, "Durability")
 */
public record AuditSettings(
        String directory,
        String fsync,
        @JsonProperty("fsync-bound-ms") Integer fsyncBoundMs,
        @JsonProperty("failure-mode") String failureMode,
        Boolean enabled,
        @JsonProperty("roll-seconds") Integer rollSeconds,
        @JsonProperty("retention-days") Integer retentionDays,
        @JsonProperty("staging-dir") String stagingDir) implements ConfigSection {

    public static final AuditSettings DEFAULT = new AuditSettings(null, null, null, null, null, null, null, null);

    public AuditSettings {
        fsync = fsync == null ? "per-statement" : fsync;
        fsyncBoundMs = fsyncBoundMs == null ? 5 : fsyncBoundMs;
        failureMode = failureMode == null ? "fail-closed" : failureMode;
        enabled = enabled == null || enabled;
        rollSeconds = rollSeconds == null ? 300 : rollSeconds;
    }

    public AuditConfig toAuditConfig(Path defaultDirectory, String instanceId) {
        Path dir = directory == null ? defaultDirectory : Path.of(directory);
        FsyncPolicy policy = fsync.equals("bounded") ? new FsyncPolicy.Bounded(Duration.ofMillis(fsyncBoundMs)) : FsyncPolicy.perStatement();
        FailureMode mode = failureMode.equals("fail-open") ? FailureMode.FAIL_OPEN : FailureMode.FAIL_CLOSED;
        AuditConfig defaults = AuditConfig.defaults(dir, instanceId);
        AuditConfig.Staging staging = stagingDir == null ? defaults.staging()
                : stagingDir.equals("none") ? null : new AuditConfig.Staging(Path.of(stagingDir), AuditConfig.Staging.DEFAULT_BYTES);
        return defaults.withFsync(policy).withFailureMode(mode)
                .withParquetRoll(defaults.parquetRollBytes(), Duration.ofSeconds(rollSeconds))
                .withStaging(staging);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        if (!fsync.equals("per-statement") && !fsync.equals("bounded")) {
            problems.add(Problems.join(at, "fsync"), "'" + fsync + "' is not an fsync policy; expected per-statement or bounded");
        }
        if (fsyncBoundMs < 1) {
            problems.add(Problems.join(at, "fsync-bound-ms"), fsyncBoundMs + " is too small; expected milliseconds, at least 1");
        }
        if (retentionDays != null && retentionDays < 1) {
            problems.add(Problems.join(at, "retention-days"), retentionDays + " is too small; expected days, at least 1 (or leave it out to keep everything)");
        }
        if (rollSeconds < 1) {
            problems.add(Problems.join(at, "roll-seconds"), rollSeconds + " is too small; expected seconds, at least 1");
        }
        if (stagingDir != null && !stagingDir.equals("none")) {
            Path p = Path.of(stagingDir);
            if (!p.isAbsolute()) {
                problems.add(Problems.join(at, "staging-dir"), "'" + stagingDir + "' is not an absolute path; give a directory on a memory"
                        + " file system such as /dev/shm, or none");
            } else if (!java.nio.file.Files.isDirectory(p) || !java.nio.file.Files.isWritable(p)) {
                problems.add(Problems.join(at, "staging-dir"), stagingDir + " is not a writable directory; create it (on a memory file"
                        + " system such as /dev/shm) or say none");
            }
        }
        if (!failureMode.equals("fail-closed") && !failureMode.equals("fail-open")) {
            problems.add(Problems.join(at, "failure-mode"), "'" + failureMode + "' is not a failure mode; expected fail-closed or fail-open");
        }
    }
}
