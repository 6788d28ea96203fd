package io.countersign.tracking;

import java.util.Set;
import java.util.function.Predicate;

/**
 * How much row identity tracking keeps.
 *
 * @param keyCap           most keys kept per statement (over all its tables); past it the usage is marked {@code keysCapped}
 * @param keyHasher        when non-null, keys are stored as HMAC-SHA256 hex instead of clear values
 * @param sensitiveColumn  whether a {@code schema.table.column} is sensitive per the policy (patterns allowed);
 *                         reads of such columns are listed per statement
 * @param enabled          false: results are only counted (rows, bytes), not resolved to columns nor keyed, and
 *                         each statement's key list is marked incomplete ({@code keysCapped}); the audit then still
 *                         has the analysis' tables and columns and the row counts
 */
public record TrackingSettings(int keyCap, KeyHasher keyHasher, Predicate<String> sensitiveColumn, boolean enabled) {

    public static final int DEFAULT_KEY_CAP = 1_000;

    private static final Predicate<String> NOTHING_SENSITIVE = column -> false;

    public static final TrackingSettings DEFAULTS = new TrackingSettings(DEFAULT_KEY_CAP, null, NOTHING_SENSITIVE, true);

    public TrackingSettings {
        if (keyCap < 0) {
            throw new IllegalArgumentException("tracking key cap is " + keyCap + "; it must be 0 (keep no keys) or more");
        }
        if (sensitiveColumn == null) {
            sensitiveColumn = NOTHING_SENSITIVE;
        }
    }

    public TrackingSettings withKeyCap(int cap) {
        return new TrackingSettings(cap, keyHasher, sensitiveColumn, enabled);
    }

    public TrackingSettings withKeyHasher(KeyHasher hasher) {
        return new TrackingSettings(keyCap, hasher, sensitiveColumn, enabled);
    }

    /** An exact set of {@code schema.table.column} names. */
    public TrackingSettings withSensitiveColumns(Set<String> columns) {
        Set<String> copy = Set.copyOf(columns);
        return new TrackingSettings(keyCap, keyHasher, copy::contains, enabled);
    }

    /** Any rule, e.g. the analysis' pattern matcher: {@code c -> sensitive.match(schema, table, column) != null}. */
    public TrackingSettings withSensitiveColumns(Predicate<String> isSensitive) {
        return new TrackingSettings(keyCap, keyHasher, isSensitive, enabled);
    }

    /** Result tracking on or off (off: rows counted, nothing resolved or keyed; see {@link #enabled()}). */
    public TrackingSettings withEnabled(boolean on) {
        return new TrackingSettings(keyCap, keyHasher, sensitiveColumn, on);
    }
}
