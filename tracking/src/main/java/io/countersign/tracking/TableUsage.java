package io.countersign.tracking;

import java.time.Instant;

/** One agent's use of one table since Countersign started: a row of {@link UsageCounters#snapshot()}. */
public record TableUsage(String agent, String table, long statements, long rowsRead, long rowsWritten,
                         Instant firstSeen, Instant lastSeen) {}
