package io.countersign.server.demo;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Random;

/**
 * The demo's {@code shop} schema and its fake data: customers (with the sensitive email, phone and
 * ssn columns), orders and payments (with card numbers). The same seed gives the same rows on every
 * run, so walkthroughs and tests can name them.
 */
public final class ShopData {

    public static final int CUSTOMERS = 200;
    public static final int ORDERS = 500;

    private static final String[] FIRST = {"Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
        "Kemi", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Yara", "Zoe"};
    private static final String[] LAST = {"Okafor", "Schmidt", "Nguyen", "Garcia", "Kowalski", "Haddad", "Tanaka", "Silva",
        "Johansson", "Patel", "Moreau", "O'Brien", "Rossi", "Kim", "Novak", "Mensah", "Fischer", "Lopez", "Ivanova", "Byrne"};
    private static final String[] STATUS = {"pending", "paid", "paid", "paid", "shipped", "shipped", "delivered", "cancelled", "refunded"};
    private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

    private ShopData() {}

    /** Creates and fills the shop tables in a PostgreSQL database. */
    public static void create(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("""
                    CREATE TABLE customers (
                        id         integer PRIMARY KEY,
                        name       text NOT NULL,
                        email      text NOT NULL UNIQUE,
                        phone      text,
                        ssn        text,
                        created_at timestamptz NOT NULL)""");
            s.execute("""
                    CREATE TABLE orders (
                        id          integer PRIMARY KEY,
                        customer_id integer NOT NULL REFERENCES customers(id),
                        total       numeric(10,2) NOT NULL,
                        status      text NOT NULL,
                        created_at  timestamptz NOT NULL)""");
            s.execute("""
                    CREATE TABLE payments (
                        id          integer PRIMARY KEY,
                        order_id    integer NOT NULL REFERENCES orders(id),
                        card_number text NOT NULL,
                        amount      numeric(10,2) NOT NULL,
                        paid_at     timestamptz NOT NULL)""");
            s.execute("CREATE INDEX orders_customer ON orders(customer_id)");
            s.execute("CREATE INDEX payments_order ON payments(order_id)");
        }
        insertRows(c);
    }

    /**
     * Creates and fills the same tables in a MySQL/MariaDB database: the same columns and rows, in
     * MySQL's types (VARCHAR where PostgreSQL has text, so email can stay UNIQUE; DATETIME(6)).
     */
    public static void createMySql(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("""
                    CREATE TABLE customers (
                        id         INT PRIMARY KEY,
                        name       VARCHAR(100) NOT NULL,
                        email      VARCHAR(190) NOT NULL UNIQUE,
                        phone      VARCHAR(40),
                        ssn        VARCHAR(20),
                        created_at DATETIME(6) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""");
            s.execute("""
                    CREATE TABLE orders (
                        id          INT PRIMARY KEY,
                        customer_id INT NOT NULL,
                        total       DECIMAL(10,2) NOT NULL,
                        status      VARCHAR(20) NOT NULL,
                        created_at  DATETIME(6) NOT NULL,
                        KEY orders_customer (customer_id),
                        FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""");
            s.execute("""
                    CREATE TABLE payments (
                        id          INT PRIMARY KEY,
                        order_id    INT NOT NULL,
                        card_number VARCHAR(19) NOT NULL,
                        amount      DECIMAL(10,2) NOT NULL,
                        paid_at     DATETIME(6) NOT NULL,
                        KEY payments_order (order_id),
                        FOREIGN KEY (order_id) REFERENCES orders(id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""");
        }
        insertRows(c);
    }

    private static void insertRows(Connection c) throws SQLException {
        Random rnd = new Random(20261128L);
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (PreparedStatement cust = c.prepareStatement("INSERT INTO customers VALUES (?,?,?,?,?,?)");
             PreparedStatement ord = c.prepareStatement("INSERT INTO orders VALUES (?,?,?,?,?)");
             PreparedStatement pay = c.prepareStatement("INSERT INTO payments VALUES (?,?,?,?,?)")) {
            for (int id = 1; id <= CUSTOMERS; id++) {
                String first = FIRST[rnd.nextInt(FIRST.length)];
                String last = LAST[rnd.nextInt(LAST.length)];
                cust.setInt(1, id);
                cust.setString(2, first + " " + last);
                cust.setString(3, (first + "." + last).toLowerCase(java.util.Locale.ROOT).replace("'", "") + id + "@example.com");
                cust.setString(4, String.format("+1-555-%03d-%04d", rnd.nextInt(1000), rnd.nextInt(10000)));
                // 9xx area numbers are never issued as real SSNs
                cust.setString(5, String.format("9%02d-%02d-%04d", rnd.nextInt(100), 1 + rnd.nextInt(99), 1 + rnd.nextInt(9999)));
                cust.setTimestamp(6, Timestamp.from(EPOCH.plus(rnd.nextInt(300 * 24), ChronoUnit.HOURS)));
                cust.addBatch();
            }
            cust.executeBatch();
            int paymentId = 1;
            for (int id = 1; id <= ORDERS; id++) {
                BigDecimal total = BigDecimal.valueOf(500 + rnd.nextInt(49_500), 2).setScale(2, RoundingMode.UNNECESSARY);
                String status = STATUS[rnd.nextInt(STATUS.length)];
                Instant created = EPOCH.plus(rnd.nextInt(330 * 24 * 60), ChronoUnit.MINUTES);
                ord.setInt(1, id);
                ord.setInt(2, 1 + rnd.nextInt(CUSTOMERS));
                ord.setBigDecimal(3, total);
                ord.setString(4, status);
                ord.setTimestamp(5, Timestamp.from(created));
                ord.addBatch();
                if (!status.equals("pending") && !status.equals("cancelled")) {
                    pay.setInt(1, paymentId++);
                    pay.setInt(2, id);
                    pay.setString(3, cardNumber(rnd));
                    pay.setBigDecimal(4, total);
                    pay.setTimestamp(5, Timestamp.from(created.plus(1 + rnd.nextInt(120), ChronoUnit.MINUTES)));
                    pay.addBatch();
                }
            }
            ord.executeBatch();
            pay.executeBatch();
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** A 16-digit test card number (4000 prefix) with a valid Luhn check digit. */
    static String cardNumber(Random rnd) {
        int[] d = new int[16];
        d[0] = 4;
        for (int i = 4; i < 15; i++) d[i] = rnd.nextInt(10);
        int sum = 0;
        for (int i = 0; i < 15; i++) {
            int v = d[14 - i];
            if (i % 2 == 0) {
                v *= 2;
                if (v > 9) v -= 9;
            }
            sum += v;
        }
        d[15] = (10 - sum % 10) % 10;
        StringBuilder sb = new StringBuilder(16);
        for (int v : d) sb.append(v);
        return sb.toString();
    }
}
