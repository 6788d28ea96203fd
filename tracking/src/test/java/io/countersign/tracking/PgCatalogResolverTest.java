package io.countersign.tracking;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PgCatalogResolverTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    static PgCatalogResolver resolver;

    @BeforeAll
    static void schema() throws Exception {
        db.execute(TrackingFixture.SCHEMA);
        db.execute("CREATE SCHEMA billing", "CREATE TABLE billing.invoices (no bigint PRIMARY KEY, total int)",
                "ALTER TABLE customers ADD COLUMN gone int", "ALTER TABLE customers DROP COLUMN gone",
                "ALTER TABLE customers ADD COLUMN tier text");
        resolver = TrackingFixture.resolver(db);
    }

    private static long oid(String table) throws Exception {
        try (Connection c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT '" + table + "'::regclass::oid")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void resolvesTableOidAndAttnumToTheColumn() throws Exception {
        int customers = (int) oid("customers");
        assertThat(resolver.column(customers, 1)).get()
                .isEqualTo(new ColumnResolver.CatalogColumn(new ColumnRef("public", "customers", "id"), KeyValues.INT4));
        assertThat(resolver.column(customers, 2).orElseThrow().ref().toString()).isEqualTo("public.customers.email");
        // attnum 4 was dropped; 5 is the column added after it
        assertThat(resolver.column(customers, 4)).isEmpty();
        assertThat(resolver.column(customers, 5).orElseThrow().ref().column()).isEqualTo("tier");
        assertThat(resolver.column((int) oid("billing.invoices"), 1).orElseThrow())
                .isEqualTo(new ColumnResolver.CatalogColumn(new ColumnRef("billing", "invoices", "no"), KeyValues.INT8));
        assertThat(resolver.column(0, 1)).isEmpty();
        assertThat(resolver.column(customers, 0)).isEmpty();
    }

    @Test
    void primaryKeysComeInKeyOrderNotColumnOrder() {
        assertThat(resolver.primaryKey("public.customers")).containsExactly("id");
        assertThat(resolver.primaryKey("public.orders")).containsExactly("customer_id", "line");
        assertThat(resolver.primaryKey("billing.invoices")).containsExactly("no");
        assertThat(resolver.primaryKey("public.notes")).isEmpty();
        assertThat(resolver.primaryKey("public.nope")).isEmpty();
        assertThat(resolver.typeOf("public.devices", "id")).isEqualTo(KeyValues.UUID_OID);
    }

    @Test
    void systemCatalogsAreLeftOut() throws Exception {
        assertThat(resolver.column((int) oid("pg_catalog.pg_class"), 1)).isEmpty();
    }
}
