package io.countersign.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.BackendType;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import io.countersign.testing.MariaDbDatabase;
import io.countersign.testing.PostgresDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * docker/compose.yaml against the image the build made: it must name that image, publish its
 * ports, keep its health check, and mount a config that the server's own loader accepts and
 * that reaches the databases compose starts, whose init scripts must run.
 */
class ComposeFileIT {

    @RegisterExtension
    static final PostgresDatabase pg = new PostgresDatabase();

    @RegisterExtension
    static final MariaDbDatabase mariadb = new MariaDbDatabase();

    @TempDir
    static Path tmp;

    static Path dockerDir;
    static JsonNode services;
    static JsonNode countersign;
    static JsonNode imageConfig;

    @BeforeAll
    static void read() throws Exception {
        dockerDir = Path.of(System.getProperty("docker.dir", "."));
        JsonNode compose = new ObjectMapper(new YAMLFactory()).readTree(dockerDir.resolve("compose.yaml").toFile());
        services = compose.get("services");
        countersign = services.get("countersign");
        // only the image's manifest and config, not its layers
        ImageTarball.tar("-xf", System.getProperty("image.file"), "-C", tmp.toString(), "manifest.json");
        JsonNode manifest = ImageTarball.JSON.readTree(tmp.resolve("manifest.json").toFile()).get(0);
        ImageTarball.tar("-xf", System.getProperty("image.file"), "-C", tmp.toString(), manifest.get("Config").asText());
        imageConfig = ImageTarball.JSON.readTree(tmp.resolve(manifest.get("Config").asText()).toFile()).get("config");
    }

    @Test
    void countersignRunsTheImageTheBuildMade() {
        assertThat(countersign.get("image").asText()).isEqualTo(ImageTarball.tag());
        assertThat(services.fieldNames()).toIterable().contains("postgres", "mysql", "countersign");
        assertThat(services.get("postgres").get("image").asText()).startsWith("postgres:");
        assertThat(services.get("mysql").get("image").asText()).startsWith("mysql:");
    }

    @Test
    void publishesEveryPortTheImageExposes() {
        List<String> ports = new ArrayList<>();
        countersign.get("ports").forEach(p -> ports.add(p.asText()));
        List<String> exposed = new ArrayList<>();
        imageConfig.get("ExposedPorts").fieldNames().forEachRemaining(p -> exposed.add(p.replace("/tcp", "")));
        assertThat(ports).containsExactlyInAnyOrder(exposed.stream().map(p -> "127.0.0.1:" + p + ":" + p).toArray(String[]::new));
        assertThat(exposed).containsExactlyInAnyOrder("6543", "3307", "8787");
    }

    @Test
    void healthCheckIsTheImagesAndTheDatabasesAreHealthyFirst() {
        JsonNode hc = countersign.get("healthcheck");
        assertThat(hc.get("test")).isEqualTo(imageConfig.get("Healthcheck").get("Test"));
        assertThat(hc.get("interval").asText()).isEqualTo("30s");
        for (String db : List.of("postgres", "mysql")) {
            assertThat(countersign.get("depends_on").get(db).get("condition").asText()).isEqualTo("service_healthy");
            assertThat(services.get(db).get("healthcheck").get("test").get(0).asText()).isEqualTo("CMD");
        }
    }

    @Test
    void mountsTheSampleConfigWhereTheImageLooksAndTheDataVolume() {
        Map<String, String> mounts = mounts(countersign);
        assertThat(mounts).containsEntry("/etc/countersign/countersign.yaml", "./countersign.yaml")
                .containsEntry("/etc/countersign/policy.yaml", "./policy.yaml")
                .containsEntry("/var/lib/countersign", "countersign-data");
        List<String> cmd = new ArrayList<>();
        countersign.get("command").forEach(c -> cmd.add(c.asText()));
        List<String> imageCmd = new ArrayList<>();
        imageConfig.get("Cmd").forEach(c -> imageCmd.add(c.asText()));
        assertThat(cmd).isEqualTo(imageCmd);
    }

    @Test
    void theMountedConfigLoadsAndReachesTheComposeDatabasesAsTheirUsers() throws Exception {
        Map<String, String> env = environment(countersign);
        CountersignConfig cfg = ConfigLoader.load(mountedConfig(), env);
        Map<String, String> pgEnv = environment(services.get("postgres"));
        Map<String, String> myEnv = environment(services.get("mysql"));
        BackendConfig pgBackend = cfg.backends().stream().filter(b -> b.type() == BackendType.POSTGRESQL).findFirst().orElseThrow();
        assertThat(pgBackend.host()).isEqualTo("postgres");
        assertThat(pgBackend.port()).isEqualTo(5432);
        assertThat(pgBackend.database()).isEqualTo(pgEnv.get("POSTGRES_DB"));
        assertThat(pgBackend.user()).isEqualTo(pgEnv.get("POSTGRES_USER"));
        assertThat(pgBackend.password()).isEqualTo(pgEnv.get("POSTGRES_PASSWORD"));
        BackendConfig myBackend = cfg.backends().stream().filter(b -> b.type() == BackendType.MYSQL).findFirst().orElseThrow();
        assertThat(myBackend.host()).isEqualTo("mysql");
        assertThat(myBackend.port()).isEqualTo(3306);
        assertThat(myBackend.database()).isEqualTo(myEnv.get("MYSQL_DATABASE"));
        assertThat(myBackend.user()).isEqualTo(myEnv.get("MYSQL_USER"));
        assertThat(myBackend.password()).isEqualTo(myEnv.get("MYSQL_PASSWORD"));
        assertThat(cfg.admin().host()).isEqualTo("0.0.0.0");
        assertThat(ImageBuilder.HEALTH_URL).contains(":" + cfg.admin().port() + "/");
        assertThat(cfg.listeners().postgres().port()).isEqualTo(6543);
        assertThat(cfg.listeners().mysql().port()).isEqualTo(3307);
        assertThat(cfg.agents()).extracting(a -> a.name()).contains("demo-agent");
    }

    @Test
    void theInitScriptsCreateTheSampleShopOnRealServers() throws Exception {
        for (String sql : statements(dockerDir.resolve("initdb/postgres/10-shop.sql"))) {
            pg.execute(sql);
        }
        for (String sql : statements(dockerDir.resolve("initdb/mysql/10-shop.sql"))) {
            mariadb.execute(sql);
        }
        assertThat(mounts(services.get("postgres"))).containsEntry("/docker-entrypoint-initdb.d", "./initdb/postgres");
        assertThat(mounts(services.get("mysql"))).containsEntry("/docker-entrypoint-initdb.d", "./initdb/mysql");
        String check = "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), (SELECT count(*) FROM payments)";
        for (Connection c : List.of(pg.connect(), mariadb.connect())) {
            try (c; Statement s = c.createStatement(); ResultSet rs = s.executeQuery(check)) {
                assertThat(rs.next()).isTrue();
                assertThat(List.of(rs.getInt(1), rs.getInt(2), rs.getInt(3))).containsExactly(3, 4, 2);
            }
        }
    }

    /** The mounted config with its container paths pointed at the files compose mounts there. */
    private static Path mountedConfig() throws Exception {
        String text = Files.readString(dockerDir.resolve("countersign.yaml"));
        for (Map.Entry<String, String> m : mounts(countersign).entrySet()) {
            if (m.getValue().startsWith("./")) {
                text = text.replace(m.getKey(), dockerDir.resolve(m.getValue()).normalize().toString());
            }
        }
        Path local = tmp.resolve("countersign.yaml");
        Files.writeString(local, text);
        return local;
    }

    /** Container path to source, from "source:target[:ro]" entries. */
    private static Map<String, String> mounts(JsonNode service) {
        Map<String, String> out = new HashMap<>();
        service.get("volumes").forEach(v -> {
            String[] parts = v.asText().split(":");
            out.put(parts[1], parts[0]);
        });
        return out;
    }

    private static final Pattern INTERPOLATION = Pattern.compile("\\$\\{([A-Z0-9_]+):-([^}]*)}");

    /** A service's environment as compose passes it with no .env file: ${NAME:-default} becomes the default. */
    private static Map<String, String> environment(JsonNode service) {
        Map<String, String> env = new HashMap<>();
        service.get("environment").fields().forEachRemaining(e -> {
            Matcher m = INTERPOLATION.matcher(e.getValue().asText());
            env.put(e.getKey(), m.replaceAll(r -> Matcher.quoteReplacement(r.group(2))));
        });
        return env;
    }

    private static List<String> statements(Path file) throws Exception {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : Files.readAllLines(file)) {
            if (line.strip().startsWith("--")) {
                continue;
            }
            current.append(line).append('\n');
            if (line.strip().endsWith(";")) {
                out.add(current.toString().strip().replaceAll(";$", ""));
                current.setLength(0);
            }
        }
        assertThat(current.toString().strip()).as("text after the last statement of " + file).isEmpty();
        return out;
    }
}
