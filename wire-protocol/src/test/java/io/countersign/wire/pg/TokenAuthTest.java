package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.TokenVerifier;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bearer-token agents on the PostgreSQL listener: asked for AuthenticationCleartextPassword, only
 * over TLS (or on loopback when the credential allows it); the verifier answers later, on a thread
 * of its own, as one that fetches a key set would, and the login completes then.
 */
class TokenAuthTest {

    @RegisterExtension static LeakCheck leaks = new LeakCheck();
    @RegisterExtension static PostgresDatabase db = new PostgresDatabase();
    static Proxy proxy;
    static final List<String> verifiedOn = new CopyOnWriteArrayList<>();

    /** Answers 100 ms later from another thread: "good-token" for "tok-agent", everything else refused. */
    static final TokenVerifier SLOW = (user, token) -> {
        verifiedOn.add(Thread.currentThread().getName());
        Executor later = CompletableFuture.delayedExecutor(100, TimeUnit.MILLISECONDS);
        return CompletableFuture.supplyAsync(() -> user.startsWith("tok-") && token.equals("good-token")
                ? new TokenVerifier.Result.Accepted("workload-42")
                : new TokenVerifier.Result.Refused("expired at 2026-01-01T00:00:00Z; get a fresh token"), later);
    };

    @BeforeAll
    static void start() throws Exception {
        proxy = new Proxy(db, StatementGate.ALLOW_ALL, null, PostgresListener.builder().tls(TestTls.serverContext()));
        proxy.auth.agent("tok-agent", new AgentCredential.BearerToken(SLOW, false));
        proxy.auth.agent("tok-local", new AgentCredential.BearerToken(SLOW, true));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) proxy.close();
    }

    static Connection connect(String user, String password, String sslmode) throws SQLException {
        return DriverManager.getConnection(proxy.url("sslmode=" + sslmode + "&user=" + user + "&password=" + password));
    }

    static int one(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void aGoodTokenOverTlsLogsInOnceTheVerifierAnswers() throws Exception {
        verifiedOn.clear();
        try (Connection c = connect("tok-agent", "good-token", "require")) {
            assertThat(one(c)).isEqualTo(1);
        }
        // asked on the session's event loop, which only started the check and did not wait for it
        assertThat(verifiedOn).singleElement().asString().doesNotContain("delayed");
    }

    @Test
    void aRefusedTokenGets28P01WithTheVerifiersReason() {
        assertThatThrownBy(() -> connect("tok-agent", "old-token", "require").close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("28P01");
                    assertThat(e.getMessage()).contains("token authentication failed for user \"tok-agent\": expired at 2026-01-01");
                });
    }

    @Test
    void withoutTlsTheTokenIsNotEvenAskedFor() {
        verifiedOn.clear();
        assertThatThrownBy(() -> connect("tok-agent", "good-token", "disable").close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("28000");
                    assertThat(e.getMessage()).contains("authenticates with a token").contains("only over TLS");
                });
        assertThat(verifiedOn).isEmpty();
    }

    @Test
    void onLoopbackACredentialThatAllowsItNeedsNoTls() throws Exception {
        try (Connection c = connect("tok-local", "good-token", "disable")) {
            assertThat(one(c)).isEqualTo(1);
        }
        try (Connection c = connect(Proxy.AGENT, Proxy.PASSWORD, "disable")) {
            assertThat(one(c)).isEqualTo(1); // password agents beside them: unchanged
        }
    }
}
