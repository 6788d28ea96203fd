package io.countersign.tracking;

import java.util.Set;

/**
 * How much row identity tracking keeps.
 *
 * @param keyCap           most keys kept per statement (over all its tables); past it the usage is marked {@code keysCapped}
 * @param keyHasher        when non-null, keys are stored as HMAC-SHA256 hex instead of clear values
 * @param sensitiveColumns {@code schema.table.column} names the policy declares sensitive; reads of them are listed per statement
 */
public record TrackingSettings(int keyCap, KeyHasher keyHasher, Set<String> sensitiveColumns) {

    public static final int DEFAULT_KEY_CAP = 1_000;

    public static final TrackingSettings DEFAULTS = new TrackingSettings(DEFAULT_KEY_CAP, null, Set.of());

    public TrackingSettings {
        if (keyCap < 0) {
            throw new IllegalArgumentException("tracking key cap is " + keyCap + "; it must be 0 (keep no keys) or more");
        }
        sensitiveColumns = Set.copyOf(sensitiveColumns);
    }

    public TrackingSettings withKeyCap(int cap) {
        return new TrackingSettings(cap, keyHasher, sensitiveColumns);
    }

    public TrackingSettings withKeyHasher(KeyHasher hasher) {
        return new TrackingSettings(keyCap, hasher, sensitiveColumns);
    }

    public TrackingSettings withSensitiveColumns(Set<String> columns) {
        return new TrackingSettings(keyCap, keyHasher, columns);
    }
}
