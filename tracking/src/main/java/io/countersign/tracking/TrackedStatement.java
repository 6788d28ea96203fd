package io.countersign.tracking;

import io.countersign.analysis.StatementAnalysis;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.ResultColumn;
import io.countersign.wire.spi.ResultObserver;
import io.countersign.wire.spi.ReusedColumns;
import io.countersign.wire.spi.StatementCompletion;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Tracking for one allowed statement: the {@link ResultObserver} the gate hands to the session, and,
 * once the session reports the completion, the {@link StatementUsage}. Lives on the session's event
 * loop: not thread-safe, never blocks, keeps no buffer past a call.
 */
public final class TrackedStatement implements ResultObserver {

    /** Where a table's primary key sits in the current result. */
    private record KeyPlan(String table, int[] columns, int[] types, boolean[] binary, boolean formatsKnown) {}

    private static final KeyPlan[] NO_PLANS = new KeyPlan[0];

    /**
     * What one result's columns mean for tracking: their catalog names (distinct, in order) and where
     * each table's key sits. Depends only on the columns and the inputs recorded with it, so a
     * prepared statement's executions share it (kept on its {@link ReusedColumns}).
     */
    private record ColumnPlan(UsageTracker tracker, ColumnResolver resolver, Object snapshot, ResultFormats formats, Protocol protocol,
                              String database, List<String> resultColumns, KeyPlan[] plans, int span, boolean unreadableKeys) {

        boolean fits(UsageTracker t, ColumnResolver r, Object snap, ResultFormats f, Protocol p, String db) {
            return tracker == t && resolver == r && snapshot == snap && formats == f && protocol == p
                    && java.util.Objects.equals(database, db);
        }
    }

    /** The key {@link ColumnPlan}s are kept under on a {@link ReusedColumns}. */
    private static final Object PLAN_MEMO = new Object();

    private final UsageTracker tracker;
    private final String agent;
    private final Protocol protocol;
    private final String database;
    private final List<StatementAnalysis> analyses;
    private final List<BoundParameter> parameters;
    private final KeyCollector keys;
    /** Result tracking switched off in the settings: count rows and bytes only. */
    private final boolean off;

    private ResultFormats formats = ResultFormats.ALL_TEXT;
    /** The catalog names of the result columns, distinct, in order: one result's plan list as it is, or a set merging several. */
    private Collection<String> resultColumns = List.of();
    private KeyPlan[] plans = NO_PLANS;
    private int[] offsets = new int[0];
    private int[] lengths = new int[0];
    /** Columns to walk in each row: up to and including the last key column of the current result. */
    private int span;
    /** The current result holds a table's key in a form we cannot decode: any row makes the key set incomplete. */
    private boolean unreadableKeys;
    private long rows;
    private long bytes;
    private boolean completed;
    /** Whether the session has shown this statement's result columns (rows without them cannot be keyed). */
    private boolean columnsSeen;

    TrackedStatement(UsageTracker tracker, String agent, Protocol protocol, String database,
                     List<StatementAnalysis> analyses, List<BoundParameter> parameters, TrackingSettings settings) {
        this.tracker = tracker;
        this.agent = agent;
        this.protocol = protocol;
        this.database = database;
        this.analyses = List.copyOf(analyses);
        this.parameters = List.copyOf(parameters);
        this.keys = new KeyCollector(settings.keyCap(), settings.keyHasher());
        this.off = !settings.enabled();
        if (off) {
            keys.markCapped(); // nothing is keyed: the (empty) key list must not look complete
        }
    }

    TrackedStatement unknownFormats(boolean unknown) {
        if (unknown) {
            formats = ResultFormats.UNKNOWN;
        }
        return this;
    }

    /**
     * The result's formats, when the session knows them (PostgreSQL Bind result format codes; MySQL
     * binary protocol rows are {@link ResultFormats#ALL_BINARY}). Call before the result's columns arrive.
     */
    public TrackedStatement formats(ResultFormats formats) {
        this.formats = formats;
        return this;
    }

    public String agent() {
        return agent;
    }

    @Override
    public ProtocolError onColumns(List<ResultColumn> columns) {
        columnsSeen = true;
        if (off) {
            return null;
        }
        ColumnResolver resolver = tracker.resolver();
        Object snapshot = columns instanceof ReusedColumns ? resolver.snapshot() : null;
        ColumnPlan plan = null;
        if (snapshot != null) {
            ReusedColumns reused = (ReusedColumns) columns;
            if (reused.memo(PLAN_MEMO) instanceof ColumnPlan kept && kept.fits(tracker, resolver, snapshot, formats, protocol, database)) {
                plan = kept;
            } else {
                plan = plan(columns, resolver, snapshot);
                reused.memo(PLAN_MEMO, plan);
            }
        } else {
            plan = plan(columns, resolver, null);
        }
        addResultColumns(plan.resultColumns());
        plans = plan.plans();
        unreadableKeys = plan.unreadableKeys();
        span = plan.span();
        if (offsets.length < span) {
            offsets = new int[span];
            lengths = new int[span];
        }
        return null;
    }

    private void addResultColumns(List<String> names) {
        if (names.isEmpty()) {
            return;
        }
        if (resultColumns.isEmpty()) {
            resultColumns = names; // distinct already; copied into a set only when a second result adds to it
            return;
        }
        if (!(resultColumns instanceof LinkedHashSet<String>)) {
            resultColumns = new LinkedHashSet<>(resultColumns);
        }
        resultColumns.addAll(names);
    }

    private ColumnPlan plan(List<ResultColumn> columns, ColumnResolver resolver, Object snapshot) {
        ColumnRef[] refs = new ColumnRef[columns.size()];
        int[] types = new int[columns.size()];
        LinkedHashSet<String> names = new LinkedHashSet<>();
        Map<String, Map<String, Integer>> byTable = new LinkedHashMap<>();
        for (int i = 0; i < refs.length; i++) {
            ResultColumn c = columns.get(i);
            if (protocol == Protocol.POSTGRESQL) {
                Optional<ColumnResolver.CatalogColumn> found = resolver.column(c.tableOid(), c.attnum());
                if (found.isPresent()) {
                    refs[i] = found.get().ref();
                    types[i] = found.get().typeOid();
                }
            } else if (c.table() != null && !c.table().isEmpty() && c.column() != null && !c.column().isEmpty()) {
                String schema = c.schema() == null || c.schema().isEmpty() ? database : c.schema();
                refs[i] = new ColumnRef(schema, c.table(), c.column());
                types[i] = resolver.typeOf(refs[i].qualifiedTable(), c.column());
            }
            if (refs[i] != null) {
                names.add(refs[i].toString());
                byTable.computeIfAbsent(refs[i].qualifiedTable(), t -> new LinkedHashMap<>()).putIfAbsent(refs[i].column(), i);
            }
        }
        List<KeyPlan> found = new ArrayList<>();
        boolean unreadable = false;
        int last = -1;
        for (var entry : byTable.entrySet()) {
            List<String> pk = resolver.primaryKey(entry.getKey());
            if (pk.isEmpty() || !entry.getValue().keySet().containsAll(pk)) {
                continue;
            }
            int[] idx = new int[pk.size()];
            int[] typ = new int[pk.size()];
            boolean[] bin = new boolean[pk.size()];
            boolean decodable = true;
            for (int k = 0; k < idx.length; k++) {
                idx[k] = entry.getValue().get(pk.get(k));
                typ[k] = types[idx[k]];
                bin[k] = formats.binary(idx[k]);
                // MySQL binary rows have a different layout, and PostgreSQL binary values need a known type.
                decodable &= protocol == Protocol.POSTGRESQL
                        ? !bin[k] || KeyValues.binaryDecodable(typ[k])
                        : formats.known() && !bin[k];
                last = Math.max(last, idx[k]);
            }
            if (decodable) {
                found.add(new KeyPlan(entry.getKey(), idx, typ, bin, formats.known()));
            } else {
                unreadable = true;
            }
        }
        return new ColumnPlan(tracker, resolver, snapshot, formats, protocol, database, List.copyOf(names), found.toArray(NO_PLANS),
                last + 1, unreadable);
    }

    @Override
    public void onRow(ByteBuf row) {
        rows++;
        bytes += row.readableBytes() + (protocol == Protocol.POSTGRESQL ? 5 : 4);
        if (off) {
            return;
        }
        if (!columnsSeen) {
            // Rows of a result whose columns the session never showed: they may carry keys we cannot see.
            keys.markCapped();
            return;
        }
        if (unreadableKeys) {
            keys.markCapped();
        }
        if (plans.length == 0) {
            return;
        }
        if (keys.full()) {
            keys.markCapped();
            return;
        }
        try {
            if (protocol == Protocol.POSTGRESQL ? !locatePg(row) : !locateMysqlText(row)) {
                return;
            }
            for (KeyPlan plan : plans) {
                String key = decodeKey(row, plan);
                if (key == UNREADABLE) {
                    keys.markCapped();
                } else if (key != null) {
                    keys.add(plan.table(), key);
                }
            }
        } catch (IndexOutOfBoundsException e) {
            // A row shorter than its own lengths say: the session would fail it anyway; stop claiming keys.
            plans = NO_PLANS;
            keys.markCapped();
        }
    }

    /** Fills offsets/lengths for columns up to the last key column of a DataRow body. */
    private boolean locatePg(ByteBuf row) {
        int pos = row.readerIndex();
        int count = row.getUnsignedShort(pos);
        pos += 2;
        if (count < span) {
            return false;
        }
        for (int c = 0; c < span; c++) {
            int len = row.getInt(pos);
            pos += 4;
            offsets[c] = pos;
            lengths[c] = len;
            if (len > 0) {
                pos += len;
            }
        }
        return pos <= row.writerIndex();
    }

    /** MySQL text resultset row: length-encoded strings, 0xFB for NULL. */
    private boolean locateMysqlText(ByteBuf row) {
        int pos = row.readerIndex();
        int end = row.writerIndex();
        for (int c = 0; c < span; c++) {
            if (pos >= end) {
                return false;
            }
            int first = row.getUnsignedByte(pos++);
            long len;
            if (first < 0xfb) {
                len = first;
            } else if (first == 0xfb) {
                len = -1;
            } else if (first == 0xfc) {
                len = row.getUnsignedShortLE(pos);
                pos += 2;
            } else if (first == 0xfd) {
                len = row.getUnsignedMediumLE(pos);
                pos += 3;
            } else if (first == 0xfe) {
                len = row.getLongLE(pos);
                pos += 8;
            } else {
                return false;
            }
            if (len > Integer.MAX_VALUE) {
                return false;
            }
            offsets[c] = pos;
            lengths[c] = (int) len;
            if (len > 0) {
                pos += (int) len;
            }
        }
        return pos <= end;
    }

    /** Marker: a key value was there but could not be read with certainty. Compared by identity. */
    private static final String UNREADABLE = new String("<unreadable>");

    /** The row's key for the plan, {@code null} when a key column is NULL, {@link #UNREADABLE} when uncertain. */
    private String decodeKey(ByteBuf row, KeyPlan plan) {
        int n = plan.columns().length;
        List<String> values = n == 1 ? null : new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            int c = plan.columns()[k];
            if (lengths[c] < 0) {
                return null;
            }
            String v = plan.formatsKnown()
                    ? KeyValues.decode(row, offsets[c], lengths[c], plan.binary()[k], plan.types()[k])
                    : KeyValues.decodeEither(row, offsets[c], lengths[c], plan.types()[k]);
            if (v == null) {
                return UNREADABLE;
            }
            if (n == 1) {
                return v;
            }
            values.add(v);
        }
        return KeyValues.render(values);
    }

    /**
     * The statement finished: builds its usage and adds it to the per-agent counters. Call once, from
     * the session's {@code StatementListener}, with the completion whose context carried this tracker.
     */
    public StatementUsage complete(StatementCompletion completion) {
        if (completed) {
            throw new IllegalStateException("TrackedStatement.complete called twice for one statement; "
                    + "call it once from the StatementListener");
        }
        completed = true;
        Set<String> tablesRead;
        Set<String> tablesWritten;
        Set<String> columnsRead;
        Set<String> columnsWritten;
        if (analyses.size() == 1) {
            // One statement (the usual case): its sets are immutable already and are used as they are.
            StatementAnalysis a = analyses.get(0);
            tablesRead = a.tablesRead();
            tablesWritten = a.tablesWritten();
            columnsRead = a.columnsRead();
            columnsWritten = a.columnsWritten();
        } else {
            tablesRead = new LinkedHashSet<>();
            tablesWritten = new LinkedHashSet<>();
            columnsRead = new LinkedHashSet<>();
            columnsWritten = new LinkedHashSet<>();
            for (StatementAnalysis a : analyses) {
                tablesRead.addAll(a.tablesRead());
                tablesWritten.addAll(a.tablesWritten());
                columnsRead.addAll(a.columnsRead());
                columnsWritten.addAll(a.columnsWritten());
            }
        }
        long affected = completion.rowsAffected();
        // Without RETURNING, a write's keys come from its WHERE, claimed only when the affected count proves them.
        if (!off && analyses.size() == 1 && completion.error() == null && affected >= 0) {
            StatementAnalysis a = analyses.get(0);
            if (!a.tablesWritten().isEmpty()) {
                WhereKeyMatcher.match(a.sql(), parameters, a.tablesWritten(), tracker.resolver())
                        .filter(c -> !keys.has(c.table()) && c.keys().size() == affected)
                        .ifPresent(c -> c.keys().forEach(k -> keys.add(c.table(), k)));
            }
        }
        Set<String> sensitive = Set.of();
        var isSensitive = tracker.settings().sensitiveColumn();
        for (String c : columnsRead) {
            if (isSensitive.test(c)) {
                sensitive = sensitive.isEmpty() ? new HashSet<>() : sensitive;
                sensitive.add(c);
            }
        }
        for (String c : resultColumns) {
            if (isSensitive.test(c)) {
                sensitive = sensitive.isEmpty() ? new HashSet<>() : sensitive;
                sensitive.add(c);
            }
        }
        long returned = Math.max(rows, completion.rowsReturned());
        long sent = completion.bytesSent() > 0 ? completion.bytesSent() : bytes;
        StatementUsage usage = new StatementUsage(tablesRead, tablesWritten, columnsRead, columnsWritten,
                List.copyOf(resultColumns), sensitive, returned, affected, sent,
                keys.snapshot(), tracker.settings().keyHasher() != null, keys.capped());
        tracker.counters().record(agent, usage, completion.ended());
        return usage;
    }
}
