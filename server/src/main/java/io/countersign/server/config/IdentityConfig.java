package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Identities from the company's identity provider.
 *
 * @param agentTokens workload tokens agents with {@code auth: jwt} log in with (optional)
 */
public record IdentityConfig(@JsonProperty("agent-tokens") AgentTokensConfig agentTokens) implements ConfigSection {

    public static final IdentityConfig DEFAULT = new IdentityConfig(null);

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        // the sections inside check themselves
    }
}
