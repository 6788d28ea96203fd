package io.countersign.approvals;

import java.time.Instant;

/**
 * "This statement shape for this agent for N hours": later statements with the same fingerprint
 * from the same agent on the same database run without a new request until it expires or is revoked.
 */
public record Grant(
        String id,
        String agent,
        String database,
        String fingerprint,
        String createdBy,
        Instant created,
        Instant expires,
        String requestId,
        Instant revoked,
        String revokedBy) {

    public boolean activeAt(Instant now) {
        return revoked == null && now.isBefore(expires);
    }

    public Grant revoke(String by, Instant at) {
        return new Grant(id, agent, database, fingerprint, createdBy, created, expires, requestId, at, by);
    }
}
