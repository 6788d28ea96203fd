package io.countersign.tracking;

import static io.countersign.tracking.TrackingFixture.params;
import static io.countersign.tracking.TrackingFixture.read;
import static io.countersign.tracking.TrackingFixture.replay;
import static io.countersign.tracking.TrackingFixture.track;
import static io.countersign.tracking.TrackingFixture.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.PostgresDatabase;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The observer fed with RowDescription and DataRow bytes exactly as the real PostgreSQL sent them. */
class TrackedStatementTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    static RawPgClient pg;
    static PgCatalogResolver resolver;
    static final Instant T = Instant.parse("2026-11-20T10:00:00Z");

    @BeforeAll
    static void setUp() throws Exception {
        db.execute(TrackingFixture.SCHEMA);
        db.execute("CREATE TABLE ledger (id int PRIMARY KEY, note text)");
        resolver = TrackingFixture.resolver(db);
        pg = TrackingFixture.raw(db);
    }

    @AfterAll
    static void tearDown() throws Exception {
        pg.close();
    }

    private static UsageTracker tracker(TrackingSettings settings) {
        return new UsageTracker(resolver, settings, new UsageCounters(null));
    }

    private static UsageTracker tracker() {
        return tracker(TrackingSettings.DEFAULTS.withSensitiveColumns(Set.of("public.customers.email")));
    }

    @Test
    void textResultWithKeyYieldsRowsColumnsAndKeys() throws Exception {
        String sql = "SELECT id, email FROM customers WHERE id <= 3 ORDER BY id";
        RawPgClient.Result r = pg.query(sql).get(0);
        StatementUsage u = replay(track(tracker(), "a1", read(sql, "public.customers"), List.of()), r, T);

        assertThat(u.rowsReturned()).isEqualTo(3);
        assertThat(u.rowsAffected()).isEqualTo(-1);
        assertThat(u.resultColumns()).containsExactly("public.customers.id", "public.customers.email");
        assertThat(u.keys()).isEqualTo(Map.of("public.customers", List.of("1", "2", "3")));
        assertThat(u.keysCapped()).isFalse();
        assertThat(u.keysHashed()).isFalse();
        assertThat(u.sensitiveColumnsRead()).containsExactly("public.customers.email");
        long expectedBytes = r.rows().stream().mapToLong(b -> b.length + 5).sum();
        assertThat(u.bytes()).isEqualTo(expectedBytes);
        assertThat(u.tablesRead()).containsExactly("public.customers");
    }

    @Test
    void trackingSwitchedOffCountsRowsButKeysNothingAndSaysTheKeyListIsIncomplete() throws Exception {
        String sql = "SELECT id, email FROM customers WHERE id <= 3 ORDER BY id";
        RawPgClient.Result r = pg.query(sql).get(0);
        StatementUsage u = replay(track(tracker(TrackingSettings.DEFAULTS.withEnabled(false)
                .withSensitiveColumns(java.util.Set.of("public.customers.email"))), "a1",
                TrackingFixture.analysis(sql, "SELECT", java.util.Set.of("public.customers"), java.util.Set.of(),
                        java.util.Set.of("public.customers.id", "public.customers.email"), java.util.Set.of()), List.of()), r, T);
        assertThat(u.rowsReturned()).isEqualTo(3);
        assertThat(u.bytes()).isEqualTo(r.rows().stream().mapToLong(b -> b.length + 5).sum());
        assertThat(u.tablesRead()).containsExactly("public.customers");
        assertThat(u.resultColumns()).isEmpty();
        assertThat(u.keys()).isEmpty();
        assertThat(u.keysCapped()).as("no keys is not the same as complete").isTrue();
        // the analysis' columns still name the sensitive read
        assertThat(u.sensitiveColumnsRead()).containsExactly("public.customers.email");

        String update = "UPDATE customers SET name = name WHERE id = 2";
        StatementUsage w = replay(track(tracker(TrackingSettings.DEFAULTS.withEnabled(false)), "a1",
                TrackingFixture.analysis(update, "UPDATE", java.util.Set.of("public.customers"), java.util.Set.of("public.customers"),
                        java.util.Set.of("public.customers.id"), java.util.Set.of("public.customers.name")), List.of()), pg.query(update).get(0), T);
        assertThat(w.rowsAffected()).isEqualTo(1);
        assertThat(w.keys()).isEmpty();
        assertThat(w.keysCapped()).isTrue();
    }

    @Test
    void resultWithoutTheKeyKeepsNoKeysAndExpressionsStayUnmapped() throws Exception {
        String sql = "SELECT email, upper(name) AS shout FROM customers WHERE id IN (4, 5)";
        StatementUsage u = replay(track(tracker(), "a1", read(sql, "public.customers"), List.of()), pg.query(sql).get(0), T);
        assertThat(u.rowsReturned()).isEqualTo(2);
        assertThat(u.resultColumns()).containsExactly("public.customers.email");
        assertThat(u.keys()).isEmpty();
        assertThat(u.keysCapped()).isFalse();
    }

    @Test
    void binaryResultsDecodeIntBigintUuidAndTextKeys() throws Exception {
        UsageTracker tracker = tracker();
        String q1 = "SELECT id, label FROM devices ORDER BY label";
        StatementUsage devices = replay(track(tracker, "a1", read(q1, "public.devices"), List.of()), pg.execute(q1, List.of(), (short) 1), T);
        assertThat(devices.keysOf("public.devices")).containsExactly("6f1c2a9e-4b7d-4c1e-9a3b-0d2e5f8a7b61", "00000000-0000-0000-0000-00000000000a");

        String q2 = "SELECT kind, id FROM events ORDER BY id";
        StatementUsage events = replay(track(tracker, "a1", read(q2, "public.events"), List.of()), pg.execute(q2, List.of(), (short) 1), T);
        assertThat(events.keysOf("public.events")).containsExactly("5000000001", "5000000002");

        String q3 = "SELECT hits, name FROM tags ORDER BY hits";
        StatementUsage tags = replay(track(tracker, "a1", read(q3, "public.tags"), List.of()), pg.execute(q3, List.of(), (short) 1), T);
        assertThat(tags.keysOf("public.tags")).containsExactly("red", "blue, green");

        // Mixed formats: id binary, email text.
        String q4 = "SELECT id, email FROM customers WHERE id = $1";
        StatementUsage mixed = replay(track(tracker, "a1", read(q4, "public.customers"), params("7")),
                pg.execute(q4, List.of("7"), (short) 1, (short) 0), T);
        assertThat(mixed.keysOf("public.customers")).containsExactly("7");
    }

    @Test
    void unknownFormatsDecodeOnlyWhatIsUnambiguous() throws Exception {
        db.execute("CREATE TABLE codes (id int PRIMARY KEY, label text)", "INSERT INTO codes VALUES (7, 'a'), (1234, 'b'), (100000, 'c')");
        UsageTracker tracker = new UsageTracker(TrackingFixture.resolver(db), TrackingSettings.DEFAULTS, new UsageCounters(null));
        String sql = "SELECT id, label FROM codes ORDER BY id";

        // Binary int4: 4 bytes that are not digits; unambiguous, all three keys.
        RawPgClient.Result binary = pg.execute(sql, List.of(), (short) 1);
        StatementUsage b = replayUnknown(track(tracker, "a1", read(sql, "public.codes"), List.of()), binary);
        assertThat(b.keysOf("public.codes")).containsExactly("7", "1234", "100000");
        assertThat(b.keysCapped()).isFalse();

        // Text: "7" and "100000" cannot be binary int4; "1234" could be either: left out, and the set marked incomplete.
        RawPgClient.Result text = pg.execute(sql, List.of(), (short) 0);
        StatementUsage t = replayUnknown(track(tracker, "a1", read(sql, "public.codes"), List.of()), text);
        assertThat(t.keysOf("public.codes")).containsExactly("7", "100000");
        assertThat(t.keysCapped()).isTrue();

        // uuid: 16 bytes binary, 36 text; never ambiguous.
        String q = "SELECT id FROM devices ORDER BY label";
        for (short f : new short[] {0, 1}) {
            StatementUsage u = replayUnknown(track(tracker, "a1", read(q, "public.devices"), List.of()), pg.execute(q, List.of(), f));
            assertThat(u.keysOf("public.devices")).containsExactly("6f1c2a9e-4b7d-4c1e-9a3b-0d2e5f8a7b61", "00000000-0000-0000-0000-00000000000a");
            assertThat(u.keysCapped()).isFalse();
        }
    }

    private static StatementUsage replayUnknown(TrackedStatement t, RawPgClient.Result r) {
        t.unknownFormats(true);
        t.onColumns(r.columns());
        for (byte[] row : r.rows()) {
            io.netty.buffer.ByteBuf buf = io.netty.buffer.Unpooled.wrappedBuffer(row);
            t.onRow(buf);
            buf.release();
        }
        return t.complete(new io.countersign.wire.spi.StatementCompletion(null, t, T, T, r.commandTag(), r.rows().size(), -1, 0, null));
    }

    @Test
    void compositeKeysRenderInKeyOrderAndJoinsYieldKeysPerTable() throws Exception {
        String sql = "SELECT c.id, c.name, o.line, o.customer_id, o.amount FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY o.customer_id, o.line";
        StatementUsage u = replay(track(tracker(), "a1", read(sql, "public.customers", "public.orders"), List.of()), pg.query(sql).get(0), T);
        assertThat(u.rowsReturned()).isEqualTo(3);
        assertThat(u.keysOf("public.orders")).containsExactly("(1,1)", "(1,2)", "(2,1)");
        assertThat(u.keysOf("public.customers")).containsExactly("1", "2");
    }

    @Test
    void keysPastTheCapAreDroppedAndTheUsageSaysSo() throws Exception {
        String sql = "SELECT id FROM customers ORDER BY id";
        RawPgClient.Result r = pg.query(sql).get(0);
        StatementUsage capped = replay(track(tracker(TrackingSettings.DEFAULTS.withKeyCap(5)), "a1", read(sql, "public.customers"), List.of()), r, T);
        assertThat(capped.rowsReturned()).isEqualTo(30);
        assertThat(capped.keysOf("public.customers")).containsExactly("1", "2", "3", "4", "5");
        assertThat(capped.keysCapped()).isTrue();

        StatementUsage exact = replay(track(tracker(TrackingSettings.DEFAULTS.withKeyCap(30)), "a1", read(sql, "public.customers"), List.of()), r, T);
        assertThat(exact.keysOf("public.customers")).hasSize(30);
        assertThat(exact.keysCapped()).isFalse();

        StatementUsage defaults = replay(track(tracker(TrackingSettings.DEFAULTS), "a1", read(sql, "public.customers"), List.of()), r, T);
        assertThat(defaults.keysOf("public.customers")).hasSize(30);
        assertThat(defaults.keysCapped()).isFalse();
    }

    @Test
    void hashedKeysAreHmacSha256OfTheKeyText() throws Exception {
        byte[] secret = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);
        String sql = "SELECT o.customer_id, o.line FROM orders o WHERE customer_id = 2";
        StatementUsage u = replay(track(tracker(TrackingSettings.DEFAULTS.withKeyHasher(new KeyHasher(secret))), "a1",
                read(sql, "public.orders"), List.of()), pg.query(sql).get(0), T);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        String expected = HexFormat.of().formatHex(mac.doFinal("(2,1)".getBytes(StandardCharsets.UTF_8)));
        assertThat(u.keysHashed()).isTrue();
        assertThat(u.keysOf("public.orders")).containsExactly(expected);
    }

    @Test
    void insertReturningTakesKeysFromTheReturnedRows() throws Exception {
        String sql = "INSERT INTO items (title) VALUES ('a'), ('b') RETURNING id";
        RawPgClient.Result r = pg.query(sql).get(0);
        StatementUsage u = replay(track(tracker(), "a1", write(sql, "INSERT", "public.items"), List.of()), r, T);
        assertThat(u.rowsAffected()).isEqualTo(2);
        assertThat(u.rowsReturned()).isEqualTo(2);
        assertThat(u.rowsWritten()).isEqualTo(2);
        List<String> ids = List.of(
                new String(r.rows().get(0), 6, r.rows().get(0).length - 6, StandardCharsets.UTF_8),
                new String(r.rows().get(1), 6, r.rows().get(1).length - 6, StandardCharsets.UTF_8));
        assertThat(u.keysOf("public.items")).isEqualTo(ids);
        assertThat(u.keysOf("public.items")).allMatch(k -> k.matches("\\d+"));
    }

    @Test
    void updateAndDeleteWithoutReturningTakeKeysFromASimpleWhere() throws Exception {
        UsageTracker tracker = tracker();
        String upd = "UPDATE customers SET name = 'x' WHERE id = 12";
        StatementUsage one = replay(track(tracker, "a1", write(upd, "UPDATE", "public.customers"), List.of()), pg.query(upd).get(0), T);
        assertThat(one.rowsAffected()).isEqualTo(1);
        assertThat(one.keys()).isEqualTo(Map.of("public.customers", List.of("12")));

        String in = "UPDATE public.customers AS c SET name = 'y' WHERE c.id IN (13, 14, 15) AND name <> 'zzz'";
        StatementUsage three = replay(track(tracker, "a1", write(in, "UPDATE", "public.customers"), List.of()), pg.query(in).get(0), T);
        assertThat(three.keysOf("public.customers")).containsExactly("13", "14", "15");

        // 99 does not exist: 2 rows affected of 3 candidates, so which ones is not certain: no claim.
        String partial = "UPDATE customers SET name = 'z' WHERE id IN (16, 17, 99)";
        StatementUsage unsure = replay(track(tracker, "a1", write(partial, "UPDATE", "public.customers"), List.of()), pg.query(partial).get(0), T);
        assertThat(unsure.rowsAffected()).isEqualTo(2);
        assertThat(unsure.keys()).isEmpty();

        db.execute("INSERT INTO orders VALUES (1, 3, 7)");
        String del = "DELETE FROM orders WHERE customer_id = $1 AND line = $2";
        StatementUsage deleted = replay(track(tracker, "a1", write(del, "DELETE", "public.orders"), params("3", "1")),
                pg.execute(del, List.of("3", "1")), T);
        assertThat(deleted.rowsAffected()).isEqualTo(1);
        assertThat(deleted.keysOf("public.orders")).containsExactly("(3,1)");

        String or = "UPDATE customers SET name = 'w' WHERE id = 18 OR id = 19";
        StatementUsage orred = replay(track(tracker, "a1", write(or, "UPDATE", "public.customers"), List.of()), pg.query(or).get(0), T);
        assertThat(orred.rowsAffected()).isEqualTo(2);
        assertThat(orred.keys()).isEmpty();
    }

    @Test
    void insertWithoutReturningTakesKeysFromItsValues() throws Exception {
        String sql = "INSERT INTO ledger (id, note) VALUES (101, 'n'), (102, 'm')";
        StatementUsage u = replay(track(tracker(), "a1", write(sql, "INSERT", "public.ledger"), List.of()), pg.query(sql).get(0), T);
        assertThat(u.rowsAffected()).isEqualTo(2);
        assertThat(u.keysOf("public.ledger")).containsExactly("101", "102");

        // One of two conflicts and is skipped: which one is not the tracker's to guess from the count alone.
        String again = "INSERT INTO ledger (id, note) VALUES (102, 'dup'), (103, 'new') ON CONFLICT DO NOTHING";
        StatementUsage partial = replay(track(tracker(), "a1", write(again, "INSERT", "public.ledger"), List.of()), pg.query(again).get(0), T);
        assertThat(partial.rowsAffected()).isEqualTo(1);
        assertThat(partial.keys()).isEmpty();
    }

    @Test
    void updateReturningPrefersTheReturnedKeys() throws Exception {
        String sql = "UPDATE customers SET name = 'r' WHERE name LIKE 'name 2%' RETURNING id";
        RawPgClient.Result r = pg.query(sql).get(0);
        StatementUsage u = replay(track(tracker(), "a1", write(sql, "UPDATE", "public.customers"), List.of()), r, T);
        assertThat(u.rowsAffected()).isEqualTo(11); // 2, 20..29
        assertThat(u.keysOf("public.customers")).containsExactlyInAnyOrder("2", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29");
    }

    @Test
    void countersAddUpPerAgentAndTable() throws Exception {
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        UsageCounters counters = new UsageCounters(registry);
        UsageTracker tracker = new UsageTracker(resolver, TrackingSettings.DEFAULTS, counters);
        String sel = "SELECT id FROM customers WHERE id <= 4";
        replay(track(tracker, "a1", read(sel, "public.customers"), List.of()), pg.query(sel).get(0), T);
        replay(track(tracker, "a1", read(sel, "public.customers"), List.of()), pg.query(sel).get(0), T.plusSeconds(60));
        String upd = "UPDATE orders SET amount = amount + 1 WHERE customer_id = 1";
        replay(track(tracker, "a2", write(upd, "UPDATE", "public.orders"), List.of()), pg.query(upd).get(0), T.plusSeconds(30));

        assertThat(counters.snapshot()).containsExactly(
                new TableUsage("a1", "public.customers", 2, 8, 0, T, T.plusSeconds(60)),
                new TableUsage("a2", "public.orders", 1, 0, 2, T.plusSeconds(30), T.plusSeconds(30)));
        assertThat(registry.get("countersign.tracking.rows.read").tags("agent", "a1", "table", "public.customers")
                .functionCounter().count()).isEqualTo(8.0);
        assertThat(registry.get("countersign.tracking.rows.written").tags("agent", "a2", "table", "public.orders")
                .functionCounter().count()).isEqualTo(2.0);
        assertThat(registry.get("countersign.tracking.statements").tags("agent", "a1", "table", "public.customers")
                .functionCounter().count()).isEqualTo(2.0);
    }
}
