package io.countersign.server.gate;

import io.countersign.analysis.AnalysisResult;
import io.countersign.analysis.Category;
import io.countersign.analysis.Finding;
import io.countersign.analysis.SettledBy;
import io.countersign.analysis.SqlAnalyzer;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.Grant;
import io.countersign.approvals.HeldRequest;
import io.countersign.approvals.Outcome;
import io.countersign.approvals.gate.GateMessages;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.PolicyEngine;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.audit.AuditTrail;
import io.countersign.audit.Decision;
import io.countersign.server.config.AgentConfig;
import io.countersign.server.config.CountersignConfig;
import io.countersign.server.pipeline.Pipeline;
import io.countersign.server.pipeline.StatementContext;
import io.countersign.server.pipeline.BackendAnalysis;
import io.countersign.tracking.TrackedStatement;
import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.ResultColumn;
import io.countersign.wire.spi.ResultObserver;
import io.countersign.wire.spi.ReusedColumns;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementRequest;
import io.countersign.wire.spi.StatementWithdrawnException;
import io.micrometer.core.instrument.Counter;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place every statement passes before it reaches a backend, for every listener:
 * analysis (lexer, Calcite, catalog, the backend's own EXPLAIN), then policy (allow, hold for a
 * human, deny), then the usage tracker and the wire-level sensitive-column check on the result.
 *
 * <p>Runs on the session's event loop. The cached path (catalog loaded, analysis cached, policy
 * allows) does no I/O; whatever needs I/O or a person comes back as a {@link GateDecision.Defer}.
 * Whatever cannot be analysed is held (the policy's UNANALYSABLE rule): fail closed.
 */
public final class CountersignGate implements StatementGate {

    private static final Logger log = LoggerFactory.getLogger(CountersignGate.class);

    private final java.util.Map<String, AgentConfig> agents;
    private final java.util.Map<String, Set<String>> agentGroups;
    private final Pipeline pipeline;
    private final SqlAnalyzer analyzer;
    private final Supplier<PolicyEngine> policy;
    private final ApprovalService approvals;
    private final AuditTrail audit;
    private final String consoleUrl;
    private final Counter analysisMisses;

    public CountersignGate(CountersignConfig config, Pipeline pipeline, Supplier<PolicyEngine> policy,
                           ApprovalService approvals, AuditTrail audit, String consoleUrl) {
        // looked up on every statement: built once, not scanned per statement
        java.util.Map<String, AgentConfig> byName = new java.util.HashMap<>();
        java.util.Map<String, Set<String>> groups = new java.util.HashMap<>();
        for (AgentConfig a : config.agents()) {
            if (a != null && a.name() != null) {
                byName.put(a.name(), a);
                groups.put(a.name(), Set.copyOf(a.groups()));
            }
        }
        this.agents = java.util.Map.copyOf(byName);
        this.agentGroups = java.util.Map.copyOf(groups);
        this.pipeline = pipeline;
        this.analyzer = pipeline.analyzer();
        this.policy = policy;
        this.approvals = approvals;
        this.audit = audit;
        this.consoleUrl = consoleUrl;
        this.analysisMisses = Counter.builder("countersign_analysis_misses_total")
                .description("results stopped on the wire because they carried a sensitive column the analysis did not predict")
                .register(pipeline.metrics());
    }

    @Override
    public GateDecision decide(StatementRequest request) {
        String agentName = request.session().agent();
        AgentConfig agent = agents.get(agentName);
        BackendAnalysis backend = pipeline.backend(request.session().protocol(), request.session().database());
        if (agent == null || backend == null) {
            return new GateDecision.Deny(null, ProtocolError.denied("Countersign has no agent '" + agentName + "' with backend '"
                    + request.session().database() + "' any more (config changed?); reconnect"));
        }
        if (audit != null && !audit.acceptingStatements()) {
            return new GateDecision.Deny(StatementContext.refused(agent, null, Decision.denied("audit", "audit unavailable")),
                    new ProtocolError("58030", 1227, "Countersign cannot write its audit trail (" + audit.health()
                            + "), so it refuses new statements until it can (audit.failure-mode: fail-closed); ask the operator to free or fix the audit directory", null));
        }
        Catalog catalog = backend.catalogs().current();
        CompletableFuture<Catalog> fresh = catalog == null ? null : backend.catalogs().get();
        if (catalog == null || !fresh.isDone()) {
            // First statement for this backend, or a reload is running (DDL just passed through, e.g. an
            // ORM's CREATE TABLE followed at once by INSERTs into it): read the catalog off the event
            // loop, then decide on it. A failed reload falls back to the snapshot there is.
            CompletableFuture<GateDecision> later = (fresh != null ? fresh : backend.catalogs().get()).handle((c, ex) -> ex == null
                    ? analyse(request, agent, backend, c)
                    : catalog != null ? analyse(request, agent, backend, catalog)
                    : decideOn(request, agent, backend, null, unanalysable(request.sql(),
                            "the catalog of backend '" + backend.name() + "' could not be read (" + rootMessage(ex) + ")")));
            return new GateDecision.Defer(later, null);
        }
        return analyse(request, agent, backend, fresh.isCompletedExceptionally() ? catalog : fresh.join());
    }

    private GateDecision analyse(StatementRequest request, AgentConfig agent, BackendAnalysis backend, Catalog catalog) {
        AnalysisResult result;
        try {
            result = analyzer.analyze(request.sql(), backend.dialect(), catalog);
        } catch (RuntimeException e) {
            log.error("analysis failed for a statement of agent {}; holding it (fail closed)", agent.name(), e);
            return decideOn(request, agent, backend, catalog, unanalysable(request.sql(), "the analyser failed: " + e.getMessage()));
        }
        if (result.needsExplain()) {
            CompletableFuture<GateDecision> later = analyzer
                    .analyzeWithExplain(request.sql(), backend.dialect(), catalog, backend::sideConnection, pipeline.io())
                    .handle((r, ex) -> decideOn(request, agent, backend, catalog, ex == null ? r
                            : unanalysable(request.sql(), "the backend's EXPLAIN failed (" + rootMessage(ex) + ")")));
            return new GateDecision.Defer(later, null);
        }
        return decideOn(request, agent, backend, catalog, result);
    }

    private GateDecision decideOn(StatementRequest request, AgentConfig agent, BackendAnalysis backend, Catalog catalog,
                                  AnalysisResult result) {
        StatementFacts facts = GateMessages.facts(request, agentGroups.get(agent.name()), agent.owner(), result.statements());
        PolicyDecision decision;
        try {
            decision = policy.get().decide(facts);
        } catch (RuntimeException e) {
            log.error("the policy failed on a statement of agent {}; denying it (fail closed)", agent.name(), e);
            return new GateDecision.Deny(StatementContext.refused(agent, result, Decision.denied("policy", e.toString())),
                    new ProtocolError("XX000", 1105, "Countersign's policy could not decide this statement (" + e.getMessage()
                            + "); it did not run. See the Countersign log", null));
        }
        return switch (decision) {
            case PolicyDecision.Allow a -> allow(request, agent, backend, catalog, result, Decision.allowedByRule(a.rule()), null);
            case PolicyDecision.Deny d -> new GateDecision.Deny(
                    StatementContext.refused(agent, result, Decision.denied(d.rule(), d.reason())), GateMessages.policyDenied(d));
            case PolicyDecision.Hold h -> hold(request, agent, backend, catalog, result, facts, h);
        };
    }

    private GateDecision hold(StatementRequest request, AgentConfig agent, BackendAnalysis backend, Catalog catalog,
                              AnalysisResult result, StatementFacts facts, PolicyDecision.Hold h) {
        Optional<Grant> grant = approvals.findGrant(facts);
        if (grant.isPresent()) {
            Grant g = grant.get();
            return allow(request, agent, backend, catalog, result, Decision.approved(g.createdBy() + " (grant " + g.id() + ")", g.requestId()), null,
                    runAs(facts));
        }
        List<String> params = GateMessages.parameters(request);
        String client = request.session().client() == null ? "" : request.session().client().toString();
        if (approvals.isTicketMode(agent.name())) {
            CompletableFuture<GateDecision> later = approvals.consumeTicketAsync(facts, request.sql(), params).handle((approved, ex) -> {
                if (ex == null && approved.isPresent()) {
                    ApprovalRequest r = approved.get();
                    return allow(request, agent, backend, catalog, result, Decision.approved(approvers(r), r.id()), r.id(), runAs(facts));
                }
                HeldRequest held = approvals.holdNonBlocking(facts, h, request.sql(), params, client);
                return new GateDecision.Deny(StatementContext.refused(agent, result,
                        Decision.denied(h.rule(), "held as ticket " + held.request().id())), GateMessages.ticketIssued(held.request(), consoleUrl));
            });
            return new GateDecision.Defer(later, null);
        }
        HeldRequest held = approvals.holdNonBlocking(facts, h, request.sql(), params, client);
        String id = held.request().id();
        CompletableFuture<GateDecision> released = new CompletableFuture<>();
        held.outcome().whenComplete((outcome, ex) -> released.complete(ex != null
                ? new GateDecision.Deny(StatementContext.refused(agent, result, Decision.denied(h.rule(), "request not stored: " + rootMessage(ex))),
                        new ProtocolError("58030", 1227, "Countersign could not record approval request " + id + " ("
                                + rootMessage(ex) + "), so the statement did not run (fail closed); try again or ask the operator", null))
                : switch (outcome) {
                    case Outcome.Approved a -> allow(request, agent, backend, catalog, result, Decision.approved(approvers(a.request()), id), id,
                            runAs(facts));
                    case Outcome.Denied d -> new GateDecision.Deny(StatementContext.refused(agent, result,
                            new Decision(Decision.Kind.DENIED, h.rule(), null, id, "denied by " + d.reviewer() + ": " + d.reason())),
                            GateMessages.error(outcome));
                    case Outcome.Expired e -> new GateDecision.Deny(StatementContext.refused(agent, result, Decision.timedOut(id)),
                            GateMessages.error(outcome));
                    case Outcome.Withdrawn w -> new GateDecision.Deny(StatementContext.refused(agent, result, Decision.withdrawn(id, w.reason())),
                            GateMessages.error(outcome));
                }));
        // The session completes `released` exceptionally when the agent cancels or disconnects.
        released.whenComplete((d, ex) -> {
            Throwable cause = ex instanceof CompletionException && ex.getCause() != null ? ex.getCause() : ex;
            if (cause instanceof StatementWithdrawnException w) {
                approvals.withdrawAsync(id, w.getMessage());
            }
        });
        return new GateDecision.Defer(released, GateMessages.heldNotice(held.request(), consoleUrl));
    }

    private GateDecision allow(StatementRequest request, AgentConfig agent, BackendAnalysis backend, Catalog catalog,
                               AnalysisResult result, Decision decision, String requestId) {
        return allow(request, agent, backend, catalog, result, decision, requestId, null);
    }

    /** {@code runAs}: the elevated backend role an approved statement runs as (a policy rule's run-as), or null. */
    private GateDecision allow(StatementRequest request, AgentConfig agent, BackendAnalysis backend, Catalog catalog,
                               AnalysisResult result, Decision decision, String requestId, String runAs) {
        TrackedStatement tracked = backend.tracker().track(request, result.statements());
        return new GateDecision.Allow(StatementContext.ran(agent, result, decision, requestId, tracked, runAs),
                catalog == null ? tracked : new WireCheck(tracked, result, catalog, backend), runAs);
    }

    /** Read when the approval arrives, from the policy then in force: the role is lent only to what the rule says. */
    private String runAs(StatementFacts facts) {
        try {
            return policy.get().runAs(facts).orElse(null);
        } catch (RuntimeException e) {
            log.error("the policy failed to say which role an approved statement runs as; it runs as the agent's own backend user", e);
            return null;
        }
    }

    private static String approvers(ApprovalRequest r) {
        return String.join(", ", r.decisions().stream()
                .filter(d -> d.verdict() == io.countersign.approvals.Verdict.APPROVE).map(io.countersign.approvals.Decision::reviewer).toList());
    }

    private static AnalysisResult unanalysable(String sql, String reason) {
        StatementAnalysis a = new StatementAnalysis(sql, sql, "UNKNOWN", Set.of(), Set.of(), Set.of(), Set.of(), Set.of(),
                List.of(new Finding(Category.UNANALYSABLE, reason)), SettledBy.NONE);
        return new AnalysisResult(List.of(a), List.of(false));
    }

    private static String rootMessage(Throwable ex) {
        Throwable t = ex;
        while ((t instanceof CompletionException || t.getMessage() == null) && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /**
     * Defence in depth: a result carrying a sensitive column that no analysed statement predicted
     * is stopped before its first row, whatever the policy said.
     */
    private final class WireCheck implements ResultObserver {
        /** The key a {@link Passed} verdict is kept under on a {@link ReusedColumns}. */
        private static final Object PASSED = new Object();

        /**
         * These columns passed the check for this analysis, against this catalog and these sensitive
         * column rules: the same columns of the next execute of the same prepared statement pass
         * too while all three stay the same objects. Kept only when no column names a table by OID
         * (a PostgreSQL result), whose check may also mark the catalog stale.
         */
        private record Passed(AnalysisResult result, Catalog catalog, Object sensitive) {}

        private final TrackedStatement tracked;
        private final AnalysisResult result;
        private final Catalog catalog;
        private final BackendAnalysis backend;

        WireCheck(TrackedStatement tracked, AnalysisResult result, Catalog catalog, BackendAnalysis backend) {
            this.tracked = tracked;
            this.result = result;
            this.catalog = catalog;
            this.backend = backend;
        }

        /**
         * The catalog may be older than the backend (DDL run directly on it): a column the catalog
         * does not know, or knows under another name, is judged by the name the backend gives it.
         */
        private List<String> byWireNames(List<ResultColumn> columns, List<String> found) {
            List<String> out = found;
            boolean stale = false;
            boolean renamed = false;
            for (ResultColumn rc : columns) {
                if (rc.tableOid() == 0) {
                    continue;
                }
                long oid = rc.tableOid() & 0xffffffffL;
                var table = catalog.tableByOid(oid);
                String label = rc.name().toLowerCase(java.util.Locale.ROOT);
                String qualified;
                if (table == null) {
                    stale = true;
                    qualified = "?.?." + label;
                } else {
                    var known = catalog.columnAt(oid, rc.attnum());
                    stale |= known == null;
                    renamed |= known != null && !known.name().equalsIgnoreCase(label);
                    qualified = table.qualifiedName() + "." + label;
                }
                if (analyzer.config().sensitive().match(qualified) == null || predicted(qualified) || out.contains(qualified)) {
                    continue;
                }
                if (out == found) {
                    out = new java.util.ArrayList<>(found);
                }
                out.add(qualified);
            }
            if (stale) {
                backend.catalogs().markStale();
            } else if (renamed && out != found) {
                // a sensitive name the catalog did not know for this column: likely renamed, re-read it
                backend.suspectStale();
            }
            return out;
        }

        private boolean predicted(String qualified) {
            for (StatementAnalysis a : result.statements()) {
                if (a.columnsRead().contains(qualified)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public ProtocolError onColumns(List<ResultColumn> columns) {
            Object sensitive = analyzer.config().sensitive();
            ReusedColumns reused = columns instanceof ReusedColumns r ? r : null;
            if (reused != null && reused.memo(PASSED) instanceof Passed p
                    && p.result() == result && p.catalog() == catalog && p.sensitive() == sensitive) {
                return tracked.onColumns(columns);
            }
            List<String> unpredicted = List.of();
            for (StatementAnalysis a : result.statements()) {
                List<String> u = analyzer.unpredictedSensitiveColumns(a, columns, catalog);
                if (u.isEmpty()) {
                    unpredicted = List.of();
                    break;
                }
                unpredicted = u;
            }
            unpredicted = byWireNames(columns, unpredicted);
            if (!unpredicted.isEmpty()) {
                analysisMisses.increment();
                log.warn("stopped a result carrying sensitive column(s) {} that the analysis did not predict; statement: {}",
                        unpredicted, result.statements().get(0).sql());
                return new ProtocolError("42501", 1227, "Countersign stopped this result: it carries sensitive column(s) "
                        + String.join(", ", unpredicted) + " that its analysis did not predict, so no reviewer approved them; no rows were sent."
                        + " Name the columns explicitly in the query so the request can be reviewed", null);
            }
            if (reused != null && columns.stream().allMatch(c -> c.tableOid() == 0)) {
                reused.memo(PASSED, new Passed(result, catalog, sensitive));
            }
            return tracked.onColumns(columns);
        }

        @Override
        public void onRow(ByteBuf row) {
            tracked.onRow(row);
        }
    }
}
