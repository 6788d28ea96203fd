package io.countersign.server.pipeline;

import io.countersign.approvals.ApprovalEvent;
import io.countersign.approvals.ApprovalEventListener;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Grant;
import io.countersign.audit.ApprovalRecord;
import io.countersign.audit.AuditTrail;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Every request creation, decision, state change and grant becomes one audit record. */
public final class ApprovalAudit implements ApprovalEventListener {

    private static final Logger log = LoggerFactory.getLogger(ApprovalAudit.class);

    private final AuditTrail audit;

    public ApprovalAudit(AuditTrail audit) {
        this.audit = audit;
    }

    @Override
    public void onEvent(ApprovalEvent event) {
        ApprovalRecord record = switch (event) {
            case ApprovalEvent.RequestCreated e -> of(e.request(), ApprovalRecord.Event.REQUEST_CREATED, e.request().created(), null, null, null, null);
            case ApprovalEvent.DecisionRecorded e -> decision(e.request(), e.decision());
            case ApprovalEvent.StateChanged e -> switch (e.request().state()) {
                case EXPIRED -> of(e.request(), ApprovalRecord.Event.EXPIRED, Instant.now(), null, null, null, e.request().stateReason());
                case WITHDRAWN -> of(e.request(), ApprovalRecord.Event.WITHDRAWN, Instant.now(), null, null, null, e.request().stateReason());
                case EXECUTED -> of(e.request(), ApprovalRecord.Event.EXECUTED, Instant.now(), null, null, null, null);
                case ABANDONED -> of(e.request(), ApprovalRecord.Event.ABANDONED, Instant.now(), null, null, null, e.request().stateReason());
                default -> null; // APPROVED / DENIED are recorded with the decision that caused them
            };
            case ApprovalEvent.GrantCreated e -> grant(e.grant(), ApprovalRecord.Event.GRANT_CREATED, e.grant().created(), e.grant().createdBy());
            case ApprovalEvent.GrantRevoked e -> grant(e.grant(), ApprovalRecord.Event.GRANT_REVOKED,
                    e.grant().revoked() == null ? Instant.now() : e.grant().revoked(), e.grant().revokedBy());
            case ApprovalEvent.RemoteChange e -> null; // the replica that made the change records it
        };
        if (record != null) {
            audit.append(record).exceptionally(ex -> {
                log.error("audit: could not write approval event {} of {}: {}", record.event(), record.requestId(), ex.toString());
                return null;
            });
        }
    }

    private static ApprovalRecord of(ApprovalRequest r, ApprovalRecord.Event event, Instant at, String reviewer,
                                     ApprovalRecord.Channel channel, String verdict, String comment) {
        return new ApprovalRecord(at, event, r.id(), reviewer, channel, verdict, comment,
                r.tier() == null ? null : r.tier().name().toLowerCase(), r.agent(), r.owner(), r.sql());
    }

    private static ApprovalRecord decision(ApprovalRequest r, io.countersign.approvals.Decision d) {
        return new ApprovalRecord(d.at(), ApprovalRecord.Event.DECISION, r.id(), d.reviewer(), channel(d.channel()),
                d.verdict().name(), d.comment(), r.tier() == null ? null : r.tier().name().toLowerCase(), r.agent(), r.owner(),
                r.sql(), d.auth().label());
    }

    private static ApprovalRecord grant(Grant g, ApprovalRecord.Event event, Instant at, String by) {
        return new ApprovalRecord(at, event, g.requestId() == null ? g.id() : g.requestId(), by, null, null,
                "grant " + g.id() + " for " + g.fingerprint() + " until " + g.expires(), null, g.agent(), null, null);
    }

    private static ApprovalRecord.Channel channel(io.countersign.approvals.Channel c) {
        return c == null ? null : ApprovalRecord.Channel.valueOf(c.name());
    }
}
