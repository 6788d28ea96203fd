package io.countersign.server.pipeline;

import io.countersign.analysis.Finding;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.approvals.ApprovalService;
import io.countersign.audit.AuditTrail;
import io.countersign.audit.CategoryReason;
import io.countersign.audit.Decision;
import io.countersign.audit.Protocol;
import io.countersign.audit.StatementRecord;
import io.countersign.server.gate.StatementLog;
import io.countersign.tracking.StatementUsage;
import io.countersign.wire.spi.StatementCompletion;
import io.countersign.wire.spi.StatementListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One completed statement: its usage is settled, its approval marked executed, a DDL refreshes the
 * catalog, and its record goes to the audit; the returned stage completes once that record is
 * durable, and the session holds the statement's final message back until then.
 */
public final class AuditingListener implements StatementListener {

    private static final Logger log = LoggerFactory.getLogger(AuditingListener.class);
    private static final List<String> DDL_PREFIXES = List.of("CREATE", "ALTER", "DROP", "TRUNCATE", "COMMENT", "RENAME", "GRANT", "REVOKE");

    private final Pipeline pipeline;
    private final ApprovalService approvals;
    private final AuditTrail audit;
    private final StatementLog statementLog;

    private final boolean failOpen;

    public AuditingListener(Pipeline pipeline, ApprovalService approvals, AuditTrail audit, StatementLog statementLog) {
        this.pipeline = pipeline;
        this.approvals = approvals;
        this.audit = audit;
        this.statementLog = statementLog;
        this.failOpen = audit != null && audit.config().failureMode() == io.countersign.audit.FailureMode.FAIL_OPEN;
        if (audit != null) {
            audit.addHealthListener(this::onHealth);
            onHealth(audit.health());
        }
    }

    @Override
    public CompletionStage<Void> onCompleted(StatementCompletion c) {
        if (statementLog != null) {
            statementLog.onCompleted(c);
        }
        StatementContext ctx = c.context() instanceof StatementContext s ? s : null;
        StatementUsage usage = null;
        if (ctx != null && ctx.tracked() != null) {
            try {
                usage = ctx.tracked().complete(c);
            } catch (RuntimeException e) {
                log.warn("usage tracking failed for a statement of {}: {}", c.request().session().agent(), e.toString());
            }
        }
        if (ctx != null && ctx.requestId() != null && c.error() == null && ctx.decision().kind() == Decision.Kind.APPROVED
                && ctx.requestId().startsWith("apr")) {
            approvals.markExecutedAsync(ctx.requestId());
        }
        if (ctx != null && ctx.analysis() != null && c.error() == null && changesCatalog(ctx.analysis().statements())) {
            BackendAnalysis b = pipeline.backend(c.request().session().protocol(), c.request().session().database());
            if (b != null) {
                b.catalogs().markStale();
            }
        }
        if (audit == null) {
            return null;
        }
        StatementRecord record = record(c, ctx, usage);
        CompletableFuture<Void> durable = audit.append(record);
        if (!durable.isDone() || durable.isCompletedExceptionally()) { // the fast path returns a completed future: nothing to log
            durable.whenComplete((v, ex) -> {
                if (ex != null) {
                    log.error("audit: could not write the record of a statement by {}: {}", record.agent(), ex.toString());
                }
            });
        }
        if (ctx == null || ctx.tracked() == null) {
            // The statement never reached the backend (refused at the gate, withdrawn): its error
            // already tells the agent it did not run, so a failed write has nothing to un-acknowledge.
            CompletableFuture<Void> settled = durable.exceptionally(ex -> null);
            return failOpen ? settled.applyToEither(failing, v -> null) : settled;
        }
        if (failOpen) {
            // fail-open: a trail that cannot write keeps records in memory until it can; the agent is
            // answered as soon as the trail is known to be failing rather than when it recovers
            return durable.applyToEither(failing, v -> null);
        }
        // fail-closed: a record that could not be made durable fails the stage, and the session then
        // refuses to acknowledge the statement (it closes with 58030 instead of the final message)
        return durable;
    }

    /** Completes while the trail is failing; replaced by a fresh one when it recovers. */
    private volatile CompletableFuture<Void> failing = new CompletableFuture<>();

    private void onHealth(io.countersign.audit.AuditHealth health) {
        if (health.ok()) {
            if (failing.isDone()) {
                failing = new CompletableFuture<>();
            }
        } else {
            failing.complete(null);
        }
    }

    private static boolean changesCatalog(List<StatementAnalysis> statements) {
        for (StatementAnalysis a : statements) {
            String kind = a.kind();
            if (kind == null) {
                continue;
            }
            for (String p : DDL_PREFIXES) {
                if (kind.regionMatches(true, 0, p, 0, p.length())) { // no upper-cased copy per statement
                    return true;
                }
            }
        }
        return false;
    }

    private static List<CategoryReason> categories(List<Finding> findings, List<CategoryReason> into) {
        if (findings.isEmpty() && into.isEmpty()) {
            return List.of();
        }
        for (Finding f : findings) {
            into.add(new CategoryReason(f.category().name(), f.reason()));
        }
        return into;
    }

    static StatementRecord record(StatementCompletion c, StatementContext ctx, StatementUsage usage) {
        var session = c.request().session();
        List<String> kinds = List.of();
        List<CategoryReason> categories = List.of();
        List<String> tablesRead = List.of(), tablesWritten = List.of(), columnsRead = List.of(), columnsWritten = List.of();
        String fingerprint = null;
        String settledBy = null;
        if (ctx != null && ctx.analysis() != null && ctx.analysis().statements().size() == 1) {
            // The common case, one statement: its immutable sets become the record's lists with no merging.
            StatementAnalysis a = ctx.analysis().statements().get(0);
            kinds = a.kind() == null ? List.of() : List.of(a.kind());
            fingerprint = a.fingerprint();
            settledBy = a.settledBy().name();
            categories = categories(a.findings(), new ArrayList<>(a.findings().size()));
            tablesRead = List.copyOf(a.tablesRead());
            tablesWritten = List.copyOf(a.tablesWritten());
            columnsRead = List.copyOf(a.columnsRead());
            columnsWritten = List.copyOf(a.columnsWritten());
        } else if (ctx != null && ctx.analysis() != null) {
            List<String> kindList = new ArrayList<>();
            List<CategoryReason> categoryList = new ArrayList<>();
            Set<String> tr = new LinkedHashSet<>(), tw = new LinkedHashSet<>(), cr = new LinkedHashSet<>(), cw = new LinkedHashSet<>();
            List<String> fps = new ArrayList<>();
            List<String> layers = new ArrayList<>();
            for (StatementAnalysis a : ctx.analysis().statements()) {
                kindList.add(a.kind());
                fps.add(a.fingerprint());
                layers.add(a.settledBy().name());
                categories(a.findings(), categoryList);
                tr.addAll(a.tablesRead());
                tw.addAll(a.tablesWritten());
                cr.addAll(a.columnsRead());
                cw.addAll(a.columnsWritten());
            }
            kinds = kindList;
            categories = categoryList;
            tablesRead = List.copyOf(tr);
            tablesWritten = List.copyOf(tw);
            columnsRead = List.copyOf(cr);
            columnsWritten = List.copyOf(cw);
            fingerprint = String.join("; ", fps);
            settledBy = String.join(",", layers);
        }
        var bound = c.request().parameters();
        List<String> params;
        if (bound.isEmpty()) {
            params = List.of();
        } else {
            params = new ArrayList<>(bound.size());
            for (var p : bound) {
                params.add(p.value() == null ? null : p.text());
            }
        }
        Decision decision = ctx != null ? ctx.decision() : c.error() != null && "57014".equals(c.error().sqlState())
                ? Decision.withdrawn(null, c.error().message()) : null;
        return StatementRecord.builder()
                .started(c.started())
                .ended(c.ended())
                .agent(session.agent())
                .owner(ctx == null ? null : ctx.agent().owner())
                .sessionId(session.sessionId())
                .clientAddress(session.clientText())
                .protocol(session.protocol() == io.countersign.wire.spi.Protocol.MYSQL ? Protocol.MYSQL : Protocol.PG)
                .database(session.database())
                .sql(c.request().sql())
                .fingerprint(fingerprint)
                .parameters(params)
                .statementKinds(kinds)
                .categories(categories)
                .tablesRead(tablesRead)
                .tablesWritten(tablesWritten)
                .columnsRead(columnsRead)
                .columnsWritten(columnsWritten)
                .decision(decision)
                .rowsReturned(c.rowsReturned())
                .rowsAffected(c.rowsAffected() < 0 ? null : c.rowsAffected())
                .bytesSent(c.bytesSent())
                .errorCode(c.error() == null ? null : c.error().sqlState())
                .errorMessage(c.error() == null ? null : c.error().message())
                .duration(c.started() != null && c.ended() != null ? Duration.between(c.started(), c.ended()) : null)
                .resultColumns(usage == null ? List.of() : usage.resultColumns())
                .rowKeys(usage == null ? List.of() : usage.rowKeys())
                .rowKeysCapped(usage != null && usage.keysCapped())
                .settledBy(settledBy)
                .runAsRole(ctx == null ? null : ctx.runAs())
                .build();
    }
}
