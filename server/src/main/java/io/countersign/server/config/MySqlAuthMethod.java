package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;
import java.util.stream.Collectors;

/** How agents may prove who they are to the MySQL listener: MySQL's own plugin names. */
public enum MySqlAuthMethod {
    @JsonProperty("caching_sha2_password") @JsonAlias("caching-sha2-password") CACHING_SHA2_PASSWORD,
    @JsonProperty("mysql_native_password") @JsonAlias("mysql-native-password") MYSQL_NATIVE_PASSWORD;

    static String names() {
        return Arrays.stream(values()).map(MySqlAuthMethod::configName).collect(Collectors.joining(", "));
    }

    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
