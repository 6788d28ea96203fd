package io.countersign.server.config;

/**
 * Where agents connect. One component per wire protocol; MySQL will add {@code mysql}.
 *
 * @param postgres the PostgreSQL listener (required)
 */
public record ListenersConfig(PostgresListenerConfig postgres) implements ConfigSection {

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        problems.require(postgres, Problems.join(at, "postgres"), "a mapping with host, port, tls and auth");
    }
}
