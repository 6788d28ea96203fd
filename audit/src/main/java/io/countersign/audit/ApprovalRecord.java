package io.countersign.audit;

import java.time.Instant;

/**
 * One event in an approval request's life. {@code reviewer}, {@code channel}, {@code verdict} and
 * {@code comment} are set for decisions (and for revocations by a person); the rest describe the request.
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
        String sql) implements AuditRecord {

    public enum Event { REQUEST_CREATED, DECISION, GRANT_CREATED, GRANT_REVOKED, EXPIRED, WITHDRAWN, EXECUTED, ABANDONED }

    public enum Channel { CONSOLE, API, CLI, SLACK, TEAMS }

    public ApprovalRecord {
        if (at == null || event == null || requestId == null) {
            throw new IllegalArgumentException("an approval record needs at, event and requestId (got at=" + at
                    + ", event=" + event + ", requestId=" + requestId + ")");
        }
        at = Canonical.micros(at);
    }
}
