package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 of a real writer process under load loses no acknowledged record; the next open finishes the Parquet. */
class KillNineTest {
    @TempDir
    Path dir;

    /**
     * Per-statement fsync acknowledges after the group's fsync; bounded fsync acknowledges once the frame is
     * in the staging ring in shared memory: both must survive the process dying. With a bound of a minute
     * the journal thread takes frames from the ring only when it is half full, so at the kill most
     * acknowledged records exist only in the ring, and the next start must bring them into the journal.
     */
    @ParameterizedTest
    @ValueSource(strings = {"per-statement", "bounded:5ms", "bounded:60000ms"})
    void killNineUnderLoadLosesNoAcknowledgedRecordAndTheNextOpenCompletesTheParquet(String fsync) throws Exception {
        Set<String> acked = ConcurrentHashMap.newKeySet();
        boolean bounded = fsync.startsWith("bounded");
        for (int round = 0; round < 2; round++) {
            // two crashes in a row: the second run starts from a recovered trail and is killed again
            acked.addAll(runAndKill("r" + round, fsync, bounded ? 30_000 : round == 0 ? 1500 : 800));
            if (bounded) {
                assertThat(lastFast).as("records that took the fast path in run " + round).isPositive();
            }
        }
        assertThat(acked).hasSizeGreaterThan(1000);

        try (AuditTrail trail = AuditTrail.open(AuditConfig.defaults(dir, "crash-node"))) {
            assertThat(trail.recovery().journalRecords()).isPositive();
            if (fsync.equals("bounded:60000ms") && AuditConfig.Staging.shmIfAvailable() != null) {
                assertThat(trail.recovery().notes()).as("records only the ring held")
                        .anySatisfy(n -> assertThat(n).contains("from the audit staging file"));
            }
        }
        assertThat(AuditConfig.defaults(dir, "crash-node").stagingFile()).as("the ring is removed once drained at close")
                .satisfiesAnyOf(f -> assertThat(f).isNull(), f -> assertThat(f).doesNotExist());
        try (Stream<Path> s = Files.walk(dir)) {
            assertThat(s.filter(p -> p.toString().endsWith(ParquetSink.TEMP_SUFFIX))).as("no half-written Parquet left").isEmpty();
        }
        Set<String> inParquet = new HashSet<>();
        long rows;
        try (Connection c = DuckDb.connect(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT session_id FROM read_parquet('" + DuckDb.glob(dir, RecordType.STATEMENT)
                        + "', hive_partitioning=1)")) {
            rows = 0;
            while (rs.next()) {
                rows++;
                inParquet.add(rs.getString(1).substring("crash-".length()));
            }
        }
        Set<String> lost = new HashSet<>(acked);
        lost.removeAll(inParquet);
        assertThat(lost).as("acknowledged records missing after kill -9 and reopen").isEmpty();
        assertThat(inParquet).as("every row is a distinct record").hasSize((int) rows);
        System.out.println("kill -9 test: " + acked.size() + " acknowledged, " + rows + " in Parquet after recovery");
        VerificationReport report = AuditVerifier.verify(dir);
        assertThat(report.ok()).as(report.render()).isTrue();
        assertThat(report.recordsChecked()).isEqualTo(rows);
    }

    /** Runs the writer until it has acknowledged {@code minAcks} records, kills it with SIGKILL, returns what it acked. */
    private volatile long lastFast;

    private Set<String> runAndKill(String run, String fsync, int minAcks) throws Exception {
        lastFast = 0;
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), CrashWriterMain.class.getName(),
                dir.toString(), "4", run, fsync,
                // with a one-minute bound, a pause keeps the ring from filling (a full ring sends records through
                // the journal thread instead), so at the kill the newest acknowledged records are in the ring only
                fsync.equals("bounded:60000ms") ? "100" : "0")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        Set<String> acked = ConcurrentHashMap.newKeySet();
        CountDownLatch enough = new CountDownLatch(1);
        Thread reader = Thread.ofPlatform().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith("FAST ")) {
                        lastFast = Long.parseLong(line.substring("FAST ".length()));
                    }
                    if (line.startsWith("ACK ")) {
                        acked.add(line.substring(4));
                        if (acked.size() >= minAcks) {
                            enough.countDown();
                        }
                    }
                }
            } catch (Exception e) {
                // the pipe closes when the process dies
            }
        });
        try {
            assertThat(enough.await(90, TimeUnit.SECONDS)).as("writer acknowledged " + acked.size() + " records in time").isTrue();
        } finally {
            p.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no close()
            p.waitFor(30, TimeUnit.SECONDS);
        }
        reader.join(10_000);
        assertThat(p.exitValue()).as("killed by SIGKILL").isEqualTo(137);
        return Set.copyOf(acked);
    }

}
