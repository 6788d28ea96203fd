package io.countersign.tracking;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The keys one statement saw, per table, distinct, up to the cap over all tables. Hashes keys on the
 * way in when configured, so clear values never sit in the audit.
 */
final class KeyCollector {

    private final int cap;
    private final KeyHasher hasher;
    /** Made on the first key: most statements (aggregates, results without a key column) collect none. */
    private Map<String, Set<String>> keys = Map.of();
    private int count;
    private boolean capped;

    KeyCollector(int cap, KeyHasher hasher) {
        this.cap = cap;
        this.hasher = hasher;
    }

    /** Whether a further key would be dropped; callers skip decoding then (the cap is also a cost bound). */
    boolean full() {
        return count >= cap;
    }

    void add(String table, String key) {
        String stored = hasher == null ? key : hasher.hash(key);
        Set<String> set = keys.get(table);
        if (set != null && set.contains(stored)) {
            return;
        }
        if (count >= cap) {
            capped = true;
            return;
        }
        if (keys.isEmpty()) {
            keys = new LinkedHashMap<>();
        }
        keys.computeIfAbsent(table, t -> new LinkedHashSet<>()).add(stored);
        count++;
    }

    /** A key exists past the cap that was not decoded: the set is incomplete. */
    void markCapped() {
        capped = true;
    }

    boolean capped() {
        return capped;
    }

    boolean has(String table) {
        return keys.containsKey(table);
    }

    Map<String, List<String>> snapshot() {
        if (keys.isEmpty()) {
            return Map.of();
        }
        Map<String, List<String>> out = new LinkedHashMap<>();
        keys.forEach((t, s) -> out.put(t, List.copyOf(s)));
        return out;
    }
}
