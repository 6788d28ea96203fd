package io.countersign.analysis;

import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.FunctionInfo;
import io.countersign.analysis.catalog.SensitiveColumns;
import java.util.List;

/** The schema the corpus is written against, for both dialects. */
final class CorpusCatalogs {

    private CorpusCatalogs() {}

    static SensitiveColumns sensitive() {
        return SensitiveColumns.of(List.of("*.employees.salary", "public.customers.ssn"), SensitiveColumns.DEFAULT_TAGS);
    }

    static Catalog postgres() {
        Catalog.Builder b = Catalog.builder(Dialect.POSTGRESQL).database("shop");
        tables(b, "public");
        b.view("public", "customer_public", "SELECT id, name, city FROM customers", "id", "name", "city");
        b.view("public", "customer_contacts", "SELECT c.id, c.email AS contact FROM public.customers c", "id", "contact");
        b.view("public", "order_totals", "SELECT o.customer_id, sum(o.amount) AS total FROM orders o GROUP BY o.customer_id",
                "customer_id", "total");
        b.table("analytics", "daily_sales", 1_000, List.of("day"), "day", "total");
        b.function(new FunctionInfo("public", "f_secret", "plpgsql", true));
        b.function(new FunctionInfo("public", "calc_discount", "sql", false));
        b.function(new FunctionInfo("public", "shell_cmd", "plpython3u", false));
        return b.build();
    }

    static Catalog mysql() {
        Catalog.Builder b = Catalog.builder(Dialect.MYSQL).database("shop");
        tables(b, "shop");
        b.view("shop", "customer_public", "select `customers`.`id` AS `id`,`customers`.`name` AS `name`,`customers`.`city` AS `city` from `shop`.`customers`",
                "id", "name", "city");
        b.function(new FunctionInfo("shop", "calc_discount", "SQL", false));
        return b.build();
    }

    private static void tables(Catalog.Builder b, String s) {
        b.table(s, "customers", 5_000, List.of("id"), "id", "name", "email", "phone", "ssn", "card_number", "city", "created_at");
        b.table(s, "orders", 2_000_000, List.of("id"), "id", "customer_id", "product_id", "amount", "status", "created_at");
        b.table(s, "products", 300, List.of("id"), "id", "name", "price", "category");
        b.table(s, "order_items", 5_000, List.of(), "order_id", "product_id", "qty");
        b.table(s, "users", 100, List.of("id"), "id", "username", "password_hash", "role");
        b.table(s, "events", 50_000, List.of("id"), "id", "payload", "ts");
        b.table(s, "employees", 200, List.of("id"), "id", "name", "salary", "manager_id");
    }
}
