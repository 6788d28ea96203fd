package io.countersign.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code countersign policy check} and the approvals commands' own errors, without a running proxy. */
class CliE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static Path config;

    @BeforeAll
    static void write() throws Exception {
        config = E2e.config(dir, db, dir.resolve("data").toString(), null, "cli");
    }

    @Test
    void policyCheckLiveHoldsASensitiveReadWithTheConfigsSensitiveColumns() throws Exception {
        E2e.schema(db);
        E2e.Cli r = E2e.cli("policy", "check", "--config", config.toString(), "--agent", "bot", "--live", "--sql", "SELECT email FROM customers");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("agent:    bot (groups: bots)").contains("database: shop")
                .contains("SENSITIVE_READ").contains("decision: HOLD (rule sensitive-export-destructive)")
                .contains("tier:      high").contains("checked against the live catalog of backend 'shop'");
        E2e.Cli plain = E2e.cli("policy", "check", "-c", config.toString(), "--agent", "bot", "--live", "--sql", "SELECT label FROM items WHERE id = 1");
        assertThat(plain.exit()).as(plain.err()).isZero();
        assertThat(plain.out()).contains("decision: ALLOW (rule plain)");
    }

    @Test
    void policyCheckWithoutADatabaseSaysTablesAreUnknownAndStillSeesAGrant() {
        E2e.Cli r = E2e.cli("policy", "check", "--config", config.toString(), "--agent", "bot", "--sql", "SELECT email FROM customers");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("UNANALYSABLE").contains("decision: HOLD (rule unanalysable)")
                .contains("checked without a catalog").contains("run with --live");
    }

    @Test
    void policyCheckHoldsAGrantAtQuorumTwoWithoutADatabase() {
        E2e.Cli grant = E2e.cli("policy", "check", "-c", config.toString(), "--agent", "bot", "--sql", "GRANT SELECT ON items TO PUBLIC");
        assertThat(grant.out()).contains("PRIVILEGE").contains("decision: HOLD (rule privilege-and-identity)")
                .contains("reviewers: security, quorum 2");
    }

    @Test
    void policyCheckNamesAMissingAgentAndAskForOneWhenSeveralExist() {
        E2e.Cli unknown = E2e.cli("policy", "check", "-c", config.toString(), "--agent", "nobody", "--sql", "SELECT 1");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err().strip()).isEqualTo("countersign check: no agent 'nobody' in " + config
                + "; agents there: bot, ticket-bot, meta-agent, other-agent");
        E2e.Cli none = E2e.cli("policy", "check", "-c", config.toString(), "--sql", "SELECT 1");
        assertThat(none.exit()).isEqualTo(1);
        assertThat(none.err()).contains("has 4 agents; name the one sending the statement with --agent NAME");
        E2e.Cli usage = E2e.cli("policy", "check", "-c", config.toString());
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("--sql");
    }

    @Test
    void approvalsCommandsExplainMissingTokenUnreachableApiAndBadState() throws Exception {
        E2e.Cli help = E2e.cli("approvals", "list", "--help");
        assertThat(help.exit()).isZero();
        assertThat(help.out()).contains("--url").contains("--token").contains("--json").contains("--state");
        // no COUNTERSIGN_TOKEN and no token stored by 'countersign login' (an empty config directory)
        java.util.Map<String, String> previous = io.countersign.server.cli.ApprovalsOptions.useEnvironment(
                java.util.Map.of("XDG_CONFIG_HOME", java.nio.file.Files.createTempDirectory("countersign-no-token").toString()));
        E2e.Cli noToken;
        try {
            noToken = E2e.cli("approvals", "list", "--url", "http://127.0.0.1:1");
        } finally {
            io.countersign.server.cli.ApprovalsOptions.useEnvironment(previous);
        }
        assertThat(noToken.exit()).isEqualTo(1);
        assertThat(noToken.err().strip()).isEqualTo(
                "countersign list: no reviewer token; run 'countersign login', pass --token TOKEN or set COUNTERSIGN_TOKEN");
        E2e.Cli down = E2e.cli("approvals", "list", "--url", "http://127.0.0.1:1", "--token", "t");
        assertThat(down.exit()).isEqualTo(1);
        assertThat(down.err()).startsWith("countersign list: cannot reach the approvals API at http://127.0.0.1:1/").contains("check --url");
        assertThat(down.err().lines().count()).isEqualTo(1);
        E2e.Cli badState = E2e.cli("approvals", "list", "--state", "maybe", "--token", "t");
        assertThat(badState.exit()).isEqualTo(1);
        assertThat(badState.err()).contains("--state 'maybe' is not a request state");
        E2e.Cli denyWithoutReason = E2e.cli("approvals", "deny", "apr-1", "--token", "t");
        assertThat(denyWithoutReason.exit()).isEqualTo(2);
        assertThat(denyWithoutReason.err()).contains("--comment");
    }
}
