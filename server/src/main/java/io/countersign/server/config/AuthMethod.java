package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;
import java.util.stream.Collectors;

/** How agents may prove who they are, as spelled in the config. */
public enum AuthMethod {
    @JsonProperty("scram-sha-256") SCRAM_SHA_256,
    @JsonProperty("md5") MD5,
    @JsonProperty("cleartext-over-tls") CLEARTEXT_OVER_TLS;

    static String names() {
        return Arrays.stream(values()).map(AuthMethod::configName).collect(Collectors.joining(", "));
    }

    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
