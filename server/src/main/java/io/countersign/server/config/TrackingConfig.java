package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Row-level tracking and the audit's SQL endpoint.
 *
 * @param enabled     whether results are tracked (tables, keys, per-agent counters; default true). Off, the
 *                    audit still records each statement, its analysis and row counts, but no result columns or
 *                    row keys; for measuring tracking's cost (bench/tracking-cost.sh) or where keys must not be kept
 * @param keyCap      primary keys kept per statement (default 1,000); past it the record says it is incomplete
 * @param keyHmacKey  when set, keys are stored as HMAC-SHA256 with this key instead of in clear
 * @param sqlEndpoint the read-only {@code countersign_audit} database on the PostgreSQL listener (optional)
 */
public record TrackingConfig(
        Boolean enabled,
        @JsonProperty("key-cap") Integer keyCap,
        @JsonProperty("key-hmac-key") String keyHmacKey,
        @JsonProperty("sql-endpoint") SqlEndpointConfig sqlEndpoint) implements ConfigSection {

    public static final TrackingConfig DEFAULT = new TrackingConfig(null, null, null, null);

    public TrackingConfig {
        enabled = enabled == null || enabled;
        keyCap = keyCap == null ? 1_000 : keyCap;
        sqlEndpoint = sqlEndpoint == null ? SqlEndpointConfig.DISABLED : sqlEndpoint;
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        if (keyCap < 0) {
            problems.add(Problems.join(at, "key-cap"), keyCap + " is negative; expected a number of keys, e.g. 1000 (0 keeps none)");
        }
        if (keyHmacKey != null && keyHmacKey.length() < 16) {
            problems.add(Problems.join(at, "key-hmac-key"), "too short; expected at least 16 characters of secret (use ${ENV})");
        }
    }
}
