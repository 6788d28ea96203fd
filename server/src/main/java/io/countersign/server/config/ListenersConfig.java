package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonCreator;

/**
 * Where agents connect. One component per wire protocol.
 *
 * @param postgres the PostgreSQL listener (required)
 * @param mysql    the MySQL listener (optional; needed to reach backends of type mysql)
 */
public record ListenersConfig(PostgresListenerConfig postgres, MySqlListenerConfig mysql) implements ConfigSection {

    @JsonCreator
    public ListenersConfig {
    }

    /** Only a PostgreSQL listener. */
    public ListenersConfig(PostgresListenerConfig postgres) {
        this(postgres, null);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        problems.require(postgres, Problems.join(at, "postgres"), "a mapping with host, port, tls and auth");
    }
}
