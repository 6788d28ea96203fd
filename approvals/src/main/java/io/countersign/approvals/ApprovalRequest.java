package io.countersign.approvals;

import io.countersign.approvals.policy.Tier;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One held statement and everything a reviewer needs to decide on it. Immutable; every change is a
 * new value with {@code version} one higher (the store updates only the version it read).
 *
 * @param parameters       bound parameter values as display strings
 * @param sensitiveColumns sensitive columns the statement touches, marked in the console
 * @param approvalValidity how long an approval stays usable once given
 * @param fingerprint      the statement's shape, what a grant is bound to
 * @param bindingHash      SHA-256 over agent, database, SQL and parameters: what an approval is bound to
 * @param ticket           the agent cannot wait: the statement failed at once and the approval is
 *                         used by the identical statement sent again
 * @param approvedUntil    when an approval stops being usable (set on approval)
 * @param stateReason      why the request reached its state (denial comment, withdrawal cause, ...)
 * @param replica          the Countersign instance holding the agent's connection
 */
public record ApprovalRequest(
        String id,
        long version,
        String agent,
        String owner,
        String database,
        String clientAddress,
        String sql,
        List<String> parameters,
        List<String> reasons,
        List<String> sensitiveColumns,
        Tier tier,
        String rule,
        int quorum,
        String reviewerGroup,
        Duration approvalValidity,
        String fingerprint,
        String bindingHash,
        Instant created,
        Instant expires,
        RequestState state,
        String stateReason,
        Instant approvedUntil,
        boolean ticket,
        String replica,
        List<Decision> decisions) {

    public ApprovalRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(state, "state");
        // SQL NULL parameters are null elements, which List.copyOf would reject
        parameters = java.util.Collections.unmodifiableList(new ArrayList<>(parameters));
        reasons = List.copyOf(reasons);
        sensitiveColumns = List.copyOf(sensitiveColumns);
        decisions = List.copyOf(decisions);
        stateReason = stateReason == null ? "" : stateReason;
        owner = owner == null ? "" : owner;
    }

    public ApprovalRequest withState(RequestState next, String reason) {
        return new ApprovalRequest(id, version + 1, agent, owner, database, clientAddress, sql, parameters, reasons,
                sensitiveColumns, tier, rule, quorum, reviewerGroup, approvalValidity, fingerprint, bindingHash, created, expires, next,
                reason, approvedUntil, ticket, replica, decisions);
    }

    public ApprovalRequest withDecision(Decision decision, RequestState next, String reason, Instant approvedUntil) {
        List<Decision> all = new ArrayList<>(decisions);
        all.add(decision);
        return new ApprovalRequest(id, version + 1, agent, owner, database, clientAddress, sql, parameters, reasons,
                sensitiveColumns, tier, rule, quorum, reviewerGroup, approvalValidity, fingerprint, bindingHash, created, expires, next,
                reason, approvedUntil, ticket, replica, all);
    }

    /** Distinct reviewers who approved so far. */
    public long approvals() {
        return decisions.stream().filter(d -> d.verdict() == Verdict.APPROVE).map(Decision::reviewer).distinct().count();
    }
}
