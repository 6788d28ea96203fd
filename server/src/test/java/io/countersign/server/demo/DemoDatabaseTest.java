package io.countersign.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded PostgreSQL the demo runs on, started for real (zonky binaries, as root here). */
class DemoDatabaseTest {

    @Test
    void startsWithTheShopDataAndRemovesItsTemporaryDirectory() throws Exception {
        Path dir;
        List<String> firstCustomers;
        try (DemoDatabase db = DemoDatabase.start(null)) {
            dir = db.directory();
            assertThat(db.temporary()).isTrue();
            assertThat(dir).isDirectory();
            try (Connection c = db.connect("shop"); Statement s = c.createStatement()) {
                assertThat(count(s, "SELECT count(*) FROM customers")).isEqualTo(ShopData.CUSTOMERS);
                assertThat(count(s, "SELECT count(*) FROM orders")).isEqualTo(ShopData.ORDERS);
                long payments = count(s, "SELECT count(*) FROM payments");
                assertThat(payments).isBetween(250L, (long) ShopData.ORDERS);
                // every order with a payment is paid in full, and only settled orders have one
                assertThat(count(s, "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.amount <> o.total")).isZero();
                assertThat(count(s, "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.status IN ('pending','cancelled')")).isZero();
                assertThat(count(s, "SELECT count(*) FROM customers WHERE ssn !~ '^9[0-9]{2}-[0-9]{2}-[0-9]{4}$' OR email !~ '@example\\.com$'")).isZero();
                assertThat(count(s, "SELECT count(*) FROM payments WHERE card_number !~ '^4000[0-9]{12}$'")).isZero();
                assertThat(count(s, "SELECT count(DISTINCT status) FROM orders")).isGreaterThanOrEqualTo(5);
                firstCustomers = names(s);
            }
        }
        assertThat(Files.exists(dir)).as("temporary data directory removed on close").isFalse();

        // deterministic: a second database holds the same rows
        try (DemoDatabase again = DemoDatabase.start(null);
             Connection c = again.connect("shop"); Statement s = c.createStatement()) {
            assertThat(names(s)).isEqualTo(firstCustomers);
        }
    }

    @Test
    void aDataDirectoryIsKeptAndReused(@TempDir Path dir) throws Exception {
        try (DemoDatabase db = DemoDatabase.start(dir);
             Connection c = db.connect("shop"); Statement s = c.createStatement()) {
            s.execute("INSERT INTO customers VALUES (9999, 'Kept Row', 'kept@example.com', null, null, now())");
        }
        assertThat(dir.resolve("postgres")).isDirectory();
        try (DemoDatabase db = DemoDatabase.start(dir);
             Connection c = db.connect("shop"); Statement s = c.createStatement()) {
            assertThat(count(s, "SELECT count(*) FROM customers WHERE id = 9999")).isEqualTo(1);
            assertThat(count(s, "SELECT count(*) FROM customers")).isEqualTo(ShopData.CUSTOMERS + 1);
        }
    }

    static long count(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    static List<String> names(Statement s) throws SQLException {
        List<String> out = new ArrayList<>();
        try (ResultSet r = s.executeQuery("SELECT name || ' ' || email || ' ' || ssn FROM customers ORDER BY id LIMIT 20")) {
            while (r.next()) out.add(r.getString(1));
        }
        return out;
    }
}
