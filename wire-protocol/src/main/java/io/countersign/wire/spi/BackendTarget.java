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
        TlsMode tls,
        java.util.Map<String, Login> elevated) {

    public enum TlsMode { DISABLE, PREFER, REQUIRE, VERIFY_FULL }

    /** A backend login for an elevated role (MySQL run-as logs in with it; PostgreSQL may use {@code SET ROLE} instead). */
    public record Login(String user, String password) {
        @Override
        public String toString() {
            return "Login[" + user + "]";
        }
    }

    public BackendTarget {
        elevated = elevated == null ? java.util.Map.of() : java.util.Map.copyOf(elevated);
    }

    public BackendTarget(String name, String host, int port, String database, String user, String password, TlsMode tls) {
        this(name, host, port, database, user, password, tls, java.util.Map.of());
    }

    /** The same backend, logged in as {@code login} instead. */
    public BackendTarget as(Login login) {
        return new BackendTarget(name, host, port, database, login.user(), login.password(), tls, java.util.Map.of());
    }

    @Override
    public String toString() {
        return "BackendTarget[" + name + " " + user + "@" + host + ":" + port + "/" + database + " tls=" + tls + "]";
    }
}
