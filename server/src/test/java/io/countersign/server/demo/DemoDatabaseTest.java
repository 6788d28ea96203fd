package io.countersign.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded PostgreSQL the demo runs on, started for real (zonky binaries, as root here). The
 * temporary-directory case is covered by DemoTest and ProcessIT.
 */
class DemoDatabaseTest {

    @RegisterExtension
    static PostgresDatabase reference = new PostgresDatabase();

    @Test
    void holdsTheShopDataAndKeepsADataDirectoryAcrossRuns(@TempDir Path dir) throws Exception {
        List<String> embeddedRows;
        try (DemoDatabase db = DemoDatabase.start(dir)) {
            assertThat(db.temporary()).isFalse();
            try (Connection c = db.connect("shop"); Statement s = c.createStatement()) {
                assertThat(count(s, "SELECT count(*) FROM customers")).isEqualTo(ShopData.CUSTOMERS);
                assertThat(count(s, "SELECT count(*) FROM orders")).isEqualTo(ShopData.ORDERS);
                assertThat(count(s, "SELECT count(*) FROM payments")).isBetween(250L, (long) ShopData.ORDERS);
                // every payment pays its order in full, and only settled orders have one
                assertThat(count(s, "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.amount <> o.total")).isZero();
                assertThat(count(s, "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.status IN ('pending','cancelled')")).isZero();
                assertThat(count(s, "SELECT count(*) FROM customers WHERE ssn !~ '^9[0-9]{2}-[0-9]{2}-[0-9]{4}$' OR email !~ '@example\\.com$'")).isZero();
                assertThat(count(s, "SELECT count(*) FROM payments WHERE card_number !~ '^4000[0-9]{12}$'")).isZero();
                assertThat(count(s, "SELECT count(DISTINCT status) FROM orders")).isGreaterThanOrEqualTo(5);
                embeddedRows = rows(s);
                s.execute("INSERT INTO customers VALUES (9999, 'Kept Row', 'kept@example.com', null, null, now())");
            }
        }
        assertThat(dir.resolve("postgres")).isDirectory();

        // deterministic: the same generator on another server gives the same rows
        try (Connection c = reference.connect(); Statement s = c.createStatement()) {
            ShopData.create(c);
            assertThat(rows(s)).isEqualTo(embeddedRows);
        }

        try (DemoDatabase db = DemoDatabase.start(dir);
             Connection c = db.connect("shop"); Statement s = c.createStatement()) {
            assertThat(count(s, "SELECT count(*) FROM customers WHERE id = 9999")).isEqualTo(1);
            assertThat(count(s, "SELECT count(*) FROM customers")).isEqualTo(ShopData.CUSTOMERS + 1);
        }
    }

    @Test
    void cardNumbersPassTheLuhnCheck() {
        java.util.Random rnd = new java.util.Random(7);
        for (int i = 0; i < 1000; i++) {
            String n = ShopData.cardNumber(rnd);
            int sum = 0;
            for (int d = 0; d < 16; d++) {
                int v = n.charAt(15 - d) - '0';
                if (d % 2 == 1) {
                    v *= 2;
                    if (v > 9) v -= 9;
                }
                sum += v;
            }
            assertThat(sum % 10).as(n).isZero();
        }
    }

    static long count(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    static List<String> rows(Statement s) throws SQLException {
        List<String> out = new ArrayList<>();
        try (ResultSet r = s.executeQuery("SELECT c.name || ' ' || c.email || ' ' || c.ssn || ' ' || extract(epoch FROM c.created_at)::bigint::text, "
                + "(SELECT string_agg(o.total::text || o.status, ',' ORDER BY o.id) FROM orders o WHERE o.customer_id = c.id) "
                + "FROM customers c ORDER BY c.id")) {
            while (r.next()) out.add(r.getString(1) + " | " + r.getString(2));
        }
        return out;
    }
}
