package io.countersign.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The image tarball the build just wrote, unpacked with the system's GNU tar (a reader independent
 * of the writer): the archive's files, its manifest and config, and the container's file system
 * (every layer extracted in order into {@code rootfs}).
 */
final class ImageTarball {

    static final ObjectMapper JSON = new ObjectMapper();

    final Path archive;
    final Path dir;
    final Path rootfs;
    final JsonNode manifest;
    final JsonNode config;
    final List<Path> layers = new ArrayList<>();

    private ImageTarball(Path archive, Path dir) throws IOException, InterruptedException {
        this.archive = archive;
        this.dir = dir;
        tar("-xf", archive.toString(), "-C", dir.toString());
        JsonNode list = JSON.readTree(dir.resolve("manifest.json").toFile());
        assertThat(list.size()).as("images in manifest.json").isEqualTo(1);
        manifest = list.get(0);
        config = JSON.readTree(dir.resolve(manifest.get("Config").asText()).toFile());
        rootfs = Files.createDirectories(dir.resolve("rootfs"));
        for (JsonNode layer : manifest.get("Layers")) {
            Path file = dir.resolve(layer.asText());
            layers.add(file);
            tar("-xf", file.toString(), "-C", rootfs.toString());
        }
    }

    /** The tarball named by the build (system property image.file), unpacked under {@code tmp}. */
    static ImageTarball open(Path tmp) throws IOException, InterruptedException {
        String file = System.getProperty("image.file");
        assertThat(file).as("system property image.file (set by the docker module's failsafe configuration)").isNotBlank();
        Path archive = Path.of(file);
        assertThat(archive).as("the image tarball; the package phase builds it").isRegularFile();
        return new ImageTarball(archive, tmp);
    }

    static String tag() {
        String tag = System.getProperty("image.tag");
        assertThat(tag).as("system property image.tag").isNotBlank();
        return tag;
    }

    JsonNode containerConfig() {
        return config.get("config");
    }

    /** A container path inside the unpacked file system. */
    Path inRoot(String containerPath) {
        return rootfs.resolve(containerPath.substring(1));
    }

    /** "mode owner/group size date time path" lines of one layer, numeric owners. */
    static List<String> listing(Path layer) throws IOException, InterruptedException {
        return List.of(tar("--numeric-owner", "-tvf", layer.toString()).split("\n"));
    }

    static String sha256(Path file) throws IOException {
        MessageDigest sha = Layer.sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
        return "sha256:" + HexFormat.of().formatHex(sha.digest());
    }

    static String tar(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("tar"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("LC_ALL", "C.UTF-8"); // names as UTF-8, not octal escapes
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("tar finished").isTrue();
        assertThat(p.exitValue()).as("tar " + String.join(" ", args) + ": " + out).isZero();
        return out;
    }
}
