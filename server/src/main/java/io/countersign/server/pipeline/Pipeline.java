package io.countersign.server.pipeline;

import io.countersign.analysis.SettledBy;
import io.countersign.analysis.SqlAnalyzer;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.BackendType;
import io.countersign.wire.spi.Protocol;
import io.countersign.server.config.CountersignConfig;
import io.countersign.tracking.KeyHasher;
import io.countersign.tracking.TrackingSettings;
import io.countersign.tracking.UsageCounters;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The analysis side of the gate, shared by every listener: one analyzer (and its fingerprint cache),
 * one catalog and usage tracker per backend, and the threads that do their blocking work.
 */
public final class Pipeline implements AutoCloseable {

    private final SqlAnalyzer analyzer;
    private final Map<String, BackendAnalysis> backends = new LinkedHashMap<>();
    private final Map<String, BackendAnalysis> mysqlBackends = new LinkedHashMap<>();
    private final ExecutorService io = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("countersign-analysis-", 0).factory());
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("countersign-catalog-refresh").factory());
    private final UsageCounters counters;
    private final MeterRegistry metrics;

    public Pipeline(CountersignConfig config, MeterRegistry metrics) {
        this.metrics = metrics;
        this.analyzer = new SqlAnalyzer(config.analysis().analyzerConfig());
        this.counters = new UsageCounters(metrics);
        TrackingSettings tracking = TrackingSettings.DEFAULTS.withKeyCap(config.tracking().keyCap()).withEnabled(config.tracking().enabled());
        if (config.tracking().keyHmacKey() != null) {
            tracking = tracking.withKeyHasher(new KeyHasher(config.tracking().keyHmacKey().getBytes(StandardCharsets.UTF_8)));
        }
        for (BackendConfig b : config.backends()) {
            (b.type() == BackendType.MYSQL ? mysqlBackends : backends).put(b.name(), new BackendAnalysis(b, b.type().dialect(), io, scheduler, config.analysis().catalogRefresh(),
                    tracking, counters));
        }
        var stats = analyzer.stats();
        for (var layer : SettledBy.values()) {
            Gauge.builder("countersign_analysis_settled", stats, s -> s.snapshot().settled().getOrDefault(layer, 0L))
                    .description("statements settled by each analysis layer since start").tag("layer", layer.name().toLowerCase())
                    .register(metrics);
        }
    }

    public SqlAnalyzer analyzer() {
        return analyzer;
    }

    /**
     * The backend named {@code name} (a PostgreSQL one first, as the CLI names backends without a
     * protocol). Sessions use {@link #backend(Protocol, String)}.
     */
    public BackendAnalysis backend(String name) {
        BackendAnalysis b = backends.get(name);
        return b != null ? b : mysqlBackends.get(name);
    }

    /**
     * The backend a session of {@code protocol} reaches under {@code name}, or {@code null}. A MySQL
     * session that switched (USE) to the name of a PostgreSQL backend finds nothing, so its
     * statements are refused rather than analysed in the wrong dialect against the wrong catalog.
     */
    public BackendAnalysis backend(Protocol protocol, String name) {
        return name == null ? null : (protocol == Protocol.MYSQL ? mysqlBackends : backends).get(name);
    }

    /** Every backend; a MySQL backend that shares a PostgreSQL backend's name appears as {@code name (mysql)}. */
    public Map<String, BackendAnalysis> backends() {
        Map<String, BackendAnalysis> all = new LinkedHashMap<>(backends);
        mysqlBackends.forEach((name, b) -> all.put(backends.containsKey(name) ? name + " (mysql)" : name, b));
        return Map.copyOf(all);
    }

    public ExecutorService io() {
        return io;
    }

    public UsageCounters counters() {
        return counters;
    }

    public MeterRegistry metrics() {
        return metrics;
    }

    @Override
    public void close() {
        backends.values().forEach(BackendAnalysis::close);
        mysqlBackends.values().forEach(BackendAnalysis::close);
        scheduler.shutdownNow();
        io.shutdownNow();
    }
}
