package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonCreator;

/**
 * Where agents connect. One component per wire protocol; at least one must be configured, and
 * each backend needs the listener of its type (checked by {@link BackendConfig}).
 *
 * @param postgres the PostgreSQL listener (optional; needed to reach backends of type postgresql)
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
        if (postgres == null && mysql == null) {
            problems.add(at, "no listener: agents could not connect; add listeners.postgres (host, port, tls, auth)"
                    + " and/or listeners.mysql (host, port, tls, auth)");
        }
    }
}
