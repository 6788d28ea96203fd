package io.countersign.audit;

import java.time.Instant;

/**
 * One event in an approval request's life. {@code reviewer}, {@code channel}, {@code verdict} and
 * {@code comment} are set for decisions (and for revocations by a person); the rest describe the request.
 * {@code reviewerAuth} says how a deciding reviewer proved who they were ({@code oidc},
 * {@code static-token}, {@code personal-access-token}, {@code chat-identity}), so that decisions made
 * with a shared automation token stand out from those of a signed-in person.
 */
public record ApprovalRecord(
        Instant at,
        Event event,
        String requestId,
        String reviewer,
        Channel channel,
        String verdict,
        String comment,
        String tier,
        String agent,
        String owner,
        String sql,
        String reviewerAuth) implements AuditRecord {

    public enum Event { REQUEST_CREATED, DECISION, GRANT_CREATED, GRANT_REVOKED, EXPIRED, WITHDRAWN, EXECUTED, ABANDONED }

    public enum Channel { CONSOLE, API, CLI, SLACK, TEAMS }

    public ApprovalRecord {
        if (at == null || event == null || requestId == null) {
            throw new IllegalArgumentException("an approval record needs at, event and requestId (got at=" + at
                    + ", event=" + event + ", requestId=" + requestId + ")");
        }
        at = Canonical.micros(at);
    }

    /** An event without a reviewer's authentication (request life-cycle events, grants). */
    public ApprovalRecord(Instant at, Event event, String requestId, String reviewer, Channel channel, String verdict,
                          String comment, String tier, String agent, String owner, String sql) {
        this(at, event, requestId, reviewer, channel, verdict, comment, tier, agent, owner, sql, null);
    }
}
