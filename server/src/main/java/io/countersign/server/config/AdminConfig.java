package io.countersign.server.config;

/**
 * The admin HTTP server (health, readiness, metrics, and later the console and REST API).
 *
 * @param host address to bind (default 127.0.0.1)
 * @param port port to bind (default 8787; 0 picks a free one)
 */
public record AdminConfig(String host, Integer port) implements ConfigSection {

    public static final AdminConfig DEFAULT = new AdminConfig(null, null);

    public AdminConfig {
        host = host == null ? "127.0.0.1" : host;
        port = port == null ? 8787 : port;
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        problems.port(port, Problems.join(at, "port"));
        problems.require(host, Problems.join(at, "host"), "an address to bind, e.g. 127.0.0.1");
    }
}
