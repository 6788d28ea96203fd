package io.countersign.tracking;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * In-memory per-agent, per-table counters: statements, rows read, rows written, first and last
 * time. Updated from every event loop at once (adders, no locks); read through {@link #snapshot()} and
 * as Micrometer meters {@code countersign.tracking.statements}, {@code countersign.tracking.rows.read}
 * and {@code countersign.tracking.rows.written}, tagged {@code agent} and {@code table}.
 *
 * <p>Rows are attributed per statement: a statement reading tables A and B (a join) counts its
 * returned rows for each; a statement writing A counts its affected rows for A.
 */
public final class UsageCounters {

    private record Key(String agent, String table) {}

    private static final class Cell {
        final LongAdder statements = new LongAdder();
        final LongAdder rowsRead = new LongAdder();
        final LongAdder rowsWritten = new LongAdder();
        final AtomicReference<Instant> first = new AtomicReference<>();
        final AtomicReference<Instant> last = new AtomicReference<>();
    }

    private final ConcurrentHashMap<Key, Cell> cells = new ConcurrentHashMap<>();
    private final MeterRegistry registry;

    /** @param registry where the meters go; {@code null} keeps the counters in memory only */
    public UsageCounters(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Adds one statement's usage at {@code at}. */
    public void record(String agent, StatementUsage usage, Instant at) {
        if (at == null) {
            at = Instant.now();
        }
        Set<String> read = usage.tablesRead();
        Set<String> written = usage.tablesWritten();
        for (String table : read) {
            Cell cell = cell(agent, table);
            cell.statements.increment();
            cell.rowsRead.add(usage.rowsReturned());
            if (written.contains(table)) {
                cell.rowsWritten.add(Math.max(usage.rowsAffected(), 0));
            }
            touch(cell, at);
        }
        for (String table : written) {
            if (read.contains(table)) {
                continue;
            }
            Cell cell = cell(agent, table);
            cell.statements.increment();
            cell.rowsWritten.add(Math.max(usage.rowsAffected(), 0));
            touch(cell, at);
        }
    }

    private static void touch(Cell cell, Instant at) {
        // read first: every statement of every session on a table lands here, and an update that
        // changes nothing (first is almost always older, last often equal) need not take the cache line
        Instant first = cell.first.get();
        if (first == null || at.isBefore(first)) {
            cell.first.accumulateAndGet(at, (old, now) -> old == null || now.isBefore(old) ? now : old);
        }
        Instant last = cell.last.get();
        if (last == null || at.isAfter(last)) {
            cell.last.accumulateAndGet(at, (old, now) -> old == null || now.isAfter(old) ? now : old);
        }
    }

    private Cell cell(String agent, String table) {
        Key key = new Key(agent, table);
        Cell cell = cells.get(key);
        if (cell != null) {
            return cell;
        }
        return cells.computeIfAbsent(key, k -> {
            Cell c = new Cell();
            if (registry != null) {
                register("countersign.tracking.statements", "statements run by an agent on a table", k, c.statements);
                register("countersign.tracking.rows.read", "rows returned to an agent from statements reading a table", k, c.rowsRead);
                register("countersign.tracking.rows.written", "rows an agent inserted, updated or deleted in a table", k, c.rowsWritten);
            }
            return c;
        });
    }

    private void register(String name, String description, Key key, LongAdder adder) {
        FunctionCounter.builder(name, adder, LongAdder::doubleValue)
                .description(description)
                .tag("agent", key.agent())
                .tag("table", key.table())
                .register(registry);
    }

    /** Every agent and table seen, ordered by agent then table. */
    public List<TableUsage> snapshot() {
        List<TableUsage> out = new ArrayList<>(cells.size());
        cells.forEach((k, c) -> out.add(new TableUsage(k.agent(), k.table(), c.statements.sum(), c.rowsRead.sum(),
                c.rowsWritten.sum(), c.first.get(), c.last.get())));
        out.sort(Comparator.comparing(TableUsage::agent).thenComparing(TableUsage::table));
        return out;
    }
}
