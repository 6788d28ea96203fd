package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The MySQL listener (optional): agents speaking the MySQL protocol reach the backends of type mysql.
 *
 * @param host address to bind (default 127.0.0.1)
 * @param port port to bind (default 3307; 0 picks a free one)
 * @param tls  TLS for agents' SSL upgrade; absent means agents connect without TLS
 * @param auth plugins offered to agents (default [caching_sha2_password, mysql_native_password])
 * @param serverVersion the version agents see in the greeting (default: the first mysql backend's, read at start)
 * @param eventLoopThreads threads serving the listener's sessions (agent and backend connection of a session share one);
 *                 absent: the listener's default for the machine ({@code MySqlListener.defaultEventLoopThreads()})
 */
public record MySqlListenerConfig(String host, Integer port, TlsConfig tls, List<MySqlAuthMethod> auth,
                                  @JsonProperty("server-version") String serverVersion,
                                  @JsonProperty("event-loop-threads") Integer eventLoopThreads) implements ConfigSection {

    @JsonCreator
    public MySqlListenerConfig {
        host = host == null ? "127.0.0.1" : host;
        port = port == null ? 3307 : port;
        auth = auth == null
                ? List.of(MySqlAuthMethod.CACHING_SHA2_PASSWORD, MySqlAuthMethod.MYSQL_NATIVE_PASSWORD)
                : ConfigLists.copy(auth);
    }

    /** With the version taken from the backend. */
    public MySqlListenerConfig(String host, Integer port, TlsConfig tls, List<MySqlAuthMethod> auth) {
        this(host, port, tls, auth, null, null);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        problems.port(port, Problems.join(at, "port"));
        problems.require(host, Problems.join(at, "host"), "an address to bind, e.g. 127.0.0.1 or 0.0.0.0");
        if (eventLoopThreads != null && eventLoopThreads < 1) {
            problems.add(Problems.join(at, "event-loop-threads"), eventLoopThreads + " is not a thread count; expected 1 or more,"
                    + " or leave it out for the default");
        }
        if (auth.isEmpty()) {
            problems.add(Problems.join(at, "auth"), "no authentication method; expected at least one of " + MySqlAuthMethod.names());
        }
        if (root.backends().stream().noneMatch(b -> b != null && b.type() == BackendType.MYSQL)) {
            problems.add(at, "a MySQL listener with no backend of type mysql: agents could log in but reach nothing;"
                    + " add a backend with 'type: mysql' or remove listeners.mysql");
        }
    }
}
