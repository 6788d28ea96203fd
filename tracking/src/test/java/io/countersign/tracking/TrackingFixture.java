package io.countersign.tracking;

import io.countersign.analysis.SettledBy;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.StatementCompletion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Shared schema and helpers: a small shop on the real PostgreSQL, and a way to replay wire results into a tracker. */
final class TrackingFixture {

    static final String[] SCHEMA = {
        "CREATE TABLE customers (id int PRIMARY KEY, email text, name text)",
        "INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'name ' || g FROM generate_series(1, 30) g",
        // Key order differs from column order on purpose: keys render in key order.
        "CREATE TABLE orders (line int, customer_id int, amount int, PRIMARY KEY (customer_id, line))",
        "INSERT INTO orders VALUES (1, 1, 10), (2, 1, 20), (1, 2, 5)",
        "CREATE TABLE devices (id uuid PRIMARY KEY, label text)",
        "INSERT INTO devices VALUES ('6f1c2a9e-4b7d-4c1e-9a3b-0d2e5f8a7b61', 'gateway'), ('00000000-0000-0000-0000-00000000000a', 'probe')",
        "CREATE TABLE events (id bigint PRIMARY KEY, kind text)",
        "INSERT INTO events VALUES (5000000001, 'login'), (5000000002, 'logout')",
        "CREATE TABLE tags (name varchar(20) PRIMARY KEY, hits smallint)",
        "INSERT INTO tags VALUES ('red', 3), ('blue, green', 4)",
        "CREATE TABLE notes (body text)",
        "INSERT INTO notes VALUES ('no key here')",
        "CREATE TABLE items (id serial PRIMARY KEY, title text)",
    };

    private TrackingFixture() {}

    static RawPgClient raw(PostgresDatabase db) throws IOException {
        return new RawPgClient(db.host(), db.port(), db.user(), db.password(), db.name());
    }

    static PgCatalogResolver resolver(PostgresDatabase db) throws SQLException {
        try (var c = db.connect()) {
            return PgCatalogResolver.load(c);
        }
    }

    static StatementAnalysis analysis(String sql, String kind, Set<String> read, Set<String> written,
                                      Set<String> columnsRead, Set<String> columnsWritten) {
        return new StatementAnalysis(sql, sql, kind, read, written, columnsRead, columnsWritten, Set.of(), List.of(), SettledBy.CALCITE);
    }

    static StatementAnalysis read(String sql, String... tables) {
        return analysis(sql, "SELECT", Set.of(tables), Set.of(), Set.of(), Set.of());
    }

    static StatementAnalysis write(String sql, String kind, String table) {
        return analysis(sql, kind, Set.of(), Set.of(table), Set.of(), Set.of());
    }

    static List<BoundParameter> params(String... values) {
        List<BoundParameter> out = new ArrayList<>();
        for (String v : values) {
            out.add(new BoundParameter(0, false, v == null ? null : v.getBytes(StandardCharsets.UTF_8), v));
        }
        return out;
    }

    /**
     * Plays a result through the observer as the session would: columns, then each DataRow body in a
     * buffer whose reader index is not 0 (the observer must use it, and must not move it), then completion.
     */
    static StatementUsage replay(TrackedStatement t, RawPgClient.Result r, Instant ended) {
        t.formats(r.formats().length == 0 ? ResultFormats.ALL_TEXT : ResultFormats.of(r.formats()));
        if (!r.columns().isEmpty()) {
            if (t.onColumns(r.columns()) != null) {
                throw new AssertionError("observer refused the result");
            }
        }
        for (byte[] row : r.rows()) {
            ByteBuf buf = Unpooled.buffer(row.length + 12);
            try {
                buf.writeBytes(new byte[] {'D', 0, 0, 0, 0, 9, 9});
                buf.writeBytes(row);
                buf.writeBytes(new byte[] {'Z', 0, 0});
                buf.readerIndex(7);
                buf.writerIndex(7 + row.length);
                t.onRow(buf);
                if (buf.readerIndex() != 7 || buf.writerIndex() != 7 + row.length) {
                    throw new AssertionError("observer moved the buffer's indices");
                }
            } finally {
                buf.release();
            }
        }
        return t.complete(new StatementCompletion(null, t, ended.minusMillis(5), ended, r.commandTag(),
                r.rows().size(), r.rowsAffected(), 0, null));
    }

    static TrackedStatement track(UsageTracker tracker, String agent, StatementAnalysis a, List<BoundParameter> params) {
        return tracker.track(agent, Protocol.POSTGRESQL, "db", List.of(a), params);
    }
}
