package io.countersign.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real MariaDB (or MySQL) server for tests, found or started once per JVM:
 * <ol>
 *   <li>the server already listening on 127.0.0.1:3306 as root with an empty password (our machines;
 *       {@code -Dcountersign.test.mysql=host:port} points elsewhere);</li>
 *   <li>Testcontainers MariaDB, when a Docker engine answers;</li>
 *   <li>a throwaway {@code mariadbd} from local binaries ({@code mariadb-install-db}) on a free port with
 *       a temporary data directory, stopped at exit.</li>
 * </ol>
 */
public final class MariaDbServer {

    private static volatile MariaDbServer shared;

    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String origin;
    /** The Unix socket the fixture started the server with; null when it is asked of the server (a found one). */
    private final Path startedSocket;
    private volatile String greetingVersion;

    private MariaDbServer(String host, int port, String user, String password, String origin, Path startedSocket) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.origin = origin;
        this.startedSocket = startedSocket;
    }

    public static MariaDbServer shared() {
        MariaDbServer s = shared;
        if (s == null) {
            synchronized (MariaDbServer.class) {
                s = shared;
                if (s == null) {
                    s = locate();
                    shared = s;
                }
            }
        }
        return s;
    }

    public String host() { return host; }
    public int port() { return port; }
    public String user() { return user; }
    public String password() { return password == null ? "" : password; }
    /** How the server was obtained: "local:3306", "testcontainers" or "throwaway:&lt;dir&gt;". */
    public String origin() { return origin; }

    /** URL for MariaDB Connector/J (used by the fixture itself). */
    public String jdbcUrl(String database) {
        return "jdbc:mariadb://" + host + ":" + port + "/" + database;
    }

    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), user, password());
    }

    /**
     * The server's Unix domain socket file on this machine, for tests of backends reached over a
     * socket: the one the fixture started it with (throwaway, container), or, for a server found
     * running, the one it reports ({@code @@socket}).
     *
     * @throws IllegalStateException when that file is not on this machine (a server elsewhere)
     */
    public Path socketPath() {
        Path socket = startedSocket;
        if (socket == null) {
            try (Connection c = connect(""); java.sql.Statement s = c.createStatement();
                 java.sql.ResultSet rs = s.executeQuery("SELECT @@socket")) {
                rs.next();
                socket = Path.of(rs.getString(1));
            } catch (SQLException e) {
                throw new IllegalStateException("could not ask the test MariaDB at " + host + ":" + port + " for its socket: " + e.getMessage(), e);
            }
        }
        if (!Files.exists(socket)) {
            throw new IllegalStateException("the test MariaDB (" + origin + ") listens on the Unix socket " + socket
                    + ", which is not on this machine; run the socket tests against a local server (-Dcountersign.test.mysql)");
        }
        return socket;
    }

    /** The version string the server announces in its handshake (MariaDB's carries the "5.5.5-" prefix). */
    public String greetingVersion() {
        String v = greetingVersion;
        if (v == null) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), 2000);
                s.setSoTimeout(5000);
                InputStream in = s.getInputStream();
                byte[] header = in.readNBytes(4);
                int length = (header[0] & 0xFF) | (header[1] & 0xFF) << 8 | (header[2] & 0xFF) << 16;
                byte[] payload = in.readNBytes(length);
                int end = 1;
                while (payload[end] != 0) {
                    end++;
                }
                v = new String(payload, 1, end - 1, StandardCharsets.US_ASCII);
                greetingVersion = v;
            } catch (IOException e) {
                throw new IllegalStateException("could not read the handshake of " + host + ":" + port, e);
            }
        }
        return v;
    }

    private static MariaDbServer locate() {
        String hostPort = System.getProperty("countersign.test.mysql", "127.0.0.1:3306");
        String[] hp = hostPort.split(":");
        if (PostgresServer.answers(hp[0], Integer.parseInt(hp[1]))) {
            MariaDbServer local = new MariaDbServer(hp[0], Integer.parseInt(hp[1]),
                    System.getProperty("countersign.test.mysql.user", "root"), System.getProperty("countersign.test.mysql.password", ""),
                    "local:" + hp[1], null);
            if (local.canLogIn()) {
                return local;
            }
        }
        if (MariaDbDockerProbe.available()) {
            MariaDbServer fromDocker = MariaDbDockerProbe.start();
            if (fromDocker != null) {
                return fromDocker;
            }
        }
        return startThrowaway();
    }

    static MariaDbServer fromContainer(String host, int port, String user, String password, Path socket) {
        return new MariaDbServer(host, port, user, password, "testcontainers", socket);
    }

    private boolean canLogIn() {
        try (Connection c = connect("")) {
            return c.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    private static MariaDbServer startThrowaway() {
        Path mariadbd = Path.of("/usr/sbin/mariadbd");
        Path installDb = Path.of("/usr/bin/mariadb-install-db");
        if (!Files.isExecutable(mariadbd) || !Files.isExecutable(installDb)) {
            throw new IllegalStateException("No MariaDB for tests: nothing answers on 127.0.0.1:3306, no Docker engine, and no "
                    + "/usr/sbin/mariadbd or /usr/bin/mariadb-install-db. Install the 'mariadb-server' Debian package (.ci/run does) "
                    + "or start a server on 127.0.0.1:3306.");
        }
        try {
            Path dir = Files.createTempDirectory("countersign-mariadb-");
            Path data = dir.resolve("data");
            int port = PostgresServer.freePort();
            run(List.of(installDb.toString(), "--no-defaults", "--datadir=" + data, "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"));
            Process server = new ProcessBuilder(mariadbd.toString(), "--no-defaults", "--datadir=" + data, "--user=root",
                    "--port=" + port, "--bind-address=127.0.0.1", "--socket=" + dir.resolve("mysqld.sock"),
                    "--pid-file=" + dir.resolve("mysqld.pid"), "--log-error=" + dir.resolve("error.log"),
                    "--innodb-buffer-pool-size=64M", "--max-connections=500", "--max-allowed-packet=64M")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.destroy();
                try {
                    server.waitFor(20, TimeUnit.SECONDS);
                    try (var files = Files.walk(dir)) {
                        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                    }
                } catch (Exception ignored) {
                    // the JVM is exiting; a leftover temp directory is harmless
                }
            }));
            MariaDbServer s = new MariaDbServer("127.0.0.1", port, "root", "", "throwaway:" + dir, dir.resolve("mysqld.sock"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                if (!server.isAlive()) {
                    throw new IllegalStateException("the throwaway mariadbd exited: see " + dir.resolve("error.log"));
                }
                if (PostgresServer.answers("127.0.0.1", port) && s.canLogIn()) {
                    return s;
                }
                Thread.sleep(200);
            }
            throw new IllegalStateException("the throwaway mariadbd did not start within 60 s: see " + dir.resolve("error.log"));
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("Could not start a throwaway MariaDB: " + e.getMessage(), e);
        }
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
