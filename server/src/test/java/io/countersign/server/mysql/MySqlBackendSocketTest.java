package io.countersign.server.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.server.NettyLeakWatch;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.MariaDbDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mysql backend configured by its Unix socket ({@code socket:} instead of host and port): the
 * test MariaDB's own socket, a real driver over TCP to Countersign, and Countersign's backend
 * connections (the sessions', the greeting it shows agents, readiness, the analysis's catalog
 * connection) over the socket.
 */
@ExtendWith(NettyLeakWatch.class)
class MySqlBackendSocketTest {

    static final String AGENT = "sock-agent";
    static final String AGENT_PASSWORD = "sock-agent-pw";
    /** An account of its own, for 'localhost' (what MariaDB calls a socket client), with a password Countersign can send. */
    static final String BACKEND_USER = "cs_sock_" + ProcessHandle.current().pid();
    static final String BACKEND_PASSWORD = "cs-sock-backend-pw";

    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;
    static Path socket;

    @BeforeAll
    static void start() throws Exception {
        socket = db.server().socketPath();
        db.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, email VARCHAR(80))",
                "INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Bo', 'bo@example.com')",
                "DROP USER IF EXISTS '" + BACKEND_USER + "'@'localhost'",
                "CREATE USER '" + BACKEND_USER + "'@'localhost' IDENTIFIED BY '" + BACKEND_PASSWORD + "'",
                "GRANT ALL ON `" + db.name() + "`.* TO '" + BACKEND_USER + "'@'localhost'");
        Path file = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  mysql:
                    port: 0
                    auth: [mysql_native_password]
                    event-loop-threads: 1
                admin: {port: 0}
                data-dir: "%s"
                audit:
                  enabled: false
                backends:
                  - name: %s
                    type: mysql
                    socket: "%s"
                    user: %s
                    password: %s
                agents:
                  - name: %s
                    owner: dana@example.com
                    password: %s
                    backends: [%s]
                analysis:
                  sensitive-columns: ["*.customers.email"]
                """.formatted(dir.resolve("data"), db.name(), socket, BACKEND_USER, BACKEND_PASSWORD,
                AGENT, AGENT_PASSWORD, db.name()));
        server = CountersignServer.of(ConfigLoader.load(file, Map.of())).start();
    }

    @AfterAll
    static void stop() throws SQLException {
        if (server != null) server.close();
        db.execute("DROP USER IF EXISTS '" + BACKEND_USER + "'@'localhost'");
    }

    static Connection agent(String extra) throws SQLException {
        return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + server.mysqlAddress().getPort() + "/" + db.name()
                + "?user=" + AGENT + "&password=" + AGENT_PASSWORD + "&sslMode=disable" + extra);
    }

    @Test
    void sessionsReachTheBackendOverItsSocket() throws Exception {
        try (Connection c = agent(""); Statement s = c.createStatement()) {
            // MariaDB names a socket client's host 'localhost' (a TCP client's is address:port)
            try (ResultSet rs = s.executeQuery("SELECT host FROM information_schema.processlist WHERE id = CONNECTION_ID()")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("localhost");
            }
            try (ResultSet rs = s.executeQuery("SELECT id, name FROM customers ORDER BY id")) {
                List<String> rows = new ArrayList<>();
                while (rs.next()) rows.add(rs.getInt(1) + ":" + rs.getString(2));
                assertThat(rows).containsExactly("1:Ada", "2:Bo");
            }
        }
    }

    @Test
    void serverPreparedStatementsRunOverTheSocket() throws Exception {
        try (Connection c = agent("&useServerPrepStmts=true");
             PreparedStatement ps = c.prepareStatement("SELECT name FROM customers WHERE id = ?")) {
            for (int id = 1; id <= 2; id++) {
                ps.setInt(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo(id == 1 ? "Ada" : "Bo");
                }
            }
        }
    }

    @Test
    void agentsSeeTheBackendsVersionReadOverTheSocket() throws Exception {
        try (Connection c = agent("")) {
            assertThat(c.getMetaData().getDatabaseProductVersion()).isEqualTo(db.server().greetingVersion().replace("5.5.5-", ""));
        }
    }

    @Test
    void readinessProbesTheSocket() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.adminAddress().getPort() + "/readyz")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.body()).contains("MySQL answers at unix:" + socket);
    }

    @Test
    void theAnalysisReadsTheCatalogOverTheSocket() throws Exception {
        // the sensitive-column check needs the catalog to expand '*'; the catalog comes over the side connection
        try (Connection c = agent(""); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM customers")) {
                assertThat(rs.next()).isTrue();
            }
        }
        var backend = server.components().pipeline().backend(db.name());
        assertThat(backend).isNotNull();
        try (Connection side = backend.sideConnection(); Statement s = side.createStatement();
             ResultSet rs = s.executeQuery("SELECT host FROM information_schema.processlist WHERE id = CONNECTION_ID()")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("localhost");
        }
    }
}
