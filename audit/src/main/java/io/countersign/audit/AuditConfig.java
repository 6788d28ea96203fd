package io.countersign.audit;

import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;

/**
 * Where and how the trail writes. Start from {@link #defaults(Path, String)} and adjust with the
 * {@code with...} methods.
 *
 * @param directory       the trail's root: {@code journal/}, {@code statements/}, {@code approvals/},
 *                        {@code admin/}, {@code _manifest/} live under it
 * @param instanceId      names this Countersign instance; the chain starts from its hash. Keep it stable.
 * @param signingKey      optional Ed25519 key pair; when set, the chain head is signed at every commit
 * @param staging         where acknowledged records wait for the journal thread: a ring in shared memory
 *                        ({@link Staging}), or null to have callers write each record into the journal file
 */
public record AuditConfig(
        Path directory,
        String instanceId,
        FsyncPolicy fsync,
        FailureMode failureMode,
        Compression compression,
        long parquetRollBytes,
        Duration parquetRollInterval,
        long journalSegmentBytes,
        Duration retryInterval,
        int maxPendingRecords,
        KeyPair signingKey,
        Clock clock,
        Staging staging) {

    /**
     * A staging ring of {@code bytes} in {@code directory}, which must be on a memory file system (tmpfs) for
     * the ring to cost no disk writes; {@code /dev/shm} on Linux.
     */
    public record Staging(Path directory, int bytes) {
        public static final int DEFAULT_BYTES = 8 << 20;

        public Staging {
            if (directory == null) {
                throw new IllegalArgumentException("audit staging directory must be set (or use no staging)");
            }
            if (bytes < StagingRing.HEADER + 4096) {
                throw new IllegalArgumentException("audit staging ring of " + bytes + " bytes is too small; use at least " + (StagingRing.HEADER + 4096));
            }
        }

        /** {@code /dev/shm} where it is a writable directory (Linux), else null: no staging. */
        public static Staging shmIfAvailable() {
            Path shm = Path.of("/dev/shm");
            return java.nio.file.Files.isDirectory(shm) && java.nio.file.Files.isWritable(shm) ? new Staging(shm, DEFAULT_BYTES) : null;
        }
    }

    public enum Compression { ZSTD, SNAPPY }

    public AuditConfig {
        if (directory == null) {
            throw new IllegalArgumentException("audit directory must be set");
        }
        if (instanceId == null || instanceId.isBlank() || !instanceId.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("audit instance id '" + instanceId
                    + "' must be non-empty and use only letters, digits, '.', '_' and '-' (it appears in file names)");
        }
        if (fsync == null || failureMode == null || compression == null || parquetRollInterval == null
                || retryInterval == null || clock == null) {
            throw new IllegalArgumentException("audit config fields must not be null");
        }
        if (parquetRollBytes < 1024 || journalSegmentBytes < 4096 || maxPendingRecords < 1) {
            throw new IllegalArgumentException("audit sizes too small: parquetRollBytes >= 1024, journalSegmentBytes >= 4096, maxPendingRecords >= 1");
        }
        if (signingKey != null && !"Ed25519".equalsIgnoreCase(signingKey.getPrivate().getAlgorithm())
                && !"EdDSA".equalsIgnoreCase(signingKey.getPrivate().getAlgorithm())) {
            throw new IllegalArgumentException("audit signing key must be Ed25519, got " + signingKey.getPrivate().getAlgorithm());
        }
    }

    public static AuditConfig defaults(Path directory, String instanceId) {
        return new AuditConfig(directory, instanceId, FsyncPolicy.perStatement(), FailureMode.FAIL_CLOSED,
                Compression.ZSTD, 128L << 20, Duration.ofMinutes(5), 64L << 20, Duration.ofSeconds(1), 100_000, null,
                Clock.systemUTC(), Staging.shmIfAvailable());
    }

    public AuditConfig withFsync(FsyncPolicy v) {
        return new AuditConfig(directory, instanceId, v, failureMode, compression, parquetRollBytes, parquetRollInterval, journalSegmentBytes, retryInterval, maxPendingRecords, signingKey, clock, staging);
    }

    public AuditConfig withFailureMode(FailureMode v) {
        return new AuditConfig(directory, instanceId, fsync, v, compression, parquetRollBytes, parquetRollInterval, journalSegmentBytes, retryInterval, maxPendingRecords, signingKey, clock, staging);
    }

    public AuditConfig withCompression(Compression v) {
        return new AuditConfig(directory, instanceId, fsync, failureMode, v, parquetRollBytes, parquetRollInterval, journalSegmentBytes, retryInterval, maxPendingRecords, signingKey, clock, staging);
    }

    public AuditConfig withParquetRoll(long bytes, Duration interval) {
        return new AuditConfig(directory, instanceId, fsync, failureMode, compression, bytes, interval, journalSegmentBytes, retryInterval, maxPendingRecords, signingKey, clock, staging);
    }

    public AuditConfig withJournalSegmentBytes(long v) {
        return new AuditConfig(directory, instanceId, fsync, failureMode, compression, parquetRollBytes, parquetRollInterval, v, retryInterval, maxPendingRecords, signingKey, clock, staging);
    }

    public AuditConfig withRetryInterval(Duration v) {
        return new AuditConfig(directory, instanceId, fsync, failureMode, compression, parquetRollBytes, parquetRollInterval, journalSegmentBytes, v, maxPendingRecords, signingKey, clock, staging);
    }

    public AuditConfig withMaxPendingRecords(int v) {
        return new AuditConfig(directory, instanceId, fsync, failureMode, compression, parquetRollBytes, parquetRollInterval, journalSegmentBytes, retryInterval, v, signingKey, clock, staging);
    }

    public AuditConfig withSigningKey(KeyPair v) {
        return new AuditConfig(directory, instanceId, fsync, failureMode, compression, parquetRollBytes, parquetRollInterval, journalSegmentBytes, retryInterval, maxPendingRecords, v, clock, staging);
    }

    public AuditConfig withClock(Clock v) {
        return new AuditConfig(directory, instanceId, fsync, failureMode, compression, parquetRollBytes, parquetRollInterval, journalSegmentBytes, retryInterval, maxPendingRecords, signingKey, v, staging);
    }

    public AuditConfig withStaging(Staging v) {
        return new AuditConfig(directory, instanceId, fsync, failureMode, compression, parquetRollBytes, parquetRollInterval, journalSegmentBytes, retryInterval, maxPendingRecords, signingKey, clock, v);
    }

    /**
     * The staging ring's file: named after the instance and the trail's directory, so two trails on one
     * machine never share one, and the same trail finds its own again after a crash.
     */
    Path stagingFile() {
        if (staging == null) {
            return null;
        }
        String where = Hashes.hex(Hashes.sha256(directory.toAbsolutePath().normalize().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        return staging.directory().resolve("countersign-audit-" + instanceId + "-" + where.substring(0, 16) + ".ring");
    }

    Path journalDir() {
        return directory.resolve("journal");
    }

    Path manifestDir() {
        return directory.resolve("_manifest");
    }
}
