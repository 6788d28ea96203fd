package io.countersign.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless Chromium driven through chromedriver, for the console's browser tests. Its profile
 * lives outside every JUnit {@code @TempDir}: Chromium's helper processes may still write to a profile
 * for a moment after {@code quit()}, and a file that appears while JUnit deletes a temp directory fails
 * the whole test class.
 */
public final class HeadlessChromium implements AutoCloseable {
    private static final File CHROMIUM = new File("/usr/bin/chromium");
    private static final File CHROMEDRIVER = new File("/usr/bin/chromedriver");

    private final Path profile;
    private final ChromeDriver driver;

    private HeadlessChromium(Path profile, ChromeDriver driver) {
        this.profile = profile;
        this.driver = driver;
    }

    /** @param windowSize e.g. {@code "1280,900"} */
    public static HeadlessChromium start(String windowSize) throws IOException {
        assertThat(CHROMIUM).as("Debian package chromium (apt-get install chromium; .ci/run installs it)").exists();
        assertThat(CHROMEDRIVER).as("Debian package chromium-driver (apt-get install chromium-driver)").exists();
        Path profile = Files.createTempDirectory("countersign-chromium-profile");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=" + windowSize, "--user-data-dir=" + profile);
        ChromeDriver driver = new ChromeDriver(new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER).usingAnyFreePort().build(), options);
        return new HeadlessChromium(profile, driver);
    }

    public ChromeDriver driver() {
        return driver;
    }

    /** Quits the browser and removes its profile, best effort: what a late helper still writes is left to the OS. */
    @Override
    public void close() {
        driver.quit();
        try (Stream<Path> files = Files.walk(profile)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | java.io.UncheckedIOException e) {
            // a helper process raced us; nothing the test depends on
        }
    }
}
