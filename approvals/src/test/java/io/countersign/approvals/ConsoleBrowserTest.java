package io.countersign.approvals;

import static io.countersign.approvals.ApprovalServiceTest.hold;
import static io.countersign.approvals.Facts.facts;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.countersign.approvals.rest.ApprovalsApi;
import io.countersign.approvals.store.H2ApprovalStore;
import java.io.File;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real headless Chromium (Debian's chromium + chromium-driver): a held request
 * appears, one held later arrives by the live stream without a reload, a click approves it, and
 * the waiting future completes. Leaves a screenshot at target/console.png.
 */
class ConsoleBrowserTest {

    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";

    @TempDir
    Path dir;
    /** Outside {@code dir}: Chromium's helpers may write to it after quit, which would fail JUnit's cleanup of dir. */
    Path profile;
    H2ApprovalStore store;
    ApprovalService service;
    HttpServer server;
    ChromeDriver driver;
    String base;

    @BeforeEach
    void start() throws Exception {
        assertThat(new File(CHROMIUM)).as("Debian package chromium (apt-get install chromium; .ci/run installs it)").exists();
        assertThat(new File(CHROMEDRIVER)).as("Debian package chromium-driver (apt-get install chromium-driver)").exists();
        store = H2ApprovalStore.open(dir.resolve("approvals"));
        service = new ApprovalService(store, ApprovalServiceTest.directory(), ApprovalService.Options.defaults());
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        ApprovalsApi.mount(server, service);
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();

        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                "--user-data-dir=" + (profile = Files.createTempDirectory("countersign-chromium-profile")));
        ChromeDriverService driverService = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
        driver = new ChromeDriver(driverService, options);
    }

    @AfterEach
    void stop() {
        if (driver != null) {
            driver.quit();
        }
        if (server != null) {
            server.stop(0);
        }
        if (service != null) {
            service.close();
        }
        if (store != null) {
            store.close();
        }
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                // a late helper write; the OS cleans temp
            }
        }
    }

    @Test
    void heldRequestAppearsAndAClickApprovesIt() throws Exception {
        HeldRequest first = service.hold(facts("bot", Facts.emailRead()), hold(1, Duration.ofMinutes(5)),
                "SELECT email FROM customers WHERE id = $1", List.of("42"), "10.0.0.9:50000");
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(40));

        driver.get(base + "/console/#" + first.request().id());
        driver.findElement(By.id("token")).sendKeys("alice-token");
        driver.findElement(By.cssSelector("#sign-in-form button")).click();
        WebElement card = wait.until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("article[data-request-id='" + first.request().id() + "']")));
        assertThat(driver.findElement(By.id("me")).getText()).startsWith("alice");
        wait.until(d -> card.getAttribute("class").contains("focus"));   // the notice's link points here
        assertThat(card.findElement(By.cssSelector(".sql")).getText()).isEqualTo("SELECT email FROM customers WHERE id = $1");
        assertThat(card.findElement(By.cssSelector("mark.sensitive")).getText()).isEqualTo("email");
        assertThat(card.findElement(By.cssSelector(".params")).getText()).contains("$1 = 42");
        assertThat(card.getText()).contains("reads sensitive column public.customers.email").contains("bot");

        // arrives through the event stream, no reload
        wait.until(d -> d.findElement(By.id("live")).getAttribute("class").contains("on"));
        HeldRequest second = service.hold(facts("bot", Facts.emailRead()), hold(1, Duration.ofMinutes(5)),
                "SELECT email FROM customers WHERE id = $1", List.of("43"), "10.0.0.9:50001");
        WebElement secondCard = wait.until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("article[data-request-id='" + second.request().id() + "']")));
        assertThat(driver.findElement(By.id("pending-count")).getText()).isEqualTo("2");

        Path shot = Path.of("target", "console.png");
        Files.createDirectories(shot.getParent());
        Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
        assertThat(Files.size(shot)).isGreaterThan(10_000);

        secondCard.findElement(By.cssSelector("button[data-action='approve']")).click();
        Outcome outcome = second.outcome().get(40, TimeUnit.SECONDS);
        assertThat(outcome).isInstanceOf(Outcome.Approved.class);
        assertThat(outcome.request().decisions()).singleElement().satisfies(d -> {
            assertThat(d.reviewer()).isEqualTo("alice");
            assertThat(d.channel()).isEqualTo(Channel.CONSOLE);
        });
        wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#pending-list article"), 1));
        assertThat(first.outcome()).isNotDone();

        // deny without a comment is refused in the page; with one it goes through
        WebElement firstCard = driver.findElement(By.cssSelector("article[data-request-id='" + first.request().id() + "']"));
        firstCard.findElement(By.cssSelector("button[data-action='deny']")).click();
        wait.until(d -> d.findElement(By.id("message")).getText().contains("comment"));
        assertThat(first.outcome()).isNotDone();
        firstCard.findElement(By.cssSelector("textarea")).sendKeys("customer emails stay with support");
        firstCard.findElement(By.cssSelector("button[data-action='deny']")).click();
        Outcome.Denied denied = (Outcome.Denied) first.outcome().get(40, TimeUnit.SECONDS);
        assertThat(denied.reason()).isEqualTo("customer emails stay with support");
        wait.until(d -> d.findElement(By.id("pending-empty")).isDisplayed());

        // history shows both decisions
        driver.findElement(By.cssSelector("#tabs button[data-tab='history']")).click();
        wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#history-rows tr"), 2));
        assertThat(driver.findElement(By.id("history-rows")).getText()).contains("approved").contains("denied")
                .contains("alice deny via console: customer emails stay with support");
    }
}
