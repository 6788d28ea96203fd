package io.countersign.wire.spi;

/**
 * Where and as whom Countersign logs in to the backend for an agent's session. The agent never
 * sees these credentials.
 */
public record BackendTarget(
        String name,
        String host,
        int port,
        String database,
        String user,
        String password,
        TlsMode tls) {

    public enum TlsMode { DISABLE, PREFER, REQUIRE, VERIFY_FULL }

    @Override
    public String toString() {
        return "BackendTarget[" + name + " " + user + "@" + host + ":" + port + "/" + database + " tls=" + tls + "]";
    }
}
