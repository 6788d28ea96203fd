package io.countersign.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./countersign approvals ...} as a process on the packaged jar (failsafe runs it after
 * {@code package}), with the reviewer token from COUNTERSIGN_TOKEN.
 */
class ApprovalsLauncherIT {

    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    record Result(int exit, String out, String err) {}

    static Result launch(String token, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("countersign").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile());
        pb.environment().put("COUNTERSIGN_NO_BUILD", "1");
        pb.environment().remove("COUNTERSIGN_TOKEN");
        // a token stored by `countersign login` on this machine must not stand in for the one under test
        pb.environment().put("XDG_CONFIG_HOME", ROOT.resolve("server/target/launcher-it-config").toString());
        if (token != null) {
            pb.environment().putAll(Map.of("COUNTERSIGN_TOKEN", token));
        }
        Process p = pb.start();
        p.getOutputStream().close();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void listAndDenyFromTheLauncherReleaseTheWaitingStatement(@TempDir Path dir) throws Exception {
        E2e.schema(db);
        try (CountersignServer server = E2e.start(E2e.config(dir, db, dir.resolve("data").toString(), null, "launcher"));
             Connection c = E2e.bot(server); Statement s = c.createStatement()) {
            String sql = "SELECT email FROM customers WHERE id = 1";
            CompletableFuture<String> rows = CompletableFuture.supplyAsync(() -> {
                try (ResultSet rs = s.executeQuery(sql)) {
                    rs.next();
                    return rs.getString(1);
                } catch (SQLException e) {
                    throw new CompletionException(e);
                }
            });
            ApprovalRequest r = E2e.awaitPending(server, sql);
            String url = E2e.adminUrl(server);

            Result noToken = launch(null, "approvals", "list", "--url", url);
            assertThat(noToken.exit()).isEqualTo(1);
            assertThat(noToken.err().strip()).isEqualTo("countersign list: no reviewer token; run 'countersign login', pass --token TOKEN or set COUNTERSIGN_TOKEN");

            Result badToken = launch("not-a-token", "approvals", "list", "--url", url);
            assertThat(badToken.exit()).isEqualTo(1);
            assertThat(badToken.err()).startsWith("countersign list: ").contains("HTTP 401");

            Result list = launch("tok-bob", "approvals", "list", "--url", url, "--json");
            assertThat(list.exit()).as(list.err()).isZero();
            assertThat(list.out()).contains("\"id\" : \"" + r.id() + "\"").contains("\"state\" : \"pending\"");

            Result deny = launch("tok-bob", "approvals", "deny", r.id(), "--url", url, "--comment", "from the launcher");
            assertThat(deny.exit()).as(deny.err()).isZero();
            assertThat(deny.out()).contains("state:      denied").contains("bob deny via cli: from the launcher");
            try {
                rows.get(20, TimeUnit.SECONDS);
                throw new AssertionError("the denied statement returned rows");
            } catch (java.util.concurrent.ExecutionException e) {
                assertThat(((SQLException) e.getCause()).getSQLState()).isEqualTo("42501");
                assertThat(e.getCause().getMessage()).contains("denied by bob: from the launcher");
            }
            assertThat(E2e.reviewer(server, "alice").show(r.id()).state()).isEqualTo(RequestState.DENIED);
        }
    }
}
