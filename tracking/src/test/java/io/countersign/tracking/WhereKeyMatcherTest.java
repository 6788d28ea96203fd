package io.countersign.tracking;

import static io.countersign.tracking.TrackingFixture.params;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Which WHERE clauses pin primary keys, against the real catalog's keys and types. */
class WhereKeyMatcherTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    static PgCatalogResolver resolver;

    @BeforeAll
    static void schema() throws Exception {
        db.execute(TrackingFixture.SCHEMA);
        resolver = TrackingFixture.resolver(db);
    }

    private static Optional<WhereKeyMatcher.Candidates> match(String sql, String table, String... params) {
        return WhereKeyMatcher.match(sql, params(params), Set.of(table), resolver);
    }

    private static List<String> keys(String sql, String table, String... params) {
        return match(sql, table, params).orElseThrow(() -> new AssertionError("no keys claimed for " + sql)).keys();
    }

    @Test
    void simpleKeyMatches() {
        assertThat(keys("UPDATE customers SET name = 'a' WHERE id = 42", "public.customers")).containsExactly("42");
        assertThat(keys("update public.customers set name='a' where id=-7;", "public.customers")).containsExactly("-7");
        assertThat(keys("DELETE FROM customers WHERE 42 = id", "public.customers")).containsExactly("42");
        assertThat(keys("DELETE FROM customers c WHERE c.id IN (1, 2, 3, 2) RETURNING *", "public.customers")).containsExactly("1", "2", "3");
        assertThat(keys("UPDATE customers SET name = $1 WHERE id = $2", "public.customers", "x", "9")).containsExactly("9");
        assertThat(keys("DELETE FROM customers WHERE id = ? AND name = ?", "public.customers", "0010", "bob")).containsExactly("10");
        assertThat(keys("DELETE FROM customers WHERE \"id\" = '5' AND (name = 'a' OR name = 'b')", "public.customers")).containsExactly("5");
        assertThat(keys("DELETE FROM devices WHERE id = '6F1C2A9E-4B7D-4C1E-9A3B-0D2E5F8A7B61'", "public.devices"))
                .containsExactly("6f1c2a9e-4b7d-4c1e-9a3b-0d2e5f8a7b61");
        assertThat(keys("UPDATE tags SET hits = 1 WHERE name = 'it''s'", "public.tags")).containsExactly("it's");
        assertThat(keys("DELETE FROM orders WHERE customer_id IN (1, 2) AND line = 3", "public.orders")).containsExactly("(1,3)", "(2,3)");
        assertThat(keys("UPDATE customers SET name = (SELECT name FROM notes WHERE body = 'x' OR true LIMIT 1) WHERE id = 3", "public.customers"))
                .containsExactly("3");
        // A NULL parameter matches nothing: an empty, certain answer.
        assertThat(keys("DELETE FROM customers WHERE id = $1", "public.customers", (String) null)).isEmpty();
        // Two conditions on the key intersect.
        assertThat(keys("DELETE FROM customers WHERE id IN (1, 2) AND id = 2", "public.customers")).containsExactly("2");
    }

    @Test
    void insertValuesNameTheirKeys() {
        assertThat(keys("INSERT INTO customers (id, email, name) VALUES (41, 'x', lower('Y')), (42, $1, 'z')", "public.customers", "e"))
                .containsExactly("41", "42");
        assertThat(keys("insert into orders (amount, line, customer_id) values (5, 1, 9) on conflict (customer_id, line) do nothing returning *;",
                "public.orders")).containsExactly("(9,1)");
        assertThat(keys("INSERT INTO devices (label, id) VALUES ('g', ?)", "public.devices", "6F1C2A9E-4B7D-4C1E-9A3B-0D2E5F8A7B61"))
                .containsExactly("6f1c2a9e-4b7d-4c1e-9a3b-0d2e5f8a7b61");
        for (String sql : List.of(
                "INSERT INTO items (title) VALUES ('no key given')",
                "INSERT INTO customers VALUES (1, 'a', 'b')",
                "INSERT INTO customers (id, name) VALUES (1 + 1, 'a')",
                "INSERT INTO customers (id, name) VALUES (NULL, 'a')",
                "INSERT INTO customers (id, name) VALUES (1, 'a', 'extra')",
                "INSERT INTO customers (id, name) SELECT id, name FROM customers",
                "INSERT INTO customers (id, name) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET id = 2",
                "INSERT INTO customers (id, name) VALUES (1, 'a'); DELETE FROM customers")) {
            String table = sql.contains("items") ? "public.items" : "public.customers";
            assertThat(match(sql, table)).as(sql).isEmpty();
        }
    }

    @Test
    void anythingUncertainClaimsNothing() {
        for (String sql : List.of(
                "UPDATE customers SET name = 'a' WHERE id = 1 OR id = 2",
                "UPDATE customers SET name = 'a' WHERE id > 5",
                "UPDATE customers SET name = 'a' WHERE id = 1 + 1",
                "UPDATE customers SET name = 'a' WHERE id = 1::int",
                "UPDATE customers SET name = 'a' WHERE id = 1.0",
                "UPDATE customers SET name = 'a' WHERE NOT id = 1",
                "UPDATE customers SET name = 'a' WHERE id BETWEEN 1 AND 1",
                "UPDATE customers SET name = 'a' FROM orders WHERE customers.id = 1",
                "UPDATE customers SET name = 'a'",
                "UPDATE customers SET name = 'a' WHERE CURRENT OF c1",
                "DELETE FROM customers USING orders WHERE customers.id = 1",
                "DELETE FROM customers WHERE other.id = 1",
                "DELETE FROM customers WHERE id = 1; DELETE FROM customers WHERE id = 2",
                "WITH x AS (SELECT 1) DELETE FROM customers WHERE id = 1",
                "DELETE FROM notes WHERE body = 'x'",
                "DELETE FROM customers WHERE name = 'x'",
                "DELETE FROM orders WHERE customer_id = 1",
                "DELETE FROM tags WHERE name = E'a\\\\b'",
                "DELETE FROM tags WHERE name = $$x$$",
                "DELETE FROM devices WHERE id = 'not-a-uuid'",
                "DELETE FROM customers WHERE id = 'abc'",
                "DELETE FROM customers WHERE id = $3",
                "SELECT * FROM customers WHERE id = 1")) {
            String table = sql.contains("orders") && !sql.contains("customers") ? "public.orders"
                    : sql.contains("notes") ? "public.notes" : sql.contains("tags") ? "public.tags"
                    : sql.contains("devices") ? "public.devices" : "public.customers";
            assertThat(match(sql, table, "1")).as(sql).isEmpty();
        }
        // The target must be the table the analysis says is written.
        assertThat(WhereKeyMatcher.match("DELETE FROM customers WHERE id = 1", List.of(), Set.of("other.customers", "public.customers"), resolver)).isEmpty();
    }
}
