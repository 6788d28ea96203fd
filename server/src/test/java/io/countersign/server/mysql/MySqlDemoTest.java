package io.countersign.server.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.demo.Demo;
import io.countersign.server.demo.ShopData;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code countersign demo} with its MySQL side: an embedded MariaDB holding the shop data, a MySQL
 * listener (port 0 here), and the same agent, policy and reviewers as the PostgreSQL side.
 */
@ExtendWith(NettyLeakWatch.class)
class MySqlDemoTest {

    static Demo demo;

    @BeforeAll
    static void start() throws Exception {
        demo = Demo.start(new Demo.Options(0, 0, null, 0));
    }

    @AfterAll
    static void stop() {
        if (demo != null) demo.close();
    }

    static Connection agent(String extra) throws SQLException {
        return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + demo.mysqlAddress().getPort() + "/" + Demo.MYSQL_BACKEND
                + "?user=" + Demo.AGENT + "&password=" + Demo.AGENT_PASSWORD + "&sslMode=disable" + extra);
    }

    @Test
    void theEmbeddedMariaDbHoldsTheShopData() throws Exception {
        try (Connection c = demo.mariaDb().connect("shop"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM orders)")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(ShopData.CUSTOMERS);
            assertThat(rs.getInt(2)).isEqualTo(ShopData.ORDERS);
        }
    }

    @Test
    void theInstructionsNameTheMysqlCommandLine() {
        String line = "mysql -h 127.0.0.1 -P " + demo.mysqlAddress().getPort() + " -u demo-agent -p shop";
        assertThat(demo.mysqlCommand()).isEqualTo(line);
        assertThat(demo.instructions()).contains(line);
    }

    @Test
    void theAgentRunsQueriesAndAPreparedStatementUnattended() throws Exception {
        try (Connection c = agent("&useServerPrepStmts=true")) {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM orders WHERE status = 'paid'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isPositive();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT name FROM customers WHERE id = ?")) {
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isNotBlank();
                }
            }
        }
    }

    @Test
    void aSensitiveQueryIsHeldUntilAReviewerApproves() throws Exception {
        String sql = "SELECT name, email FROM customers WHERE id = 3";
        String expected;
        try (Connection c = demo.mariaDb().connect("shop"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT email FROM customers WHERE id = 3")) {
            rs.next();
            expected = rs.getString(1);
        }
        ApprovalsClient alice = new ApprovalsClient(URI.create("http://127.0.0.1:" + demo.adminAddress().getPort() + "/"),
                demo.reviewerTokens().get("alice"));
        try (Connection c = agent("")) {
            CompletableFuture<String> email = CompletableFuture.supplyAsync(() -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
                    rs.next();
                    return rs.getString(2);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            ApprovalRequest held = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (held == null && System.nanoTime() < deadline) {
                held = alice.list(RequestState.PENDING, Demo.AGENT, 20).stream().filter(r -> r.sql().equals(sql)).findFirst().orElse(null);
                if (held == null) Thread.sleep(100);
            }
            assertThat(held).as("a pending request for %s", sql).isNotNull();
            assertThat(held.sensitiveColumns()).contains("shop.customers.email");
            assertThat(email).isNotDone();
            alice.approve(held.id(), "walkthrough");
            assertThat(email.get(20, TimeUnit.SECONDS)).isEqualTo(expected);
        }
    }
}
