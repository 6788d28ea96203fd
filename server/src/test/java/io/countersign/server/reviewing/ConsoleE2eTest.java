package io.countersign.server.reviewing;

import static io.countersign.server.reviewing.Reviewing.async;
import static io.countersign.server.reviewing.Reviewing.awaitPending;
import static io.countersign.server.reviewing.Reviewing.awaitState;
import static io.countersign.server.reviewing.Reviewing.bot;
import static io.countersign.server.reviewing.Reviewing.column;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Channel;
import io.countersign.approvals.RequestState;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import io.countersign.server.HeadlessChromium;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console of a whole Countersign in a real headless Chromium (Debian's chromium and
 * chromium-driver): an agent's pgjdbc query on a sensitive column is held by the real proxy, a
 * reviewer signs in with a bearer token, the request is on the page, and a click decides what the
 * waiting JDBC query gets. Leaves a screenshot at server/target/console-e2e.png.
 */
@ExtendWith(NettyLeakWatch.class)
class ConsoleE2eTest {


    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;
    HeadlessChromium browser;

    static CountersignServer server;

    ChromeDriver driver;
    WebDriverWait wait;

    @BeforeAll
    static void startServer() throws Exception {
        Reviewing.schema(db);
        server = Reviewing.start(Reviewing.config(dir, db, null));
    }

    @AfterAll
    static void stopServer() {
        if (server != null) server.close();
    }

    @BeforeEach
    void startBrowser() throws Exception {
        browser = HeadlessChromium.start("1280,900");
        driver = browser.driver();
        wait = new WebDriverWait(driver, Duration.ofSeconds(30));
    }

    @AfterEach
    void stopBrowser() {
        if (browser != null) browser.close();
    }

    /** Opens the console, signs in the way the page asks (a bearer token), waits for the request's card. */
    WebElement signInAndFind(String token, String requestId) {
        driver.get(Reviewing.adminUrl(server) + "/console/");
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token"))).sendKeys(token);
        driver.findElement(By.cssSelector("#sign-in-form button")).click();
        return wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("article[data-request-id='" + requestId + "']")));
    }

    @Test
    void aHeldQueryAppearsInTheConsoleAndAClickOnApproveReturnsItsRows() throws Exception {
        String sql = "SELECT email FROM customers WHERE id <= 3 ORDER BY id";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);

            WebElement card = signInAndFind("tok-alice", held.id());
            assertThat(driver.findElement(By.id("me")).getText()).startsWith("alice");
            assertThat(card.findElement(By.cssSelector(".sql")).getText()).isEqualTo(sql);
            assertThat(card.findElement(By.cssSelector("mark.sensitive")).getText()).isEqualTo("email");
            assertThat(card.getText()).contains("bot").contains("public.customers.email");

            Path shot = Path.of("target", "console-e2e.png");
            Files.createDirectories(shot.getParent());
            Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
            assertThat(Files.size(shot)).isGreaterThan(10_000);

            assertThat(query).as("still held before the click").isNotDone();
            card.findElement(By.cssSelector("button[data-action='approve']")).click();
            assertThat(query.get(30, TimeUnit.SECONDS)).containsExactly("c1@example.com", "c2@example.com", "c3@example.com");

            ApprovalRequest done = awaitState(server, held.id(), RequestState.EXECUTED);
            assertThat(done.decisions()).singleElement().satisfies(d -> {
                assertThat(d.reviewer()).isEqualTo("alice");
                assertThat(d.channel()).isEqualTo(Channel.CONSOLE);
            });
            wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("article[data-request-id='" + held.id() + "']"), 0));
        }
    }

    @Test
    void denyWithACommentGivesTheJdbcClient42501WithThatComment() throws Exception {
        String sql = "SELECT name, email FROM customers WHERE id = 5";
        String comment = "customer e-mails stay with support";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);

            WebElement card = signInAndFind("tok-bob", held.id());
            card.findElement(By.cssSelector("textarea")).sendKeys(comment);
            card.findElement(By.cssSelector("button[data-action='deny']")).click();

            assertThatThrownBy(() -> query.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(SQLException.class).cause().satisfies(e -> {
                SQLException x = (SQLException) e;
                assertThat(x.getSQLState()).isEqualTo("42501");
                assertThat(x.getMessage()).contains(comment).contains("bob");
            });
            ApprovalRequest denied = awaitState(server, held.id(), RequestState.DENIED);
            assertThat(denied.decisions()).singleElement().satisfies(d -> {
                assertThat(d.reviewer()).isEqualTo("bob");
                assertThat(d.comment()).isEqualTo(comment);
                assertThat(d.channel()).isEqualTo(Channel.CONSOLE);
            });
            // the connection stays usable after the denial
            assertThat(column(c, "SELECT label FROM items WHERE id = 1")).containsExactly("item 1");
        }
    }
}
