package io.countersign.wire.pg;

import io.countersign.wire.spi.LocalDatabase;
import io.countersign.wire.spi.LocalDatabase.LocalQueryException;
import io.countersign.wire.spi.LocalDatabase.LocalResult;
import io.countersign.wire.spi.ProtocolError;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session Countersign answers itself ({@code AgentAuthenticator.Route.Local}): the PostgreSQL
 * protocol v3 after authentication, simple and extended query, for a {@link LocalDatabase}.
 *
 * <p>Runs on the connection's event loop. Messages are parsed into small records as they arrive and
 * handled one at a time; while the database works (on its own threads) later messages wait in the
 * queue, and past {@link #MAX_QUEUED} of them the socket stops being read. Results are text by
 * default; binary columns are encoded from the text for the types pgjdbc asks binary for.
 */
final class LocalSession {

    private static final Logger log = LoggerFactory.getLogger(LocalSession.class);

    /** Largest message accepted: statements are short, there is nothing to upload. */
    static final int MAX_MESSAGE = 16 * 1024 * 1024;
    private static final int MAX_QUEUED = 256;
    private static final LocalDate PG_EPOCH = LocalDate.of(2000, 1, 1);
    private static final OffsetDateTime PG_EPOCH_TS = OffsetDateTime.of(2000, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

    private sealed interface Msg {}
    private record Query(String sql) implements Msg {}
    private record Parse(String name, String sql, int[] types) implements Msg {}
    private record Bind(String portal, String statement, short[] paramFormats, byte[][] params, short[] resultFormats) implements Msg {}
    private record Describe(char kind, String name) implements Msg {}
    private record Execute(String portal, int maxRows) implements Msg {}
    private record Close(char kind, String name) implements Msg {}
    private record Sync() implements Msg {}
    private record Flush() implements Msg {}
    private record Terminate() implements Msg {}
    private record Unsupported(int type) implements Msg {}

    private record Prepared(String sql, int[] types) {}

    private static final class Portal {
        final Prepared statement;
        final List<String> params;
        final short[] resultFormats;
        LocalResult result;
        int position;

        Portal(Prepared statement, List<String> params, short[] resultFormats) {
            this.statement = statement;
            this.params = params;
            this.resultFormats = resultFormats;
        }
    }

    private final Channel channel;
    private final LocalDatabase db;
    private final ArrayDeque<Msg> queue = new ArrayDeque<>();
    private final Map<String, Prepared> statements = new HashMap<>();
    private final Map<String, Portal> portals = new HashMap<>();
    private boolean busy;
    private boolean skipToSync;
    private boolean closed;
    private char transaction = 'I';

    LocalSession(Channel channel, LocalDatabase db) {
        this.channel = channel;
        this.db = db;
    }

    /** After AuthenticationOk: the parameters clients check (pgjdbc needs UTF8 and ISO dates), then ready. */
    void start() {
        Map<String, String> params = new java.util.LinkedHashMap<>();
        params.put("server_version", "15.0 (Countersign)");
        params.put("server_encoding", "UTF8");
        params.put("client_encoding", "UTF8");
        params.put("DateStyle", "ISO, MDY");
        params.put("IntervalStyle", "postgres");
        params.put("TimeZone", "UTC");
        params.put("integer_datetimes", "on");
        params.put("standard_conforming_strings", "on");
        params.put("is_superuser", "off");
        params.forEach((k, v) -> channel.write(PgOut.parameterStatus(channel.alloc(), k, v)));
        channel.write(PgOut.backendKeyData(channel.alloc(), Scram.RANDOM.nextInt(), Scram.RANDOM.nextInt()));
        channel.writeAndFlush(PgOut.readyForQuery(channel.alloc(), transaction));
    }

    /** One whole message from the client (type byte first); read now, handled in order. */
    void fromClient(ByteBuf buf, int index, int size) {
        if (closed) {
            return;
        }
        queue.add(parse(buf, index, size));
        if (queue.size() >= MAX_QUEUED) {
            channel.config().setAutoRead(false);
        }
        pump();
    }

    void clientClosed() {
        if (!closed) {
            closed = true;
            queue.clear();
            portals.clear();
            db.close();
        }
    }

    // ------------------------------------------------------------------ reading

    private static Msg parse(ByteBuf b, int index, int size) {
        int type = b.getByte(index);
        int p = index + 5;
        int end = index + size;
        switch (type) {
            case 'Q' -> {
                return new Query(PgOut.readCString(b, p));
            }
            case 'P' -> {
                String name = cstring(b, p, end);
                p += utf8Length(b, p, end) + 1;
                String sql = cstring(b, p, end);
                p += utf8Length(b, p, end) + 1;
                int n = b.getUnsignedShort(p);
                p += 2;
                int[] types = new int[n];
                for (int i = 0; i < n; i++, p += 4) {
                    types[i] = b.getInt(p);
                }
                return new Parse(name, sql, types);
            }
            case 'B' -> {
                String portal = cstring(b, p, end);
                p += utf8Length(b, p, end) + 1;
                String stmt = cstring(b, p, end);
                p += utf8Length(b, p, end) + 1;
                short[] formats = new short[b.getUnsignedShort(p)];
                p += 2;
                for (int i = 0; i < formats.length; i++, p += 2) {
                    formats[i] = b.getShort(p);
                }
                byte[][] params = new byte[b.getUnsignedShort(p)][];
                p += 2;
                for (int i = 0; i < params.length; i++) {
                    int len = b.getInt(p);
                    p += 4;
                    if (len >= 0) {
                        if (p + len > end) {
                            throw new IndexOutOfBoundsException("parameter " + (i + 1) + " runs past the Bind message");
                        }
                        params[i] = new byte[len];
                        b.getBytes(p, params[i]);
                        p += len;
                    }
                }
                short[] results = new short[b.getUnsignedShort(p)];
                p += 2;
                for (int i = 0; i < results.length; i++, p += 2) {
                    results[i] = b.getShort(p);
                }
                return new Bind(portal, stmt, formats, params, results);
            }
            case 'D' -> {
                return new Describe((char) b.getByte(p), cstring(b, p + 1, end));
            }
            case 'E' -> {
                String portal = cstring(b, p, end);
                return new Execute(portal, b.getInt(p + utf8Length(b, p, end) + 1));
            }
            case 'C' -> {
                return new Close((char) b.getByte(p), cstring(b, p + 1, end));
            }
            case 'S' -> {
                return new Sync();
            }
            case 'H' -> {
                return new Flush();
            }
            case 'X' -> {
                return new Terminate();
            }
            default -> {
                return new Unsupported(type);
            }
        }
    }

    private static String cstring(ByteBuf b, int p, int end) {
        int nul = b.indexOf(p, end, (byte) 0);
        if (nul < 0) {
            throw new IllegalArgumentException("string without its NUL terminator");
        }
        return b.toString(p, nul - p, StandardCharsets.UTF_8);
    }

    private static int utf8Length(ByteBuf b, int p, int end) {
        return b.indexOf(p, end, (byte) 0) - p;
    }

    // ------------------------------------------------------------------ handling

    private void pump() {
        while (!busy && !closed && !queue.isEmpty()) {
            Msg m = queue.poll();
            try {
                handle(m);
            } catch (LocalQueryException e) {
                fail(m, e.error());
            } catch (RuntimeException e) {
                log.error("audit endpoint: internal error handling {}", m.getClass().getSimpleName(), e);
                fail(m, new ProtocolError("XX000", 1105, "internal error in Countersign's audit endpoint: " + e
                        + "; see the Countersign log", null));
            }
        }
        if (!closed && queue.size() < MAX_QUEUED / 2 && !channel.config().isAutoRead()) {
            channel.config().setAutoRead(true);
        }
    }

    private void handle(Msg m) {
        if (skipToSync && !(m instanceof Sync) && !(m instanceof Terminate)) {
            return; // after an error in the extended protocol everything up to Sync is discarded
        }
        switch (m) {
            case Query q -> simpleQuery(q.sql());
            case Parse p -> {
                if (!p.name().isEmpty() && statements.containsKey(p.name())) {
                    throw error("42P05", "prepared statement \"" + p.name() + "\" already exists; close it first");
                }
                statements.put(p.name(), new Prepared(p.sql(), p.types()));
                channel.write(simple('1'));
            }
            case Bind b -> bind(b);
            case Describe d -> describe(d);
            case Execute e -> execute(e);
            case Close c -> {
                if (c.kind() == 'S') {
                    statements.remove(c.name());
                } else {
                    portals.remove(c.name());
                }
                channel.write(simple('3'));
            }
            case Sync s -> {
                skipToSync = false;
                portals.remove("");
                channel.writeAndFlush(PgOut.readyForQuery(channel.alloc(), transaction));
            }
            case Flush f -> channel.flush();
            case Terminate t -> {
                clientClosed();
                channel.close();
            }
            case Unsupported u -> throw error("0A000", "message type " + RelaySession.describeType(u.type())
                    + " is not supported by Countersign's audit endpoint; it answers queries only (no COPY, no function calls)");
        }
    }

    private void simpleQuery(String sql) {
        if (sql.isBlank()) {
            channel.write(simple('I'));
            channel.writeAndFlush(PgOut.readyForQuery(channel.alloc(), transaction));
            return;
        }
        await(db.execute(sql, List.of()), r -> {
            // the simple protocol has no NoData: a statement without columns sends only its CommandComplete
            writeResult(r, null, 0, r.rows().size(), !r.columns().isEmpty());
            channel.write(commandComplete(r.tag()));
            channel.writeAndFlush(PgOut.readyForQuery(channel.alloc(), transaction));
        }, new Query(sql));
    }

    private void bind(Bind b) {
        Prepared stmt = statements.get(b.statement());
        if (stmt == null) {
            throw error("26000", "prepared statement \"" + b.statement() + "\" does not exist");
        }
        if (b.paramFormats().length > 1 && b.paramFormats().length != b.params().length) {
            throw error("08P01", "Bind has " + b.paramFormats().length + " parameter format codes for " + b.params().length + " parameters");
        }
        List<String> params = new ArrayList<>(b.params().length);
        for (int i = 0; i < b.params().length; i++) {
            byte[] v = b.params()[i];
            int format = b.paramFormats().length == 0 ? 0 : b.paramFormats()[b.paramFormats().length == 1 ? 0 : i];
            int type = i < stmt.types().length ? stmt.types()[i] : 0;
            params.add(v == null ? null : format == 0 ? new String(v, StandardCharsets.UTF_8) : binaryParameter(v, type, i + 1));
        }
        if (!b.portal().isEmpty() && portals.containsKey(b.portal())) {
            throw error("42P03", "portal \"" + b.portal() + "\" already exists; close it first");
        }
        portals.put(b.portal(), new Portal(stmt, params, b.resultFormats()));
        channel.write(simple('2'));
    }

    private void describe(Describe d) {
        if (d.kind() == 'S') {
            Prepared stmt = statements.get(d.name());
            if (stmt == null) {
                throw error("26000", "prepared statement \"" + d.name() + "\" does not exist");
            }
            await(db.describe(stmt.sql()), r -> {
                ByteBuf t = channel.alloc().buffer(7 + 4 * r.parameterCount());
                t.writeByte('t').writeInt(0).writeShort(r.parameterCount());
                for (int i = 0; i < r.parameterCount(); i++) {
                    t.writeInt(i < stmt.types().length && stmt.types()[i] != 0 ? stmt.types()[i] : 25);
                }
                channel.write(end(t));
                writeResult(r, null, 0, 0, true);
            }, d);
            return;
        }
        Portal portal = portal(d.name());
        withResult(portal, d, r -> writeResult(r, portal.resultFormats, 0, 0, true));
    }

    private void execute(Execute e) {
        Portal portal = portal(e.portal());
        withResult(portal, e, r -> {
            int from = portal.position;
            int to = e.maxRows() > 0 ? (int) Math.min((long) from + e.maxRows(), r.rows().size()) : r.rows().size();
            if (r.columns().isEmpty() && r.tag().isEmpty()) {
                channel.write(simple('I'));
                return;
            }
            writeResult(r, portal.resultFormats, from, to, false);
            portal.position = to;
            if (to < r.rows().size()) {
                channel.write(simple('s'));
            } else {
                channel.write(commandComplete(r.tag()));
            }
        });
    }

    private Portal portal(String name) {
        Portal p = portals.get(name);
        if (p == null) {
            throw error("34000", "portal \"" + name + "\" does not exist");
        }
        return p;
    }

    /** A portal runs once, at its first Describe or Execute; later Executes page through the same rows. */
    private void withResult(Portal portal, Msg m, Consumer<LocalResult> then) {
        if (portal.result != null) {
            then.accept(portal.result);
            return;
        }
        if (portal.statement.sql().isBlank()) {
            portal.result = new LocalResult(List.of(), List.of(), "", 0);
            then.accept(portal.result);
            return;
        }
        await(db.execute(portal.statement.sql(), portal.params), r -> {
            portal.result = r;
            then.accept(r);
        }, m);
    }

    /** Waits for the database off the event loop, then continues on it and handles the next messages. */
    private void await(CompletableFuture<LocalResult> work, Consumer<LocalResult> then, Msg m) {
        busy = true;
        work.whenComplete((r, ex) -> channel.eventLoop().execute(() -> {
            busy = false;
            if (closed) {
                return;
            }
            try {
                if (ex != null) {
                    Throwable cause = ex instanceof CompletionException && ex.getCause() != null ? ex.getCause() : ex;
                    if (cause instanceof LocalQueryException q) {
                        fail(m, q.error());
                    } else {
                        log.error("audit endpoint: a query failed unexpectedly", cause);
                        fail(m, new ProtocolError("XX000", 1105, "Countersign's audit endpoint failed: " + cause
                                + "; see the Countersign log", null));
                    }
                } else {
                    applyTransaction(r.tag());
                    then.accept(r);
                }
            } catch (LocalQueryException e) {
                fail(m, e.error());
            }
            channel.flush();
            pump();
        }));
    }

    private void applyTransaction(String tag) {
        switch (tag) {
            case "BEGIN" -> transaction = 'T';
            case "COMMIT", "ROLLBACK" -> transaction = 'I';
            default -> { }
        }
    }

    /** An error: in the simple protocol the query ends with ReadyForQuery, in the extended one the rest up to Sync is skipped. */
    private void fail(Msg m, ProtocolError e) {
        channel.write(PgOut.error(channel.alloc(), "ERROR", e));
        if (m instanceof Query) {
            channel.write(PgOut.readyForQuery(channel.alloc(), transaction));
        } else {
            skipToSync = true;
        }
        channel.flush();
    }

    // ------------------------------------------------------------------ writing

    /** RowDescription (or NoData) when {@code describe}, then rows {@code from} to {@code to}. */
    private void writeResult(LocalResult r, short[] formats, int from, int to, boolean describe) {
        int n = r.columns().size();
        boolean[] binary = new boolean[n];
        for (int i = 0; i < n; i++) {
            int f = formats == null || formats.length == 0 ? 0 : formats[formats.length == 1 ? 0 : i];
            binary[i] = f == 1;
        }
        if (describe) {
            if (n == 0) {
                channel.write(simple('n'));
            } else {
                ByteBuf t = channel.alloc().buffer(7 + n * 32);
                t.writeByte('T').writeInt(0).writeShort(n);
                for (int i = 0; i < n; i++) {
                    LocalResult.Column c = r.columns().get(i);
                    PgOut.cstring(t, c.name());
                    t.writeInt(0).writeShort(0).writeInt(c.typeOid()).writeShort(typeLength(c.typeOid())).writeInt(-1)
                            .writeShort(binary[i] ? 1 : 0);
                }
                channel.write(end(t));
            }
        }
        for (int row = from; row < to; row++) {
            List<String> values = r.rows().get(row);
            ByteBuf d = channel.alloc().buffer(7 + n * 16);
            d.writeByte('D').writeInt(0).writeShort(n);
            for (int i = 0; i < n; i++) {
                String v = values.get(i);
                if (v == null) {
                    d.writeInt(-1);
                } else if (binary[i]) {
                    byte[] bytes = binaryValue(v, r.columns().get(i));
                    d.writeInt(bytes.length).writeBytes(bytes);
                } else {
                    int at = d.writerIndex();
                    d.writeInt(0);
                    int len = d.writeCharSequence(v, StandardCharsets.UTF_8);
                    d.setInt(at, len);
                }
            }
            channel.write(end(d));
        }
    }

    private ByteBuf simple(char type) {
        return channel.alloc().buffer(5).writeByte(type).writeInt(4);
    }

    private ByteBuf commandComplete(String tag) {
        ByteBuf b = channel.alloc().buffer(6 + tag.length());
        b.writeByte('C').writeInt(0);
        PgOut.cstring(b, tag);
        return end(b);
    }

    private static ByteBuf end(ByteBuf b) {
        return b.setInt(1, b.writerIndex() - 1);
    }

    private static int typeLength(int oid) {
        return switch (oid) {
            case 16 -> 1;
            case 21 -> 2;
            case 23, 26, 700, 1082 -> 4;
            case 20, 701, 1114, 1184 -> 8;
            case 2950 -> 16;
            default -> -1;
        };
    }

    private static LocalQueryException error(String state, String message) {
        return new LocalQueryException(new ProtocolError(state, 1105, message, null));
    }

    // ------------------------------------------------------------------ binary format

    /** A binary parameter as text, for the types clients send binary (pgjdbc: integers, floats, bool, uuid, bytea). */
    private static String binaryParameter(byte[] v, int type, int position) {
        ByteBuf b = io.netty.buffer.Unpooled.wrappedBuffer(v);
        try {
            return switch (type) {
                case 16 -> v.length == 1 ? (v[0] != 0 ? "true" : "false") : badLength(type, v, position);
                case 21 -> v.length == 2 ? Short.toString(b.getShort(0)) : badLength(type, v, position);
                case 23, 26 -> v.length == 4 ? Integer.toString(b.getInt(0)) : badLength(type, v, position);
                case 20 -> v.length == 8 ? Long.toString(b.getLong(0)) : badLength(type, v, position);
                case 700 -> v.length == 4 ? Float.toString(b.getFloat(0)) : badLength(type, v, position);
                case 701 -> v.length == 8 ? Double.toString(b.getDouble(0)) : badLength(type, v, position);
                case 25, 1043, 1042, 19, 18 -> new String(v, StandardCharsets.UTF_8);
                case 2950 -> v.length == 16 ? new UUID(b.getLong(0), b.getLong(8)).toString() : badLength(type, v, position);
                case 1082 -> v.length == 4 ? PG_EPOCH.plusDays(b.getInt(0)).toString() : badLength(type, v, position);
                case 1114, 1184 -> v.length == 8 ? PG_EPOCH_TS.plus(b.getLong(0), ChronoUnit.MICROS).toString() : badLength(type, v, position);
                default -> throw error("0A000", "parameter $" + position + " is binary of type OID " + type
                        + ", which Countersign's audit endpoint does not decode; send it as text");
            };
        } finally {
            b.release();
        }
    }

    private static String badLength(int type, byte[] v, int position) {
        throw error("22P03", "binary parameter $" + position + " of type OID " + type + " has " + v.length + " bytes, which is not a valid length");
    }

    /** The binary form of a text value the database produced, for a column the client asked binary for. */
    private static byte[] binaryValue(String v, LocalResult.Column c) {
        try {
            return switch (c.typeOid()) {
                case 16 -> new byte[] {(byte) (v.equals("t") || v.equals("true") ? 1 : 0)};
                case 21 -> java.nio.ByteBuffer.allocate(2).putShort(Short.parseShort(v)).array();
                case 23, 26 -> java.nio.ByteBuffer.allocate(4).putInt(Integer.parseInt(v)).array();
                case 20 -> java.nio.ByteBuffer.allocate(8).putLong(Long.parseLong(v)).array();
                case 700 -> java.nio.ByteBuffer.allocate(4).putFloat(Float.parseFloat(v)).array();
                case 701 -> java.nio.ByteBuffer.allocate(8).putDouble(Double.parseDouble(v)).array();
                case 1082 -> java.nio.ByteBuffer.allocate(4).putInt((int) ChronoUnit.DAYS.between(PG_EPOCH, LocalDate.parse(v))).array();
                case 1184 -> java.nio.ByteBuffer.allocate(8).putLong(ChronoUnit.MICROS.between(PG_EPOCH_TS, timestamptz(v))).array();
                case 1114 -> java.nio.ByteBuffer.allocate(8).putLong(ChronoUnit.MICROS.between(PG_EPOCH_TS.toLocalDateTime(),
                        LocalDateTime.parse(v.replace(' ', 'T')))).array();
                case 1700 -> numeric(v);
                case 2950 -> {
                    UUID u = UUID.fromString(v);
                    yield java.nio.ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).array();
                }
                case 25, 1043, 1042, 19, 18, 114, 3802 -> v.getBytes(StandardCharsets.UTF_8);
                default -> throw error("0A000", "column \"" + c.name() + "\" (type OID " + c.typeOid()
                        + ") cannot be sent in binary by Countersign's audit endpoint; request text results");
            };
        } catch (RuntimeException e) {
            if (e instanceof LocalQueryException q) {
                throw q;
            }
            throw error("22P03", "column \"" + c.name() + "\" value '" + v + "' cannot be encoded as binary type OID "
                    + c.typeOid() + ": " + e.getMessage() + "; request text results");
        }
    }

    /** {@code 2026-11-28 06:52:44.97262+00} (PostgreSQL's text form in UTC) or any ISO offset date-time. */
    static OffsetDateTime timestamptz(String v) {
        String iso = v.replace(' ', 'T');
        if (iso.matches(".*[+-]\\d\\d$")) {
            iso += ":00";
        }
        return OffsetDateTime.parse(iso);
    }

    /** PostgreSQL's binary numeric: base-10000 digits with weight, sign and display scale. */
    static byte[] numeric(String text) {
        if (text.equals("NaN")) {
            return java.nio.ByteBuffer.allocate(8).putShort((short) 0).putShort((short) 0).putShort((short) 0xC000).putShort((short) 0).array();
        }
        BigDecimal v = new BigDecimal(text);
        int sign = v.signum() < 0 ? 0x4000 : 0;
        v = v.abs();
        int dscale = Math.max(0, v.scale());
        String plain = v.setScale(dscale).toPlainString();
        int dot = plain.indexOf('.');
        String intPart = dot < 0 ? plain : plain.substring(0, dot);
        String frac = dot < 0 ? "" : plain.substring(dot + 1);
        intPart = "0".repeat((4 - intPart.length() % 4) % 4) + intPart;
        frac = frac + "0".repeat((4 - frac.length() % 4) % 4);
        List<Integer> digits = new ArrayList<>();
        for (int i = 0; i < intPart.length(); i += 4) {
            digits.add(Integer.parseInt(intPart.substring(i, i + 4)));
        }
        for (int i = 0; i < frac.length(); i += 4) {
            digits.add(Integer.parseInt(frac.substring(i, i + 4)));
        }
        int weight = intPart.length() / 4 - 1;
        while (!digits.isEmpty() && digits.get(0) == 0) {
            digits.remove(0);
            weight--;
        }
        while (!digits.isEmpty() && digits.get(digits.size() - 1) == 0) {
            digits.remove(digits.size() - 1);
        }
        if (digits.isEmpty()) {
            weight = 0;
        }
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(8 + 2 * digits.size());
        out.putShort((short) digits.size()).putShort((short) weight).putShort((short) sign).putShort((short) dscale);
        digits.forEach(d -> out.putShort(d.shortValue()));
        return out.array();
    }
}
