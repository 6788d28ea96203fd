package io.countersign.approvals.gate;

import io.countersign.analysis.StatementAnalysis;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Outcome;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.StatementRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What the agent reads when its statement is held, refused or times out, in one place so that
 * psql users, the console and the docs see the same words. The server's gate uses these to turn
 * a {@link PolicyDecision} or an {@link Outcome} into the wire SPI's notice and errors.
 */
public final class GateMessages {

    private GateMessages() {}

    /** Facts for the policy from a statement on the wire and its analysis. */
    public static StatementFacts facts(StatementRequest request, Set<String> agentGroups, String owner,
            List<StatementAnalysis> analysis) {
        return new StatementFacts(request.session().agent(), agentGroups, owner, request.session().database(), analysis);
    }

    /** Parameter values as reviewers see them and as the binding hash covers them; SQL NULL stays null. */
    public static List<String> parameters(StatementRequest request) {
        List<String> out = new ArrayList<>(request.parameters().size());
        for (BoundParameter p : request.parameters()) {
            out.add(p.value() == null ? null : p.text());
        }
        return out;
    }

    /** The NoticeResponse sent the moment a statement is held. */
    public static String heldNotice(ApprovalRequest r, String consoleUrl) {
        return "held for approval: request " + r.id() + ", " + firstReason(r) + ", review at " + link(consoleUrl, r)
                + " (needs " + r.quorum() + (r.quorum() == 1 ? " approval" : " approvals") + " from " + r.reviewerGroup()
                + ", expires in " + minutes(Duration.between(r.created(), r.expires())) + ")";
    }

    /** Ticket mode: the statement fails at once; the identical statement runs once after approval. */
    public static ProtocolError ticketIssued(ApprovalRequest r, String consoleUrl) {
        return new ProtocolError("42501", 1227, "held for approval (ticket mode): request " + r.id() + ", " + firstReason(r)
                + ", review at " + link(consoleUrl, r),
                "once approved, send the identical statement (same text and parameters) again; it runs once, within "
                        + minutes(r.approvalValidity()) + " of the approval");
    }

    public static ProtocolError policyDenied(PolicyDecision.Deny deny) {
        return ProtocolError.denied("denied by policy rule '" + deny.rule() + "': " + deny.reason());
    }

    /** The error for an outcome other than {@link Outcome.Approved}. */
    public static ProtocolError error(Outcome outcome) {
        ApprovalRequest r = outcome.request();
        return switch (outcome) {
            case Outcome.Denied d -> new ProtocolError("42501", 1227, "denied by " + d.reviewer() + ": " + d.reason()
                    + " (request " + r.id() + ")", null);
            case Outcome.Expired e -> ProtocolError.cancelled("no reviewer decided on request " + r.id() + " within "
                    + minutes(Duration.between(r.created(), r.expires())) + "; it expired and the statement did not run."
                    + " Ask a member of '" + r.reviewerGroup() + "' to watch for it and send the statement again");
            case Outcome.Withdrawn w -> ProtocolError.cancelled("request " + r.id() + " was withdrawn: " + w.reason());
            case Outcome.Approved a -> throw new IllegalArgumentException("request " + r.id() + " was approved; run it");
        };
    }

    private static String firstReason(ApprovalRequest r) {
        if (r.reasons().isEmpty()) {
            return "rule " + r.rule();
        }
        return r.reasons().get(0) + (r.reasons().size() > 1 ? " (+" + (r.reasons().size() - 1) + " more)" : "");
    }

    private static String link(String consoleUrl, ApprovalRequest r) {
        String base = consoleUrl == null || consoleUrl.isBlank() ? "/console/" : consoleUrl;
        return base + (base.endsWith("/") ? "" : "/") + "#" + r.id();
    }

    private static String minutes(Duration d) {
        if (d.toMinutes() >= 120 && d.toMinutes() % 60 == 0) {
            return d.toHours() + " hours";
        }
        if (d.toSeconds() >= 60 && d.toSeconds() % 60 == 0) {
            return d.toMinutes() + (d.toMinutes() == 1 ? " minute" : " minutes");
        }
        return d.toSeconds() + " s";
    }
}
