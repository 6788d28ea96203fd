package io.countersign.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresServer;
import io.countersign.wire.spi.AgentCredential;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class ScramVerifierTest {

    /** Our verifier for PostgreSQL's own salt and iteration count must be the one PostgreSQL stored. */
    @Test
    void matchesWhatPostgresStoresForTheSamePasswordAndSalt() throws Exception {
        String role = "cs_scramtest_" + ProcessHandle.current().pid();
        String stored;
        try (Connection c = PostgresServer.shared().connect("postgres"); Statement s = c.createStatement()) {
            s.execute("SET password_encryption = 'scram-sha-256'");
            s.execute("DROP ROLE IF EXISTS " + role);
            s.execute("CREATE ROLE " + role + " PASSWORD 'correct horse battery staple'");
            try (ResultSet r = s.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'")) {
                r.next();
                stored = r.getString(1);
            }
            s.execute("DROP ROLE " + role);
        }
        AgentCredential.ScramSha256 pg = ScramVerifier.parse(stored);
        assertThat(ScramVerifier.create("correct horse battery staple", pg.salt(), pg.iterations())).isEqualTo(stored);
        assertThat(ScramVerifier.create("correct horse battery stapler", pg.salt(), pg.iterations())).isNotEqualTo(stored);
    }

    @Test
    void freshVerifiersParseAndUseRandomSalts() {
        String a = ScramVerifier.create("pw", 4096);
        String b = ScramVerifier.create("pw", 4096);
        assertThat(a).isNotEqualTo(b);
        assertThat(ScramVerifier.parse(a).iterations()).isEqualTo(4096);
        assertThat(ScramVerifier.parse(b).salt()).hasSize(16);
    }
}
