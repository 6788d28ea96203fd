package io.countersign.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.StatementLogCapture;
import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ConfigLoader;
import io.countersign.testing.PostgresDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code serve} runs, from a YAML file: a real backend (the test fixture's PostgreSQL), an
 * agent holding a SCRAM-SHA-256 verifier made by PostgreSQL itself, and one with a password from
 * the environment.
 */
@ExtendWith(NettyLeakWatch.class)
class ServeFromConfigTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;
    static StatementLogCapture log;
    static String verifier;

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE items(id int PRIMARY KEY, label text)",
                "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g");
        // let PostgreSQL compute the verifier for 'scram-pw', exactly as it would store it
        String role = "cs_scram_" + ProcessHandle.current().pid();
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("SET password_encryption = 'scram-sha-256'");
            s.execute("DROP ROLE IF EXISTS " + role);
            s.execute("CREATE ROLE " + role + " PASSWORD 'scram-pw'");
            try (ResultSet r = s.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'")) {
                r.next();
                verifier = r.getString(1);
            }
            s.execute("DROP ROLE " + role);
        }
        assertThat(verifier).startsWith("SCRAM-SHA-256$");
        Path file = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  postgres:
                    port: 0
                    tls: {self-signed: true}
                    auth: [scram-sha-256]
                admin: {port: 0}
                backends:
                  - name: inventory
                    host: %s
                    port: %d
                    database: %s
                    user: %s
                    tls: disable
                  - name: other
                    host: %s
                    port: %d
                    database: postgres
                    user: %s
                    tls: disable
                agents:
                  - name: scram-agent
                    owner: dana@example.com
                    scram: "%s"
                    backends: [inventory]
                  - name: env-agent
                    owner: Ravi
                    password: ${ENV_AGENT_PW}
                    backends: [inventory]
                """.formatted(db.host(), db.port(), db.name(), db.user(), db.host(), db.port(), db.user(), verifier));
        log = new StatementLogCapture();
        server = CountersignServer.of(ConfigLoader.load(file, Map.of("ENV_AGENT_PW", "from-env"))).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (log != null) log.close();
    }

    static Connection connect(String user, String password, String database) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort() + "/" + database
                + "?sslmode=require&user=" + user + "&password=" + password);
    }

    @Test
    void scramVerifierFromTheConfigAuthenticates() throws Exception {
        try (Connection c = connect("scram-agent", "scram-pw", "inventory");
             PreparedStatement ps = c.prepareStatement("SELECT label FROM items WHERE id = ?")) {
            ps.setInt(1, 7);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("item 7");
            }
        }
        JsonNode line = log.await(n -> n.get("agent").asText().equals("scram-agent") && n.get("sql").asText().contains("items"));
        assertThat(line.get("database").asText()).isEqualTo("inventory");
        assertThat(line.get("parameters").toString()).isEqualTo("[\"7\"]");
        assertThatThrownBy(() -> connect("scram-agent", "wrong", "inventory").close())
                .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("28P01"));
    }

    @Test
    void passwordFromTheEnvironmentAuthenticates() throws Exception {
        try (Connection c = connect("env-agent", "from-env", "inventory"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM items")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(50);
        }
        try (Connection c = connect("env-agent", "from-env", "inventory"); Statement s = c.createStatement()) {
            assertThat(s.executeUpdate("UPDATE items SET label = label WHERE id <= 5")).isEqualTo(5);
        }
        JsonNode update = log.await(n -> n.get("sql").asText().startsWith("UPDATE items"));
        assertThat(update.get("rowsAffected").asLong()).isEqualTo(5);
        assertThat(update.get("commandTag").asText()).isEqualTo("UPDATE 5");
    }

    @Test
    void aBackendTheAgentMayNotReachIs28000() {
        assertThatThrownBy(() -> connect("env-agent", "from-env", "other").close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("28000");
                    assertThat(e.getMessage()).contains("agent \"env-agent\" may not connect to database \"other\"");
                });
    }

    @Test
    void failedStatementsAreLoggedWithTheirSqlstate() throws Exception {
        try (Connection c = connect("env-agent", "from-env", "inventory"); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("SELECT * FROM no_such_table"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42P01"));
        }
        JsonNode line = log.await(n -> n.get("sql").asText().contains("no_such_table"));
        assertThat(line.get("sqlstate").asText()).isEqualTo("42P01");
        assertThat(line.get("error").asText()).contains("no_such_table");
    }

    @Test
    void missingEnvironmentVariableStopsTheLoad() {
        Path file = dir.resolve("countersign.yaml");
        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ": agents[1].password: environment variable ENV_AGENT_PW is not set; "
                        + "set it, or write ${ENV_AGENT_PW:-default} to give a default");
    }
}
