package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.countersign.wire.spi.BackendTarget;

/** How Countersign uses TLS towards a backend, as spelled in the config (libpq's sslmode names). */
public enum BackendTls {
    @JsonProperty("disable") DISABLE(BackendTarget.TlsMode.DISABLE),
    @JsonProperty("prefer") PREFER(BackendTarget.TlsMode.PREFER),
    @JsonProperty("require") REQUIRE(BackendTarget.TlsMode.REQUIRE),
    @JsonProperty("verify-full") VERIFY_FULL(BackendTarget.TlsMode.VERIFY_FULL);

    private final BackendTarget.TlsMode mode;

    BackendTls(BackendTarget.TlsMode mode) {
        this.mode = mode;
    }

    public BackendTarget.TlsMode mode() {
        return mode;
    }
}
