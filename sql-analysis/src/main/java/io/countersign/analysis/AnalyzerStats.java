package io.countersign.analysis;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counters of a {@link SqlAnalyzer}: statements settled per layer, cache hits and misses, EXPLAIN runs. */
public final class AnalyzerStats {

    private final EnumMap<SettledBy, LongAdder> settled = new EnumMap<>(SettledBy.class);
    private final LongAdder cacheHits = new LongAdder();
    private final LongAdder cacheMisses = new LongAdder();
    private final LongAdder explainRuns = new LongAdder();
    private final LongAdder explainFailures = new LongAdder();

    AnalyzerStats() {
        for (SettledBy s : SettledBy.values()) {
            settled.put(s, new LongAdder());
        }
    }

    void settled(SettledBy by) {
        settled.get(by).increment();
    }

    void hit() { cacheHits.increment(); }
    void miss() { cacheMisses.increment(); }
    void explainRun() { explainRuns.increment(); }
    void explainFailure() { explainFailures.increment(); }

    /** Immutable view for metrics. */
    public record Snapshot(Map<SettledBy, Long> settled, long cacheHits, long cacheMisses, long explainRuns,
                           long explainFailures) {
        public long total() {
            return settled.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Share (0..1) of statements settled by a layer. */
        public double share(SettledBy by) {
            long t = total();
            return t == 0 ? 0 : (double) settled.getOrDefault(by, 0L) / t;
        }
    }

    public Snapshot snapshot() {
        EnumMap<SettledBy, Long> m = new EnumMap<>(SettledBy.class);
        settled.forEach((k, v) -> m.put(k, v.sum()));
        return new Snapshot(Map.copyOf(m), cacheHits.sum(), cacheMisses.sum(), explainRuns.sum(), explainFailures.sum());
    }
}
