package io.countersign.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tarball read by skopeo (Debian's package; the containers/image library podman and CRI-O use),
 * a reader that shares nothing with our writer: as a docker-archive (what docker load takes) and
 * as an OCI archive, copied out in full, which checks every blob against its digest.
 */
class SkopeoReadsImageIT {

    @TempDir
    Path tmp;

    @Test
    void readsTheDockerArchiveWithItsTagAndConfig() throws Exception {
        String archive = "docker-archive:" + System.getProperty("image.file");
        JsonNode tags = ImageTarball.JSON.readTree(skopeo("list-tags", archive));
        assertThat(tags.get("Tags")).extracting(JsonNode::asText).containsExactly(ImageTarball.tag());
        JsonNode config = ImageTarball.JSON.readTree(skopeo("inspect", "--config", archive)).get("config");
        assertThat(config.get("User").asText()).isEqualTo("10001:10001");
        assertThat(config.get("ExposedPorts").fieldNames()).toIterable().containsExactlyInAnyOrder("6543/tcp", "3307/tcp", "8787/tcp");
    }

    @Test
    void readsTheOciArchiveAndEveryBlobMatchesItsDigest() throws Exception {
        String archive = "oci-archive:" + System.getProperty("image.file");
        JsonNode inspect = ImageTarball.JSON.readTree(skopeo("inspect", archive));
        assertThat(inspect.get("Os").asText()).isEqualTo("linux");
        assertThat(inspect.get("Architecture").asText()).isEqualTo("amd64");
        assertThat(inspect.get("Layers")).hasSize(4);
        Path dir = tmp.resolve("from-oci");
        skopeo("--insecure-policy", "copy", "-q", archive, "dir:" + dir);
        for (JsonNode layer : inspect.get("Layers")) {
            assertThat(dir.resolve(layer.asText().substring("sha256:".length()))).isRegularFile();
        }
    }

    private static String skopeo(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("skopeo"));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile("skopeo", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(180, TimeUnit.SECONDS)).as(String.join(" ", cmd) + " finished").isTrue();
            assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + Files.readString(err)).isZero();
            return out;
        } finally {
            Files.delete(err);
        }
    }
}
