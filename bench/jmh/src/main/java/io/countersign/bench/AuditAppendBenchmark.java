package io.countersign.bench;

import io.countersign.audit.AuditConfig;
import io.countersign.audit.AuditTrail;
import io.countersign.audit.Decision;
import io.countersign.audit.FsyncPolicy;
import io.countersign.audit.Protocol;
import io.countersign.audit.StatementRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What one audit append costs the thread that makes it (in the proxy, an event loop): the record of a
 * pgbench select-only statement, `bounded` fsync of 5 ms as bench/pgbench.sh configures it, staged in the
 * shared-memory ring ({@code ring}) or written into the journal file with one write call ({@code file}).
 * The journal thread and the Parquet writer run meanwhile, as in the proxy, on the other cores.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AuditAppendBenchmark {

    @Param({"ring", "file"})
    String staging;

    Path dir;
    AuditTrail trail;
    StatementRecord.Builder template;
    long n;

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = Files.createTempDirectory("cs-append-bench");
        AuditConfig cfg = AuditConfig.defaults(dir, "bench").withFsync(FsyncPolicy.bounded(Duration.ofMillis(5)));
        if (staging.equals("file")) {
            cfg = cfg.withStaging(null);
        } else if (cfg.staging() == null) {
            throw new IllegalStateException("no writable /dev/shm here: the ring cannot be measured");
        }
        trail = AuditTrail.open(cfg);
        Instant t = Instant.now();
        template = StatementRecord.builder()
                .started(t).ended(t.plusNanos(95_000)).agent("bench-agent").owner("bench@example.com")
                .sessionId("pg-4f1c2a9e").clientAddress("127.0.0.1:53412").protocol(Protocol.PG).database("cs_bench")
                .sql("SELECT abalance FROM pgbench_accounts WHERE aid = $1;")
                .fingerprint("9b1f0c3e5a7d2b48").parameters(List.of("412873")).statementKinds(List.of("SELECT"))
                .tablesRead(List.of("public.pgbench_accounts")).columnsRead(List.of("public.pgbench_accounts.abalance",
                        "public.pgbench_accounts.aid"))
                .decision(Decision.allowedByRule("read-only")).rowsReturned(1L).bytesSent(71L)
                .duration(Duration.ofNanos(95_000)).settledBy("CALCITE");
    }

    /**
     * The rest of a statement's work in the proxy, about 20 µs of CPU here, between two appends: without
     * it the loop would append half a million records a second and measure the journal's throughput
     * instead of what one append costs its caller.
     */
    static final long OTHER_WORK_TOKENS = 8_000;

    @Benchmark
    public Object withoutAppend() {
        org.openjdk.jmh.infra.Blackhole.consumeCPU(OTHER_WORK_TOKENS);
        return template.sessionId("pg-4f1c2a9e-" + (n++ & 1023)).build();
    }

    @Benchmark
    public Object withAppend() {
        org.openjdk.jmh.infra.Blackhole.consumeCPU(OTHER_WORK_TOKENS);
        // a fresh record each time, as the proxy builds one per statement
        return trail.append(template.sessionId("pg-4f1c2a9e-" + (n++ & 1023)).build());
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        trail.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
