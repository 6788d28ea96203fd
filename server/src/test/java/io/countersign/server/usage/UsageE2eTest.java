package io.countersign.server.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.server.auditing.AuditE2e;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import io.countersign.server.HeadlessChromium;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Tracking end to end: three agents run a scripted workload through the real proxy against the real
 * PostgreSQL (reads with and without keys, an update, an insert with RETURNING, a read past the key
 * cap, a sensitive read after a reviewer's approval); then every report, the {@code countersign_audit}
 * SQL endpoint (pgjdbc and psql as an analyst; agents refused), the usage JSON and the console's
 * usage page in headless Chromium all give the same exact numbers and keys.
 */
class UsageE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static Path audit;
    static CountersignServer server;
    static ApprovalRequest approved;

    static final String A1 = "SELECT id, name FROM customers WHERE id IN (1, 2, 3) ORDER BY id";
    static final String A2 = "SELECT count(*) FROM customers";
    static final String A3 = "SELECT id, label FROM items ORDER BY id";
    static final String B1 = "UPDATE items SET label = 'renamed' WHERE id = 2";
    static final String B2 = "INSERT INTO items (label) VALUES ('new a'), ('new b') RETURNING id";
    static final String B3 = "SELECT label FROM items WHERE id = 2";
    static final String C1 = "SELECT id, email FROM customers WHERE id = 4";
    static final String C2 = "SELECT name FROM customers WHERE id = 5";
    static final int STATEMENTS = 8;

    static final String POLICY = """
            version: 1
            defaults:
              reviewers: dba
              hold-timeout: 60s
              approval-validity: 1h
            rules:
              - name: sensitive
                match: {categories: [SENSITIVE_READ, SENSITIVE_WRITE, EXPORT, DESTRUCTIVE]}
                action: hold
                tier: high
              - name: plain
                action: allow
            """;

    @BeforeAll
    static void runTheWorkload() throws Exception {
        db.execute("CREATE TABLE customers(id int PRIMARY KEY, name text NOT NULL, email text NOT NULL)",
                "INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 5) g",
                "CREATE TABLE items(id serial PRIMARY KEY, label text NOT NULL)",
                "INSERT INTO items (label) SELECT 'item ' || g FROM generate_series(1, 30) g");
        audit = dir.resolve("audit");
        Path policy = Files.writeString(dir.resolve("policy.yaml"), POLICY);
        Path config = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  postgres:
                    port: 0
                admin: {port: 0}
                data-dir: %s
                backends:
                  - {name: shop, host: %s, port: %d, database: %s, user: %s, tls: disable}
                agents:
                  - {name: alice-bot, owner: dana@example.com, password: alice-pw, backends: [shop]}
                  - {name: bob-bot, owner: dana@example.com, password: bob-pw, backends: [shop]}
                  - {name: carol-bot, owner: ravi@example.com, password: carol-pw, backends: [shop]}
                analysis:
                  sensitive-columns: [public.customers.email]
                policy:
                  file: %s
                approvals:
                  replica: usage-e2e
                  reviewers:
                    - {name: alice, email: alice@example.com, groups: [dba], token: tok-alice}
                audit:
                  directory: %s
                  roll-seconds: 1
                tracking:
                  key-cap: 10
                  sql-endpoint:
                    analysts:
                      - {name: ana, password: ana-pw}
                """.formatted(dir.resolve("data"), db.host(), db.port(), db.name(), db.user(), policy, audit));
        server = CountersignServer.of(ConfigLoader.load(config)).start();

        try (Connection alice = agent("alice-bot", "alice-pw"); Statement s = alice.createStatement()) {
            assertThat(column(s, A1)).containsExactly("1", "2", "3");
            assertThat(column(s, A2)).containsExactly("5");
            assertThat(column(s, A3)).hasSize(30);
        }
        try (Connection bob = agent("bob-bot", "bob-pw"); Statement s = bob.createStatement()) {
            assertThat(s.executeUpdate(B1)).isEqualTo(1);
            assertThat(column(s, B2)).containsExactly("31", "32");
            assertThat(column(s, B3)).containsExactly("renamed");
        }
        try (Connection carol = agent("carol-bot", "carol-pw"); Statement s = carol.createStatement()) {
            CompletableFuture<List<String>> held = CompletableFuture.supplyAsync(() -> {
                try {
                    return column(s, C1);
                } catch (SQLException e) {
                    throw new CompletionException(e);
                }
            });
            approved = AuditE2e.awaitPending(server, C1);
            AuditE2e.reviewer(server, "alice").approve(approved.id(), "support case 4711");
            assertThat(held.get(20, TimeUnit.SECONDS)).containsExactly("4");
            assertThat(column(s, C2)).containsExactly("customer 5");
        }
        awaitRecords(STATEMENTS);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** assumeMinServerVersion: pgjdbc then sends application_name at start-up, not as a SET the audit would record. */
    static Connection agent(String name, String password) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort()
                + "/shop?sslmode=disable&assumeMinServerVersion=9.0&user=" + name + "&password=" + password);
    }

    static Connection analyst(String database) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort()
                + "/" + database + "?sslmode=disable&user=ana&password=ana-pw");
    }

    static List<String> column(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }

    /** The audit closes a Parquet file at most roll-seconds after its first record; wait until all are readable. */
    static void awaitRecords(int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        long seen = -1;
        while (System.nanoTime() < deadline) {
            if (Files.isDirectory(audit.resolve("statements"))) {
                try {
                    seen = (Long) AuditE2e.duckdb("SELECT count(*) AS n FROM " + AuditE2e.parquet(audit, "statements")).get(0).get("n");
                } catch (SQLException e) {
                    seen = -1; // no closed file yet
                }
                if (seen >= n) {
                    return;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the audit shows " + seen + " statement records after 30 s, expected " + n);
    }

    static List<List<String>> csv(String... args) {
        List<String> all = new ArrayList<>(List.of("report"));
        all.addAll(List.of(args));
        all.addAll(List.of("--audit-dir", audit.toString(), "--format", "csv"));
        AuditE2e.Cli r = AuditE2e.cli(all.toArray(String[]::new));
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        List<List<String>> rows = new ArrayList<>();
        r.out().lines().skip(1).forEach(line -> rows.add(splitCsv(line)));
        return rows;
    }

    /** RFC 4180 fields; enough for these reports (quoted fields may hold commas). */
    static List<String> splitCsv(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    f.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    f.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                out.add(f.toString());
                f.setLength(0);
            } else {
                f.append(ch);
            }
        }
        out.add(f.toString());
        return out;
    }

    static List<String> cols(List<String> row, int... idx) {
        List<String> out = new ArrayList<>();
        for (int i : idx) {
            out.add(row.get(i));
        }
        return out;
    }

    @Test
    void usageReportCountsEveryAgentAndTableExactly() {
        // agent, table, statements, rows_read, rows_written; a statement's rows returned count as read from every
        // table it reads (bob's INSERT ... RETURNING reads items too), its rows affected as written to every table it writes
        List<List<String>> rows = csv("usage").stream().map(r -> cols(r, 0, 1, 2, 3, 4)).toList();
        assertThat(rows).containsExactly(
                List.of("alice-bot", "public.customers", "2", "4", "0"),
                List.of("alice-bot", "public.items", "1", "30", "0"),
                List.of("bob-bot", "public.items", "3", "3", "3"),
                List.of("carol-bot", "public.customers", "2", "2", "0"));
    }

    @Test
    void sensitiveReportNamesTheColumnTheApprovalAndTheReviewer() {
        // agent, column, request_id, approved_by, statements, rows_returned
        assertThat(csv("sensitive").stream().map(r -> cols(r, 0, 1, 2, 3, 4, 5)).toList()).containsExactly(
                List.of("carol-bot", "public.customers.email", approved.id(), "alice", "1", "1"));
    }

    @Test
    void rowsReportFindsWhoSawOrChangedARowAndIsHonestAboutTheCap() {
        // started, agent, action, request_id, session_id, sql
        assertThat(csv("rows", "--table", "public.customers", "--key", "4").stream().map(r -> cols(r, 1, 2, 3, 5)).toList())
                .containsExactly(List.of("carol-bot", "read", approved.id(), C1));
        assertThat(csv("rows", "--table", "public.customers", "--key", "2").stream().map(r -> cols(r, 1, 2, 5)).toList())
                .containsExactly(List.of("alice-bot", "read", A1));
        // key 2 is among the first 10 items alice saw; bob changed it
        assertThat(csv("rows", "--table", "public.items", "--key", "2").stream().map(r -> cols(r, 1, 2, 5)).toList())
                .containsExactly(List.of("alice-bot", "read", A3), List.of("bob-bot", "changed", B1));
        // item 25 was past alice's cap of 10 keys: the report says she possibly saw it, not that nobody did
        assertThat(csv("rows", "--table", "public.items", "--key", "25").stream().map(r -> cols(r, 1, 2, 5)).toList())
                .containsExactly(List.of("alice-bot", "possibly (keys capped)", A3));
        assertThat(csv("rows", "--table", "public.items", "--key", "32").stream().map(r -> cols(r, 1, 2, 5)).toList())
                .containsExactly(List.of("alice-bot", "possibly (keys capped)", A3), List.of("bob-bot", "changed", B2));
    }

    @Test
    void approvalsReportHasTheOneApprovedRequestAndItsReviewer() {
        List<List<String>> rows = csv("approvals");
        assertThat(rows).hasSize(1);
        assertThat(cols(rows.get(0), 0, 1, 2)).containsExactly("approved", "alice", "1");
        assertThat(Double.parseDouble(rows.get(0).get(3))).isBetween(0.0, 20.0);
    }

    @Test
    void agentReportIsBobsTimelineWithRowsAndKeys() {
        // started, kinds, decision, request_id, tables, rows_returned, rows_affected, keys, keys_capped, sql
        assertThat(csv("agent", "bob-bot").stream().map(r -> cols(r, 1, 2, 4, 5, 6, 7, 8, 9)).toList()).containsExactly(
                List.of("UPDATE", "allowed_by_rule", "public.items", "0", "1", "1", "false", B1),
                List.of("INSERT", "allowed_by_rule", "public.items", "2", "2", "2", "false", B2),
                List.of("SELECT", "allowed_by_rule", "public.items", "1", "", "0", "false", B3));
        assertThat(csv("agent", "alice-bot").stream().map(r -> cols(r, 5, 7, 8, 9)).toList()).containsExactly(
                List.of("3", "3", "false", A1),
                List.of("1", "0", "false", A2),
                List.of("30", "10", "true", A3));
    }

    @Test
    void analystsQueryTheAuditOverPgjdbcAndPsql() throws Exception {
        try (Connection c = analyst("countersign_audit"); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT agent, sum(statements), sum(rows_read), sum(rows_written) "
                    + "FROM usage_by_agent_table GROUP BY agent ORDER BY agent")) {
                List<String> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(rs.getString(1) + " " + rs.getLong(2) + " " + rs.getLong(3) + " " + rs.getLong(4));
                }
                assertThat(rows).containsExactly("alice-bot 3 34 0", "bob-bot 3 3 3", "carol-bot 2 2 0");
            }
            assertThat(column(s, "SELECT \"key\" FROM rows_touched WHERE agent = 'carol-bot'")).containsExactly("4");
            assertThat(column(s, "SELECT \"key\" FROM rows_touched WHERE agent = 'bob-bot' ORDER BY \"key\"")).containsExactly("2", "31", "32");
            assertThat(column(s, "SELECT count(*) FROM statements WHERE row_keys_capped")).containsExactly("1");
            assertThatThrownBy(() -> s.execute("DELETE FROM statements"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("25006"));
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM read_text('/etc/passwd')"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"));
            assertThat(column(s, "SELECT count(*) FROM statements")).containsExactly(String.valueOf(STATEMENTS));
        }
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-v", "ON_ERROR_STOP=1", "-At",
                "host=127.0.0.1 port=" + server.postgresAddress().getPort() + " user=ana dbname=countersign_audit sslmode=disable",
                "-c", "SELECT agent || ' ' || \"key\" || ' ' || action FROM rows_touched WHERE \"table\" = 'public.items' ORDER BY agent, \"key\"");
        pb.environment().put("PGPASSWORD", "ana-pw");
        Process psql = pb.start();
        psql.getOutputStream().close();
        String out = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(psql.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(psql.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(psql.exitValue()).as(err).isZero();
        assertThat(out.lines().toList()).containsExactly("alice-bot 1 read", "alice-bot 10 read", "alice-bot 2 read", "alice-bot 3 read",
                "alice-bot 4 read", "alice-bot 5 read", "alice-bot 6 read", "alice-bot 7 read", "alice-bot 8 read", "alice-bot 9 read",
                "bob-bot 2 changed", "bob-bot 31 changed", "bob-bot 32 changed");
    }

    @Test
    void agentsCannotReachTheAuditAndAnalystsCannotReachBackends() throws Exception {
        assertThatThrownBy(() -> DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort()
                + "/countersign_audit?sslmode=disable&user=alice-bot&password=alice-pw"))
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("42501");
                    assertThat(e.getMessage()).contains("may not read the audit").contains("analysts only");
                });
        assertThatThrownBy(() -> analyst("shop")).isInstanceOfSatisfying(SQLException.class, e -> {
            assertThat(e.getSQLState()).isEqualTo("28000");
            assertThat(e.getMessage()).contains("countersign_audit");
        });
        assertThatThrownBy(() -> DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.postgresAddress().getPort()
                + "/countersign_audit?sslmode=disable&user=ana&password=wrong"))
                .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("28P01"));
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-At",
                "host=127.0.0.1 port=" + server.postgresAddress().getPort() + " user=bob-bot dbname=countersign_audit sslmode=disable",
                "-c", "SELECT count(*) FROM statements");
        pb.environment().put("PGPASSWORD", "bob-pw");
        Process psql = pb.start();
        psql.getOutputStream().close();
        String err = new String(psql.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(psql.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(psql.exitValue()).isNotZero();
        assertThat(err).contains("may not read the audit");
    }

    static HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.adminAddress().getPort() + path));
        if (token != null) {
            r.header("Authorization", "Bearer " + token);
        }
        return HttpClient.newHttpClient().send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void usageJsonHasExactNumbersForReviewersOnly() throws Exception {
        assertThat(get("/api/usage", null).statusCode()).isEqualTo(401);
        assertThat(get("/api/usage", "not-a-token").statusCode()).isEqualTo(401);
        HttpResponse<String> r = get("/api/usage?since=1d&bucket=hour", "tok-alice");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = new ObjectMapper().readTree(r.body());
        assertThat(body.path("reviewer").asText()).isEqualTo("alice");
        List<String> agents = new ArrayList<>();
        body.path("agents").forEach(a -> agents.add(a.path("agent").asText() + " " + a.path("statements").asLong() + " "
                + a.path("rows_read").asLong() + " " + a.path("rows_written").asLong() + " " + a.path("tables").asLong()));
        // per agent, each statement once: alice 3 statements, 3 + 1 + 30 rows read, 2 tables
        assertThat(agents).containsExactly("alice-bot 3 34 0 2", "bob-bot 3 3 3 1", "carol-bot 2 2 0 1");
        List<String> tables = new ArrayList<>();
        body.path("tables").forEach(t -> tables.add(t.path("table").asText() + " " + t.path("statements").asLong() + " "
                + t.path("rows_read").asLong() + " " + t.path("rows_written").asLong() + " " + t.path("agents")));
        assertThat(tables).containsExactly("public.customers 4 6 0 [\"alice-bot\",\"carol-bot\"]",
                "public.items 4 33 3 [\"alice-bot\",\"bob-bot\"]");
        long statements = 0;
        long rowsRead = 0;
        for (JsonNode p : body.path("timeline")) {
            statements += p.path("statements").asLong();
            rowsRead += p.path("rows_read").asLong();
        }
        assertThat(statements).isEqualTo(STATEMENTS);
        assertThat(rowsRead).isEqualTo(34 + 3 + 2);
    }

    @Test
    void theConsoleUsagePageShowsTheAgentsAndTheChartInChromium() throws Exception {
        HeadlessChromium browser = HeadlessChromium.start("1280,1200");
        ChromeDriver driver = browser.driver();
        try {
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
            driver.get("http://127.0.0.1:" + server.adminAddress().getPort() + "/console/usage/");
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token"))).sendKeys("tok-alice");
            driver.findElement(By.cssSelector("#sign-in-form button")).click();
            WebElement alice = wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#agents tr[data-agent='alice-bot']")));
            assertThat(alice.getText()).startsWith("alice-bot 3 34 0 2 ");
            assertThat(driver.findElements(By.cssSelector("#agents tbody tr"))).hasSize(3);
            assertThat(driver.findElement(By.cssSelector("#agents tr[data-agent='bob-bot']")).getText()).startsWith("bob-bot 3 3 3 1");
            assertThat(driver.findElement(By.cssSelector("#tables tr[data-table='public.items']")).getText())
                    .startsWith("public.items 4 33 3 alice-bot, bob-bot");
            assertThat(driver.findElement(By.id("me")).getText()).isEqualTo("alice");
            List<WebElement> bars = driver.findElements(By.cssSelector("#usage-chart rect.bar"));
            assertThat(bars).isNotEmpty();
            assertThat(bars.stream().mapToLong(b -> Long.parseLong(b.getAttribute("data-statements"))).sum()).isEqualTo(STATEMENTS);
            assertThat(driver.findElements(By.cssSelector("#usage-chart path.line"))).hasSize(1);
            Path shot = Path.of("target", "usage-console-e2e.png");
            Files.createDirectories(shot.getParent());
            Files.copy(driver.getScreenshotAs(org.openqa.selenium.OutputType.FILE).toPath(), shot, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            browser.close();
        }
    }
}
