package io.countersign.tracking;

import io.countersign.analysis.StatementAnalysis;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.StatementRequest;
import java.util.List;
import java.util.Objects;

/**
 * Tracks what agents touch. For each allowed statement the gate calls {@link #track} and returns the
 * {@link TrackedStatement} as the {@code GateDecision.Allow} observer (and in its context); the
 * statement listener calls {@link TrackedStatement#complete} with the completion and copies the
 * resulting {@link StatementUsage} into the audit record.
 */
public final class UsageTracker {

    private volatile ColumnResolver resolver;
    private final TrackingSettings settings;
    private final UsageCounters counters;

    public UsageTracker(ColumnResolver resolver, TrackingSettings settings, UsageCounters counters) {
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.counters = Objects.requireNonNull(counters, "counters");
    }

    /** Starts tracking one statement (a simple query may carry several: pass every analysis). */
    public TrackedStatement track(StatementRequest request, List<StatementAnalysis> analyses) {
        // Extended-protocol results may be binary; until the session reports the Bind codes, decode only what is unambiguous.
        return new TrackedStatement(this, request.session().agent(), request.session().protocol(),
                request.session().database(), analyses, request.parameters(), settings).unknownFormats(request.extended());
    }

    /** The same without a request: agent, protocol, default database and bound parameters spelled out. */
    public TrackedStatement track(String agent, Protocol protocol, String database,
                                  List<StatementAnalysis> analyses, List<BoundParameter> parameters) {
        return new TrackedStatement(this, agent, protocol, database, analyses, parameters, settings);
    }

    /** Swaps the catalog snapshot after a refresh; statements already running keep working with whichever they read. */
    public void resolver(ColumnResolver resolver) {
        this.resolver = Objects.requireNonNull(resolver, "resolver");
    }

    public ColumnResolver resolver() {
        return resolver;
    }

    public TrackingSettings settings() {
        return settings;
    }

    public UsageCounters counters() {
        return counters;
    }
}
