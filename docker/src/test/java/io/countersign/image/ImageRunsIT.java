package io.countersign.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.testing.MariaDbDatabase;
import io.countersign.testing.PostgresDatabase;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image's own programs, run without a container engine: every command goes through the
 * image's dynamic loader ({@code /lib64/ld-linux-x86-64.so.2 --library-path <the image's lib dirs>}),
 * so the JVM, Netty's native transport and everything they link come from the image, which
 * {@code /proc/PID/maps} then confirms. Container paths in the image's Entrypoint, Cmd and
 * Healthcheck are the same paths under the unpacked root.
 */
class ImageRunsIT {

    @RegisterExtension
    static final PostgresDatabase pg = new PostgresDatabase();

    @RegisterExtension
    static final MariaDbDatabase mariadb = new MariaDbDatabase();

    @TempDir
    static Path tmp;

    static ImageTarball image;

    record Result(int exit, String output) {}

    @BeforeAll
    static void unpack() throws Exception {
        image = ImageTarball.open(tmp);
    }

    @Test
    void theImagesJavaRunsOnTheImagesLibraries() throws Exception {
        Result r = run(List.of("/opt/java/bin/java", "--version"), Duration.ofSeconds(60));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("Runtime Environment").contains("64-Bit Server VM");
    }

    @Test
    void theEntrypointRunsCountersign() throws Exception {
        List<String> cmd = new ArrayList<>(strings(image.containerConfig().get("Entrypoint")));
        cmd.add("--version");
        Result r = run(cmd, Duration.ofSeconds(90));
        assertThat(r.exit()).as(r.output()).isZero();
        String tag = ImageTarball.tag();
        assertThat(r.output()).contains("countersign " + tag.substring(tag.lastIndexOf(':') + 1));
    }

    @Test
    void servesAgentsOverBothProtocolsAndTheHealthCheckSeesIt() throws Exception {
        int pgPort = freePort();
        int mysqlPort = freePort();
        int adminPort = freePort();
        Path config = tmp.resolve("serve.yaml");
        Files.writeString(config, """
                listeners:
                  postgres: {host: 127.0.0.1, port: %d}
                  mysql: {host: 127.0.0.1, port: %d}
                admin: {host: 127.0.0.1, port: %d}
                backends:
                  - {name: shop, host: %s, port: %d, database: %s, user: %s%s, tls: disable}
                  - {name: shop, type: mysql, host: %s, port: %d, database: %s, user: %s%s, tls: disable}
                agents:
                  - {name: image-agent, owner: ci@example.com, password: image-secret, backends: [shop]}
                data-dir: %s
                policy: {file: %s}
                """.formatted(pgPort, mysqlPort, adminPort,
                pg.host(), pg.port(), pg.name(), pg.user(), nz(pg.password()),
                mariadb.host(), mariadb.port(), mariadb.name(), mariadb.user(), nz(mariadb.password()),
                Files.createDirectories(tmp.resolve("data")), image.inRoot("/etc/countersign/policy.yaml")));

        List<String> serve = new ArrayList<>(strings(image.containerConfig().get("Entrypoint")));
        serve.addAll(List.of("serve", "--config", config.toString()));
        List<String> health = new ArrayList<>(strings(image.containerConfig().get("Healthcheck").get("Test")));
        assertThat(health.removeFirst()).isEqualTo("CMD");
        health.replaceAll(t -> t.equals(ImageBuilder.HEALTH_URL) ? "http://127.0.0.1:" + adminPort + "/healthz" : t);

        Path log = tmp.resolve("serve.log");
        Process server = start(serve, log);
        try {
            Result up = awaitHealthy(health, server, log, adminPort);
            assertThat(up.exit()).as(up.output()).isZero();
            assertThat(up.output()).contains("/healthz: ok");

            Properties props = new Properties();
            props.setProperty("user", "image-agent");
            props.setProperty("password", "image-secret");
            try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pgPort + "/shop?sslmode=disable", props);
                 Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_database(), 6 * 7")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo(pg.name());
                assertThat(rs.getInt(2)).isEqualTo(42);
            }
            try (Connection c = DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + mysqlPort + "/shop", props);
                 Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT DATABASE(), 6 * 7")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo(mariadb.name());
                assertThat(rs.getInt(2)).isEqualTo(42);
            }

            // every shared object the running server mapped is the image's own (or unpacked into the image's /tmp)
            List<String> mapped;
            try (Stream<String> lines = Files.lines(Path.of("/proc/" + server.pid() + "/maps"))) {
                mapped = lines.map(l -> l.split("\\s+")).filter(f -> f.length >= 6 && f[5].matches(".*\\.so(\\.[0-9.]+)?$"))
                        .map(f -> f[5]).distinct().toList();
            }
            assertThat(mapped).anyMatch(p -> p.endsWith("/libc.so.6")).anyMatch(p -> p.endsWith("/libjvm.so"))
                    .anyMatch(p -> p.contains("netty_transport_native_epoll"))
                    .allMatch(p -> p.startsWith(image.rootfs.toString() + "/"), "inside the image");
        } finally {
            server.destroy();
            assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("Countersign stops on SIGTERM").isTrue();
        }
        Result down = run(health, Duration.ofSeconds(60));
        assertThat(down.exit()).as("health check after the server stopped: " + down.output()).isEqualTo(1);
        assertThat(down.output()).contains("no answer");
    }

    /** Waits (cheaply, in-process) until /healthz answers, then runs the image's own health check once. */
    private static Result awaitHealthy(List<String> health, Process server, Path log, int adminPort) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        java.net.http.HttpRequest get = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + adminPort + "/healthz"))
                .timeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (true) {
            assertThat(server.isAlive()).as("countersign serve exited early:\n" + Files.readString(log)).isTrue();
            try {
                if (http.send(get, java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    break;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("/healthz never answered; server log:\n" + Files.readString(log));
            }
            Thread.sleep(250);
        }
        return run(health, Duration.ofSeconds(60));
    }

    /** The image's dynamic loader, with the image's library directories only, then the command with container paths mapped into the root. */
    private static List<String> inImage(List<String> command) throws IOException {
        List<String> libDirs = new ArrayList<>();
        for (String d : List.of("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib", "/usr/lib")) {
            if (Files.isDirectory(image.inRoot(d))) {
                libDirs.add(image.inRoot(d).toString());
            }
        }
        List<String> cmd = new ArrayList<>(List.of(image.inRoot("/lib64/ld-linux-x86-64.so.2").toString(), "--library-path", String.join(":", libDirs)));
        for (String token : command) {
            cmd.add(token.startsWith("/opt/") || token.startsWith("/app/") || token.startsWith("/etc/countersign/") ? image.inRoot(token).toString() : token);
        }
        return cmd;
    }

    private static ProcessBuilder builder(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(inImage(command)).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("LANG", "C.UTF-8");
        // native libraries unpacked from jars (Netty's) land in the image's /tmp, like in a container
        pb.environment().put("JAVA_TOOL_OPTIONS", "-Djava.io.tmpdir=" + image.inRoot("/tmp"));
        return pb;
    }

    private static Process start(List<String> command, Path log) throws IOException {
        return builder(command).redirectOutput(log.toFile()).start();
    }

    private static Result run(List<String> command, Duration timeout) throws Exception {
        Process p = builder(command).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + timeout);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The password key, or nothing for a backend without one. */
    private static String nz(String password) {
        return password == null || password.isEmpty() ? "" : ", password: \"" + password + "\"";
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
