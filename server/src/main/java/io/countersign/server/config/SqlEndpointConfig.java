package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code tracking.sql-endpoint}: the audit as a read-only database on Countersign's own PostgreSQL
 * listener, for data teams and BI tools ({@code psql "host=... dbname=countersign_audit user=ana"}).
 * Analysts log in with the same SCRAM exchange agents use; agents can never reach it.
 *
 * @param enabled  whether the endpoint is served (default: true when analysts are listed)
 * @param database the database name clients connect to (default {@code countersign_audit})
 * @param analysts who may connect: name and password or SCRAM verifier
 * @param maxRows  most rows one result may have (default 100,000)
 * @param threads  queries that may run at once (default 2)
 */
public record SqlEndpointConfig(
        Boolean enabled,
        String database,
        List<AnalystConfig> analysts,
        @JsonProperty("max-rows") Integer maxRows,
        Integer threads) implements ConfigSection {

    public static final SqlEndpointConfig DISABLED = new SqlEndpointConfig(false, null, null, null, null);

    public SqlEndpointConfig {
        analysts = ConfigLists.copy(analysts);
        enabled = enabled == null ? !analysts.isEmpty() : enabled;
        database = database == null ? "countersign_audit" : database;
        maxRows = maxRows == null ? 100_000 : maxRows;
        threads = threads == null ? 2 : threads;
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        if (!enabled) {
            return;
        }
        if (analysts.isEmpty()) {
            problems.add(Problems.join(at, "analysts"), "the endpoint is enabled but lists no analyst; add {name, password} entries "
                    + "or set enabled: false");
        }
        if (root.backends().stream().anyMatch(b -> b != null && database.equals(b.name()))) {
            problems.add(Problems.join(at, "database"), "'" + database + "' is also a backend's name; the audit endpoint needs a name of its own");
        }
        Set<String> agents = new HashSet<>();
        root.agents().forEach(a -> {
            if (a != null && a.name() != null) {
                agents.add(a.name());
            }
        });
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < analysts.size(); i++) {
            AnalystConfig a = analysts.get(i);
            if (a == null || a.name() == null) {
                continue;
            }
            if (agents.contains(a.name())) {
                problems.add(Problems.join(at, "analysts") + "[" + i + "]", "'" + a.name() + "' is also an agent; analysts and agents "
                        + "log in on the same listener, so each needs its own name (agents may never read the audit)");
            }
            if (!seen.add(a.name())) {
                problems.add(Problems.join(at, "analysts") + "[" + i + "]", "analyst '" + a.name() + "' is listed twice");
            }
        }
        if (maxRows < 1) {
            problems.add(Problems.join(at, "max-rows"), maxRows + " is too small; expected a number of rows, e.g. 100000");
        }
        if (threads < 1) {
            problems.add(Problems.join(at, "threads"), threads + " is too small; expected at least 1");
        }
    }
}
