package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.ReviewerConfig;
import io.countersign.approvals.ReviewerDirectory;
import io.countersign.approvals.oidc.OidcSettings;
import java.util.List;

/**
 * Requests, reviewers and where they are kept.
 *
 * @param store        {@code h2:PATH} (default: an embedded file under the data directory) or a
 *                     {@code jdbc:postgresql://...} URL shared by several Countersign replicas
 * @param replica      this instance's stable name when the store is shared (default: the host name)
 * @param consoleUrl   the console address reviewers open, used in notices and chat messages
 * @param ticketAgents agents in ticket mode: a held statement fails at once and runs once after approval
 * @param reviewers    reviewers: name, email, groups, token / token-sha256 / token-env
 * @param oidc         reviewer sign-in with an OpenID Connect provider (optional; read strictly by
 *                     {@link OidcSettings#parse}): issuer, client-id, client-secret, redirect-url, groups-claim,
 *                     email-claim, group-mapping, scopes, cli-client-id, session-hours
 */
public record ApprovalsConfig(
        String store,
        String replica,
        @JsonProperty("console-url") String consoleUrl,
        @JsonProperty("ticket-agents") List<String> ticketAgents,
        JsonNode reviewers,
        JsonNode oidc) implements ConfigSection {

    public static final ApprovalsConfig DEFAULT = new ApprovalsConfig(null, null, null, null, null, null);

    /** Without OIDC (the demo and tests that build configs in code). */
    public ApprovalsConfig(String store, String replica, String consoleUrl, List<String> ticketAgents, JsonNode reviewers) {
        this(store, replica, consoleUrl, ticketAgents, reviewers, null);
    }

    /** The parsed {@code approvals.oidc} section, or null when reviewers do not sign in with a provider. */
    public OidcSettings oidcSettings() {
        return oidc == null || oidc.isNull() ? null : OidcSettings.parse(oidc, "approvals.oidc");
    }

    public ApprovalsConfig {
        ticketAgents = ConfigLists.copy(ticketAgents);
    }

    /** The reviewer directory; every configured agent is registered as an identity that may never review. */
    public ReviewerDirectory reviewerDirectory(CountersignConfig root, String source) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.set("reviewers", reviewers == null ? JsonNodeFactory.instance.arrayNode() : reviewers);
        var agents = node.putArray("agents");
        for (AgentConfig a : root.agents()) {
            if (a != null && a.name() != null) {
                agents.add(a.name());
            }
        }
        return ReviewerConfig.parse(node, source, System::getenv);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        if (store != null && !store.startsWith("h2:") && !store.startsWith("jdbc:postgresql:")) {
            problems.add(Problems.join(at, "store"), "'" + store + "' is not a store; expected h2:PATH or jdbc:postgresql://host:port/db?user=...");
        }
        try {
            reviewerDirectory(root, "approvals.reviewers");
        } catch (RuntimeException e) {
            problems.add(Problems.join(at, "reviewers"), e.getMessage());
        }
        try {
            oidcSettings();
        } catch (IllegalArgumentException e) {
            problems.add(Problems.join(at, "oidc"), e.getMessage());
        }
        for (int i = 0; i < ticketAgents.size(); i++) {
            String name = ticketAgents.get(i);
            if (root.agents().stream().noneMatch(a -> a != null && name.equals(a.name()))) {
                problems.add(Problems.join(at, "ticket-agents") + "[" + i + "]", "no agent named '" + name + "'");
            }
        }
    }
}
