package io.countersign.server.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.StatementLogCapture;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
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
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo started in-process on free ports, used the way the README says: psql as a process,
 * pgjdbc, the admin endpoints.
 */
@ExtendWith(NettyLeakWatch.class)
class DemoTest {

    static Demo demo;
    static StatementLogCapture log;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        log = new StatementLogCapture();
        demo = Demo.start(new Demo.Options(0, 0, null));
    }

    @AfterAll
    static void stop() {
        if (demo != null) demo.close();
        if (log != null) log.close();
    }

    static HttpResponse<String> admin(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + demo.adminAddress().getPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static String proxyUrl() {
        return "jdbc:postgresql://127.0.0.1:" + demo.postgresAddress().getPort() + "/shop";
    }

    static Connection agent(String password, String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "demo-agent");
        p.setProperty("password", password);
        p.setProperty("sslmode", "require");
        p.setProperty("prepareThreshold", "1");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + demo.postgresAddress().getPort() + "/" + database, p);
    }

    record Psql(int exit, String out, String err) {}

    static Psql psql(Path workDir, String... commands) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("psql", "-X", "-v", "ON_ERROR_STOP=1", "-At",
                "host=127.0.0.1 port=" + demo.postgresAddress().getPort() + " user=demo-agent dbname=shop sslmode=require"));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
        pb.environment().put("PGPASSWORD", "demo-agent-pw");
        pb.environment().remove("PGSERVICE");
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Psql(p.exitValue(), out, err);
    }

    @Test
    void instructionsGiveTheExactPsqlLineAndAdminUrls() {
        int port = demo.postgresAddress().getPort();
        int adminPort = demo.adminAddress().getPort();
        assertThat(demo.instructions())
                .contains("PGPASSWORD=demo-agent-pw psql \"host=127.0.0.1 port=" + port + " user=demo-agent dbname=shop sslmode=require\"")
                .contains("http://127.0.0.1:" + adminPort + "/healthz")
                .contains("http://127.0.0.1:" + adminPort + "/metrics")
                .contains("dana@example.com")
                .contains("Ctrl-C");
    }

    @Test
    void afterAnAgentsQueryTheUsageReportAndTheAnalystsPsqlLineShowItWithRowKeys(@TempDir Path dir) throws Exception {
        Psql r = psql(dir, "SELECT id, name FROM customers WHERE id IN (11, 12) ORDER BY id");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(demo.instructions()).contains(demo.analystPsqlCommand()).contains("/console/usage/");
        // the printed command line, as a person would paste it; the audit shows a statement once its file rolls (5 s in the demo)
        String keys = "";
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(40).toNanos();
        while (!keys.equals("11\n12\n") && System.nanoTime() < deadline) {
            Process p = new ProcessBuilder("bash", "-c", demo.analystPsqlCommand() + " -X -At").start();
            try (var in = p.getOutputStream()) {
                in.write("SELECT \"key\" FROM rows_touched WHERE agent = 'demo-agent' AND \"table\" = 'public.customers' AND \"key\" IN ('11', '12') ORDER BY 1;\n"
                        .getBytes(StandardCharsets.UTF_8));
            }
            keys = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(err).isZero();
            if (!keys.equals("11\n12\n")) {
                Thread.sleep(500);
            }
        }
        assertThat(keys).isEqualTo("11\n12\n");
        var report = io.countersign.server.auditing.AuditE2e.cli("report", "usage", "--audit-dir",
                demo.server().config().dataPath().resolve("audit").toString(), "--format", "csv");
        assertThat(report.exit()).as(report.err()).isZero();
        assertThat(report.out()).contains("demo-agent,public.customers,");
    }

    @Test
    void psqlRunsSelectOneThroughTheProxy(@TempDir Path dir) throws Exception {
        Psql r = psql(dir, "SELECT 1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("1\n");
        JsonNode line = log.await(n -> n.get("sql").asText().equals("SELECT 1"));
        assertThat(line.get("agent").asText()).isEqualTo("demo-agent");
        assertThat(line.get("database").asText()).isEqualTo("shop");
        assertThat(line.get("rowsReturned").asLong()).isEqualTo(1);
        assertThat(line.get("commandTag").asText()).isEqualTo("SELECT 1");
        assertThat(line.get("sqlstate").isNull()).isTrue();
    }

    @Test
    void psqlCopiesOutWithBackslashCopy(@TempDir Path dir) throws Exception {
        Psql r = psql(dir, "\\copy (SELECT id, customer_id, total, status FROM orders WHERE status = 'paid' ORDER BY id) TO 'paid.csv' CSV HEADER");
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> csv = Files.readAllLines(dir.resolve("paid.csv"));
        List<String> direct = new ArrayList<>();
        try (Connection c = demo.database().connect("shop"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, customer_id, total, status FROM orders WHERE status = 'paid' ORDER BY id")) {
            while (rs.next()) {
                direct.add(rs.getInt(1) + "," + rs.getInt(2) + "," + rs.getBigDecimal(3).toPlainString() + "," + rs.getString(4));
            }
        }
        assertThat(direct).hasSizeGreaterThan(50);
        assertThat(csv.getFirst()).isEqualTo("id,customer_id,total,status");
        assertThat(csv.subList(1, csv.size())).isEqualTo(direct);
        JsonNode line = log.await(n -> n.get("sql").asText().startsWith("COPY"));
        assertThat(line.get("commandTag").asText()).isEqualTo("COPY " + direct.size());
    }

    @Test
    void preparedStatementThroughPgjdbcWithBoundParameters() throws Exception {
        String expectedName;
        try (Connection c = demo.database().connect("shop"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT name FROM customers WHERE id = 42")) {
            rs.next();
            expectedName = rs.getString(1);
        }
        try (Connection c = agent("demo-agent-pw", "shop");
             PreparedStatement ps = c.prepareStatement("SELECT name, created_at FROM customers WHERE id = ?")) {
            for (int round = 0; round < 3; round++) { // past prepareThreshold: a named server-side statement
                ps.setInt(1, 42);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo(expectedName);
                    assertThat(rs.next()).isFalse();
                }
            }
            assertThat(c.unwrap(org.postgresql.PGConnection.class).getParameterStatus("server_version")).startsWith("16.");
        }
        JsonNode line = log.await(n -> n.get("sql").asText().equals("SELECT name, created_at FROM customers WHERE id = $1"));
        assertThat(line.get("extended").asBoolean()).isTrue();
        assertThat(line.get("parameters").toString()).isEqualTo("[\"42\"]");
        assertThat(line.get("rowsReturned").asLong()).isEqualTo(1);
        assertThat(line.get("session").asText()).isNotBlank();
        assertThat(line.get("client").asText()).matches("127\\.0\\.0\\.1:\\d+");
    }

    @Test
    void aSensitiveReadWaitsWithANoticeAndRunsOnceAReviewerApproves() throws Exception {
        String token = demo.reviewerTokens().get("alice");
        assertThat(token).startsWith("cs_");
        try (Connection c = agent("demo-agent-pw", "shop")) {
            var result = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT email FROM customers WHERE id = 42")) {
                    rs.next();
                    String notice = s.getWarnings() == null ? null : s.getWarnings().getMessage();
                    return rs.getString(1) + "|" + notice;
                } catch (java.sql.SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            var http = java.net.http.HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + demo.adminAddress().getPort();
            String id = null;
            for (int i = 0; i < 200 && id == null; i++) {
                var list = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/api/requests?state=pending"))
                        .header("Authorization", "Bearer " + token).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                var pending = new com.fasterxml.jackson.databind.ObjectMapper().readTree(list.body());
                if (pending.size() > 0) {
                    id = pending.get(0).get("id").asText();
                    assertThat(pending.get(0).get("sensitiveColumns").toString()).contains("public.customers.email");
                } else {
                    Thread.sleep(50);
                }
            }
            assertThat(id).as("a pending request for the sensitive read").isNotNull();
            assertThat(result).isNotDone();
            var approve = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/api/requests/" + id + "/approve"))
                    .header("Authorization", "Bearer " + token).POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"comment\":\"test\"}"))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(approve.statusCode()).isEqualTo(200);
            String got = result.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(got).contains("@example.com").contains("held for approval: request " + id);
        }
    }

    @Test
    void wrongPasswordIs28P01AndCountedInMetrics() throws Exception {
        assertThatThrownBy(() -> agent("not-the-password", "shop").close())
                .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("28P01"));
        assertThat(admin("/metrics").body()).containsPattern("countersign_auth_failures_total\\{[^}]*\\} [1-9]");
    }

    @Test
    void theAuditsStagingRingShowsOnMetrics() throws Exception {
        try (java.sql.Connection c = agent("demo-agent-pw", "shop"); java.sql.Statement st = c.createStatement()) {
            st.execute("SELECT 1");
        }
        String body = admin("/metrics").body();
        assertThat(body).containsPattern("countersign_audit_records_fast_path_total(\\{[^}]*\\})? [1-9]");
        if (io.countersign.audit.AuditConfig.Staging.shmIfAvailable() != null) {
            assertThat(body).containsPattern("countersign_audit_staged_bytes(\\{[^}]*\\})? [0-9]");
        }
    }

    @Test
    void unknownDatabaseIs3D000() {
        assertThatThrownBy(() -> agent("demo-agent-pw", "warehouse").close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("3D000");
                    assertThat(e.getMessage()).contains("database \"warehouse\" does not exist");
                });
    }

    @Test
    void adminEndpointsAnswer() throws Exception {
        HttpResponse<String> health = admin("/healthz");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEqualTo("ok\n");

        HttpResponse<String> ready = admin("/readyz");
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
        JsonNode body = new ObjectMapper().readTree(ready.body());
        assertThat(body.get("checks").findValuesAsText("name")).containsExactly("postgres-listener", "backend:shop", "audit");

        try (Connection c = agent("demo-agent-pw", "shop"); Statement s = c.createStatement()) {
            s.execute("SELECT count(*) FROM payments");
        }
        HttpResponse<String> metrics = admin("/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body())
                .contains("jvm_memory_used_bytes")
                .contains("jvm_threads_live_threads")
                .containsPattern("countersign_connections_total\\{[^}]*\\} [1-9]")
                .containsPattern("countersign_statements_total\\{[^}]*\\} [1-9]")
                .containsPattern("countersign_bytes_out_total\\{[^}]*\\} [1-9]")
                .contains("countersign_statement_latency_seconds");
    }

    @Test
    void theBackendsCredentialsNeverReachTheAgent() throws Exception {
        try (Connection c = agent("demo-agent-pw", "shop"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_user, current_database()")) {
            rs.next();
            // Countersign logs in as its own backend role; the agent only ever presented demo-agent
            assertThat(rs.getString(1)).isEqualTo("postgres");
            assertThat(rs.getString(2)).isEqualTo("shop");
        }
    }

    @Test
    void aBusyPortFailsAtOnceNamingTheOption() throws Exception {
        int busy = demo.postgresAddress().getPort();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> Demo.start(new Demo.Options(busy, 0, null)))
                .isInstanceOf(java.net.BindException.class)
                .hasMessage("port " + busy + " on 127.0.0.1 is already in use (another demo running?); stop it or choose another with --pg-port N");
        assertThat(System.nanoTime() - t0).as("before starting a database").isLessThan(1_000_000_000L);
    }

    @Test
    void closingStopsEverythingAndRemovesTheTemporaryData() throws Exception {
        Demo second = Demo.start(new Demo.Options(0, 0, null));
        int pgPort = second.postgresAddress().getPort();
        int adminPort = second.adminAddress().getPort();
        int backendPort = second.database().port();
        Path dir = second.database().directory();
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pgPort + "/shop?sslmode=require&user=demo-agent&password=demo-agent-pw");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM customers")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(ShopData.CUSTOMERS);
        }
        second.close();
        assertThat(Files.exists(dir)).isFalse();
        for (int port : new int[] {pgPort, adminPort}) {
            assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).as("port %d closed", port).isInstanceOf(IOException.class);
        }
        // pg_ctl may return before the postmaster has let go of its socket on a loaded machine
        assertThat(io.countersign.server.Ports.closedWithin(backendPort, 15)).as("embedded PostgreSQL stopped").isTrue();
    }
}
