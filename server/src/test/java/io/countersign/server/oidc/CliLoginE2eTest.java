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
import io.countersign.server.cli.ApprovalsOptions;
import io.countersign.server.e2e.E2e;
import io.countersign.server.reviewing.Reviewing;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import com.nimbusds.jwt.SignedJWT;
import io.countersign.server.Countersign;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code countersign login} against the provider, then {@code countersign approvals approve} with
 * the stored token releases a held pgjdbc query.
 *
 * <p>mock-oauth2-server 2.1.10 has no device authorization endpoint; {@link DeviceFlowRoute} adds one
 * to it through its route extension point. The user approves the code while the CLI polls; the ID
 * token the CLI stores is signed by the provider for the CLI's client id and checked by Countersign.
 */
@ExtendWith(NettyLeakWatch.class)
class CliLoginE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;
    @TempDir
    Path home;

    static MockOAuth2Server provider;
    static final DeviceFlowRoute deviceFlow = new DeviceFlowRoute();
    static CountersignServer server;
    static String admin;
    Map<String, String> previousEnv;

    @BeforeAll
    static void start() throws Exception {
        provider = new MockOAuth2Server(new no.nav.security.mock.oauth2.OAuth2Config(), deviceFlow);
        deviceFlow.provider = provider;
        provider.start();
        deviceFlow.discovery = HttpClient.newHttpClient().send(HttpRequest.newBuilder(provider.wellKnownUrl("default").uri()).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Reviewing.schema(db);
        server = Reviewing.start(OidcE2e.withOidc(Reviewing.config(dir, db, null), provider));
        admin = Reviewing.adminUrl(server);
        // Countersign reads the provider's discovery and keys now
        String warm = provider.issueToken("default", "00u-alice", OidcE2e.CLI_CLIENT, Map.of("email", "alice@example.com")).serialize();
        HttpResponse<String> me = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(admin + "/api/me"))
                .header("Authorization", "Bearer " + warm).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(me.statusCode()).as(me.body()).isEqualTo(200);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (provider != null) provider.shutdown();
    }

    @BeforeEach
    void isolateHome() {
        previousEnv = ApprovalsOptions.useEnvironment(Map.of("XDG_CONFIG_HOME", home.toString()));
    }

    @AfterEach
    void restoreHome() {
        ApprovalsOptions.useEnvironment(previousEnv);
    }

    @Test
    void deviceFlowLoginStoresTheTokenOwnerOnlyAndApprovalsCommandsUseIt() throws Exception {
        deviceFlow.offer = true;
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Countersign.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        CompletableFuture<Integer> login = async(() -> cl.execute("login", "--url", admin));

        // the reviewer reads the code from the terminal and approves it in a browser
        Matcher prompt = Pattern.compile("open (\\S+) and enter the code (\\S+)").matcher("");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!prompt.reset(out.toString()).find()) {
            assertThat(System.nanoTime()).as("the CLI's prompt; out: " + out + " err: " + err).isLessThan(deadline);
            assertThat(login).as("login ended early: " + err).isNotDone();
            Thread.sleep(50);
        }
        Thread.sleep(1500); // at least one poll answered authorization_pending
        assertThat(login).isNotDone();
        HttpResponse<String> approved = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(prompt.group(1)
                + "?user_code=" + prompt.group(2) + "&sub=00u-alice&email=alice@example.com&groups=db-admins")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(approved.statusCode()).as(approved.body()).isEqualTo(200);

        assertThat(login.get(60, TimeUnit.SECONDS)).as(err.toString()).isZero();
        assertThat(out.toString()).contains("as alice (oidc)").contains("mode 0600");

        Path file = home.resolve("countersign").resolve("token");
        String stored = Files.readString(file).strip();
        assertThat(stored.split("\\.")).as("a JWT").hasSize(3);
        assertThat(SignedJWT.parse(stored).getJWTClaimsSet().getAudience()).containsExactly(OidcE2e.CLI_CLIENT);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent()))).isEqualTo("rwx------");

        String sql = "SELECT email FROM customers WHERE id = 3";
        try (Connection c = bot(server)) {
            CompletableFuture<List<String>> query = async(() -> column(c, sql));
            ApprovalRequest held = awaitPending(server, sql);
            E2e.Cli approve = E2e.cli("approvals", "approve", held.id(), "--url", admin, "-m", "from the terminal");
            assertThat(approve.exit()).as(approve.err()).isZero();
            assertThat(query.get(30, TimeUnit.SECONDS)).containsExactly("c3@example.com");
            assertThat(awaitState(server, held.id(), RequestState.EXECUTED).decisions()).singleElement().satisfies(d -> {
                assertThat(d.reviewer()).isEqualTo("alice");
                assertThat(d.channel()).isEqualTo(Channel.CLI);
                assertThat(d.auth()).isEqualTo(ReviewerAuth.OIDC);
            });
        }
    }

    @Test
    void withoutTheDeviceFlowLoginAsksForAPersonalAccessTokenAndStoresOneGiven() throws Exception {
        deviceFlow.offer = false;
        E2e.Cli noDevice = E2e.cli("login", "--url", admin); // the provider's real discovery advertises no device flow
        assertThat(noDevice.exit()).isEqualTo(1);
        assertThat(noDevice.err()).contains("does not offer the device flow").contains("mint a personal access token")
                .contains("--token");

        E2e.Cli withToken = E2e.cli("login", "--url", admin, "--token", "tok-carol");
        assertThat(withToken.exit()).as(withToken.err()).isZero();
        assertThat(withToken.out()).contains("as carol (static-token)");
        Path file = home.resolve("countersign").resolve("token");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        E2e.Cli list = E2e.cli("approvals", "list", "--url", admin);
        assertThat(list.exit()).as(list.err()).isZero();

        E2e.Cli refused = E2e.cli("login", "--url", admin, "--token", "not-a-token");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("unknown bearer token");
        assertThat(Files.readString(file).strip()).as("a refused token is not stored").isEqualTo("tok-carol");

        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        E2e.Cli leaked = E2e.cli("approvals", "list", "--url", admin);
        assertThat(leaked.exit()).isEqualTo(1);
        assertThat(leaked.err()).contains("readable by others").contains("chmod 600");
    }
}
