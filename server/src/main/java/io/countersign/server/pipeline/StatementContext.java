package io.countersign.server.pipeline;

import io.countersign.analysis.AnalysisResult;
import io.countersign.audit.Decision;
import io.countersign.server.config.AgentConfig;
import io.countersign.tracking.TrackedStatement;

/**
 * What the gate learned about a statement, handed back by the session in its completion so the
 * audit record can say how the statement was settled.
 *
 * @param agent     the agent's config entry
 * @param analysis  the statement's analysis ({@code null} when it was refused before analysis)
 * @param decision  how it was allowed or refused, for the audit
 * @param requestId the approval request that released it, or {@code null}
 * @param tracked   the usage tracker watching its result, or {@code null} when it did not run
 * @param runAs     the elevated backend role it ran as (a policy rule's run-as), or {@code null}
 */
public record StatementContext(AgentConfig agent, AnalysisResult analysis, Decision decision, String requestId, TrackedStatement tracked,
                               String runAs) {

    public StatementContext(AgentConfig agent, AnalysisResult analysis, Decision decision, String requestId, TrackedStatement tracked) {
        this(agent, analysis, decision, requestId, tracked, null);
    }

    /** A statement that runs as an elevated backend role for this statement only. */
    public static StatementContext ran(AgentConfig agent, AnalysisResult analysis, Decision decision, String requestId,
                                       TrackedStatement tracked, String runAs) {
        return new StatementContext(agent, analysis, decision, requestId, tracked, runAs);
    }

    /** A statement that did not reach the backend. */
    public static StatementContext refused(AgentConfig agent, AnalysisResult analysis, Decision decision) {
        return new StatementContext(agent, analysis, decision, null, null);
    }

    /** A statement that runs, released by {@code decision} (and approval request {@code requestId}, if any). */
    public static StatementContext ran(AgentConfig agent, AnalysisResult analysis, Decision decision, String requestId,
                                       TrackedStatement tracked) {
        return new StatementContext(agent, analysis, decision, requestId, tracked);
    }
}
