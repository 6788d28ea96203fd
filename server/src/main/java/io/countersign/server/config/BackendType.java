package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.countersign.analysis.Dialect;
import io.countersign.wire.spi.Protocol;

/** Which database a backend is, as spelled in the config: it picks the wire protocol, the SQL dialect and the default port. */
public enum BackendType {
    @JsonProperty("postgresql") POSTGRESQL(Protocol.POSTGRESQL, Dialect.POSTGRESQL, 5432),
    @JsonProperty("mysql") MYSQL(Protocol.MYSQL, Dialect.MYSQL, 3306);

    private final Protocol protocol;
    private final Dialect dialect;
    private final int defaultPort;

    BackendType(Protocol protocol, Dialect dialect, int defaultPort) {
        this.protocol = protocol;
        this.dialect = dialect;
        this.defaultPort = defaultPort;
    }

    /** The protocol agents speak to reach a backend of this type (MySQL agents reach MySQL/MariaDB backends only). */
    public Protocol protocol() {
        return protocol;
    }

    public Dialect dialect() {
        return dialect;
    }

    public int defaultPort() {
        return defaultPort;
    }

    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
