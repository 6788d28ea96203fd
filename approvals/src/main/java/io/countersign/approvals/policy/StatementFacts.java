package io.countersign.approvals.policy;

import io.countersign.analysis.StatementAnalysis;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Everything the policy looks at for one statement string sent by an agent.
 *
 * @param agent       the agent's identity as authenticated by the proxy
 * @param agentGroups the groups the agent belongs to (from the config)
 * @param owner       the human responsible for the agent; may never decide on its requests
 * @param database    the database the agent is connected to
 * @param statements  the analysis of each statement in the string, in order
 */
public record StatementFacts(
        String agent, Set<String> agentGroups, String owner, String database, List<StatementAnalysis> statements) {

    public StatementFacts {
        Objects.requireNonNull(agent, "agent");
        agentGroups = agentGroups == null ? Set.of() : Set.copyOf(agentGroups);
        owner = owner == null ? "" : owner;
        database = database == null ? "" : database;
        statements = List.copyOf(statements);
    }

    /** The shape of the whole string: the statements' fingerprints joined; what a grant is bound to. */
    public String fingerprint() {
        return statements.stream().map(StatementAnalysis::fingerprint).collect(Collectors.joining("; "));
    }
}
