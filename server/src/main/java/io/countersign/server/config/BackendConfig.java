package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import io.countersign.wire.spi.BackendTarget;

/**
 * A database Countersign forwards to. Agents select it by putting its {@code name} in their
 * connection's database name; Countersign then logs in to {@code database} on the backend as
 * {@code user} (agents never see these credentials).
 *
 * @param name     what agents call it (their dbname); unique
 * @param host     backend host (required unless {@code socket} is given)
 * @param port     backend port (default 5432 for postgresql, 3306 for mysql; none with {@code socket})
 * @param database the backend's database name (default: {@code name})
 * @param user     the role Countersign logs in as (required)
 * @param password that role's password; absent for trust authentication
 * @param tls      disable, prefer (default), require or verify-full
 * @param type     postgresql (default) or mysql (MySQL, MariaDB and compatibles): the protocol agents
 *                 use to reach it and the SQL dialect its statements are analysed in
 * @param elevatedRoles logins for the elevated roles policy rules may name in {@code run-as}, by role name;
 *                 MySQL runs such a statement on a separate connection logged in with it; PostgreSQL needs
 *                 only the role's name listed ({@code {}}), as {@code user} must be allowed to SET ROLE to it
 * @param socket   a mysql backend's Unix domain socket file (e.g. /run/mysqld/mysqld.sock), instead of host and
 *                 port, for Countersign running beside the database: no loopback TCP per message, no TLS
 */
public record BackendConfig(
        String name,
        String host,
        Integer port,
        String database,
        String user,
        String password,
        BackendTls tls,
        BackendType type,
        @com.fasterxml.jackson.annotation.JsonProperty("elevated-roles") java.util.Map<String, ElevatedLogin> elevatedRoles,
        String socket)
        implements ConfigSection {

    @JsonCreator
    public BackendConfig {
        elevatedRoles = elevatedRoles == null ? java.util.Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(elevatedRoles));
        type = type == null ? BackendType.POSTGRESQL : type;
        if (port == null && socket == null) {
            port = type.defaultPort();
        }
        database = database == null ? name : database;
        tls = tls == null ? BackendTls.PREFER : tls;
    }

    /** A PostgreSQL backend. */
    public BackendConfig(String name, String host, Integer port, String database, String user, String password, BackendTls tls) {
        this(name, host, port, database, user, password, tls, null, null, null);
    }

    public BackendConfig(String name, String host, Integer port, String database, String user, String password, BackendTls tls,
                         BackendType type) {
        this(name, host, port, database, user, password, tls, type, null, null);
    }

    /** Over TCP, with run-as logins. */
    public BackendConfig(String name, String host, Integer port, String database, String user, String password, BackendTls tls,
                         BackendType type, java.util.Map<String, ElevatedLogin> elevatedRoles) {
        this(name, host, port, database, user, password, tls, type, elevatedRoles, null);
    }

    /** Whether Countersign reaches this backend over its Unix domain socket rather than TCP. */
    public boolean viaSocket() {
        return socket != null;
    }

    /** Where the backend is, for messages: {@code host:port} or {@code unix:/path/to/socket}. */
    public String where() {
        return socket != null ? "unix:" + socket : host + ":" + port;
    }

    public BackendTarget target() {
        java.util.Map<String, BackendTarget.Login> elevated = new java.util.LinkedHashMap<>();
        elevatedRoles.forEach((role, login) -> elevated.put(role, new BackendTarget.Login(
                login == null || login.user() == null ? role : login.user(), login == null ? null : login.password())));
        if (socket != null) {
            // a socket never leaves the machine: nothing for TLS to protect ('prefer' means none)
            return new BackendTarget(name, host, 0, database, user, password, BackendTarget.TlsMode.DISABLE, elevated, socket);
        }
        return new BackendTarget(name, host, port, database, user, password, tls.mode(), elevated);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        problems.require(name, Problems.join(at, "name"), "the name agents use as their database, e.g. shop");
        if (socket != null) {
            checkSocket(at, problems);
        } else {
            problems.require(host, Problems.join(at, "host"), "the backend's host name or address"
                    + (type == BackendType.MYSQL ? " (or, for a server beside Countersign, socket: its Unix socket file)" : ""));
        }
        problems.port(port, Problems.join(at, "port"));
        if (port != null && port == 0) {
            problems.add(Problems.join(at, "port"), "0 is not a backend port; expected the port the backend listens on, e.g. " + type.defaultPort());
        }
        if (type == BackendType.MYSQL && root.listeners() != null && root.listeners().mysql() == null) {
            problems.add(Problems.join(at, "type"), "backend \"" + name + "\" is a mysql backend but there is no MySQL listener;"
                    + " add listeners.mysql (host, port) so agents can reach it");
        }
        if (type == BackendType.POSTGRESQL && root.listeners() != null && root.listeners().postgres() == null) {
            problems.add(Problems.join(at, "type"), "backend \"" + name + "\" is a postgresql backend (the default type) but there is"
                    + " no PostgreSQL listener; add listeners.postgres (host, port), or 'type: mysql' if it is a MySQL server");
        }
        problems.require(user, Problems.join(at, "user"), "the role Countersign logs in to the backend as");
        elevatedRoles.forEach((role, login) -> {
            if (role.isBlank() || !role.matches("[A-Za-z0-9_$@.-]+")) {
                problems.add(Problems.join(at, "elevated-roles"), "'" + role + "' is not a role name Countersign will quote; use letters, digits and _ $ @ . -");
            }
            if (type == BackendType.MYSQL && (login == null || login.user() == null)) {
                problems.add(Problems.join(at, "elevated-roles." + role), "a MySQL run-as role needs the account to log in with: user (and password)");
            }
        });
    }

    private void checkSocket(String at, Problems problems) {
        String key = Problems.join(at, "socket");
        if (type != BackendType.MYSQL) {
            problems.add(key, "a Unix socket is supported for backends of type mysql only; reach backend \"" + name
                    + "\" with host and port");
        }
        if (host != null || port != null) {
            problems.add(key, "backend \"" + name + "\" has both socket and " + (host != null ? "host" : "port")
                    + "; it is reached one way: remove host and port to use the socket, or socket to use TCP");
        }
        if (!socket.startsWith("/")) {
            problems.add(key, "'" + socket + "' is not an absolute path; expected the socket file the server listens on,"
                    + " e.g. /run/mysqld/mysqld.sock (SELECT @@socket shows it)");
        }
        if (tls == BackendTls.REQUIRE || tls == BackendTls.VERIFY_FULL) {
            problems.add(Problems.join(at, "tls"), "tls: " + tls.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                    + " over a Unix socket: a socket never leaves the machine and Countersign does not encrypt it;"
                    + " use tls: disable (or prefer), or host and port for TLS");
        }
        if (!io.countersign.wire.net.BackendConnector.unixSocketsAvailable()) {
            problems.add(key, io.countersign.wire.net.BackendConnector.whyNoUnixSockets());
        }
    }
}
