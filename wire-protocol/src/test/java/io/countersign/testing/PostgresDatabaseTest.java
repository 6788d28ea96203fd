package io.countersign.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresDatabaseTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @Test
    void givesTheClassItsOwnEmptyDatabase() throws Exception {
        try (Connection c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_database(), count(*) FROM pg_tables WHERE schemaname = 'public'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo(db.name());
            assertThat(rs.getLong(2)).isZero();
        }
    }
}
