package io.countersign.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL server for tests, found or started once per JVM:
 * <ol>
 *   <li>Testcontainers, when a Docker engine answers ({@code -Dcountersign.test.docker=true} forces the attempt);</li>
 *   <li>the server already listening on 127.0.0.1:5432 with trust auth (our machines);</li>
 *   <li>a throwaway cluster from local {@code initdb}/{@code pg_ctl} on a free port, removed at exit.</li>
 * </ol>
 * Connection: superuser {@link #user()} without a password over TCP.
 */
public final class PostgresServer {

    private static volatile PostgresServer shared;

    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String origin;

    private PostgresServer(String host, int port, String user, String password, String origin) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.origin = origin;
    }

    public static PostgresServer shared() {
        PostgresServer s = shared;
        if (s == null) {
            synchronized (PostgresServer.class) {
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
    public String password() { return password; }
    /** How the server was obtained: "testcontainers", "local:5432" or "throwaway:&lt;dir&gt;". */
    public String origin() { return origin; }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), user, password == null ? "" : password);
    }

    private static PostgresServer locate() {
        if (Boolean.getBoolean("countersign.test.docker") || DockerProbe.available()) {
            PostgresServer fromDocker = DockerProbe.startPostgres();
            if (fromDocker != null) {
                return fromDocker;
            }
        }
        String hostPort = System.getProperty("countersign.test.pg", "127.0.0.1:5432");
        String[] hp = hostPort.split(":");
        if (answers(hp[0], Integer.parseInt(hp[1]))) {
            PostgresServer local = new PostgresServer(hp[0], Integer.parseInt(hp[1]),
                    System.getProperty("countersign.test.pg.user", "postgres"), null, "local:" + hp[1]);
            if (local.canLogIn()) {
                return local;
            }
        }
        return startThrowaway();
    }

    private boolean canLogIn() {
        try (Connection c = connect("postgres")) {
            return c.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    static boolean answers(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static PostgresServer fromContainer(String host, int port, String user, String password) {
        return new PostgresServer(host, port, user, password, "testcontainers");
    }

    private static PostgresServer startThrowaway() {
        Path bin = findPgBin();
        if (bin == null) {
            throw new IllegalStateException("No PostgreSQL for tests: nothing answers on 127.0.0.1:5432, no Docker engine, "
                    + "and no initdb/pg_ctl found under /usr/lib/postgresql/*/bin or on PATH. Install the "
                    + "'postgresql' Debian package (.ci/run does) or start a server on 127.0.0.1:5432.");
        }
        try {
            Path dir = Files.createTempDirectory("countersign-pg-");
            Path data = dir.resolve("data");
            int port = freePort();
            boolean root = "root".equals(System.getProperty("user.name"));
            run(root, bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync");
            run(root, bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("log").toString(), "-w", "-t", "60",
                    "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", "start");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    run(root, bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "stop");
                } catch (Exception ignored) {
                    // the JVM is exiting; the temp directory is all that is left behind
                }
            }));
            return new PostgresServer("127.0.0.1", port, "postgres", null, "throwaway:" + dir);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("Could not start a throwaway PostgreSQL from " + bin + ": " + e.getMessage(), e);
        }
    }

    private static Path findPgBin() {
        Path lib = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(lib)) {
            try (var versions = Files.list(lib)) {
                var best = versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
                        .max(java.util.Comparator.comparing(p -> Integer.parseInt(p.getParent().getFileName().toString().replaceAll("\\D", "0"))));
                if (best.isPresent()) {
                    return best.get();
                }
            } catch (IOException ignored) {
                // fall through to PATH
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "initdb")) && Files.isExecutable(Path.of(dir, "pg_ctl"))) {
                return Path.of(dir);
            }
        }
        return null;
    }

    /** initdb refuses to run as root; on our machines tests run as root, so run it as the postgres user. */
    private static void run(boolean asPostgresUser, String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (asPostgresUser) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(command));
        if (asPostgresUser) {
            // the data directory's parent must be reachable by the postgres user
            for (String arg : command) {
                if (arg.startsWith("/tmp/countersign-pg-")) {
                    Path p = Path.of(arg);
                    Path top = p.getParent() != null && p.getParent().getFileName().toString().startsWith("countersign-pg-") ? p.getParent() : p;
                    new ProcessBuilder("chown", "-R", "postgres", top.toString()).inheritIO().start().waitFor();
                }
            }
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
