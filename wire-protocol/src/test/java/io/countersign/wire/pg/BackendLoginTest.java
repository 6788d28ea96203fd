package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.pg.PostgresListener.AuthMethod;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.BackendTarget.TlsMode;
import io.countersign.wire.spi.StatementGate;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Countersign logging in to a backend that asks for SCRAM-SHA-256, MD5 or a cleartext password,
 * with and without TLS. The machine's PostgreSQL trusts local users, so the password-checking
 * backend here is a second Countersign listener (a full server-side implementation of those
 * mechanisms) in front of the real PostgreSQL.
 */
class BackendLoginTest {

    @RegisterExtension static LeakCheck leaks = new LeakCheck();
    @RegisterExtension static PostgresDatabase db = new PostgresDatabase();

    static Proxy inner(EnumSet<AuthMethod> methods, boolean tls) throws Exception {
        PostgresListener.Builder b = PostgresListener.builder().authMethods(methods);
        if (tls) {
            b.tls(TestTls.serverContext());
        }
        return new Proxy(db, StatementGate.ALLOW_ALL, null, b);
    }

    static void select(Proxy outer) throws SQLException {
        try (Connection c = outer.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT current_database()")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo(db.name());
        }
    }

    static BackendTarget to(Proxy inner, String password, TlsMode tls) {
        return new BackendTarget("inner", "127.0.0.1", inner.port(), db.name(), Proxy.AGENT, password, tls);
    }

    @Test
    void scramSha256() throws Exception {
        try (Proxy in = inner(EnumSet.of(AuthMethod.SCRAM_SHA_256), false); Proxy out = new Proxy(db)) {
            out.auth.target(to(in, Proxy.PASSWORD, TlsMode.DISABLE));
            select(out);
        }
    }

    @Test
    void md5WithTlsPreferFallingBackToPlain() throws Exception {
        try (Proxy in = inner(EnumSet.of(AuthMethod.MD5), false); Proxy out = new Proxy(db)) {
            out.auth.target(to(in, Proxy.PASSWORD, TlsMode.PREFER));
            select(out);
        }
    }

    @Test
    void cleartextOverRequiredTls() throws Exception {
        try (Proxy in = inner(EnumSet.of(AuthMethod.CLEARTEXT_OVER_TLS), true); Proxy out = new Proxy(db)) {
            out.auth.target(to(in, Proxy.PASSWORD, TlsMode.REQUIRE));
            select(out);
        }
    }

    @Test
    void scramOverTlsPrefer() throws Exception {
        try (Proxy in = inner(EnumSet.of(AuthMethod.SCRAM_SHA_256), true); Proxy out = new Proxy(db)) {
            out.auth.target(to(in, Proxy.PASSWORD, TlsMode.PREFER));
            select(out);
        }
    }

    @Test
    void verifyFullRejectsAnUntrustedCertificate() throws Exception {
        try (Proxy in = inner(EnumSet.of(AuthMethod.SCRAM_SHA_256), true); Proxy out = new Proxy(db)) {
            out.auth.target(to(in, Proxy.PASSWORD, TlsMode.VERIFY_FULL));
            assertThatThrownBy(() -> select(out))
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("TLS handshake with the backend failed")
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("08006"));
        }
    }

    @Test
    void requireAgainstABackendWithoutTls() throws Exception {
        try (Proxy in = inner(EnumSet.of(AuthMethod.SCRAM_SHA_256), false); Proxy out = new Proxy(db)) {
            out.auth.target(to(in, Proxy.PASSWORD, TlsMode.REQUIRE));
            assertThatThrownBy(() -> select(out))
                    .hasMessageContaining("the backend does not accept TLS but the config requires it");
        }
    }

    @Test
    void wrongBackendPasswordNamesTheBackend() throws Exception {
        try (Proxy in = inner(EnumSet.of(AuthMethod.SCRAM_SHA_256), false); Proxy out = new Proxy(db)) {
            out.auth.target(to(in, "not-the-password", TlsMode.DISABLE));
            assertThatThrownBy(() -> select(out))
                    .hasMessageContaining("the backend 'inner' at 127.0.0.1:" + in.port() + " refused Countersign's login as 'agent'")
                    .hasMessageContaining("password authentication failed")
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("08004"));
            assertThat(out.counter("countersign_backend_errors_total")).isEqualTo(1);
        }
    }

    @Test
    void cleartextIsNotOfferedWithoutTls() throws Exception {
        try (Proxy in = inner(EnumSet.of(AuthMethod.CLEARTEXT_OVER_TLS), false)) {
            assertThatThrownBy(in::connect)
                    .hasMessageContaining("cleartext passwords are accepted only over TLS");
        }
    }
}
