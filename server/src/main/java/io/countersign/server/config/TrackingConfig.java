package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Row-level tracking.
 *
 * @param keyCap      primary keys kept per statement (default 1,000); past it the record says it is incomplete
 * @param keyHmacKey  when set, keys are stored as HMAC-SHA256 with this key instead of in clear
 */
public record TrackingConfig(@JsonProperty("key-cap") Integer keyCap, @JsonProperty("key-hmac-key") String keyHmacKey)
        implements ConfigSection {

    public static final TrackingConfig DEFAULT = new TrackingConfig(null, null);

    public TrackingConfig {
        keyCap = keyCap == null ? 1_000 : keyCap;
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
