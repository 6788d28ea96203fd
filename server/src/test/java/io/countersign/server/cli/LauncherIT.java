package io.countersign.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ./countersign launcher run as a process on the jar and lib/ that `package` just built
 * (failsafe runs this after `package`; COUNTERSIGN_NO_BUILD=1 keeps the launcher from starting a
 * nested Maven build inside the test).
 */
class LauncherIT {

    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    record Result(int exit, String out, String err) {}

    static Result launch(Map<String, String> env, boolean clearEnv, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("countersign").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile());
        if (clearEnv) {
            pb.environment().clear();
        }
        pb.environment().put("COUNTERSIGN_NO_BUILD", "1");
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void scriptIsValidBash() throws Exception {
        Process p = new ProcessBuilder("bash", "-n", ROOT.resolve("countersign").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(Files.isExecutable(ROOT.resolve("countersign"))).isTrue();
    }

    @Test
    void versionRunsThroughTheLauncher() throws Exception {
        Result r = launch(Map.of(), false, "--version");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("^countersign \\d+\\.\\d+\\.\\d+");
    }

    @Test
    void reportsRunOnTheLaunchersOwnClasspath(@TempDir Path dir) throws Exception {
        // DuckDB must be on the runtime classpath, not only on the tests': an empty audit is still a report.
        Result r = launch(Map.of(), false, "report", "usage", "--audit-dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("rows_read").contains("(0 rows)");
    }

    @Test
    void picksAJdk21OrNewerWhenJavaHomeAndPathOfferAnOlderOne() throws Exception {
        // the machine's default java is 17: hand the launcher only that, and it must find a newer one itself
        Path old = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        Map<String, String> env = Files.isDirectory(old)
                ? Map.of("PATH", old.resolve("bin") + ":/usr/bin:/bin", "JAVA_HOME", old.toString(), "HOME", System.getProperty("user.home"))
                : Map.of("PATH", "/usr/bin:/bin", "HOME", System.getProperty("user.home"));
        Result r = launch(env, true, "--version");
        assertThat(r.exit()).as(r.err()).isZero();
        Matcher m = Pattern.compile("Java (\\d+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).isGreaterThanOrEqualTo(21);
    }

    @Test
    void badConfigExitsOneWithOneLineOnStderr(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "listeners: {postgres: {port: 0}}\nbackends: []\nagents: []\nextra: 1\n");
        Result r = launch(Map.of(), false, "serve", "--config", cfg.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().lines().toList()).containsExactly(
                "countersign serve: " + cfg + ": extra: unknown key 'extra'; expected one of: admin, agents, analysis, approvals, audit, backends, data-dir, identity, listeners, policy, slack, teams, tracking");
    }

    @Test
    void inATreeWithoutAJarItSaysWhatIsMissing() throws Exception {
        // a copy of the launcher in a tree with no jar and no Maven wrapper
        Path tree = Files.createTempDirectory("countersign-launcher-");
        try {
            Files.createDirectories(tree.resolve(".ci"));
            Files.copy(ROOT.resolve(".ci/java-home"), tree.resolve(".ci/java-home"));
            Files.copy(ROOT.resolve("countersign"), tree.resolve("countersign"));

            String noBuild = runIn(tree, true);
            assertThat(noBuild).contains("server/target/server-*.jar or server/target/lib is missing and COUNTERSIGN_NO_BUILD=1");

            // allowed to build, it tries ./mvnw, which this tree lacks: the failure must say so
            String failedBuild = runIn(tree, false);
            assertThat(failedBuild).contains("countersign: building the server").contains("countersign: the build failed");
        } finally {
            try (var s = Files.walk(tree)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    static String runIn(Path tree, boolean noBuild) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", tree.resolve("countersign").toString(), "--version")
                .directory(tree.toFile()).redirectErrorStream(true);
        pb.environment().remove("COUNTERSIGN_NO_BUILD");
        if (noBuild) {
            pb.environment().put("COUNTERSIGN_NO_BUILD", "1");
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(1);
        return out;
    }
}
