package io.countersign.wire.spi;

/**
 * Where and as whom Countersign logs in to the backend for an agent's session. The agent never
 * sees these credentials.
 *
 * @param socket the backend's Unix domain socket file (Countersign beside the database), or
 *               {@code null} to reach it over TCP at {@code host:port}
 */
public record BackendTarget(
        String name,
        String host,
        int port,
        String database,
        String user,
        String password,
        TlsMode tls,
        java.util.Map<String, Login> elevated,
        String socket) {

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

    /** A backend reached over TCP. */
    public BackendTarget(String name, String host, int port, String database, String user, String password, TlsMode tls,
                         java.util.Map<String, Login> elevated) {
        this(name, host, port, database, user, password, tls, elevated, null);
    }

    public BackendTarget(String name, String host, int port, String database, String user, String password, TlsMode tls) {
        this(name, host, port, database, user, password, tls, java.util.Map.of());
    }

    /** The same backend, logged in as {@code login} instead. */
    public BackendTarget as(Login login) {
        return new BackendTarget(name, host, port, database, login.user(), login.password(), tls, java.util.Map.of(), socket);
    }

    /** Whether sessions reach this backend over its Unix domain socket rather than TCP. */
    public boolean viaSocket() {
        return socket != null;
    }

    /** Where the backend is, for messages: {@code host:port} or {@code unix:/path/to/socket}. */
    public String where() {
        return socket != null ? "unix:" + socket : host + ":" + port;
    }

    @Override
    public String toString() {
        return "BackendTarget[" + name + " " + user + "@" + where() + "/" + database + " tls=" + tls + "]";
    }
}
