package io.countersign.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * Builds Countersign's container image as a tarball without a Docker daemon or a registry: a
 * jlinked JRE from the JDK running the build, the C libraries it needs from this machine, the
 * application's jars and the sample config, written as an OCI image layout that is also a
 * docker-archive (what {@code docker save} writes since Docker 25), so {@code docker load -i}
 * and {@code podman load -i} both take it.
 *
 * <p>Run by the docker module's build ({@code exec} in the package phase) with
 * {@code --key value} arguments; see {@link Args}.
 */
public final class ImageBuilder {

    /** The container's layout; the tests and docker/compose.yaml rely on these. */
    static final String JAVA_HOME = "/opt/java";
    static final String APP_LIB = "/app/lib";
    static final String CONFIG_DIR = "/etc/countersign";
    static final String CONFIG_FILE = CONFIG_DIR + "/countersign.yaml";
    static final String DATA_DIR = "/var/lib/countersign";
    static final int UID = 10001;
    static final List<Integer> PORTS = List.of(6543, 3307, 8787);
    static final String HEALTH_URL = "http://127.0.0.1:8787/healthz";
    static final String MAIN_CLASS = "io.countersign.server.Countersign";

    /** Files of the jlinked runtime a headless server never loads. */
    static final List<String> GUI_ONLY = List.of("lib/libawt_xawt.so", "lib/libjawt.so", "lib/libjsound.so", "lib/libsplashscreen.so",
            "bin/jwebserver", "bin/jrunscript", "bin/rmiregistry");

    private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT);

    /**
     * @param libDir     the server's runtime jars (server/target/lib: what ./countersign runs with)
     * @param serverJar  the server's own jar
     * @param exclude    file-name globs of jars left out (the demo's embedded database binaries)
     * @param appVersion jars named {@code *-<appVersion>.jar} are Countersign's own and go in the top layer
     */
    record Args(List<String> modules, Path libDir, Path serverJar, List<String> exclude, String appVersion, Path config, Path policy,
                String tag, Path out, Path work, Instant created) {

        static Args parse(String[] argv) {
            Map<String, String> m = new HashMap<>();
            for (int i = 0; i + 1 < argv.length; i += 2) {
                if (!argv[i].startsWith("--")) {
                    throw new IllegalArgumentException("expected --key value pairs, got '" + argv[i] + "'");
                }
                m.put(argv[i].substring(2), argv[i + 1]);
            }
            if (argv.length % 2 != 0) {
                throw new IllegalArgumentException("expected --key value pairs; '" + argv[argv.length - 1] + "' has no value");
            }
            String created = m.getOrDefault("created", "");
            return new Args(List.of(need(m, "modules").split("\\s*,\\s*")), Path.of(need(m, "lib-dir")), Path.of(need(m, "server-jar")),
                    List.of(m.getOrDefault("exclude", "").split("\\s*,\\s*")), need(m, "app-version"),
                    Path.of(need(m, "config")), Path.of(need(m, "policy")), need(m, "tag"),
                    Path.of(need(m, "out")), Path.of(need(m, "work")),
                    created.isBlank() ? Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) : Instant.parse(created));
        }

        private static String need(Map<String, String> m, String key) {
            String v = m.get(key);
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException("missing --" + key + " (see ImageBuilder.Args)");
            }
            return v;
        }
    }

    public static void main(String[] argv) throws Exception {
        Args args = Args.parse(argv);
        long t0 = System.nanoTime();
        Path out = new ImageBuilder().build(args);
        System.out.printf("image %s: %s (%d MB) in %.1f s%n", args.tag(), out, Files.size(out) >> 20, (System.nanoTime() - t0) / 1e9);
    }

    Path build(Args a) throws Exception {
        deleteTree(a.work());
        Files.createDirectories(a.work());
        Path jre = jlink(a, a.work().resolve("jre"));
        List<Path> libJars = new ArrayList<>();
        List<Path> appJars = new ArrayList<>(List.of(a.serverJar()));
        Path slimDir = a.work().resolve("slim");
        for (Path jar : jars(a.libDir(), a.exclude())) {
            if (jar.getFileName().toString().endsWith("-" + a.appVersion() + ".jar")) {
                appJars.add(jar);
            } else {
                libJars.add(JarSlimmer.slim(jar, slimDir));
            }
        }
        List<Path> allJars = new ArrayList<>(libJars);
        allJars.addAll(appJars);
        Set<Path> sharedLibs = NativeLibraries.needed(jre, allJars, Files.createDirectories(a.work().resolve("natives")));

        long mtime = a.created().getEpochSecond();
        Layer system = new Layer("C libraries from the build machine, users, directories");
        for (Path lib : sharedLibs) {
            system.file(lib.toString(), lib.toRealPath(), 0755);
        }
        system.bytes("/etc/passwd", ("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                + "countersign:x:" + UID + ":" + UID + ":Countersign:" + DATA_DIR + ":/usr/sbin/nologin\n").getBytes(StandardCharsets.UTF_8), 0644)
                .bytes("/etc/group", ("root:x:0:\ncountersign:x:" + UID + ":\n").getBytes(StandardCharsets.UTF_8), 0644)
                .bytes("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n".getBytes(StandardCharsets.UTF_8), 0644)
                .dir("/tmp", 01777, 0, 0)
                .dir("/root", 0700, 0, 0)
                .dir(DATA_DIR, 0750, UID, UID);
        Layer runtime = new Layer("Java runtime (jlink: " + String.join(",", a.modules()) + ")").tree(jre, JAVA_HOME);
        Layer libraries = new Layer("third-party libraries");
        for (Path jar : libJars) {
            libraries.file(APP_LIB + "/" + jar.getFileName(), jar, 0644);
        }
        Layer app = new Layer("Countersign and its sample config");
        for (Path jar : appJars) {
            app.file(APP_LIB + "/" + jar.getFileName(), jar, 0644);
        }
        app.file(CONFIG_FILE, a.config(), 0644).file(CONFIG_DIR + "/policy.yaml", a.policy(), 0644);

        List<Layer.Blob> blobs = new ArrayList<>();
        for (Layer l : List.of(system, runtime, libraries, app)) {
            blobs.add(l.write(a.work(), mtime));
        }
        writeArchive(a, jre, blobs, mtime);
        return a.out();
    }

    private static Path jlink(Args a, Path jre) throws IOException {
        ToolProvider jlink = ToolProvider.findFirst("jlink").orElseThrow(() -> new IllegalStateException(
                "no jlink in " + System.getProperty("java.home") + "; build the image with a full JDK 21+ (not a JRE)"));
        List<String> modules = new ArrayList<>(a.modules());
        // EC lived in its own module up to JDK 21; later JDKs moved it into java.base
        if (java.lang.module.ModuleFinder.ofSystem().find("jdk.crypto.ec").isPresent()) {
            modules.add("jdk.crypto.ec");
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintWriter pw = new PrintWriter(log, true, StandardCharsets.UTF_8);
        int rc = jlink.run(pw, pw, "--add-modules", String.join(",", modules), "--strip-debug", "--no-header-files", "--no-man-pages",
                "--compress=zip-6", "--output", jre.toString());
        if (rc != 0) {
            throw new IOException("jlink failed (exit " + rc + "): " + log.toString(StandardCharsets.UTF_8).strip());
        }
        // A headless server: java.desktop stays (java.beans is used by libraries), but its X11 and
        // sound libraries would drag libX11 and libasound into the image, and nothing here opens a window.
        for (String gui : GUI_ONLY) {
            Files.deleteIfExists(jre.resolve(gui));
        }
        return jre;
    }

    private static List<Path> jars(Path dir, List<String> exclude) throws IOException {
        List<java.nio.file.PathMatcher> skip = exclude.stream().filter(g -> !g.isBlank())
                .map(g -> dir.getFileSystem().getPathMatcher("glob:" + g)).toList();
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> jars = s.filter(p -> p.getFileName().toString().endsWith(".jar"))
                    .filter(p -> skip.stream().noneMatch(m -> m.matches(p.getFileName()))).sorted().toList();
            if (jars.isEmpty()) {
                throw new IOException("no jars in " + dir + "; build the server module first: ./mvnw -B -ntp -DskipTests -pl docker -am package");
            }
            // copy-dependencies never deletes: after a version change the old jar is still there, and both would be on the class path
            Map<String, String> seen = new HashMap<>();
            for (Path jar : jars) {
                String file = jar.getFileName().toString();
                String artifact = file.replaceFirst("^(.+?)-\\d.*\\.jar$", "$1");
                String other = seen.put(artifact, file);
                if (other != null) {
                    throw new IOException(dir + " holds " + artifact + " twice (" + other + ", " + file + "), one left over from an earlier build;"
                            + " rebuild from clean: ./mvnw -B -ntp -DskipTests -pl docker -am clean package");
                }
            }
            return jars;
        }
    }

    /** The container's process: the JVM flags the ./countersign launcher uses, sized for a container's memory limit. */
    static List<String> entrypoint(int javaMajor) {
        List<String> e = new ArrayList<>(List.of(JAVA_HOME + "/bin/java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError",
                "-Djava.awt.headless=true", "--enable-native-access=ALL-UNNAMED"));
        if (javaMajor >= 24) {
            e.add("--sun-misc-unsafe-memory-access=allow");
        }
        e.addAll(List.of("-cp", APP_LIB + "/*", MAIN_CLASS));
        return e;
    }

    /** A small, short-lived JVM: the probe loads a few classes and makes one HTTP request. */
    static List<String> healthcheck() {
        return List.of("CMD", JAVA_HOME + "/bin/java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx32m", "-XX:-UsePerfData",
                "-cp", APP_LIB + "/*", MAIN_CLASS, "health", "--url", HEALTH_URL);
    }

    private static void writeArchive(Args a, Path jre, List<Layer.Blob> blobs, long mtime) throws IOException {
        int javaMajor = javaMajor(jre);
        String version = a.tag().substring(a.tag().lastIndexOf(':') + 1);

        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("created", a.created().toString());
        cfg.put("architecture", "amd64");
        cfg.put("os", "linux");
        ObjectNode c = cfg.putObject("config");
        c.put("User", UID + ":" + UID);
        ObjectNode ports = c.putObject("ExposedPorts");
        PORTS.forEach(p -> ports.putObject(p + "/tcp"));
        c.putArray("Env").add("PATH=" + JAVA_HOME + "/bin").add("JAVA_HOME=" + JAVA_HOME).add("LANG=C.UTF-8");
        strings(c.putArray("Entrypoint"), entrypoint(javaMajor));
        strings(c.putArray("Cmd"), List.of("serve", "--config", CONFIG_FILE));
        c.putObject("Volumes").putObject(DATA_DIR);
        c.put("WorkingDir", DATA_DIR);
        c.put("StopSignal", "SIGTERM");
        ObjectNode hc = c.putObject("Healthcheck");
        strings(hc.putArray("Test"), healthcheck());
        hc.put("Interval", 30_000_000_000L);
        hc.put("Timeout", 10_000_000_000L);
        hc.put("StartPeriod", 30_000_000_000L);
        hc.put("Retries", 3);
        ObjectNode labels = c.putObject("Labels");
        labels.put("org.opencontainers.image.title", "Countersign");
        labels.put("org.opencontainers.image.description", "Database-native approval proxy for AI agents");
        labels.put("org.opencontainers.image.version", version);
        labels.put("org.opencontainers.image.created", a.created().toString());
        ObjectNode rootfs = cfg.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode diffIds = rootfs.putArray("diff_ids");
        ArrayNode history = cfg.putArray("history");
        for (Layer.Blob b : blobs) {
            diffIds.add(b.digest());
            history.addObject().put("created", a.created().toString()).put("created_by", "countersign ImageBuilder: " + b.description());
        }
        byte[] config = JSON.writeValueAsBytes(cfg);
        String configDigest = digest(config);

        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", "application/vnd.oci.image.manifest.v1+json");
        manifest.putObject("config").put("mediaType", "application/vnd.oci.image.config.v1+json").put("digest", configDigest).put("size", config.length);
        ArrayNode layers = manifest.putArray("layers");
        for (Layer.Blob b : blobs) {
            layers.addObject().put("mediaType", "application/vnd.oci.image.layer.v1.tar").put("digest", b.digest()).put("size", b.size());
        }
        byte[] manifestBytes = JSON.writeValueAsBytes(manifest);
        String manifestDigest = digest(manifestBytes);

        ObjectNode index = JSON.createObjectNode();
        index.put("schemaVersion", 2);
        index.put("mediaType", "application/vnd.oci.image.index.v1+json");
        ObjectNode entry = index.putArray("manifests").addObject();
        entry.put("mediaType", "application/vnd.oci.image.manifest.v1+json").put("digest", manifestDigest).put("size", manifestBytes.length);
        entry.putObject("annotations").put("io.containerd.image.name", "docker.io/library/" + a.tag()).put("org.opencontainers.image.ref.name", version);

        // docker load (all versions) reads manifest.json; OCI tools read index.json; both point at the same blobs
        ArrayNode dockerManifest = JSON.createArrayNode();
        ObjectNode dm = dockerManifest.addObject();
        dm.put("Config", blobPath(configDigest));
        dm.putArray("RepoTags").add(a.tag());
        ArrayNode dmLayers = dm.putArray("Layers");
        blobs.forEach(b -> dmLayers.add(blobPath(b.digest())));

        Files.createDirectories(a.out().toAbsolutePath().getParent());
        Path tmp = a.out().resolveSibling(a.out().getFileName() + ".part");
        try (TarWriter tar = new TarWriter(new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16), mtime)) {
            tar.file("oci-layout", 0644, "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
            tar.directory("blobs", 0755, 0, 0);
            tar.directory("blobs/sha256", 0755, 0, 0);
            for (Layer.Blob b : blobs) {
                try (InputStream in = Files.newInputStream(b.file())) {
                    tar.file(blobPath(b.digest()), 0644, 0, 0, b.size(), in);
                }
            }
            tar.file(blobPath(configDigest), 0644, config);
            tar.file(blobPath(manifestDigest), 0644, manifestBytes);
            tar.file("index.json", 0644, JSON.writeValueAsBytes(index));
            tar.file("manifest.json", 0644, JSON.writeValueAsBytes(dockerManifest));
        }
        Files.move(tmp, a.out(), java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        for (Layer.Blob b : blobs) {
            Files.delete(b.file());
        }
    }

    private static void strings(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }

    static String blobPath(String digest) {
        return "blobs/sha256/" + digest.substring("sha256:".length());
    }

    static String digest(byte[] bytes) {
        return "sha256:" + HexFormat.of().formatHex(Layer.sha256().digest(bytes));
    }

    /** JAVA_VERSION="25.0.1" in the runtime's release file. */
    private static int javaMajor(Path jre) throws IOException {
        for (String line : Files.readAllLines(jre.resolve("release"))) {
            if (line.startsWith("JAVA_VERSION=")) {
                String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
                return Integer.parseInt(v.split("[.+-]")[0]);
            }
        }
        throw new IOException(jre.resolve("release") + " names no JAVA_VERSION");
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
