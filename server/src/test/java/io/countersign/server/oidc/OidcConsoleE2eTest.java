package io.countersign.server.oidc;

import static io.countersign.server.reviewing.Reviewing.async;
import static io.countersign.server.reviewing.Reviewing.awaitPending;
import static io.countersign.server.reviewing.Reviewing.awaitState;
import static io.countersign.server.reviewing.Reviewing.bot;
import static io.countersign.server.reviewing.Reviewing.column;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Channel;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.ReviewerAuth;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.reviewing.Reviewing;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
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
 * A reviewer signs in to the console through a real OpenID Connect provider's login page
 * (mock-oauth2-server in interactive mode: the user types a name and the claims), in headless
 * Chromium, in front of a whole Countersign and real PostgreSQL: the agent's pgjdbc query waits
 * until the signed-in reviewer clicks Approve. Leaves a screenshot at server/target/oidc-console-e2e.png.
 */
@ExtendWith(NettyLeakWatch.class)
class OidcConsoleE2eTest {


    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static MockOAuth2Server provider;
    static CountersignServer server;

    ChromeDriver driver;
    WebDriverWait wait;
    HeadlessChromium browser;

    @BeforeAll
    static void start() throws Exception {
        provider = new MockOAuth2Server(new OAuth2Config(true)); // interactive: a login page asks for user and claims
        provider.start();
        Reviewing.schema(db);
        server = Reviewing.start(OidcE2e.withOidc(Reviewing.config(dir, db, null), provider));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (provider != null) provider.shutdown();
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

    /** Console, "Sign in with your identity provider", the provider's login page, back to the console; returns the request's card. */
    WebElement signInThroughTheProvider(String user, String claimsJson, String requestId) {
        driver.get(Reviewing.adminUrl(server) + "/console/#" + requestId);
        wait.until(ExpectedConditions.elementToBeClickable(By.id("sso-login"))).click();
        wait.until(ExpectedConditions.urlContains(provider.issuerUrl("default").toString()));
        WebElement username = wait.until(ExpectedConditions.visibilityOfElementLocated(By.name("username")));
        username.sendKeys(user);
        driver.findElement(By.name("claims")).sendKeys(claimsJson);
        driver.findElement(By.cssSelector("input[type=submit]")).click();
        wait.until(ExpectedConditions.urlContains(Reviewing.adminUrl(server) + "/console/"));
        return wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("article[data-request-id='" + requestId + "']")));
    }

    @Test
    void aReviewerSignedInWithTheProviderSeesTheHeldQueryAndApprovesIt() throws Exception {
        String sql = "SELECT email FROM customers WHERE id <= 2 ORDER BY id";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);

            WebElement card = signInThroughTheProvider("00u-alice",
                    "{\"email\": \"alice@example.com\", \"groups\": [\"db-admins\", \"everyone\"]}", held.id());
            assertThat(driver.findElement(By.id("me")).getText()).isEqualTo("alice (dba, security)");
            assertThat(driver.findElement(By.id("tokens-tab")).isDisplayed()).isTrue();
            assertThat(card.findElement(By.cssSelector(".sql")).getText()).isEqualTo(sql);
            assertThat(driver.manage().getCookieNamed("countersign_session").isHttpOnly()).isTrue();
            assertThat(driver.manage().getCookieNamed("countersign_session").getSameSite()).isEqualTo("Lax");

            Path shot = Path.of("target", "oidc-console-e2e.png");
            Files.createDirectories(shot.getParent());
            Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);

            assertThat(query).as("still held before the click").isNotDone();
            card.findElement(By.cssSelector("button[data-action='approve']")).click();
            assertThat(query.get(30, TimeUnit.SECONDS)).containsExactly("c1@example.com", "c2@example.com");

            ApprovalRequest done = awaitState(server, held.id(), RequestState.EXECUTED);
            assertThat(done.decisions()).singleElement().satisfies(d -> {
                assertThat(d.reviewer()).as("linked to the directory by e-mail").isEqualTo("alice");
                assertThat(d.channel()).isEqualTo(Channel.CONSOLE);
                assertThat(d.auth()).isEqualTo(ReviewerAuth.OIDC);
            });
        }

        // a personal access token for the CLI, minted in the Tokens tab, works as a bearer token
        driver.findElement(By.id("tokens-tab")).click();
        driver.findElement(By.id("token-label")).clear();
        driver.findElement(By.id("token-label")).sendKeys("laptop");
        driver.findElement(By.cssSelector("#token-form button")).click();
        String token = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token-value"))).getText();
        assertThat(token).startsWith("csp_");
        wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#token-rows tr"), 1));
        var me = new io.countersign.approvals.client.ApprovalsClient(java.net.URI.create(Reviewing.adminUrl(server)), token).me();
        assertThat(me.path("name").asText()).isEqualTo("alice");
        assertThat(me.path("auth").asText()).isEqualTo("personal-access-token");

        // signing out ends the session here and at the provider, which sends the browser back to the console
        driver.findElement(By.id("sign-out")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("sso-login")));
        assertThat(driver.manage().getCookieNamed("countersign_session")).isNull();
    }

    @Test
    void aReviewerWhoseGroupsClaimLacksTheRulesGroupIsRefusedAndTheQueryKeepsWaiting() throws Exception {
        String sql = "SELECT email FROM customers WHERE id = 4";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);

            WebElement card = signInThroughTheProvider("00u-carl",
                    "{\"email\": \"carl@example.com\", \"groups\": [\"contractors\"]}", held.id());
            assertThat(driver.findElement(By.id("me")).getText()).isEqualTo("carl@example.com ()");
            card.findElement(By.cssSelector("button[data-action='approve']")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("message"), "not in group 'dba'"));
            assertThat(query).isNotDone();
            assertThat(Reviewing.reviewer(server, "alice").show(held.id()).state()).isEqualTo(RequestState.PENDING);

            Reviewing.reviewer(server, "alice").approve(held.id(), "a dba approves instead");
            assertThat(query.get(30, TimeUnit.SECONDS)).containsExactly("c4@example.com");
            assertThat(awaitState(server, held.id(), RequestState.EXECUTED).decisions()).singleElement()
                    .satisfies(d -> assertThat(d.auth()).isEqualTo(ReviewerAuth.STATIC_TOKEN));
        }
    }
}
