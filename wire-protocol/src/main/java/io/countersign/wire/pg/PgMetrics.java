package io.countersign.wire.pg;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/** The listener's meters; names start with {@code countersign_} and carry {@code protocol=postgresql}. */
final class PgMetrics {

    final AtomicInteger active = new AtomicInteger();
    final Counter connections;
    final Counter statements;
    final Counter statementErrors;
    final Counter bytesIn;
    final Counter bytesOut;
    final Counter backendErrors;
    final Counter authFailures;
    final Timer latency;

    PgMetrics(MeterRegistry registry) {
        String p = "postgresql";
        Gauge.builder("countersign_connections_active", active, AtomicInteger::get)
                .description("Agent connections currently open").tag("protocol", p).register(registry);
        connections = Counter.builder("countersign_connections_total")
                .description("Agent connections accepted").tag("protocol", p).register(registry);
        statements = Counter.builder("countersign_statements_total")
                .description("Statements completed (allowed, denied or failed)").tag("protocol", p).register(registry);
        statementErrors = Counter.builder("countersign_statement_errors_total")
                .description("Statements that ended with an error, denials included").tag("protocol", p).register(registry);
        bytesIn = Counter.builder("countersign_bytes_in_total")
                .description("Bytes received from agents").tag("protocol", p).register(registry);
        bytesOut = Counter.builder("countersign_bytes_out_total")
                .description("Bytes received from backends for agents").tag("protocol", p).register(registry);
        backendErrors = Counter.builder("countersign_backend_errors_total")
                .description("Backend connections that failed or broke").tag("protocol", p).register(registry);
        authFailures = Counter.builder("countersign_auth_failures_total")
                .description("Failed agent authentications").tag("protocol", p).register(registry);
        latency = Timer.builder("countersign_statement_latency")
                .description("Statement latency from arrival to last response message")
                .tag("protocol", p)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(0).plusNanos(10_000))
                .maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry);
    }
}
