package io.countersign.server.config;

import java.util.List;

/**
 * The PostgreSQL listener.
 *
 * @param host address to bind (default 127.0.0.1)
 * @param port port to bind (default 6543; 0 picks a free one)
 * @param tls  TLS for agents' SSLRequest; absent means agents connect without TLS
 * @param auth mechanisms offered to agents (default [scram-sha-256])
 */
public record PostgresListenerConfig(String host, Integer port, TlsConfig tls, List<AuthMethod> auth) implements ConfigSection {

    public PostgresListenerConfig {
        host = host == null ? "127.0.0.1" : host;
        port = port == null ? 6543 : port;
        auth = auth == null ? List.of(AuthMethod.SCRAM_SHA_256) : ConfigLists.copy(auth);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        problems.port(port, Problems.join(at, "port"));
        problems.require(host, Problems.join(at, "host"), "an address to bind, e.g. 127.0.0.1 or 0.0.0.0");
        problems.require(auth, Problems.join(at, "auth"), "a list of at least one of " + AuthMethod.names());
        if (auth.contains(AuthMethod.CLEARTEXT_OVER_TLS) && tls == null) {
            problems.add(Problems.join(at, "auth"), "cleartext-over-tls needs TLS; add a 'tls' section to this listener or remove cleartext-over-tls");
        }
        if (tls != null && Boolean.TRUE.equals(tls.required()) && auth.isEmpty()) {
            problems.add(Problems.join(at, "auth"), "no authentication method; expected at least one of " + AuthMethod.names());
        }
    }
}
