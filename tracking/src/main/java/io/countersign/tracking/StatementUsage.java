package io.countersign.tracking;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one statement touched: the analysis' tables and columns, and what the wire showed. Immutable;
 * the audit copies it into the statement's record.
 *
 * @param tablesRead        {@code schema.table} read, from the analysis
 * @param tablesWritten     {@code schema.table} written, from the analysis
 * @param columnsRead       {@code schema.table.column} read, from the analysis
 * @param columnsWritten    {@code schema.table.column} written, from the analysis
 * @param resultColumns     the result's columns that map to table columns, {@code schema.table.column}, in result order, distinct
 * @param sensitiveColumnsRead sensitive columns (per the settings) the statement read or returned
 * @param rowsReturned      rows sent to the client
 * @param rowsAffected      rows the backend reported inserted, updated or deleted; -1 when it reported none
 * @param bytes             bytes of result sent to the client
 * @param keys              per {@code schema.table}, the primary keys of the rows seen or changed, in first-seen order;
 *                          clear text or HMAC hex per {@link #keysHashed}
 * @param keysHashed        whether {@code keys} holds HMAC-SHA256 hex rather than values
 * @param keysCapped        true when there were more keys than the cap: {@code keys} is then a prefix, not the whole set
 */
public record StatementUsage(
        Set<String> tablesRead,
        Set<String> tablesWritten,
        Set<String> columnsRead,
        Set<String> columnsWritten,
        List<String> resultColumns,
        Set<String> sensitiveColumnsRead,
        long rowsReturned,
        long rowsAffected,
        long bytes,
        Map<String, List<String>> keys,
        boolean keysHashed,
        boolean keysCapped) {

    public StatementUsage {
        tablesRead = Set.copyOf(tablesRead);
        tablesWritten = Set.copyOf(tablesWritten);
        columnsRead = Set.copyOf(columnsRead);
        columnsWritten = Set.copyOf(columnsWritten);
        resultColumns = List.copyOf(resultColumns);
        sensitiveColumnsRead = Set.copyOf(sensitiveColumnsRead);
        if (keys.isEmpty()) {
            keys = Map.of();
        } else {
            Map<String, List<String>> copy = new java.util.HashMap<>();
            keys.forEach((table, values) -> copy.put(table, List.copyOf(values)));
            keys = Map.copyOf(copy);
        }
    }

    /** Keys of one table, empty when none were kept. */
    public List<String> keysOf(String qualifiedTable) {
        return keys.getOrDefault(qualifiedTable, List.of());
    }

    /**
     * Every key as one {@code schema.table:key} string, tables in name order: the audit's flat
     * {@code row_keys} list. The table part never holds ':' for tables Countersign tracks; the key may.
     */
    public List<String> rowKeys() {
        if (keys.isEmpty()) {
            return List.of();
        }
        List<String> out = new java.util.ArrayList<>();
        if (keys.size() == 1) { // one table: no sorting needed
            var only = keys.entrySet().iterator().next();
            for (String k : only.getValue()) {
                out.add(only.getKey() + ":" + k);
            }
            return out;
        }
        keys.keySet().stream().sorted().forEach(t -> keys.get(t).forEach(k -> out.add(t + ":" + k)));
        return out;
    }

    /** Rows written: the affected count when the backend reported one, else 0. */
    public long rowsWritten() {
        return tablesWritten.isEmpty() ? 0 : Math.max(rowsAffected, 0);
    }
}
