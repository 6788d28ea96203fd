package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.List;

/**
 * The whole config file. Each top-level YAML key is one component; a new section (policy,
 * approvals, audit, analysis, slack, ...) is one more component whose type implements
 * {@link ConfigSection} if it has values to check. Keys that match no component fail the load.
 *
 * @param listeners where agents connect (required)
 * @param admin     the admin HTTP address (optional; default 127.0.0.1:8787)
 * @param backends  the databases Countersign forwards to (at least one)
 * @param agents    who may connect and where to (at least one)
 * @param dataDir   where Countersign keeps its own state: approvals store, audit (default ./countersign-data)
 * @param analysis  sensitive columns and the large-table threshold
 * @param policy    the approval policy file (default: the shipped policy)
 * @param approvals reviewers, the request store, ticket-mode agents
 * @param audit     the audit trail
 * @param tracking  row-level tracking
 * @param slack     the Slack app reviewers approve from (optional; read strictly by the Slack integration)
 * @param teams     Microsoft Teams: webhook notifications or the approval bot (optional; read strictly by the Teams integration)
 * @param identity  the identity provider: workload tokens for agents (optional)
 */
public record CountersignConfig(
        ListenersConfig listeners,
        AdminConfig admin,
        List<BackendConfig> backends,
        List<AgentConfig> agents,
        @JsonProperty("data-dir") String dataDir,
        AnalysisConfig analysis,
        PolicyConfig policy,
        ApprovalsConfig approvals,
        AuditSettings audit,
        TrackingConfig tracking,
        com.fasterxml.jackson.databind.JsonNode slack,
        com.fasterxml.jackson.databind.JsonNode teams,
        IdentityConfig identity) implements ConfigSection {

    public CountersignConfig {
        identity = identity == null ? IdentityConfig.DEFAULT : identity;
        admin = admin == null ? AdminConfig.DEFAULT : admin;
        dataDir = dataDir == null ? "countersign-data" : dataDir;
        analysis = analysis == null ? AnalysisConfig.DEFAULT : analysis;
        policy = policy == null ? PolicyConfig.DEFAULT : policy;
        approvals = approvals == null ? ApprovalsConfig.DEFAULT : approvals;
        audit = audit == null ? AuditSettings.DEFAULT : audit;
        tracking = tracking == null ? TrackingConfig.DEFAULT : tracking;
        backends = ConfigLists.copy(backends);
        agents = ConfigLists.copy(agents);
    }

    /** The same config with the given sections replaced (the demo and tests build configs in code). */
    public CountersignConfig with(String dataDir, ApprovalsConfig approvals, AuditSettings audit) {
        return new CountersignConfig(listeners, admin, backends, agents, dataDir, analysis, policy, approvals, audit, tracking, slack,
                teams, identity);
    }

    public CountersignConfig(ListenersConfig listeners, AdminConfig admin, List<BackendConfig> backends, List<AgentConfig> agents,
                             String dataDir, AnalysisConfig analysis, PolicyConfig policy, ApprovalsConfig approvals,
                             AuditSettings audit, TrackingConfig tracking, com.fasterxml.jackson.databind.JsonNode slack,
                             com.fasterxml.jackson.databind.JsonNode teams) {
        this(listeners, admin, backends, agents, dataDir, analysis, policy, approvals, audit, tracking, slack, teams, null);
    }

    public Path dataPath() {
        return Path.of(dataDir);
    }

    public AgentConfig agent(String name) {
        return agents.stream().filter(a -> a != null && name.equals(a.name())).findFirst().orElse(null);
    }

    public BackendConfig backend(String name) {
        return backends.stream().filter(b -> b != null && b.name() != null && b.name().equals(name)).findFirst().orElse(null);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        if (slack != null) {
            try {
                io.countersign.approvals.slack.SlackSettings.parse(slack, "slack");
            } catch (RuntimeException e) {
                problems.add("slack", e.getMessage());
            }
        }
        if (teams != null) {
            try {
                io.countersign.approvals.teams.TeamsSettings.parse(teams, "teams");
            } catch (RuntimeException e) {
                problems.add("teams", e.getMessage());
            }
        }
        problems.require(listeners, "listeners", "a mapping with a 'postgres' listener");
        problems.require(backends, "backends", "a list of at least one backend (name, host, port, database, user, ...)");
        problems.require(agents, "agents", "a list of at least one agent (name, owner, password or scram, backends)");
        // a PostgreSQL and a MySQL backend may share a name: agents reach each through its own listener
        for (BackendType type : BackendType.values()) {
            duplicates(backends.stream().map(b -> b == null || b.type() != type ? null : b.name()).toList(), "backends", problems);
        }
        duplicates(agents.stream().map(a -> a == null ? null : a.name()).toList(), "agents", problems);
        for (int i = 0; i < backends.size(); i++) {
            if (backends.get(i) == null) problems.add("backends[" + i + "]", "empty entry; expected a backend mapping");
        }
        for (int i = 0; i < agents.size(); i++) {
            if (agents.get(i) == null) problems.add("agents[" + i + "]", "empty entry; expected an agent mapping");
        }
    }

    private static void duplicates(List<String> names, String key, Problems problems) {
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            if (n != null && names.subList(0, i).contains(n)) {
                problems.add(key + "[" + i + "].name", "'" + n + "' is already used by " + key + "[" + names.indexOf(n)
                        + "]; expected a unique name");
            }
        }
    }
}
